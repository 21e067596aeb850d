"""Rules for NumPy's shape operations, joins, casts, sorting and constructors, written
against ``xp`` like :mod:`runtime.rules.numpy` (whose output kinds they use).
"""
import numpy
import numpy as xp

from ..helpers import broadcast_like, unbroadcast
from ..core.namespace import move_like, namespace_of
from ..core.registry import ARRAY, SAME, SCALAR, def_linear, defjvp, defvjp, nondifferentiable
from .complex import is_complex
from .numpy import _size, like_arg, structure_like
from ..core.errors import UnsupportedDerivativeError

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
    if how == "r_":                 # np.r_[a, b]: at least 1-D, joined on the first axis
        return [s or (1,) for s in shapes], 0
    if how == "c_":                 # np.c_[a, b]: vectors as columns, joined on the last axis
        return [(1, 1) if not s else (s + (1,) if len(s) == 1 else s) for s in shapes], -1
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
defvjp(unjoin, lambda h, ans, g, arrays, axis, how: join(h, arrays, axis=axis, how=how))
def_linear(join, out=ARRAY)
defvjp(join, lambda g, ans, h, arrays, axis, how: unjoin(g, arrays, axis=axis, how=how))
defvjp(numpy.concatenate, lambda g, ans, arrays, axis=0, out=None, dtype=None,
       casting="same_kind": unjoin(g, arrays, axis=axis, how="concatenate"), out=ARRAY)
defjvp(numpy.concatenate, lambda d, ans, arrays, axis=0, out=None, dtype=None,
       casting="same_kind": join(d, arrays, axis=axis, how="concatenate"))
defvjp(numpy.stack, lambda g, ans, arrays, axis=0, out=None, dtype=None, casting="same_kind":
       unjoin(g, arrays, axis=axis, how="stack"), out=ARRAY)
defjvp(numpy.stack, lambda d, ans, arrays, axis=0, out=None, dtype=None, casting="same_kind":
       join(d, arrays, axis=axis, how="stack"))
defvjp(numpy.hstack, lambda g, ans, tup, dtype=None, casting="same_kind":
       unjoin(g, tup, axis=None, how="hstack"), out=ARRAY)
defjvp(numpy.hstack, lambda d, ans, tup, dtype=None, casting="same_kind":
       join(d, tup, axis=None, how="hstack"))
defvjp(numpy.vstack, lambda g, ans, tup, dtype=None, casting="same_kind":
       unjoin(g, tup, axis=None, how="vstack"), out=ARRAY)
defjvp(numpy.vstack, lambda d, ans, tup, dtype=None, casting="same_kind":
       join(d, tup, axis=None, how="vstack"))


def cast_like(g, x, through=None):
    """``g`` in the floating dtype of ``x``; zero if the primal cast to ``through`` was
    to an integer or bool dtype (which has no derivative).  A cast between real and
    complex takes the real part of a complex ``g`` (see rules.complex)."""
    kind = None if through is None else xp.dtype(through).kind
    if kind is not None and kind not in "fc":
        return xp.zeros_like(x, dtype=float) if hasattr(x, "shape") else 0.0
    if is_complex(g) and (kind == "f" or not is_complex(x)):
        g = xp.real(g)
    dtype = getattr(x, "dtype", None)
    if dtype is None or dtype.kind not in "fc" or getattr(g, "dtype", dtype) == dtype:
        return g
    return g.astype(dtype) if hasattr(g, "astype") else xp.asarray(g, dtype=dtype)


def_linear(cast_like, out=like_arg(0))
defvjp(cast_like, lambda h, ans, g, x, through=None: cast_like(h, g, through=through))


def asarray_vjp(g, a, dtype=None):
    """The cotangent of ``a`` in ``asarray(a)``: nested lists get nested cotangents,
    and a NumPy ``a`` moved to the GPU (``cupy.asarray``) gets a NumPy cotangent."""
    if isinstance(a, (list, tuple)):
        return type(a)(asarray_vjp(g[i], ai, dtype) for i, ai in enumerate(a))
    return cast_like(move_like(g, a), a, dtype)


def asarray_like(h, a, dtype=None):
    """``asarray`` of the cotangent structure ``h`` of ``a``; None stands for zeros."""
    if isinstance(a, (list, tuple)):
        h = [None] * len(a) if h is None else h
        return xp.stack([asarray_like(hi, ai, dtype) for hi, ai in zip(h, a)])
    if h is None:
        return xp.zeros_like(a, dtype=float)
    return cast_like(h, h, dtype)


def_linear(move_like, out=SAME)
defvjp(move_like, lambda g, ans, value, like: move_like(g, value))
def_linear(asarray_vjp, out=structure_like(1))
defvjp(asarray_vjp, lambda h, ans, g, a, dtype=None: asarray_like(h, a, dtype=dtype))
def_linear(asarray_like, out=ARRAY)
defvjp(asarray_like, lambda g, ans, h, a, dtype=None: asarray_vjp(g, a, dtype=dtype))
defvjp(numpy.asarray, lambda g, ans, a, dtype=None, order=None, device=None, copy=None,
       like=None: asarray_vjp(g, a, dtype=dtype), out=ARRAY)
defjvp(numpy.asarray, lambda d, ans, a, dtype=None, order=None, device=None, copy=None,
       like=None: move_like(asarray_like(d, a, dtype=dtype), ans))
defvjp(numpy.array, lambda g, ans, object, dtype=None, copy=True, order="K", subok=False,
       ndmin=0, ndmax=0, like=None: asarray_vjp(g, object, dtype=dtype), out=ARRAY)
defjvp(numpy.array, lambda d, ans, object, dtype=None, copy=True, order="K", subok=False,
       ndmin=0, ndmax=0, like=None: move_like(asarray_like(d, object, dtype=dtype), ans))
defvjp(numpy.ndarray.astype, lambda g, ans, a, dtype, order="K", casting="unsafe", subok=True,
       copy=True: cast_like(g, a, through=dtype), out=SAME)
defjvp(numpy.ndarray.astype, lambda d, ans, a, dtype, order="K", casting="unsafe", subok=True,
       copy=True: cast_like(d, ans, through=dtype))


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
defvjp(sort_like, lambda g, ans, h, a, axis=-1: unsort(g, a, axis=axis))
def_linear(unsort, out=like_arg(1))
defvjp(unsort, lambda h, ans, g, a, axis=-1: sort_like(h, a, axis=axis))
defvjp(numpy.sort, lambda g, ans, a, axis=-1, kind=None, order=None, stable=None:
       unsort(g, a, axis=axis), out=ARRAY)
defjvp(numpy.sort, lambda d, ans, a, axis=-1, kind=None, order=None, stable=None:
       sort_like(d, a, axis=axis))

# ---------------------------------------------------------------- padding
# np.pad is linear in the array for the modes that copy elements into the border; the
# border of mode='constant' is a constant (constant_values= gets no derivative).
_COPYING_PAD_MODES = ("constant", "edge", "reflect", "symmetric", "wrap")


def pad_pairs(pad_width, ndim):
    """``pad_width`` read as NumPy reads it: one (before, after) pair per axis."""
    pairs = numpy.broadcast_to(numpy.asarray(pad_width, dtype=numpy.intp), (ndim, 2))
    return [(int(b), int(a)) for b, a in pairs]


def _check_pad_mode(mode, reflect_type):
    if mode not in _COPYING_PAD_MODES or reflect_type != "even":
        from ..core.errors import UnsupportedDerivativeError
        raise UnsupportedDerivativeError(
            "the derivative of numpy.pad is supported for mode='constant', 'edge', 'reflect', "
            "'symmetric' and 'wrap' with reflect_type='even', not mode=%r, reflect_type=%r; "
            "pad with one of those, or build the border with np.concatenate"
            % (mode, reflect_type))


def pad_tangent(d, pad_width, mode="constant", reflect_type="even"):
    """The tangent of ``pad(x, pad_width, mode)`` for a tangent ``d`` of ``x``:
    a zero border for mode='constant', copies of ``d`` for the other modes."""
    _check_pad_mode(mode, reflect_type)
    return xp.pad(d, pad_width) if mode == "constant" else xp.pad(d, pad_width, mode)


def unpad(g, pad_width, mode="constant", reflect_type="even"):
    """The adjoint of :func:`pad_tangent`: the inner block of ``g``, plus, for modes that
    copy elements into the border, each border cell added onto the element it copies."""
    _check_pad_mode(mode, reflect_type)
    pairs = pad_pairs(pad_width, xp.ndim(g))
    inner = g[tuple(slice(b, n - a) for (b, a), n in zip(pairs, xp.shape(g)))]
    if mode == "constant":
        return inner
    shape = xp.shape(inner)
    source = numpy.pad(numpy.arange(_size(shape)).reshape(shape), pairs, mode)
    where = namespace_of(g)         # the indices are computed on the host, used where g is
    out = where.zeros(_size(shape), dtype=g.dtype)
    where.add.at(out, where.asarray(source.ravel()), xp.ravel(g))
    return xp.reshape(out, shape)


def_linear(pad_tangent, out=ARRAY)
defvjp(pad_tangent, lambda g, ans, d, pad_width, mode="constant", reflect_type="even":
       unpad(g, pad_width, mode=mode, reflect_type=reflect_type))
def_linear(unpad, out=ARRAY)
defvjp(unpad, lambda h, ans, g, pad_width, mode="constant", reflect_type="even":
       pad_tangent(h, pad_width, mode=mode, reflect_type=reflect_type))
defvjp(numpy.pad, lambda g, ans, array, pad_width, mode="constant", stat_length=None,
       constant_values=0, end_values=0, reflect_type="even":
       unpad(g, pad_width, mode=mode, reflect_type=reflect_type), out=ARRAY)
defjvp(numpy.pad, lambda d, ans, array, pad_width, mode="constant", stat_length=None,
       constant_values=0, end_values=0, reflect_type="even":
       pad_tangent(d, pad_width, mode=mode, reflect_type=reflect_type))

# ---------------------------------------------------------------- constructors

nondifferentiable(numpy.zeros, numpy.ones, numpy.empty, numpy.zeros_like, numpy.ones_like,
                  numpy.empty_like, numpy.eye, numpy.identity, numpy.tri, out=ARRAY)
# full / full_like are differentiable in the fill value.
defvjp(numpy.full, None, lambda g, ans, shape, fill_value, dtype=None, order="C":
       unbroadcast(g, fill_value), out=ARRAY)
defjvp(numpy.full, None, lambda d, ans, shape, fill_value, dtype=None, order="C":
       broadcast_like(d, ans))
defvjp(numpy.full_like, None, lambda g, ans, a, fill_value, dtype=None, order="K", subok=True,
       shape=None: unbroadcast(g, fill_value), out=ARRAY)
defjvp(numpy.full_like, None, lambda d, ans, a, fill_value, dtype=None, order="K", subok=True,
       shape=None: broadcast_like(d, ans))


def linspace_weights(ans, num, endpoint, axis, retstep, dtype, which):
    """The slope of each sample of ``linspace`` in ``start`` (``which=0``: 1 - t) or
    ``stop`` (1: t), t = k / (num - 1) (k / num without the endpoint), shaped to
    broadcast along the samples' axis of ``ans``; zero for an integer ``dtype``."""
    if retstep:
        raise UnsupportedDerivativeError(
            "the derivative of numpy.linspace with retstep=True is not supported; compute "
            "the step as (stop - start) / (num - 1) instead")
    xp = namespace_of(ans)
    t = xp.linspace(0.0, 1.0, num, endpoint=endpoint)
    t = t if which else 1.0 - t
    if dtype is not None and xp.dtype(dtype).kind not in "fc":
        t = 0.0 * t
    shape = [1] * xp.ndim(ans)
    shape[axis] = num
    return xp.reshape(t, shape)


def arange_weights(ans, stop, which):
    """The slope of each value of ``arange`` in ``start`` (``which=0``: 1, or 0 when the
    only argument is the stop) or in ``step`` (2: the value's index); zero for integers."""
    xp = namespace_of(ans)
    if ans.dtype.kind not in "fc" or (which == 0 and stop is None):
        return xp.zeros(ans.shape)
    return xp.ones(ans.shape) if which == 0 else xp.arange(ans.size, dtype=float)


nondifferentiable(linspace_weights, arange_weights, out=ARRAY)
# start + (stop - start) * t: linear in start and stop (the count and flags are constants).
defvjp(numpy.linspace,
       lambda g, ans, start, stop, num=50, endpoint=True, retstep=False, dtype=None, axis=0,
       device=None: unbroadcast(xp.sum(g * linspace_weights(
           ans, num, endpoint=endpoint, axis=axis, retstep=retstep, dtype=dtype, which=0),
           axis=axis), start),
       lambda g, ans, start, stop, num=50, endpoint=True, retstep=False, dtype=None, axis=0,
       device=None: unbroadcast(xp.sum(g * linspace_weights(
           ans, num, endpoint=endpoint, axis=axis, retstep=retstep, dtype=dtype, which=1),
           axis=axis), stop),
       out=ARRAY)
defjvp(numpy.linspace,
       lambda d, ans, start, stop, num=50, endpoint=True, retstep=False, dtype=None, axis=0,
       device=None: broadcast_like(xp.expand_dims(d, axis) * linspace_weights(
           ans, num, endpoint=endpoint, axis=axis, retstep=retstep, dtype=dtype, which=0), ans),
       lambda d, ans, start, stop, num=50, endpoint=True, retstep=False, dtype=None, axis=0,
       device=None: broadcast_like(xp.expand_dims(d, axis) * linspace_weights(
           ans, num, endpoint=endpoint, axis=axis, retstep=retstep, dtype=dtype, which=1), ans))
# start + k * step: linear in start and step; the stop only sets the length.
defvjp(numpy.arange,
       lambda g, ans, start, stop=None, step=None, dtype=None, device=None, like=None:
           xp.sum(g * arange_weights(ans, stop, which=0)),
       None,
       lambda g, ans, start, stop=None, step=None, dtype=None, device=None, like=None:
           xp.sum(g * arange_weights(ans, stop, which=2)), out=ARRAY)
defjvp(numpy.arange,
       lambda d, ans, start, stop=None, step=None, dtype=None, device=None, like=None:
           d * arange_weights(ans, stop, which=0),
       None,
       lambda d, ans, start, stop=None, step=None, dtype=None, device=None, like=None:
           d * arange_weights(ans, stop, which=2))
