"""Rules for NumPy, written against ``xp``, the array's own namespace.

This table is registered for NumPy; :func:`registry.instantiate_namespace`
registers the same rules for CuPy with ``xp`` bound to ``cupy``.  The
helpers below call ``xp`` functions on their array arguments only, so
they reach CuPy through NumPy's ``__array_function__`` dispatch.

Conventions (autograd's):

* ties in ``maximum``/``minimum``/``fmax``/``fmin`` and in ``max``/``min``
  reductions split the gradient evenly between the tied elements;
* ``abs`` has derivative ``sign(x)``, so 0 at 0; ``sign``, ``floor``,
  ``round``... are piecewise constant (gradient 0);
* ``x ** y``: slope 0 in ``x`` where ``y == 0`` (even at ``x == 0``), and 0 in
  ``y`` where ``x == 0`` (JAX's convention);
* complex values: see :mod:`runtime.rules.complex` (``abs``, ``real``,
  ``imag``, ``conj``, ``angle``, ``sign`` live there);
* ``clip`` gives the gradient to ``a`` where the result equals ``a``
  (including exactly at a bound), to a bound where the bound was taken;
* ``prod`` is exact with any number of zeros up to second order; higher
  orders raise ``UnsupportedDerivativeError`` (an ``ADError``).

Reductions live in :mod:`runtime.rules.reductions`; shape operations, joins,
casts, sorting and constructors in :mod:`runtime.rules.arrays`.

Every helper used inside a rule has rules itself, so generated code can be
differentiated again.  Linear algebra lives in :mod:`runtime.rules.linalg`.
"""
import importlib.util
import math
import operator

import numpy
import numpy as xp

from ..helpers import broadcast_like, unbroadcast
from . import basic  # noqa: F401  (registers the operator rules def_binary(like=) copies)
from ..core.namespace import namespace_of
from ..core.registry import (ELEMENTWISE, def_binary, def_linear, def_unary, defjvp, defvjp,
                              nondifferentiable)

# ---------------------------------------------------------------- output kinds
# ``out=`` may be a function of the argument kinds; these are used where the
# plain tags would be wrong (``keepdims``) or too vague (tuples, ndim).


def _kinds():
    from ..core import kinds     # imported late: the compiler imports this package
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
def_unary(numpy.fabs, lambda ans, x: xp.sign(x))
def_unary(numpy.deg2rad, lambda ans, x: xp.pi / 180.0)
def_unary(numpy.radians, lambda ans, x: xp.pi / 180.0)
def_unary(numpy.rad2deg, lambda ans, x: 180.0 / xp.pi)
def_unary(numpy.degrees, lambda ans, x: 180.0 / xp.pi)

defvjp(numpy.negative, lambda g, ans, x: -g, out=ELEMENTWISE)
def_linear(numpy.negative)
defvjp(numpy.positive, lambda g, ans, x: g, out=ELEMENTWISE)
def_linear(numpy.positive)

# The arithmetic ufuncs differentiate as the operators (rules.basic).
for _ufunc, _op in ((numpy.add, operator.add), (numpy.subtract, operator.sub),
                    (numpy.multiply, operator.mul), (numpy.divide, operator.truediv)):
    def_binary(_ufunc, like=_op)                           # numpy.true_divide is divide
# As for ** (rules.basic), with abs(x2) so that complex exponents work; log(0) is replaced
# by 0: the exponent's gradient at base 0 is 0 (ans is 0 there).
for _power in (numpy.power, numpy.float_power):
    def_binary(_power, lambda g, ans, x1, x2: g * x2 * x1 ** (x2 - 1 + 0.0 ** xp.abs(x2)),
               lambda g, ans, x1, x2: g * ans * xp.log(xp.where(x1 == 0, 1.0, x1)))
def extremum_share(x, other, ans):
    """Where ``x`` gave ``maximum(x, other)`` (or minimum...): 1, and 0.5 at a
    tie, in the arguments' float dtype (float32 stays float32: a float64
    share made every later product float64)."""
    xp = namespace_of(x, ans)       # the share lives where the arrays do (CuPy...)
    dtype = xp.result_type(x, other)
    if dtype.kind not in "fc":
        dtype = xp.result_type(float)
    return xp.asarray(x == ans, dtype=dtype) / xp.asarray(1 + (x == other), dtype=dtype)


nondifferentiable(extremum_share, out=ELEMENTWISE)
# Ties split the gradient evenly; NaNs (fmax/fmin) give it all to the other side.
for _extremum in (numpy.maximum, numpy.minimum, numpy.fmax, numpy.fmin):
    def_binary(_extremum, lambda g, ans, x1, x2: g * extremum_share(x1, x2, ans),
               lambda g, ans, x1, x2: g * extremum_share(x2, x1, ans))
def_binary(numpy.arctan2, lambda g, ans, x1, x2: g * x2 / (x1 * x1 + x2 * x2),
           lambda g, ans, x1, x2: -g * x1 / (x1 * x1 + x2 * x2))
def_binary(numpy.hypot, lambda g, ans, x1, x2: g * x1 / ans,
           lambda g, ans, x1, x2: g * x2 / ans)
def_binary(numpy.logaddexp, lambda g, ans, x1, x2: g * xp.exp(x1 - ans),
           lambda g, ans, x1, x2: g * xp.exp(x2 - ans))
def_binary(numpy.logaddexp2, lambda g, ans, x1, x2: g * xp.exp2(x1 - ans),
           lambda g, ans, x1, x2: g * xp.exp2(x2 - ans))
def_binary(numpy.remainder, lambda g, ans, x1, x2: g,                   # numpy.mod
           lambda g, ans, x1, x2: -g * xp.floor(x1 / x2))
def_binary(numpy.fmod, lambda g, ans, x1, x2: g, lambda g, ans, x1, x2: -g * xp.trunc(x1 / x2))

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
           unbroadcast(xp.where(clip_lower(a, ans, a_max, upper_kw=max), g, 0.0), a_min),
       lambda g, ans, a, a_min=None, a_max=None, out=None, min=None, max=None:
           unbroadcast(xp.where(clip_upper(a, ans, a_max, upper_kw=max), g, 0.0), a_max),
       None,
       lambda g, ans, a, a_min=None, a_max=None, out=None, min=None, max=None:
           unbroadcast(xp.where(clip_lower(a, ans, a_max, upper_kw=max), g, 0.0), min),
       lambda g, ans, a, a_min=None, a_max=None, out=None, min=None, max=None:
           unbroadcast(xp.where(clip_upper(a, ans, a_max, upper_kw=max), g, 0.0), max),
       out=ELEMENTWISE)
defjvp(numpy.clip,
       lambda d, ans, a, a_min=None, a_max=None, out=None, min=None, max=None:
           broadcast_like(xp.where(ans == a, d, 0.0), ans),
       lambda d, ans, a, a_min=None, a_max=None, out=None, min=None, max=None:
           broadcast_like(xp.where(clip_lower(a, ans, a_max, upper_kw=max), d, 0.0), ans),
       lambda d, ans, a, a_min=None, a_max=None, out=None, min=None, max=None:
           broadcast_like(xp.where(clip_upper(a, ans, a_max, upper_kw=max), d, 0.0), ans),
       None,
       lambda d, ans, a, a_min=None, a_max=None, out=None, min=None, max=None:
           broadcast_like(xp.where(clip_lower(a, ans, a_max, upper_kw=max), d, 0.0), ans),
       lambda d, ans, a, a_min=None, a_max=None, out=None, min=None, max=None:
           broadcast_like(xp.where(clip_upper(a, ans, a_max, upper_kw=max), d, 0.0), ans))
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


# ---------------------------------------------------------------- erf
# NumPy has no erf.  SciPy's is used when SciPy is installed (imported on first use, so
# that importing the compiler stays fast); otherwise two polynomial pieces agree with
# the exact erf to about 2 ulp in float64 (tests/test_rules_numpy.py checks them
# against a 60-digit series) at about 1/25 of the cost of math.erf element by element.
_HAS_SCIPY = importlib.util.find_spec("scipy") is not None
_ERF_CUT = 1.5      # Maclaurin series below, exp(-t*t) * erfcx(t) above, 1.0 from 6 on


def _erf_tables():
    """Horner coefficients (highest power first) of erf's two pieces.

    Below the cut, erf(t) / t as a series in t * t, with exact coefficients (its terms
    shrink fast enough there to lose at most a bit).  Above it, erfc(t) = exp(-t*t) * h(t)
    with h = erfc * exp(t*t) smooth and of size about 0.2, interpolated at 37 Chebyshev
    points of [cut, 6] in the variable s in [-1, 1]: h's error then barely reaches erf.
    """
    series = [(-1) ** n / (math.factorial(n) * (2 * n + 1)) for n in range(26)]
    small = numpy.array(series[::-1]) * (2.0 / math.sqrt(math.pi))
    n = 37
    theta = numpy.pi * (numpy.arange(n) + 0.5) / n
    nodes = [_ERF_CUT + (6.0 - _ERF_CUT) * (math.cos(v) + 1.0) / 2.0 for v in theta]
    values = numpy.array([math.erfc(t) * math.exp(t * t) for t in nodes])
    cheb = [2.0 / n * math.fsum(values * numpy.cos(j * theta)) for j in range(n)]
    cheb[0] /= 2.0
    return small, numpy.polynomial.chebyshev.cheb2poly(cheb)[::-1]


_ERF_SMALL, _ERF_LARGE = _erf_tables()


def _horner(coefs, s):
    out = numpy.full_like(s, coefs[0])
    for c in coefs[1:]:
        out *= s
        out += c
    return out


def erf(x):
    """The error function, elementwise, with a rule (so ``gelu_erf`` differentiates).

    Float32 stays float32; other real inputs give float64; a scalar gives a scalar.

    >>> float(erf(0.5))
    0.5204998778130465
    >>> erf(numpy.array([-1.0, 0.0, 6.5], dtype=numpy.float32))
    array([-0.8427008,  0.       ,  1.       ], dtype=float32)
    """
    x = numpy.asarray(x)
    if x.dtype.kind not in "biuf":
        raise TypeError("erf: only real inputs are supported, got dtype %s" % x.dtype)
    if _HAS_SCIPY:
        from scipy.special import erf as scipy_erf
        return scipy_erf(x)[()]
    t = numpy.abs(x, dtype=numpy.float64)
    out = numpy.ones_like(t)
    small = t < _ERF_CUT
    ts = t[small]
    out[small] = ts * _horner(_ERF_SMALL, ts * ts)
    large = (t >= _ERF_CUT) & (t < 6.0)
    tl = t[large]
    out[large] = 1.0 - numpy.exp(-tl * tl) * _horner(_ERF_LARGE, (tl - 3.75) / 2.25)
    out[numpy.isnan(t)] = numpy.nan
    numpy.copysign(out, x, out=out)
    return out.astype(x.dtype if x.dtype.kind == "f" else numpy.float64, copy=False)[()]


def_unary(erf, lambda ans, x: (2.0 / xp.sqrt(xp.pi)) * xp.exp(-x * x))

# ---------------------------------------------------------------- piecewise constant
# Derivative 0 wherever it exists (tests/test_nondifferentiable.py checks each claim).

nondifferentiable(numpy.floor, numpy.ceil, numpy.round, numpy.around, numpy.rint,
                  numpy.trunc, numpy.fix, numpy.floor_divide, numpy.ndarray.round,
                  out=ELEMENTWISE)
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
# heaviside(x1, x2) is x2 where x1 == 0 (else 0 or 1); copysign(x1, x2) is |x1| signed by x2.
def_binary(numpy.heaviside, None, lambda g, ans, x1, x2: g * (x1 == 0))
def_binary(numpy.copysign, lambda g, ans, x1, x2: g * xp.sign(x1) * xp.copysign(1.0, x2), None)

