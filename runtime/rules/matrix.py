"""Rules for inverses, determinants, ``solve`` and norms, written against ``xp``
(see rules.numpy); products and transposes are in :mod:`runtime.rules.linalg`.

``det``'s gradient is the cofactor matrix, computed from an SVD rather than an
inverse, so it is exact at singular matrices, at first and second order (a third
order raises ``UnsupportedDerivativeError``).  ``linalg.norm`` supports
``ord=None``/``'fro'`` (any axes) and vector p-norms with ``p >= 1`` finite;
other orders, and complex input to ``norm`` and ``slogdet``, raise
``UnsupportedDerivativeError`` (an ``ADError``) when differentiated.
"""
import numpy
import numpy as xp

from ..helpers import Struct, item, unbroadcast
from ..core.namespace import namespace_of
from ..core.registry import SAME, def_linear, defjvp, defvjp, nondifferentiable
from .complex import real_only
from .linalg import drop_two, like_b, matmul_vjp_a
from .numpy import _kinds, like_arg, reduction_kind
from .reductions import prod_others, prod_pairs, sum_grad, unsupported_derivative
from ..core.errors import UnsupportedDerivativeError

# ---------------------------------------------------------------- inverse, determinants, solve

defvjp(numpy.linalg.inv, lambda g, ans, a:
       -xp.swapaxes(ans, -1, -2) @ g @ xp.swapaxes(ans, -1, -2), out=SAME)
defvjp(numpy.linalg.inv, lambda g, ans, a: -ans.T @ g @ ans.T, when=lambda a: a.ndim == 2)
defjvp(numpy.linalg.inv, lambda d, ans, a: -ans @ d @ ans)


def cofactor(a):
    """The cofactor matrix ``det(a) * inv(a).T`` (batched), the gradient of ``det``,
    without inverting: with ``a = u @ diag(s) @ vh``, it is
    ``det(u) det(vh) conj(u) @ diag(prod of the other s) @ conj(vh)``, defined and exact
    for singular ``a`` too."""
    u, s, vh = xp.linalg.svd(a)
    phase = xp.expand_dims(xp.linalg.det(u) * xp.linalg.det(vh), (-2, -1))
    return phase * (xp.conj(u) @ (prod_others(s, -1)[..., :, None] * xp.conj(vh)))


def cofactor_jvp(a, e):
    """The derivative of :func:`cofactor` at ``a`` along ``e``: the Hessian of ``det``
    applied to ``e`` (symmetric, so also its own adjoint).  In the SVD's bases,
    ``f = u^H e vh^H``, the cofactor of ``diag(s) + t f`` changes by ``-p * f.T`` off the
    diagonal and ``p @ diag(f)`` on it, ``p[i, j]`` the product of the s other than s_i,
    s_j: no division, so exact at singular ``a``."""
    xp = namespace_of(a)            # eye(n) where a lives
    u, s, vh = xp.linalg.svd(a)
    n = s.shape[-1]
    f = xp.swapaxes(xp.conj(u), -1, -2) @ e @ xp.swapaxes(xp.conj(vh), -1, -2)
    square = s.shape[:-1] + (n, n)
    p = prod_pairs(xp.broadcast_to(xp.eye(n), square), xp.broadcast_to(s[..., None, :], square),
                   -1)
    df = xp.eye(n) * (p @ xp.diagonal(f, axis1=-2, axis2=-1)[..., :, None]) \
        - p * xp.swapaxes(f, -1, -2)
    phase = xp.expand_dims(xp.linalg.det(u) * xp.linalg.det(vh), (-2, -1))
    return phase * (xp.conj(u) @ df @ xp.conj(vh))


_DET_ADVICE = "write the determinant out for small matrices, or register your own rule with " \
    "@adjoint(numpy.linalg.det)"
defvjp(cofactor, lambda g, ans, a: cofactor_jvp(a, g), out=SAME)
defjvp(cofactor, lambda d, ans, a: cofactor_jvp(a, d))
def_linear(cofactor_jvp, argnums=(1,), out=like_arg(0))
defvjp(cofactor_jvp, lambda h, ans, a, e: unsupported_derivative(
    h, "a third derivative of numpy.linalg.det", _DET_ADVICE),
    lambda h, ans, a, e: cofactor_jvp(a, h))
defjvp(cofactor_jvp, lambda d, ans, a, e: unsupported_derivative(
    d, "a third derivative of numpy.linalg.det", _DET_ADVICE),
    lambda d, ans, a, e: cofactor_jvp(a, d))
# d det(a) = sum(cofactor(a) * da): no inverse, so singular matrices work.
defvjp(numpy.linalg.det, lambda g, ans, a: xp.expand_dims(g, (-2, -1)) * cofactor(a),
       out=drop_two)
defvjp(numpy.linalg.det, lambda g, ans, a: g * cofactor(a), when=lambda a: a.ndim == 2)
defjvp(numpy.linalg.det, lambda d, ans, a: xp.sum(cofactor(a) * d, axis=(-2, -1)))


def logabsdet_cotangent(g):
    """The cotangent of ``logabsdet`` inside that of slogdet's (sign, logabsdet) result,
    read by index or, as ``result.logabsdet``, by field."""
    g = g.fields.get("logabsdet") if isinstance(g, Struct) else item(g, 1)
    return 0.0 if g is None else g


def_linear(logabsdet_cotangent, out=lambda args, kw: _kinds().array())
defvjp(logabsdet_cotangent, lambda h, ans, g: (None, h))
# slogdet returns (sign, logabsdet); only logabsdet carries a gradient.
# (Complex matrices are refused: their sign is a differentiable phase.)
defvjp(numpy.linalg.slogdet, lambda g, ans, a: xp.expand_dims(logabsdet_cotangent(g), (-2, -1))
       * xp.swapaxes(xp.linalg.inv(real_only(a, "numpy.linalg.slogdet")), -1, -2),
       out=lambda args, kw: _kinds().OTHER)
defjvp(numpy.linalg.slogdet, lambda d, ans, a: (xp.zeros_like(ans[0]), xp.trace(
    xp.linalg.solve(real_only(a, "numpy.linalg.slogdet"), d), axis1=-2, axis2=-1)))
# x = solve(a, b): b is a vector only when it is 1-D (NumPy 2).
defvjp(numpy.linalg.solve,
       lambda g, ans, a, b: -matmul_vjp_a(xp.linalg.solve(xp.swapaxes(a, -1, -2), g), a, ans),
       lambda g, ans, a, b: unbroadcast(xp.linalg.solve(xp.swapaxes(a, -1, -2), g), b),
       out=like_b)
defvjp(numpy.linalg.solve, lambda g, ans, a, b: -xp.linalg.solve(a.T, g) @ ans.T,
       lambda g, ans, a, b: xp.linalg.solve(a.T, g),
       when=lambda a, b: a.ndim == 2 and b.ndim == 2)
defvjp(numpy.linalg.solve, lambda g, ans, a, b: -xp.outer(xp.linalg.solve(a.T, g), ans),
       lambda g, ans, a, b: xp.linalg.solve(a.T, g),
       when=lambda a, b: a.ndim == 2 and b.ndim == 1)
defjvp(numpy.linalg.solve, lambda d, ans, a, b: -xp.linalg.solve(a, xp.matmul(d, ans)),
       lambda d, ans, a, b: xp.linalg.solve(a, d))

# ---------------------------------------------------------------- norms


def norm_power(ord, x, axis):
    """The p of the p-norm ``linalg.norm`` computes; other norms, and complex ``x``
    (whose norm is not holomorphic), are refused."""
    ndim = xp.ndim(real_only(x, "numpy.linalg.norm"))
    matrix = (axis is None and ndim == 2) or (isinstance(axis, (tuple, list)) and len(axis) == 2)
    if ord is None or (ord == "fro" and matrix):
        return 2.0
    if not matrix and not isinstance(ord, str) and 1 <= ord < numpy.inf:
        return float(ord)
    raise UnsupportedDerivativeError(
        "the derivative of numpy.linalg.norm with ord=%r on %s is not supported; use "
        "ord=None or 'fro', a vector p-norm with finite p >= 1, or register your own rule "
        "with @adjoint(numpy.linalg.norm)" % (ord, "matrices" if matrix else "vectors"))


nondifferentiable(norm_power, out="const")
# d||x||_p = sign(x) |x|^(p-1) / ||x||^(p-1); for p = 2 that is x / ||x||.
defvjp(numpy.linalg.norm, lambda g, ans, x, ord=None, axis=None, keepdims=False:
       sum_grad(g / ans ** (norm_power(ord, x, axis=axis) - 1.0), x, axis=axis, keepdims=keepdims)
       * (xp.sign(x) * xp.abs(x) ** (norm_power(ord, x, axis=axis) - 1.0)),
       out=reduction_kind(2, 3))
defjvp(numpy.linalg.norm, lambda d, ans, x, ord=None, axis=None, keepdims=False:
       xp.sum(d * xp.sign(x) * xp.abs(x) ** (norm_power(ord, x, axis=axis) - 1.0), axis=axis,
              keepdims=keepdims) / ans ** (norm_power(ord, x, axis=axis) - 1.0))
