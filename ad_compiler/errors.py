"""One hierarchy of errors, each naming the user's file, line and construct.

Every message says what to do instead, in the style of
``model.py:12: 'yield' is not supported in differentiated code; ...``.
"""
import os


class ADError(Exception):
    """Base class of every error the differentiation compiler raises."""


class UnsupportedSyntaxError(ADError):
    """A Python construct that cannot be differentiated (found at compile time)."""


class NoAdjointError(ADError):
    """A function with no Python source and no registered rule."""

    @classmethod
    def for_function(cls, fn, name, where=""):
        prefix = where + ": " if where else ""
        return cls("%sno adjoint for %s; register one with @adjoint(%s), or wrap the call "
                   "in stop_gradient(...) if it needs no gradient" % (prefix, name, name))


class UnsupportedDerivativeError(NoAdjointError, NotImplementedError):
    """A rule exists, but not for this case (an order, a norm...): register
    your own with ``@adjoint`` or reformulate."""


class NonScalarOutputError(ADError):
    """``gradient`` of a function whose output is not a scalar."""

    @classmethod
    def for_value(cls, y, where=""):
        shape = getattr(y, "shape", None)
        what = ("an array of shape %s" % (shape,)) if shape is not None else \
            "a %s" % type(y).__name__
        prefix = where + ": " if where else ""
        return cls("%soutput is %s, so the gradient is not defined; use jacobian(f, x) for "
                   "the full derivative, or pullback(f, x) and call back(dy) with a "
                   "cotangent of the output's shape" % (prefix, what))


class Location:
    """Where a construct lives in the user's source: file and line."""

    __slots__ = ("filename", "lineno", "function")

    def __init__(self, filename, lineno, function=None):
        self.filename = filename
        self.lineno = lineno
        self.function = function

    def __str__(self):
        name = os.path.basename(self.filename) if self.filename else "<unknown>"
        return "%s:%s" % (name, self.lineno)


def located(node, source):
    """The :class:`Location` of an AST node in a function's source."""
    return Location(source.filename, getattr(node, "lineno", source.lineno), source.name)


def unsupported(node, source, construct, advice):
    """Build an UnsupportedSyntaxError for ``construct`` at ``node``."""
    where = located(node, source)
    err = UnsupportedSyntaxError("%s: %s is not supported in differentiated code; %s"
                                 % (where, construct, advice))
    err.location = where
    return err
