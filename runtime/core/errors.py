"""One hierarchy of errors, each naming the user's file, line and construct.

Every message says what to do instead, in the style of
``model.py:12: 'yield' is not supported in differentiated code; ...``.
Errors that are also a Python error the function itself could raise
(``ArgumentError`` is a ``TypeError``) derive from both, so ``except
TypeError`` code keeps working.  ``docs/errors.md`` lists every message.
"""
import os
import re
import sys
import sysconfig


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

    @classmethod
    def for_library(cls, fn, cause):
        """A library function whose own source cannot be compiled: ask for a
        rule, never for a change to the library's code."""
        name = public_name(fn)
        code = fn.__code__
        construct = getattr(cause, "construct", None)
        why = ("uses %s, which cannot be differentiated" % construct) if construct else \
            "cannot be compiled for differentiation"
        site = user_site()
        return cls("%sno rule for %s; register one with @adjoint(%s), or wrap the call in "
                   "stop_gradient(...) if it needs no gradient (its library source, %s:%d, %s)"
                   % (str(site) + ": " if site else "", name, name,
                      os.path.basename(code.co_filename), code.co_firstlineno, why))


class UnsupportedDerivativeError(NoAdjointError, NotImplementedError):
    """A rule exists, but not for this case (an order, a norm...): register
    your own with ``@adjoint`` or reformulate."""


class NonScalarOutputError(ADError):
    """``gradient`` of a function whose output is not a scalar."""

    @classmethod
    def for_value(cls, y, where=""):
        prefix = where + ": " if where else ""
        if y is None:
            return MissingReturnError("%sthe function returned None, so there is nothing to "
                                      "differentiate; make it return a scalar (a forgotten "
                                      "'return'?)" % prefix)
        shape = getattr(y, "shape", None)
        what = ("an array of shape %s" % (shape,)) if shape is not None else \
            "a %s" % type(y).__name__
        return cls("%soutput is %s, so the gradient is not defined; use jacobian(f, x) for "
                   "the full derivative, or pullback(f, x) and call back(dy) with a "
                   "cotangent of the output's shape" % (prefix, what))


class MissingReturnError(NonScalarOutputError):
    """The differentiated function returns None: usually a forgotten ``return``."""

    @classmethod
    def for_function(cls, fn):
        return cls("%s: %s returns None (it has no 'return <value>'), so there is nothing to "
                   "differentiate; add 'return <scalar>' to %s"
                   % (where_defined(fn), function_name(fn), function_name(fn)))


class ArgumentError(ADError, TypeError):
    """A call that does not fit: wrong arguments for ``f``, or an API used the
    wrong way (``grad(f, 3.0)``).  Also a ``TypeError``, as Python's own is."""


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
    err.construct = construct
    return err


# ---------------------------------------------------------------- naming things

def _code_of(fn):
    """The code object behind a function, method, partial, cached or callable object."""
    for _ in range(8):
        code = getattr(fn, "__code__", None)
        if code is not None:
            return code
        inner = getattr(fn, "__func__", None) or getattr(fn, "__wrapped__", None) or \
            getattr(fn, "func", None)
        if inner is None:
            inner = getattr(type(fn), "__call__", None)
            if getattr(inner, "__code__", None) is None:
                return None
        fn = inner
    return None


def function_name(fn):
    """``loss``, ``Model.__call__``, ``lambda``: what the user wrote."""
    code = _code_of(fn)
    name = getattr(fn, "__qualname__", None) or getattr(fn, "__name__", None) or \
        (code.co_name if code is not None else type(fn).__name__)
    name = name.rsplit("<locals>.", 1)[-1]
    return "lambda" if name.endswith("<lambda>") else name


def where_defined(fn):
    """``file.py:LINE`` of the definition of ``fn`` (or ``<unknown>``)."""
    code = _code_of(fn)
    if code is None:
        return "<unknown>"
    return str(Location(code.co_filename, code.co_firstlineno))


def public_name(fn):
    """``scipy.special.logsumexp``: the shortest importable name of ``fn``."""
    name, module = getattr(fn, "__name__", None), getattr(fn, "__module__", None)
    if module is None and type(fn).__name__ == "ufunc":
        module = "numpy"          # NumPy before 2.1 gives ufuncs no __module__
    if name and module:
        parts = module.split(".")
        for i in range(1, len(parts) + 1):
            owner = sys.modules.get(".".join(parts[:i]))
            try:
                found = getattr(owner, name, None) if owner is not None else None
            except Exception:       # a lazy module's __getattr__
                found = None
            if found is fn:
                return "%s.%s" % (".".join(parts[:i]), name)
        return "%s.%s" % (module, getattr(fn, "__qualname__", name))
    return repr(fn)


# ---------------------------------------------------------------- where the user is

def _own_roots():
    """Our folders: runtime/, and ad_compiler/ and layers/ beside it (a
    checkout) or above it (an install, where runtime is ad_compiler/runtime)."""
    runtime = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    above = os.path.dirname(runtime)
    return tuple(p + os.sep for p in (runtime, above if os.path.basename(above) == "ad_compiler"
                                      else os.path.join(above, "ad_compiler"),
                                      os.path.join(above, "layers")))


_OWN = _own_roots()
_OURS = ("<ad_compiler _apply ", "<ad_compiler apply ")   # generated from our own wrappers
_COMMENT = re.compile(r"^\s*# ([^\s:]+):(\d+)(?:: (.*))?$")


def _library_roots():
    paths = sysconfig.get_paths()
    return tuple(os.path.abspath(paths[k]) + os.sep for k in ("stdlib", "platstdlib")
                 if paths.get(k))


_LIBRARY_ROOTS = _library_roots()


def is_library(filename):
    """True for installed packages and the standard library (not user code, not ours)."""
    if not filename or filename.startswith("<"):
        return False
    path = os.path.abspath(filename)
    if path.startswith(_OWN):
        return False
    parts = path.split(os.sep)
    return "site-packages" in parts or "dist-packages" in parts or \
        path.startswith(_LIBRARY_ROOTS)


def generated_origin(filename, lineno):
    """For a line of generated code: ``(user file:line, user source)`` from the
    ``# file:line: source`` comment above it, or None."""
    import linecache
    lines = linecache.getlines(filename)
    for i in range(min(lineno, len(lines)) - 1, -1, -1):
        m = _COMMENT.match(lines[i].rstrip("\n"))
        if m:
            return "%s:%s" % (m.group(1), m.group(2)), (m.group(3) or "").strip()
    return None


def user_site(frame=None):
    """The user's file:line currently running: the innermost frame of
    generated code (by its comments) or the first frame outside this package."""
    frame = frame or sys._getframe(1)
    while frame is not None:
        filename = frame.f_code.co_filename
        if filename.startswith(_OURS):
            pass                        # generated from this package's own code
        elif filename.startswith("<ad_compiler"):
            origin = generated_origin(filename, frame.f_lineno)
            if origin is not None:
                return origin[0]
        elif not os.path.abspath(filename).startswith(_OWN) and \
                not filename.startswith("<"):
            return str(Location(filename, frame.f_lineno))
        frame = frame.f_back
    return None


def user_location(frame):
    """The :class:`Location` of ``frame`` or of the first frame above it in the
    user's own files (None if there is none)."""
    while frame is not None:
        filename = frame.f_code.co_filename
        if not filename.startswith("<") and not os.path.abspath(filename).startswith(_OWN):
            return Location(filename, frame.f_lineno)
        frame = frame.f_back
    return None


_LOCATED = re.compile(r"^[^\s:]+:\d+: ")


def annotate(exc):
    """Called where an exception leaves the public API.  One raised inside
    generated code gets a note: the generated line and the user's file:line
    it came from (Python's own traceback printer cannot show generated
    lines; a note is always printed).  An ADError whose message names no
    place gets the user's file:line in front."""
    if getattr(exc, "_ad_annotated", False):
        return exc
    tb, found = exc.__traceback__, None
    while tb is not None:
        filename = tb.tb_frame.f_code.co_filename
        if filename.startswith("<ad_compiler") and not filename.startswith(_OURS):
            found = tb
        tb = tb.tb_next
    origin = None
    if found is not None:
        filename, lineno = found.tb_frame.f_code.co_filename, found.tb_lineno
        origin = generated_origin(filename, lineno)
        _add_note(exc, filename, lineno, origin)
    if isinstance(exc, ADError) and len(exc.args) == 1 and isinstance(exc.args[0], str) and \
            not _LOCATED.match(exc.args[0]):
        site = origin[0] if origin is not None else user_site(sys._getframe(1))
        if site:
            exc.args = ("%s: %s" % (site, exc.args[0]),)
    try:
        exc._ad_annotated = True
    except AttributeError:
        pass
    return exc


def _add_note(exc, filename, lineno, origin):
    import linecache
    line = linecache.getline(filename, lineno).strip()
    note = "  in generated code %s, line %d: %s" % (filename, lineno, line)
    if origin is not None:
        note += "\n  which computes the derivative of %s: %s" % origin
    if hasattr(exc, "add_note"):
        exc.add_note(note)
        return
    # Python < 3.11 prints no notes: the note joins the message instead
    try:
        exc.__notes__ = getattr(exc, "__notes__", []) + [note]
        if len(exc.args) == 1 and isinstance(exc.args[0], str):
            exc.args = (exc.args[0] + "\n" + note,)
    except (AttributeError, TypeError):
        pass
