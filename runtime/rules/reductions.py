"""Rules for NumPy's reductions (sum, mean, max/min, var/std, prod, cumsum),
written against ``xp`` like :mod:`runtime.rules.numpy`, whose conventions
they follow: ties of ``max``/``min`` share the gradient evenly, and ``prod``
is exact with zeros up to second order.
"""
import numpy
import numpy as xp

from ..helpers import spread
from ..core.namespace import namespace_of
from ..core.registry import ARRAY, SCALAR, def_linear, defjvp, defvjp, nondifferentiable
from .complex import real_only
from .numpy import _axes, _size, like_arg, reduction_kind
from ..core.errors import UnsupportedDerivativeError

# ---------------------------------------------------------------- reductions
# ``where=`` masks and ``initial=`` values are honoured; ``keepdims`` may be
# positional or a keyword.


def sum_grad(g, x, axis, keepdims, where=True):
    """Broadcast the gradient of a sum back over the summed axes (zero where masked)."""
    if axis is not None and not keepdims:
        g = xp.reshape(g, kept_shape(xp.shape(x), axis))
    g = spread(g, x)
    return g if where is True else xp.where(where, g, 0.0)


def kept_shape(shape, axis):
    """The shape of a reduction over ``axis`` with ``keepdims=True``."""
    axes = _axes(axis, len(shape))
    return tuple(1 if i in axes else n for i, n in enumerate(shape))


def_linear(sum_grad, out=like_arg(1))
defvjp(sum_grad, lambda h, ans, g, x, axis, keepdims, where=True:
       xp.sum(h, axis=axis, keepdims=keepdims, where=where))


def reduced_size(a, axis, where=True):
    """How many elements each result of a reduction combines (counts, with keepdims, if
    ``where`` masks some)."""
    shape = xp.shape(a)
    if where is not True:
        return xp.sum(xp.broadcast_to(where, shape), axis=axis, keepdims=True)
    return _size(shape[i] for i in _axes(axis, len(shape)))


def tie_weights(a, ans, axis, keepdims, where=True):
    """1/k at the k elements where a max/min reduction is attained, else 0."""
    if axis is not None and not keepdims:
        ans = xp.reshape(ans, kept_shape(xp.shape(a), axis))
    hit = namespace_of(a, ans).asarray(a == ans)
    if where is not True:
        hit &= where
    w = hit.astype(_float_dtype(a))
    # A masked slice, or an ``initial`` larger than every element, has no winner.
    w /= xp.maximum(xp.add.reduce(w, axis=axis, keepdims=True), 1)
    return w


def _float_dtype(a):
    """``a``'s dtype if it is floating or complex, else float64 (Python numbers too)."""
    dtype = getattr(a, "dtype", None)
    return dtype if dtype is not None and dtype.kind in "fc" else xp.dtype(float)


def extreme_grad(g, a, ans, axis, keepdims, where=True, initial=None):
    """The gradient of a max/min reduction: ``g`` shared equally among the
    elements that attain it.  One fused helper, because on a loss-sized
    array every extra NumPy call costs about a microsecond."""
    if axis is not None and not keepdims:
        kept = kept_shape(xp.shape(a), axis)
        g, ans = xp.reshape(g, kept), xp.reshape(ans, kept)
    hit = a == ans if hasattr(a, "dtype") else xp.asarray(a == ans)   # (a Python number)
    if where is True and initial is None and xp.count_nonzero(hit) == xp.size(ans):
        out = hit * g                 # one winner per slice (the usual case): no sharing
    else:
        if where is not True:
            hit &= where
        # max(., 1): a masked slice, a larger ``initial``, or a NaN has no winner
        out = hit * (g / xp.maximum(xp.add.reduce(hit, axis=axis, keepdims=True), 1))
    if not hasattr(a, "dtype"):                # a Python number: its gradient is a float
        return out * 1.0
    dtype = a.dtype if a.dtype.kind in "fc" else out.dtype
    return out if out.dtype == dtype else out.astype(dtype)


def_linear(extreme_grad, out=like_arg(1))
defvjp(extreme_grad, lambda h, ans, g, a, m, axis, keepdims, where=True, initial=None:
       xp.sum(h * tie_weights(a, m, axis=axis, keepdims=keepdims, where=where), axis=axis,
              keepdims=keepdims))


def one_each(a, axis, keepdims, where=True):
    """True for each result of a reduction over ``axis`` that combines one element."""
    if where is True:
        return reduced_size(a, axis) == 1
    n = xp.sum(xp.broadcast_to(where, xp.shape(a)), axis=axis, keepdims=keepdims)
    return n == 1


nondifferentiable(reduced_size, out=SCALAR)
nondifferentiable(one_each, out="const")
nondifferentiable(tie_weights, out=like_arg(0))
nondifferentiable(kept_shape, out="const")

for _sum in (numpy.sum, numpy.ndarray.sum):
    defvjp(_sum, lambda g, ans, a, axis=None, dtype=None, out=None, keepdims=False,
           initial=None, where=True: sum_grad(g, a, axis=axis, keepdims=keepdims, where=where),
           out=reduction_kind(1, 4))
    def_linear(_sum)
# The methods' tangents through the functions: a NumPy scalar's tangent may be a float.
defjvp(numpy.ndarray.sum, lambda d, ans, a, axis=None, dtype=None, out=None, keepdims=False,
       initial=None, where=True: xp.sum(d, axis=axis, keepdims=keepdims, where=where))
for _mean in (numpy.mean, numpy.ndarray.mean):
    defvjp(_mean, lambda g, ans, a, axis=None, dtype=None, out=None, keepdims=False,
           where=True: sum_grad(g, a, axis=axis, keepdims=keepdims, where=where)
           / reduced_size(a, axis, where=where),
           out=reduction_kind(1, 4))
    def_linear(_mean)
defjvp(numpy.ndarray.mean, lambda d, ans, a, axis=None, dtype=None, out=None, keepdims=False,
       where=True: xp.mean(d, axis=axis, keepdims=keepdims, where=where))
for _extreme in (numpy.max, numpy.min, numpy.amax, numpy.amin, numpy.ndarray.max,
                 numpy.ndarray.min):
    defvjp(_extreme, lambda g, ans, a, axis=None, out=None, keepdims=False, initial=None,
           where=True: extreme_grad(g, a, ans, axis=axis, keepdims=keepdims, where=where,
                                     initial=initial),
           out=reduction_kind(1, 3))
    defjvp(_extreme, lambda d, ans, a, axis=None, out=None, keepdims=False, initial=None,
           where=True: xp.sum(d * tie_weights(a, ans, axis=axis, keepdims=keepdims, where=where),
                              axis=axis, keepdims=keepdims))
# var: 2 (a - mean) / (n - ddof); std: that / (2 std), except where a slice has one
# element and std is identically 0 (ddof=0): there the slope is 0, not 0/0.  Complex
# input is refused (var is not holomorphic).
for _var in (numpy.var, numpy.ndarray.var):
    defvjp(_var, lambda g, ans, a, axis=None, dtype=None, out=None, ddof=0, keepdims=False,
           where=True: sum_grad(g, a, axis=axis, keepdims=keepdims, where=where) * (2.0 * (
               real_only(a, "numpy.var") - xp.mean(a, axis=axis, keepdims=True, where=where))
               / (reduced_size(a, axis, where=where) - ddof)), out=reduction_kind(1, 5))
    defjvp(_var, lambda d, ans, a, axis=None, dtype=None, out=None, ddof=0, keepdims=False,
           where=True: xp.sum(d * (2.0 * (
               real_only(a, "numpy.var") - xp.mean(a, axis=axis, keepdims=True, where=where))
               / (reduced_size(a, axis, where=where) - ddof)), axis=axis, keepdims=keepdims,
               where=where))
for _std in (numpy.std, numpy.ndarray.std):
    defvjp(_std, lambda g, ans, a, axis=None, dtype=None, out=None, ddof=0, keepdims=False,
           where=True: sum_grad(g / xp.where(one_each(a, axis, keepdims=keepdims, where=where),
                                             1.0, ans),
                                a, axis=axis, keepdims=keepdims, where=where) * (
               (real_only(a, "numpy.std") - xp.mean(a, axis=axis, keepdims=True, where=where))
               / (reduced_size(a, axis, where=where) - ddof)), out=reduction_kind(1, 5))
    defjvp(_std, lambda d, ans, a, axis=None, dtype=None, out=None, ddof=0, keepdims=False,
           where=True: xp.sum(d * (
               (real_only(a, "numpy.std") - xp.mean(a, axis=axis, keepdims=True, where=where))
               / (reduced_size(a, axis, where=where) - ddof)), axis=axis, keepdims=keepdims,
               where=where)
           / xp.where(one_each(a, axis, keepdims=keepdims, where=where), 1.0, ans))

def _to_last(a, axis):
    """``a`` with the ``axis`` axes moved to the end and merged: (rest..., n)."""
    a = a if hasattr(a, "ndim") else xp.asarray(a)
    axes = _axes(axis, a.ndim)
    moved = xp.moveaxis(a, axes, tuple(range(a.ndim - len(axes), a.ndim)))
    n = _size(a.shape[i] for i in axes)
    return moved.reshape(moved.shape[:a.ndim - len(axes)] + (n,)), moved.shape, axes


def _from_last(r, moved_shape, axes):
    nd = len(moved_shape)
    return xp.moveaxis(r.reshape(moved_shape), tuple(range(nd - len(axes), nd)), axes)


def _masked(out, initial, where):
    out = out if initial is None else out * initial
    return out if where is True else xp.where(where, out, 0.0)


def prod_others(a, axis=None, initial=None, where=True):
    """The derivative of ``prod`` for each element: the product of the others it is
    reduced with (exact at zeros; zero where masked)."""
    a = a if where is True else xp.where(where, a, 1.0)
    flat, shape, axes = _to_last(a, axis)
    ones = xp.ones_like(flat[..., :1])
    left = xp.cumprod(xp.concatenate([ones, flat[..., :-1]], -1), -1)
    right = xp.cumprod(xp.concatenate([ones, xp.flip(flat, -1)[..., :-1]], -1), -1)
    return _masked(_from_last(left * xp.flip(right, -1), shape, axes), initial, where)


def prod_pairs(v, a, axis=None, initial=None, where=True):
    """``sum_{i != j} v_i prod_{k != i, j} a_k`` for each j: the second derivative of
    ``prod`` applied to ``v``, computed with prefix/suffix products (exact at zeros)."""
    v = xp.broadcast_to(v, xp.shape(a))
    if where is not True:
        a, v = xp.where(where, a, 1.0), xp.where(where, v, 0.0)
    flat, shape, axes = _to_last(a, axis)
    vflat = _to_last(v, axis)[0]
    n = flat.shape[-1]
    pre, pre_v, suf, suf_v = [None] * n, [None] * n, [None] * n, [None] * n
    p, q = xp.ones_like(flat[..., 0]), xp.zeros_like(vflat[..., 0])
    for j in range(n):                    # prefix products and their v-derivatives
        pre[j], pre_v[j] = p, q
        p, q = p * flat[..., j], q * flat[..., j] + p * vflat[..., j]
    p, q = xp.ones_like(flat[..., 0]), xp.zeros_like(vflat[..., 0])
    for j in range(n - 1, -1, -1):
        suf[j], suf_v[j] = p, q
        p, q = p * flat[..., j], q * flat[..., j] + p * vflat[..., j]
    out = xp.stack([pre[j] * suf_v[j] + pre_v[j] * suf[j] for j in range(n)], -1)
    return _masked(_from_last(out, shape, axes), initial, where)


def unsupported_derivative(g, what, advice):
    """Raise for a case a rule does not cover (an error, never a wrong value)."""
    raise UnsupportedDerivativeError("%s is not supported; %s" % (what, advice))


nondifferentiable(unsupported_derivative)
_PROD_ADVICE = ("write the product as np.exp(np.sum(np.log(x))) for positive x, or register "
                "your own rule with @adjoint(numpy.prod)")
defvjp(prod_others, lambda g, ans, a, axis=None, initial=None, where=True:
       prod_pairs(g, a, axis=axis, initial=initial, where=where), out=like_arg(0))
defjvp(prod_others, lambda d, ans, a, axis=None, initial=None, where=True:
       prod_pairs(d, a, axis=axis, initial=initial, where=where))
# prod_pairs is symmetric in (v, direction), so it is its own adjoint in v.
defvjp(prod_pairs, lambda h, ans, v, a, axis=None, initial=None, where=True:
       prod_pairs(h, a, axis=axis, initial=initial, where=where),
       lambda h, ans, v, a, axis=None, initial=None, where=True:
           unsupported_derivative(h, "a third derivative of numpy.prod", _PROD_ADVICE),
       out=like_arg(1))
defjvp(prod_pairs, lambda d, ans, v, a, axis=None, initial=None, where=True:
       prod_pairs(d, a, axis=axis, initial=initial, where=where),
       lambda d, ans, v, a, axis=None, initial=None, where=True:
           unsupported_derivative(d, "a third derivative of numpy.prod", _PROD_ADVICE))
for _prod in (numpy.prod, numpy.ndarray.prod):
    defvjp(_prod, lambda g, ans, a, axis=None, dtype=None, out=None, keepdims=False,
           initial=None, where=True:
           sum_grad(g, a, axis=axis, keepdims=keepdims)
           * prod_others(a, axis, initial=initial, where=where),
           out=reduction_kind(1, 4))
    defjvp(_prod, lambda d, ans, a, axis=None, dtype=None, out=None, keepdims=False,
           initial=None, where=True:
           xp.sum(d * prod_others(a, axis, initial=initial, where=where), axis=axis,
                  keepdims=keepdims))


def cumsum_vjp(g, a, axis):
    """Reverse cumulative sum: the adjoint of ``cumsum(a, axis)``."""
    if axis is None:
        return xp.reshape(xp.flip(xp.cumsum(xp.flip(g))), xp.shape(a))
    return xp.flip(xp.cumsum(xp.flip(g, axis), axis), axis)


def_linear(cumsum_vjp, out=like_arg(1))
defvjp(cumsum_vjp, lambda h, ans, g, a, axis: xp.cumsum(h, axis))
for _cumsum in (numpy.cumsum, numpy.ndarray.cumsum):
    defvjp(_cumsum, lambda g, ans, a, axis=None, dtype=None, out=None: cumsum_vjp(g, a, axis=axis),
           out=ARRAY)
    def_linear(_cumsum)
defjvp(numpy.ndarray.cumsum, lambda d, ans, a, axis=None, dtype=None, out=None:
       xp.cumsum(d, axis))
