"""The public API: gradient, withgradient, pullback, grad, adjoint_source."""
import types
from collections import namedtuple

import numpy as np

from runtime import dispatch

from . import compiler, tree
from . import kinds as K
from .errors import ADError
from .source import unwrap

WithGradient = namedtuple("WithGradient", "val grad")

_GRAD = compiler.Options(mode="grad")
_VALUE_AND_GRAD = compiler.Options(mode="value_and_grad")


def _as_input(x):
    """Top-level arguments: ints and int arrays are treated as reals."""
    tp = type(x)
    if tp is int:
        return float(x)
    if tp is np.ndarray and x.dtype.kind in "biu":
        return x.astype(float) if x.dtype.kind != "b" else x
    return x


def _differentiable(x):
    k = K.kind_of(x)
    if K.is_array(k):
        return x.dtype.kind in "fc"
    return k.tag in ("scalar", "other")


class Target:
    """A function to differentiate, opened into code + leading inputs."""

    __slots__ = ("fn", "func", "lead")

    def __init__(self, fn):
        func, bound = unwrap(fn)
        if func is None:
            if not callable(fn):
                raise ADError("cannot differentiate %r: it is not callable" % (fn,))
            func, bound = _apply, None
            self.fn = fn
            self.func = func
            self.lead = (fn,)
            return
        self.fn = fn
        self.func = func
        self.lead = () if bound is None else (bound,)

    def inputs(self, args):
        func = self.func
        cells = [c.cell_contents for c in func.__closure__] if func.__closure__ else []
        return cells, list(self.lead) + list(args)


def _apply(f, *args):
    return f(*args)


def _compile(target, args, wrt, options):
    cells, values = target.inputs(args)
    values = dispatch._bind(target.func, tuple(values), {})
    offset = len(cells) + len(target.lead)
    active = tuple(offset + i for i in wrt if _differentiable(args[i]))
    return compiler.grad_function(target.func, active, cells + values, options), \
        cells + values, active, offset


def _finish(args, wrt, active, offset, raw):
    by_index = dict(zip(active, raw))
    out = []
    for i in wrt:
        g = by_index.get(offset + i)
        out.append(tree.finish(args[i], g) if (offset + i) in by_index else None)
    return tuple(out)


def gradient(f, *args):
    """One gradient per argument of the scalar-valued ``f``.

    >>> gradient(lambda x: 3*x**2 + 2*x + 1, 2)
    (14.0,)
    """
    args = tuple(_as_input(a) for a in args)
    wrt = range(len(args))
    target = Target(f)
    compiled, values, active, offset = _compile(target, args, wrt, _GRAD)
    raw = compiled.grad(*values)
    return _finish(args, wrt, active, offset, raw)


def withgradient(f, *args):
    """The value of ``f`` and its gradients, as ``WithGradient(val, grad)``.

    If ``f`` returns a tuple, its first element is differentiated and
    ``val`` is the whole tuple.

    >>> withgradient(lambda x: x * x, 3.0)
    WithGradient(val=9.0, grad=(6.0,))
    """
    args = tuple(_as_input(a) for a in args)
    wrt = range(len(args))
    target = Target(f)
    compiled, values, active, offset = _compile(target, args, wrt, _VALUE_AND_GRAD)
    val, raw = compiled.grad(*values)
    return WithGradient(val, _finish(args, wrt, active, offset, raw))


def pullback(f, *args):
    """``(y, back)`` where ``back(dy)`` gives the tuple of gradients.

    >>> y, back = pullback(lambda a, b, c: a * b * c, 2.0, 3.0, 5.0)
    >>> y, back(1.0)
    (30.0, (15.0, 10.0, 6.0))
    """
    args = tuple(_as_input(a) for a in args)
    wrt = list(range(len(args)))
    target = Target(f)
    cells, values = target.inputs(args)
    values = cells + dispatch._bind(target.func, tuple(values), {})
    offset = len(cells) + len(target.lead)
    active = tuple(offset + i for i in wrt if _differentiable(args[i]))
    compiled = compiler.vjp_function(target.func, active, values)
    y, res = compiled.fwd(*values)

    def back(dy):
        raw = compiled.bwd(res, dy)
        return _finish(args, wrt, active, offset, raw)

    return y, back


def grad(f, wrt=0):
    """The gradient function of ``f``: a transform, or the decorator ``@grad``.

    An int ``wrt`` gives that gradient alone; a tuple gives a tuple.

    >>> df = grad(lambda x: 3*x**2 + 2*x + 1)
    >>> df(2.0)
    14.0
    """
    single = isinstance(wrt, int)
    positions = (wrt,) if single else tuple(wrt)

    def gradient_of_f(*args):
        args = tuple(_as_input(a) for a in args)
        target = Target(f)
        compiled, values, active, offset = _compile(target, args, positions, _GRAD)
        out = _finish(args, positions, active, offset, compiled.grad(*values))
        return out[0] if single else out

    gradient_of_f.__name__ = "grad_" + getattr(f, "__name__", "f").strip("<>")
    gradient_of_f.__wrapped__ = f
    return gradient_of_f


def adjoint_source(f, *args):
    """The generated gradient code of ``f`` for arguments like ``args``.

    With no ``args``, each parameter is taken to be a float.
    """
    target = Target(f)
    if not args:
        n = target.func.__code__.co_argcount - len(target.lead)
        args = (1.0,) * n
    args = tuple(_as_input(a) for a in args)
    compiled, _, _, _ = _compile(target, args, range(len(args)), _GRAD)
    return compiled.text
