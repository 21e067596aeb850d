"""Rules for NumPy, written against ``xp``, the array's own namespace.

This table is registered for NumPy; :func:`registry.instantiate_namespace`
registers the same rules for CuPy with ``xp`` bound to ``cupy``.  The
helpers below call ``xp`` functions on their array arguments only, so
they reach CuPy through NumPy's ``__array_function__`` dispatch.

Conventions (autograd's):

* ties in ``maximum``/``minimum``/``fmax``/``fmin`` and in ``max``/``min``
  reductions split the gradient evenly between the tied elements;
* ``abs`` has derivative ``sign(x)``, so 0 at 0; ``sign``, ``floor``,
  ``round``... are non-differentiable (gradient 0);
* ``clip`` gives the gradient to ``a`` where the result equals ``a``
  (including exactly at a bound), to a bound where the bound was taken;
* ``prod`` is exact with any number of zeros up to second order; higher
  orders raise ``UnsupportedDerivativeError`` (an ``ADError``).

Reductions live in :mod:`runtime.rules_reductions`.

Every helper used inside a rule has rules itself, so generated code can be
differentiated again.  Linear algebra lives in :mod:`runtime.rules_linalg`.
"""
import operator

import numpy
import numpy as xp

from .helpers import broadcast_like, unbroadcast
from . import rules_basic  # noqa: F401  (registers the operator rules def_same copies)
from .registry import (ARRAY, ELEMENTWISE, SAME, SCALAR, def_linear, def_same, def_unary, defjvp,
                       defvjp, nondifferentiable)

# ---------------------------------------------------------------- output kinds
# ``out=`` may be a function of the argument kinds; these are used where the
# plain tags would be wrong (``keepdims``) or too vague (tuples, ndim).


def _kinds():
    from ad_compiler import kinds     # imported late: the compiler imports this package
    return kinds


def reduction_kind(axis_pos, keepdims_pos):
    """A scalar unless ``axis`` or ``keepdims`` is passed (their values are unknown)."""
    def kind(args, keywords):
        K = _kinds()
        axis = keywords.get("axis", args[axis_pos] if len(args) > axis_pos else None)
        keep = "keepdims" in keywords or len(args) > keepdims_pos
        return K.SCALAR if (axis is None or axis == K.CONST) and not keep else K.array()
    return kind


def like_arg(i):
    """The kind of argument ``i``: the result has its shape."""
    def kind(args, keywords):
        K = _kinds()
        k = args[i] if len(args) > i else None
        return k if k is not None and (K.is_array(k) or k == K.SCALAR) else K.array()
    return kind


def structure_like(i):
    """Argument ``i``'s kind if it is an array or a list/tuple/dict, else a structure."""
    def kind(args, keywords):
        K = _kinds()
        k = args[i] if len(args) > i else None
        if k is not None and (K.is_array(k) or k in (K.SCALAR, K.LIST, K.TUPLE, K.DICT)):
            return k
        return K.OTHER
    return kind


def _axes(axis, ndim):
    """``axis`` (None, int or tuple, maybe negative) as a sorted tuple of indices."""
    if axis is None:
        return tuple(range(ndim))
    axis = axis if isinstance(axis, (tuple, list)) else (axis,)
    return tuple(sorted(int(a) % ndim for a in axis))


def _size(dims):
    n = 1
    for d in dims:
        n *= int(d)
    return n


# ---------------------------------------------------------------- elementwise

def_unary(numpy.sin, lambda ans, x: xp.cos(x))
def_unary(numpy.cos, lambda ans, x: -xp.sin(x))
def_unary(numpy.tan, lambda ans, x: 1.0 + ans * ans)
def_unary(numpy.arcsin, lambda ans, x: 1.0 / xp.sqrt(1.0 - x * x))
def_unary(numpy.arccos, lambda ans, x: -1.0 / xp.sqrt(1.0 - x * x))
def_unary(numpy.arctan, lambda ans, x: 1.0 / (1.0 + x * x))
def_unary(numpy.sinh, lambda ans, x: xp.cosh(x))
def_unary(numpy.cosh, lambda ans, x: xp.sinh(x))
def_unary(numpy.tanh, lambda ans, x: 1.0 - ans * ans)
def_unary(numpy.arcsinh, lambda ans, x: 1.0 / xp.sqrt(x * x + 1.0))
def_unary(numpy.arccosh, lambda ans, x: 1.0 / xp.sqrt(x * x - 1.0))
def_unary(numpy.arctanh, lambda ans, x: 1.0 / (1.0 - x * x))
def_unary(numpy.exp, lambda ans, x: ans)
def_unary(numpy.exp2, lambda ans, x: ans * xp.log(2.0))
def_unary(numpy.expm1, lambda ans, x: ans + 1.0)
def_unary(numpy.log, lambda ans, x: 1.0 / x)
def_unary(numpy.log1p, lambda ans, x: 1.0 / (1.0 + x))
def_unary(numpy.log2, lambda ans, x: 1.0 / (x * xp.log(2.0)))
def_unary(numpy.log10, lambda ans, x: 1.0 / (x * xp.log(10.0)))
def_unary(numpy.sqrt, lambda ans, x: 0.5 / ans)
def_unary(numpy.cbrt, lambda ans, x: 1.0 / (3.0 * ans * ans))
def_unary(numpy.square, lambda ans, x: 2.0 * x)
def_unary(numpy.reciprocal, lambda ans, x: -ans * ans)
def_unary(numpy.absolute, lambda ans, x: xp.sign(x))      # numpy.abs is numpy.absolute
def_unary(numpy.fabs, lambda ans, x: xp.sign(x))
def_unary(numpy.deg2rad, lambda ans, x: xp.pi / 180.0)
def_unary(numpy.radians, lambda ans, x: xp.pi / 180.0)
def_unary(numpy.rad2deg, lambda ans, x: 180.0 / xp.pi)
def_unary(numpy.degrees, lambda ans, x: 180.0 / xp.pi)

defvjp(numpy.negative, lambda g, ans, x: -g, out=ELEMENTWISE)
def_linear(numpy.negative)
defvjp(numpy.positive, lambda g, ans, x: g, out=ELEMENTWISE)
def_linear(numpy.positive)
# Real inputs (complex: autograd's convention, the gradient is conj-linear).
defvjp(numpy.real, lambda g, ans, val: xp.real(g), out=ELEMENTWISE)
def_linear(numpy.real)
defvjp(numpy.conjugate, lambda g, ans, x: xp.conj(g), out=ELEMENTWISE)   # numpy.conj
def_linear(numpy.conjugate)

# The arithmetic ufuncs differentiate as the operators (rules_basic).
for _ufunc, _op in ((numpy.add, operator.add), (numpy.subtract, operator.sub),
                    (numpy.multiply, operator.mul), (numpy.divide, operator.truediv)):
    def_same(_ufunc, _op)                                  # numpy.true_divide is divide
# log(0) is replaced by 0: the exponent's gradient at base 0 is 0 (ans is 0 there).
for _power in (numpy.power, numpy.float_power):
    defvjp(_power, lambda g, ans, x1, x2: unbroadcast(g * x2 * x1 ** (x2 - 1), x1),
           lambda g, ans, x1, x2: unbroadcast(g * ans * xp.log(xp.where(x1 == 0, 1.0, x1)), x2),
           out=ELEMENTWISE)
    defjvp(_power, lambda d, ans, x1, x2: broadcast_like(d * x2 * x1 ** (x2 - 1), ans),
           lambda d, ans, x1, x2: broadcast_like(d * ans * xp.log(xp.where(x1 == 0, 1.0, x1)),
                                                 ans))
# Ties split the gradient evenly; NaNs (fmax/fmin) give it all to the other side.
for _extremum in (numpy.maximum, numpy.minimum, numpy.fmax, numpy.fmin):
    defvjp(_extremum,
           lambda g, ans, x1, x2: unbroadcast(g * ((x1 == ans) / (1.0 + (x1 == x2))), x1),
           lambda g, ans, x1, x2: unbroadcast(g * ((x2 == ans) / (1.0 + (x1 == x2))), x2),
           out=ELEMENTWISE)
    defjvp(_extremum,
           lambda d, ans, x1, x2: broadcast_like(d * ((x1 == ans) / (1.0 + (x1 == x2))), ans),
           lambda d, ans, x1, x2: broadcast_like(d * ((x2 == ans) / (1.0 + (x1 == x2))), ans))
defvjp(numpy.arctan2, lambda g, ans, x1, x2: unbroadcast(g * x2 / (x1 * x1 + x2 * x2), x1),
       lambda g, ans, x1, x2: unbroadcast(-g * x1 / (x1 * x1 + x2 * x2), x2), out=ELEMENTWISE)
defjvp(numpy.arctan2, lambda d, ans, x1, x2: broadcast_like(d * x2 / (x1 * x1 + x2 * x2), ans),
       lambda d, ans, x1, x2: broadcast_like(-d * x1 / (x1 * x1 + x2 * x2), ans))
defvjp(numpy.hypot, lambda g, ans, x1, x2: unbroadcast(g * x1 / ans, x1),
       lambda g, ans, x1, x2: unbroadcast(g * x2 / ans, x2), out=ELEMENTWISE)
defjvp(numpy.hypot, lambda d, ans, x1, x2: broadcast_like(d * x1 / ans, ans),
       lambda d, ans, x1, x2: broadcast_like(d * x2 / ans, ans))
defvjp(numpy.logaddexp, lambda g, ans, x1, x2: unbroadcast(g * xp.exp(x1 - ans), x1),
       lambda g, ans, x1, x2: unbroadcast(g * xp.exp(x2 - ans), x2), out=ELEMENTWISE)
defjvp(numpy.logaddexp, lambda d, ans, x1, x2: broadcast_like(d * xp.exp(x1 - ans), ans),
       lambda d, ans, x1, x2: broadcast_like(d * xp.exp(x2 - ans), ans))
defvjp(numpy.logaddexp2, lambda g, ans, x1, x2: unbroadcast(g * xp.exp2(x1 - ans), x1),
       lambda g, ans, x1, x2: unbroadcast(g * xp.exp2(x2 - ans), x2), out=ELEMENTWISE)
defjvp(numpy.logaddexp2, lambda d, ans, x1, x2: broadcast_like(d * xp.exp2(x1 - ans), ans),
       lambda d, ans, x1, x2: broadcast_like(d * xp.exp2(x2 - ans), ans))
defvjp(numpy.remainder, lambda g, ans, x1, x2: unbroadcast(g, x1),     # numpy.mod
       lambda g, ans, x1, x2: unbroadcast(-g * xp.floor(x1 / x2), x2), out=ELEMENTWISE)
defjvp(numpy.remainder, lambda d, ans, x1, x2: broadcast_like(d, ans),
       lambda d, ans, x1, x2: broadcast_like(-d * xp.floor(x1 / x2), ans))
defvjp(numpy.fmod, lambda g, ans, x1, x2: unbroadcast(g, x1),
       lambda g, ans, x1, x2: unbroadcast(-g * xp.trunc(x1 / x2), x2), out=ELEMENTWISE)
defjvp(numpy.fmod, lambda d, ans, x1, x2: broadcast_like(d, ans),
       lambda d, ans, x1, x2: broadcast_like(-d * xp.trunc(x1 / x2), ans))

defvjp(numpy.where, None,
       lambda g, ans, condition, x, y: unbroadcast(xp.where(condition, g, 0.0), x),
       lambda g, ans, condition, x, y: unbroadcast(xp.where(condition, 0.0, g), y),
       out=ELEMENTWISE)
defjvp(numpy.where, None,
       lambda d, ans, condition, x, y: broadcast_like(xp.where(condition, d, 0.0), ans),
       lambda d, ans, condition, x, y: broadcast_like(xp.where(condition, 0.0, d), ans))


def clip_lower(a, ans, upper, upper_kw=None):
    """Where ``clip`` returned its lower bound (not ``a``, not the upper bound)."""
    upper = upper if upper is not None else upper_kw
    return (ans != a) if upper is None else (ans != a) & (ans != upper)


def clip_upper(a, ans, upper, upper_kw=None):
    """Where ``clip`` returned its upper bound rather than ``a``."""
    upper = upper if upper is not None else upper_kw
    return (ans != a) & (ans == upper)


nondifferentiable(clip_lower, clip_upper, out=ELEMENTWISE)
# Bounds by position (a_min, a_max) or by keyword (min=, max=, NumPy >= 2.1).
defvjp(numpy.clip,
       lambda g, ans, a, a_min=None, a_max=None, out=None, min=None, max=None:
           unbroadcast(xp.where(ans == a, g, 0.0), a),
       lambda g, ans, a, a_min=None, a_max=None, out=None, min=None, max=None:
           unbroadcast(xp.where(clip_lower(a, ans, a_max, max), g, 0.0), a_min),
       lambda g, ans, a, a_min=None, a_max=None, out=None, min=None, max=None:
           unbroadcast(xp.where(clip_upper(a, ans, a_max, max), g, 0.0), a_max),
       None,
       lambda g, ans, a, a_min=None, a_max=None, out=None, min=None, max=None:
           unbroadcast(xp.where(clip_lower(a, ans, a_max, max), g, 0.0), min),
       lambda g, ans, a, a_min=None, a_max=None, out=None, min=None, max=None:
           unbroadcast(xp.where(clip_upper(a, ans, a_max, max), g, 0.0), max),
       out=ELEMENTWISE)
defjvp(numpy.clip,
       lambda d, ans, a, a_min=None, a_max=None, out=None, min=None, max=None:
           broadcast_like(xp.where(ans == a, d, 0.0), ans),
       lambda d, ans, a, a_min=None, a_max=None, out=None, min=None, max=None:
           broadcast_like(xp.where(clip_lower(a, ans, a_max, max), d, 0.0), ans),
       lambda d, ans, a, a_min=None, a_max=None, out=None, min=None, max=None:
           broadcast_like(xp.where(clip_upper(a, ans, a_max, max), d, 0.0), ans),
       None,
       lambda d, ans, a, a_min=None, a_max=None, out=None, min=None, max=None:
           broadcast_like(xp.where(clip_lower(a, ans, a_max, max), d, 0.0), ans),
       lambda d, ans, a, a_min=None, a_max=None, out=None, min=None, max=None:
           broadcast_like(xp.where(clip_upper(a, ans, a_max, max), d, 0.0), ans))
defvjp(numpy.ndarray.clip,
       lambda g, ans, a, min=None, max=None: unbroadcast(xp.where(ans == a, g, 0.0), a),
       lambda g, ans, a, min=None, max=None:
           unbroadcast(xp.where(clip_lower(a, ans, max), g, 0.0), min),
       lambda g, ans, a, min=None, max=None:
           unbroadcast(xp.where(clip_upper(a, ans, max), g, 0.0), max), out=ELEMENTWISE)
defjvp(numpy.ndarray.clip,
       lambda d, ans, a, min=None, max=None: broadcast_like(xp.where(ans == a, d, 0.0), ans),
       lambda d, ans, a, min=None, max=None:
           broadcast_like(xp.where(clip_lower(a, ans, max), d, 0.0), ans),
       lambda d, ans, a, min=None, max=None:
           broadcast_like(xp.where(clip_upper(a, ans, max), d, 0.0), ans))

# ---------------------------------------------------------------- shape ops

defvjp(numpy.reshape, lambda g, ans, a, shape=None, order="C", copy=None:
       xp.reshape(g, xp.shape(a), order=order), out=ARRAY)
def_linear(numpy.reshape)
# x.reshape(2, 3) passes the shape as several arguments: d1..d7 swallow them.
defvjp(numpy.ndarray.reshape,
       lambda g, ans, a, shape=None, d1=None, d2=None, d3=None, d4=None, d5=None, d6=None,
       d7=None, order="C", copy=None: xp.reshape(g, xp.shape(a), order=order), out=ARRAY)
def_linear(numpy.ndarray.reshape)
for _flat in (numpy.ravel, numpy.ndarray.ravel, numpy.ndarray.flatten):
    defvjp(_flat, lambda g, ans, a, order="C": xp.reshape(g, xp.shape(a), order=order),
           out=ARRAY)
    def_linear(_flat)
for _squeeze in (numpy.squeeze, numpy.ndarray.squeeze):
    defvjp(_squeeze, lambda g, ans, a, axis=None: xp.reshape(g, xp.shape(a)), out=ARRAY)
    def_linear(_squeeze)
defvjp(numpy.expand_dims, lambda g, ans, a, axis: xp.reshape(g, xp.shape(a)), out=ARRAY)
def_linear(numpy.expand_dims)
defvjp(numpy.broadcast_to, lambda g, ans, array, shape, subok=False: unbroadcast(g, array),
       out=ARRAY)
def_linear(numpy.broadcast_to)
defvjp(numpy.flip, lambda g, ans, m, axis=None: xp.flip(g, axis), out=SAME)
def_linear(numpy.flip)
for _copy in (numpy.copy, numpy.ndarray.copy):
    defvjp(_copy, lambda g, ans, a, order="K", subok=False: g, out=SAME)
    def_linear(_copy)
# NumPy scalars are immutable: their copy is the identity (its tangent may be a float).
defvjp(numpy.generic.copy, lambda g, ans, a, *rest: g, out=SCALAR)
defjvp(numpy.generic.copy, lambda d, ans, a, *rest: d)


def _shapes_and_axis(arrays, axis, how):
    """NumPy's promoted input shapes and the axis ``concatenate`` then joins on."""
    shapes = [xp.shape(a) for a in arrays]
    if how == "hstack":
        shapes = [s or (1,) for s in shapes]
        return shapes, 0 if len(shapes[0]) == 1 else 1
    if how == "vstack":
        return [((1,) * (2 - len(s)) + s) if len(s) < 2 else s for s in shapes], 0
    if how == "concatenate" and axis is None:
        return [(_size(s),) for s in shapes], 0
    return shapes, axis


def unjoin(g, arrays, axis, how):
    """The cotangents of the inputs of concatenate/stack/hstack/vstack, one per input."""
    if how == "stack":
        pieces = [xp.reshape(xp.take(g, i, axis=axis), xp.shape(a))
                  for i, a in enumerate(arrays)]
    else:
        shapes, ax = _shapes_and_axis(arrays, axis, how)
        bounds = list(xp.cumsum([s[ax] for s in shapes])[:-1])
        if axis is None and how == "concatenate":
            g = xp.ravel(g)
        pieces = [xp.reshape(p, xp.shape(a))
                  for p, a in zip(xp.split(g, bounds, axis=ax), arrays)]
    if isinstance(arrays, list):
        return pieces
    return tuple(pieces) if isinstance(arrays, tuple) else xp.stack(pieces)


def join(h, arrays, axis, how):
    """concatenate/stack/hstack/vstack of cotangents ``h``; None stands for zeros."""
    h = [xp.zeros_like(a, dtype=float) if hi is None else hi for hi, a in zip(h, arrays)]
    if how == "stack":
        return xp.stack(h, axis)
    shapes, ax = _shapes_and_axis(arrays, axis, how)
    return xp.concatenate([xp.reshape(hi, s) for hi, s in zip(h, shapes)], ax)


def_linear(unjoin, out=structure_like(1))
defvjp(unjoin, lambda h, ans, g, arrays, axis, how: join(h, arrays, axis, how))
def_linear(join, out=ARRAY)
defvjp(join, lambda g, ans, h, arrays, axis, how: unjoin(g, arrays, axis, how))
defvjp(numpy.concatenate, lambda g, ans, arrays, axis=0, out=None, dtype=None,
       casting="same_kind": unjoin(g, arrays, axis, "concatenate"), out=ARRAY)
defjvp(numpy.concatenate, lambda d, ans, arrays, axis=0, out=None, dtype=None,
       casting="same_kind": join(d, arrays, axis, "concatenate"))
defvjp(numpy.stack, lambda g, ans, arrays, axis=0, out=None, dtype=None, casting="same_kind":
       unjoin(g, arrays, axis, "stack"), out=ARRAY)
defjvp(numpy.stack, lambda d, ans, arrays, axis=0, out=None, dtype=None, casting="same_kind":
       join(d, arrays, axis, "stack"))
defvjp(numpy.hstack, lambda g, ans, tup, dtype=None, casting="same_kind":
       unjoin(g, tup, None, "hstack"), out=ARRAY)
defjvp(numpy.hstack, lambda d, ans, tup, dtype=None, casting="same_kind":
       join(d, tup, None, "hstack"))
defvjp(numpy.vstack, lambda g, ans, tup, dtype=None, casting="same_kind":
       unjoin(g, tup, None, "vstack"), out=ARRAY)
defjvp(numpy.vstack, lambda d, ans, tup, dtype=None, casting="same_kind":
       join(d, tup, None, "vstack"))


def cast_like(g, x, through=None):
    """``g`` in the floating dtype of ``x``; zero if the primal cast to ``through`` was
    to an integer or bool dtype (which has no derivative)."""
    if through is not None and xp.dtype(through).kind not in "fc":
        return xp.zeros_like(x, dtype=float) if hasattr(x, "shape") else 0.0
    dtype = getattr(x, "dtype", None)
    if dtype is None or dtype.kind not in "fc" or getattr(g, "dtype", dtype) == dtype:
        return g
    return g.astype(dtype) if hasattr(g, "astype") else xp.asarray(g, dtype=dtype)


def_linear(cast_like, out=like_arg(0))
defvjp(cast_like, lambda h, ans, g, x, through=None: cast_like(h, g, through))


def asarray_vjp(g, a, dtype=None):
    """The cotangent of ``a`` in ``asarray(a)``: nested lists get nested cotangents."""
    if isinstance(a, (list, tuple)):
        return type(a)(asarray_vjp(g[i], ai, dtype) for i, ai in enumerate(a))
    return cast_like(g, a, dtype)


def asarray_like(h, a, dtype=None):
    """``asarray`` of the cotangent structure ``h`` of ``a``; None stands for zeros."""
    if isinstance(a, (list, tuple)):
        h = [None] * len(a) if h is None else h
        return xp.stack([asarray_like(hi, ai, dtype) for hi, ai in zip(h, a)])
    if h is None:
        return xp.zeros_like(a, dtype=float)
    return cast_like(h, h, dtype)


def_linear(asarray_vjp, out=structure_like(1))
defvjp(asarray_vjp, lambda h, ans, g, a, dtype=None: asarray_like(h, a, dtype))
def_linear(asarray_like, out=ARRAY)
defvjp(asarray_like, lambda g, ans, h, a, dtype=None: asarray_vjp(g, a, dtype))
defvjp(numpy.asarray, lambda g, ans, a, dtype=None, order=None, device=None, copy=None,
       like=None: asarray_vjp(g, a, dtype), out=ARRAY)
defjvp(numpy.asarray, lambda d, ans, a, dtype=None, order=None, device=None, copy=None,
       like=None: asarray_like(d, a, dtype))
defvjp(numpy.array, lambda g, ans, object, dtype=None, copy=True, order="K", subok=False,
       ndmin=0, ndmax=0, like=None: asarray_vjp(g, object, dtype), out=ARRAY)
defjvp(numpy.array, lambda d, ans, object, dtype=None, copy=True, order="K", subok=False,
       ndmin=0, ndmax=0, like=None: asarray_like(d, object, dtype))
defvjp(numpy.ndarray.astype, lambda g, ans, a, dtype, order="K", casting="unsafe", subok=True,
       copy=True: cast_like(g, a, dtype), out=SAME)
defjvp(numpy.ndarray.astype, lambda d, ans, a, dtype, order="K", casting="unsafe", subok=True,
       copy=True: cast_like(d, ans, dtype))


def sort_like(h, a, axis=-1):
    """``h`` permuted the way ``sort(a, axis)`` permutes ``a``."""
    perm = xp.argsort(a, axis=axis, kind="stable")
    return xp.ravel(h)[perm] if axis is None else xp.take_along_axis(h, perm, axis)


def unsort(g, a, axis=-1):
    """The adjoint of :func:`sort_like`: ``g`` put back where the sorted values came from."""
    perm = xp.argsort(a, axis=axis, kind="stable")
    if axis is None:
        out = xp.zeros_like(g, shape=(xp.size(a),))
        out[perm] = g
        return xp.reshape(out, xp.shape(a))
    out = xp.zeros_like(g)
    xp.put_along_axis(out, perm, g, axis)
    return out


def_linear(sort_like, out=ARRAY)
defvjp(sort_like, lambda g, ans, h, a, axis=-1: unsort(g, a, axis))
def_linear(unsort, out=like_arg(1))
defvjp(unsort, lambda h, ans, g, a, axis=-1: sort_like(h, a, axis))
defvjp(numpy.sort, lambda g, ans, a, axis=-1, kind=None, order=None, stable=None:
       unsort(g, a, axis), out=ARRAY)
defjvp(numpy.sort, lambda d, ans, a, axis=-1, kind=None, order=None, stable=None:
       sort_like(d, a, axis))

# ---------------------------------------------------------------- constructors and constants

nondifferentiable(numpy.zeros, numpy.ones, numpy.empty, numpy.zeros_like, numpy.ones_like,
                  numpy.empty_like, numpy.arange, numpy.linspace, numpy.eye,
                  numpy.identity, numpy.tri, out=ARRAY)
# full / full_like are differentiable in the fill value.
defvjp(numpy.full, None, lambda g, ans, shape, fill_value, dtype=None, order="C":
       unbroadcast(g, fill_value), out=ARRAY)
defjvp(numpy.full, None, lambda d, ans, shape, fill_value, dtype=None, order="C":
       broadcast_like(d, ans))
defvjp(numpy.full_like, None, lambda g, ans, a, fill_value, dtype=None, order="K", subok=True,
       shape=None: unbroadcast(g, fill_value), out=ARRAY)
defjvp(numpy.full_like, None, lambda d, ans, a, fill_value, dtype=None, order="K", subok=True,
       shape=None: broadcast_like(d, ans))
# Piecewise constant: derivative 0 wherever it exists.
nondifferentiable(numpy.sign, numpy.floor, numpy.ceil, numpy.round, numpy.around, numpy.rint,
                  numpy.trunc, numpy.fix, numpy.floor_divide, numpy.heaviside,
                  numpy.ndarray.round, out=ELEMENTWISE)
nondifferentiable(numpy.argmax, numpy.argmin, numpy.argsort, numpy.argwhere, numpy.nonzero,
                  numpy.flatnonzero, numpy.count_nonzero, numpy.searchsorted, numpy.digitize,
                  numpy.ndarray.argmax, numpy.ndarray.argmin,
                  numpy.ndarray.argsort, numpy.ndarray.nonzero, numpy.shape, numpy.ndim,
                  numpy.size, numpy.result_type, numpy.isnan, numpy.isfinite, numpy.isinf,
                  numpy.isclose, numpy.allclose, numpy.array_equal, numpy.signbit,
                  numpy.greater, numpy.greater_equal, numpy.less, numpy.less_equal,
                  numpy.equal, numpy.not_equal, numpy.logical_and, numpy.logical_or,
                  numpy.logical_not, numpy.logical_xor, numpy.all, numpy.any,
                  numpy.ndarray.all, numpy.ndarray.any, out="const")
