"""Rules of runtime/rules/numpy.py, arrays.py and reductions.py: through the
compiler, and rule by rule.

Two kinds of test:

* ``check_grads`` on a small function using the op, through the compiler
  (reverse mode, then forward over reverse for second order), with
  fixed random weights so cotangents are not ones;
* rule-level tests (``check_rule``) that call the forward templates
  directly against central differences, and check that every reverse
  template is the adjoint of its forward template:
  ``<vjp(g), d> == <g, jvp(d)>``.  ``check_rule`` also checks every
  ``when=`` variant against the general rule, and is reused by
  test_rules_linalg.py.
"""
import numpy as np
import pytest

import ad_compiler
from ad_compiler.runtime.core import kinds as K
from ad_compiler.checks import check_grads
from ad_compiler.runtime.core import registry
from ad_compiler.runtime.rules import arrays as RA
from ad_compiler.runtime.rules import numpy as R
from ad_compiler.runtime.rules import reductions as RR

# ---------------------------------------------------------------- rule-level harness

EPS = 1e-6


def _random_like(x, rng):
    if isinstance(x, list):
        return [_random_like(v, rng) for v in x]
    if isinstance(x, tuple):
        return tuple(_random_like(v, rng) for v in x)
    if isinstance(x, float) or np.ndim(x) == 0:
        return float(rng.randn())
    return rng.randn(*np.shape(x))


def _combine(a, b, fn):
    if isinstance(a, (list, tuple)):
        return [_combine(x, y, fn) for x, y in zip(a, b)]
    return fn(np.asarray(a, dtype=float), np.asarray(b, dtype=float))


def _vdot(a, b):
    if isinstance(a, (list, tuple)):
        return sum(_vdot(x, y) for x, y in zip(a, b))
    if a is None or b is None:          # a zero cotangent
        return 0.0
    return float(np.sum(np.asarray(a) * np.asarray(b)))


def _shape_tree(x):
    if isinstance(x, (list, tuple)):
        return [_shape_tree(v) for v in x]
    return np.shape(x)


def _moved(args, i, d, t):
    new = list(args)
    new[i] = _combine(args[i], d, lambda a, v: a + t * v)
    if isinstance(args[i], tuple):
        new[i] = tuple(new[i])
    elif isinstance(args[i], float):
        new[i] = type(args[i])(new[i])    # a NumPy scalar stays one
    return new


def rule_jvp(fn, args, kwargs, i, d):
    """The tangent contribution of argument ``i`` from ``fn``'s forward rule."""
    rule = registry.lookup(fn)
    ans = fn(*args, **kwargs)
    if rule.jvps is not None and i < len(rule.jvps) and rule.jvps[i] is not None:
        return rule.jvps[i](d, ans, *args, **kwargs)
    assert rule.linear is not None and i in rule.linear, "no forward rule for argument %d" % i
    new = list(args)
    new[i] = d
    return fn(*new, **kwargs)


def _kind(x):
    return K.kind_of(x) if not isinstance(x, (list, tuple)) else K.OTHER


def check_rule(fn, args, kwargs=None, argnums=(0,), seed=0, rtol=1e-5, atol=1e-7):
    """Forward rule vs central differences; reverse rules (and variants) vs forward."""
    kwargs = kwargs or {}
    rule = registry.lookup(fn)
    assert rule is not None and rule.vjps is not None, "no rule for %r" % (fn,)
    rng = np.random.RandomState(seed)
    ans = fn(*args, **kwargs)
    variants = [v for when, v in rule.variants if when(*[_kind(a) for a in args])]
    for i in argnums:
        d = _random_like(args[i], rng)
        jvp = rule_jvp(fn, args, kwargs, i, d)
        plus = fn(*_moved(args, i, d, EPS), **kwargs)
        minus = fn(*_moved(args, i, d, -EPS), **kwargs)
        num = _combine(plus, minus, lambda p, m: (p - m) / (2 * EPS))
        _combine(jvp, num, lambda a, b: np.testing.assert_allclose(a, b, rtol=rtol, atol=1e-5))
        g = _random_like(ans, rng)
        for vjps in [rule.vjps] + variants:
            vjp = vjps[i](g, ans, *args, **kwargs)
            assert _shape_tree(vjp) == _shape_tree(args[i])
            np.testing.assert_allclose(_vdot(vjp, d), _vdot(g, jvp), rtol=rtol, atol=atol)


# ---------------------------------------------------------------- data

rng = np.random.RandomState(1)
X = rng.randn(2, 3)
Y = rng.randn(2, 3)
V3 = rng.randn(3)
V2 = rng.randn(2)
T = rng.randn(2, 3, 4)
U = rng.uniform(-0.9, 0.9, (2, 3))          # inside (-1, 1)
P = rng.uniform(0.5, 2.0, (2, 3))           # positive
Q = rng.uniform(1.2, 3.0, (2, 3))           # above 1
W = rng.randn(2, 3)                         # weights, so that cotangents are not ones
W3 = rng.randn(3)
W2 = rng.randn(2)
W32 = rng.randn(3, 2)
W6 = rng.randn(6)
W34 = rng.randn(3, 4)
W234 = rng.randn(2, 3, 4)
Z = np.array([[0.5, 0.0, 2.0], [1.5, -1.0, 0.7]])   # one zero
ZZ = np.array([[0.5, 0.0, 0.0], [1.5, -1.0, 0.7]])  # two zeros in a row
MASK = np.array([[True, False, True], [True, True, False]])

# ---------------------------------------------------------------- through the compiler

ELEMENTWISE = [
    ("sin", lambda x: np.sum(np.sin(x) * W), (X,)),
    ("cos", lambda x: np.sum(np.cos(x) * W), (X,)),
    ("tan", lambda x: np.sum(np.tan(x) * W), (U,)),
    ("arcsin", lambda x: np.sum(np.arcsin(x) * W), (U,)),
    ("arccos", lambda x: np.sum(np.arccos(x) * W), (U,)),
    ("arctan", lambda x: np.sum(np.arctan(x) * W), (X,)),
    ("sinh", lambda x: np.sum(np.sinh(x) * W), (X,)),
    ("cosh", lambda x: np.sum(np.cosh(x) * W), (X,)),
    ("tanh", lambda x: np.sum(np.tanh(x) * W), (X,)),
    ("arcsinh", lambda x: np.sum(np.arcsinh(x) * W), (X,)),
    ("arccosh", lambda x: np.sum(np.arccosh(x) * W), (Q,)),
    ("arctanh", lambda x: np.sum(np.arctanh(x) * W), (U,)),
    ("exp", lambda x: np.sum(np.exp(x) * W), (X,)),
    ("exp2", lambda x: np.sum(np.exp2(x) * W), (X,)),
    ("expm1", lambda x: np.sum(np.expm1(x) * W), (X,)),
    ("log", lambda x: np.sum(np.log(x) * W), (P,)),
    ("log1p", lambda x: np.sum(np.log1p(x) * W), (P,)),
    ("log2", lambda x: np.sum(np.log2(x) * W), (P,)),
    ("log10", lambda x: np.sum(np.log10(x) * W), (P,)),
    ("sqrt", lambda x: np.sum(np.sqrt(x) * W), (P,)),
    ("cbrt", lambda x: np.sum(np.cbrt(x) * W), (X,)),
    ("square", lambda x: np.sum(np.square(x) * W), (X,)),
    ("abs", lambda x: np.sum(np.abs(x) * W), (X,)),
    ("absolute", lambda x: np.sum(np.absolute(x) * W), (X,)),
    ("fabs", lambda x: np.sum(np.fabs(x) * W), (X,)),
    ("reciprocal", lambda x: np.sum(np.reciprocal(x) * W), (P,)),
    ("deg2rad", lambda x: np.sum(np.deg2rad(x) * W), (X,)),
    ("radians", lambda x: np.sum(np.radians(x) * W), (X,)),
    ("rad2deg", lambda x: np.sum(np.rad2deg(x) * W), (X,)),
    ("degrees", lambda x: np.sum(np.degrees(x) * W), (X,)),
    ("negative", lambda x: np.sum(np.negative(x) * W), (X,)),
    ("positive", lambda x: np.sum(np.positive(x) * W), (X,)),
    ("real", lambda x: np.sum(np.real(x) * W), (X,)),
    ("conj", lambda x: np.sum(np.conj(x) * W), (X,)),
    ("conjugate", lambda x: np.sum(np.conjugate(x) * W), (X,)),
    ("sin-scalar", lambda x: np.sin(x) * 3.0, (0.4,)),
    ("exp-of-0d", lambda x: np.exp(x[0, 1]) * 2.0, (X,)),
    ("add", lambda x, y: np.sum(np.add(x, y) * W), (X, Y)),
    ("add-broadcast", lambda x, y: np.sum(np.add(x, y) * W), (X, V3)),
    ("add-scalar", lambda x, y: np.sum(np.add(x, y) * W), (X, 0.3)),
    ("subtract", lambda x, y: np.sum(np.subtract(x, y) * W), (X, V3)),
    ("multiply", lambda x, y: np.sum(np.multiply(x, y) * W), (X, V3)),
    ("multiply-col", lambda x, y: np.sum(np.multiply(x, y) * W), (X, V2[:, None])),
    ("divide", lambda x, y: np.sum(np.divide(x, y) * W), (X, P)),
    ("true_divide", lambda x, y: np.sum(np.true_divide(x, y) * W), (V3, P)),
    ("power", lambda x, y: np.sum(np.power(x, y) * W), (P, X)),
    ("power-const-exp", lambda x: np.sum(np.power(x, 3) * W), (X,)),
    ("power-scalar-base", lambda y: np.sum(np.power(2.0, y) * W), (X,)),
    ("float_power", lambda x, y: np.sum(np.float_power(x, y) * W), (P, V3)),
    ("maximum", lambda x, y: np.sum(np.maximum(x, y) * W), (X, Y)),
    ("maximum-broadcast", lambda x, y: np.sum(np.maximum(x, y) * W), (X, V3)),
    ("minimum", lambda x, y: np.sum(np.minimum(x, y) * W), (X, Y)),
    ("fmax", lambda x, y: np.sum(np.fmax(x, y) * W), (X, Y)),
    ("fmin", lambda x, y: np.sum(np.fmin(x, y) * W), (X, V3)),
    ("maximum-relu", lambda x: np.sum(np.maximum(x, 0.0) * W), (X,)),
    ("arctan2", lambda x, y: np.sum(np.arctan2(x, y) * W), (X, Y)),
    ("hypot", lambda x, y: np.sum(np.hypot(x, y) * W), (X, V3)),
    ("logaddexp", lambda x, y: np.sum(np.logaddexp(x, y) * W), (X, Y)),
    ("logaddexp2", lambda x, y: np.sum(np.logaddexp2(x, y) * W), (X, V3)),
    ("remainder", lambda x, y: np.sum(np.remainder(x, y) * W), (X, P)),
    ("mod-operator", lambda x, y: np.sum((x % y) * W), (X, P)),
    ("heaviside", lambda x, y: np.sum(np.heaviside(x, y) * W) + np.sum(np.heaviside(x * 0, y)
                                                                       * W), (X, Y)),
    ("copysign", lambda x, y: np.sum(np.copysign(x, y) * W), (X, Y)),
    ("mod", lambda x, y: np.sum(np.mod(x, y) * W), (X, P)),
    ("fmod", lambda x, y: np.sum(np.fmod(x, y) * W), (X, P)),
    ("erf", lambda x: np.sum(R.erf(x * 2.0) * W), (X,)),
    ("where", lambda x, y: np.sum(np.where(x > 0, x, y) * W), (X, Y)),
    ("where-scalar", lambda x: np.sum(np.where(x > 0, x, 0.0) * W), (X,)),
    ("where-broadcast", lambda x, y: np.sum(np.where(X > 0, x, y) * W), (V3, Y)),
    ("clip", lambda x: np.sum(np.clip(x, -0.5, 0.5) * W), (X,)),
    ("clip-keywords", lambda x: np.sum(np.clip(x, a_min=-0.5, a_max=0.5) * W), (X,)),
    ("clip-min-max", lambda x: np.sum(np.clip(x, min=-0.5, max=0.5) * W), (X,)),
    ("clip-none", lambda x: np.sum(np.clip(x, None, 0.5) * W), (X,)),
    ("clip-bounds", lambda x, lo, hi: np.sum(np.clip(x, lo, hi) * W), (X, -0.5 + 0.1 * V3, 0.5)),
    ("clip-kw-bounds", lambda x, lo, hi: np.sum(np.clip(x, min=lo, max=hi) * W),
     (X, -0.5 + 0.1 * V3, 0.5)),
    ("clip-method", lambda x, lo: np.sum(x.clip(lo, 0.5) * W), (X, -0.5)),
    ("clip-method-kw", lambda x: np.sum(x.clip(max=0.5) * W), (X,)),
    ("sign-zero", lambda x: np.sum((x * np.sign(x)) * W), (X,)),
    ("floor", lambda x: np.sum((x - np.floor(x)) * W), (X,)),
    ("round-ceil-trunc", lambda x: np.sum((np.ceil(x) + np.round(x) + np.trunc(x) + x) * W),
     (X,)),
]

REDUCTIONS = [
    ("sum", lambda x: np.sum(x * W), (X,)),
    ("sum-axis0", lambda x: np.sum(np.sum(x, axis=0) * W3), (X,)),
    ("sum-axis-neg", lambda x: np.sum(np.sum(x, -1) * W2), (X,)),
    ("sum-axis-tuple", lambda x: np.sum(np.sum(x, axis=(0, 2)) * W3), (T,)),
    ("sum-keepdims", lambda x: np.sum(np.sum(x, axis=1, keepdims=True) * W), (X,)),
    ("sum-keepdims-all", lambda x: np.sum(np.sum(x, keepdims=True) * W), (X,)),
    ("method-sum", lambda x: (x * W).sum(), (X,)),
    ("method-sum-axis", lambda x: np.sum(x.sum(0) * W3), (X,)),
    ("method-sum-kw", lambda x: np.sum(x.sum(axis=1, keepdims=True) * W), (X,)),
    ("mean", lambda x: np.mean(x * W), (X,)),
    ("mean-axis", lambda x: np.sum(np.mean(x, axis=1) * W2), (X,)),
    ("mean-tuple", lambda x: np.sum(np.mean(x, axis=(-1, 0)) * W3), (T,)),
    ("method-mean", lambda x: np.sum(x.mean(axis=0) * W3), (X,)),
    ("prod", lambda x: np.prod(x), (X,)),
    ("prod-axis", lambda x: np.sum(np.prod(x, axis=1) * W2), (X,)),
    ("prod-zero", lambda x: np.prod(x), (Z,)),
    ("prod-two-zeros", lambda x: np.sum(np.prod(x, axis=1, keepdims=True) * W2[:, None]), (ZZ,)),
    ("prod-zeros-all", lambda x: np.prod(x), (ZZ,)),
    ("method-prod", lambda x: np.sum(x.prod(0) * W3), (Z,)),
    ("max", lambda x: np.max(x), (X,)),
    ("max-axis", lambda x: np.sum(np.max(x, axis=0) * W3), (X,)),
    ("min-axis-keepdims", lambda x: np.sum(np.min(x, axis=1, keepdims=True) * W), (X,)),
    ("amax", lambda x: np.sum(np.amax(x, 1) * W2), (X,)),
    ("amin", lambda x: np.amin(x), (X,)),
    ("method-max", lambda x: np.sum(x.max(axis=1) * W2), (X,)),
    ("method-min", lambda x: x.min(), (X,)),
    ("var", lambda x: np.var(x), (X,)),
    ("var-axis-ddof", lambda x: np.sum(np.var(x, axis=0, ddof=1) * W3), (X,)),
    ("std", lambda x: np.std(x), (X,)),
    ("std-axis", lambda x: np.sum(np.std(x, axis=1, keepdims=True) * W), (X,)),
    ("method-var-std", lambda x: x.var() + x.std(axis=0).sum(), (X,)),
    ("sum-where", lambda x: np.sum(np.sin(x), where=MASK), (X,)),
    ("sum-where-axis", lambda x: np.sum(np.sum(x * W, axis=1, where=X > 0) * W2), (X,)),
    ("mean-where", lambda x: np.sum(np.mean(x, axis=1, where=MASK) * W2), (X,)),
    ("max-initial", lambda x: np.sum(np.max(x, axis=0, initial=0.0) * W3), (X,)),
    ("min-where", lambda x: np.sum(np.min(x, axis=1, where=MASK, initial=10.0) * W2), (X,)),
    ("prod-where-initial", lambda x: np.sum(np.prod(x, axis=0, where=MASK, initial=2.0) * W3),
     (Z,)),
    ("var-std-where", lambda x: np.var(x, where=MASK) + np.std(x, axis=1, where=MASK).sum(),
     (X,)),
    ("cumsum", lambda x: np.sum(np.cumsum(x) * W6), (X,)),
    ("cumsum-axis", lambda x: np.sum(np.cumsum(x, axis=1) * W), (X,)),
    ("method-cumsum", lambda x: np.sum(x.cumsum(0) * W), (X,)),
]

SHAPES = [
    ("reshape", lambda x: np.sum(np.reshape(x, (3, 2)) * W32), (X,)),
    ("reshape-F", lambda x: np.sum(np.reshape(x, (3, 2), order="F") * W32), (X,)),
    ("reshape-minus1", lambda x: np.sum(np.reshape(x, -1) * W6), (X,)),
    ("method-reshape", lambda x: np.sum(x.reshape((3, 2)) * W32), (X,)),
    ("method-reshape-varargs", lambda x: np.sum(x.reshape(3, 2) * W32), (X,)),
    ("method-reshape-order", lambda x: np.sum(x.reshape(3, 2, order="F") * W32), (X,)),
    ("ravel", lambda x: np.sum(np.ravel(x) * W6), (X,)),
    ("method-ravel", lambda x: np.sum(x.ravel() * W6), (X,)),
    ("method-flatten", lambda x: np.sum(x.flatten() * W6), (X,)),
    ("squeeze", lambda x: np.sum(np.squeeze(x) * W3), (X[:1],)),
    ("method-squeeze", lambda x: np.sum(x.squeeze(0) * W3), (X[:1],)),
    ("expand_dims", lambda x: np.sum(np.expand_dims(x, 1) * W[:, None, :]), (X,)),
    ("broadcast_to", lambda x: np.sum(np.broadcast_to(x, (2, 3)) * W), (V3,)),
    ("flip", lambda x: np.sum(np.flip(x, 1) * W), (X,)),
    ("copy", lambda x: np.sum(np.copy(x) * W), (X,)),
    ("method-copy", lambda x: np.sum(x.copy() * W), (X,)),
    ("astype-float", lambda x: np.sum(x.astype(float) * W), (X,)),
    ("astype-int", lambda x: np.sum((x.astype(int) + x) * W), (X,)),
    ("asarray", lambda x: np.sum(np.asarray(x) * W), (X,)),
    ("array", lambda x: np.sum(np.array(x) * W), (X,)),
    ("array-of-scalars", lambda x: np.sum(np.array([x[0] * x[1], x[2]]) * W2), (V3,)),
    ("asarray-of-arrays", lambda x, y: np.sum(np.asarray([x, y]) * W32.T[:, None, :2]),
     (V2, V2 * 2)),
    ("concatenate", lambda x, y: np.sum(np.concatenate([x, y]) * W6), (V3, V3 * 2)),
    ("concatenate-axis1", lambda x, y: np.sum(np.concatenate((x, y), axis=1) * W[:, :2].repeat(
        3, 1)), (X, Y)),
    ("concatenate-none", lambda x, y: np.sum(np.concatenate([x, y], axis=None) * W6.repeat(2)),
     (X, Y)),
    ("concatenate-three", lambda x, y: np.sum(np.concatenate([x, y, x]) * W[0].repeat(3)[:7]),
     (V3[:2], V3)),
    ("stack", lambda x, y: np.sum(np.stack([x, y]) * W), (V3, V3 * 2)),
    ("stack-axis", lambda x, y: np.sum(np.stack((x, y), axis=-1) * W32), (V3, V3 * 2)),
    ("hstack", lambda x, y: np.sum(np.hstack([x, y]) * W6), (V3, V3 * 2)),
    ("hstack-2d", lambda x, y: np.sum(np.hstack([x, y]) * W.repeat(2, 1)), (X, Y)),
    ("vstack", lambda x, y: np.sum(np.vstack([x, y]) * W), (V3, V3 * 2)),
    ("vstack-2d", lambda x, y: np.sum(np.vstack([x, y[None]]) * W.repeat(2, 0)[:3]), (X, V3)),
    ("sort", lambda x: np.sum(np.sort(x) * W), (X,)),
    ("sort-axis0", lambda x: np.sum(np.sort(x, axis=0) * W), (X,)),
    ("sort-none", lambda x: np.sum(np.sort(x, axis=None) * W6), (X,)),
    ("pad-constant", lambda x: np.sum(np.pad(x, ((1, 0), (0, 1))) ** 2 * W34), (X,)),
    ("pad-values", lambda x: np.sum(np.pad(x, 1, constant_values=2.0)[1:, :4] ** 2 * W34), (X,)),
    ("pad-reflect", lambda x: np.sum(np.pad(x, ((0, 0), (1, 2)), "reflect") ** 2 * W6), (X,)),
    ("pad-modes", lambda x: np.sum(np.pad(x, (1, 0), mode="edge") * W34
                                   + np.pad(x, ((1, 0), (0, 1)), "symmetric") ** 2 * W34
                                   + np.pad(x, ((0, 1), (1, 0)), "wrap") * W34), (X,)),
    ("full", lambda x: np.sum(np.full((2, 3), x) * W), (0.7,)),
    ("full_like", lambda x: np.sum(np.full_like(X, x[1]) * W), (V3,)),
    ("linspace", lambda a, b: np.sum(np.linspace(a, b, 6) * W6), (0.3, 1.7)),
    ("linspace-no-endpoint", lambda a, b: np.sum(np.linspace(a, b * a, 6, endpoint=False) * W6),
     (0.3, 1.7)),
    ("linspace-arrays", lambda a, b: np.sum(np.linspace(a, b, 2, axis=-1) * W32), (V3, 0.5)),
    ("linspace-axis0", lambda a, b: np.sum(np.linspace(a, b, 2) * W32.T), (V3, V3 * 2)),
    ("arange", lambda a, s: np.sum(np.arange(a, 3.4, s) * W3), (0.2, 1.1)),
    ("arange-step-keyword", lambda a, s: np.sum(np.arange(a, a + 3.0, step=s) * W3),
     (0.2, 1.1)),
    ("arange-only-stop", lambda a: np.sum(np.arange(a) * W3) + a, (2.5,)),
]

CONSTANTS = [
    ("zeros-setitem", lambda x: np.sum(_set_first(x) * W3), (V3,)),
    ("ones_like", lambda x: np.sum(x * np.ones_like(x) * W), (X,)),
    ("zeros_like", lambda x: np.sum((x + np.zeros_like(x)) * W), (X,)),
    ("arange-linspace-eye", lambda x: np.sum(x * np.arange(3) * np.linspace(0, 1, 3)
                                             + x @ np.eye(3) + x @ np.identity(3)), (X,)),
    ("argmax-index", lambda x: x[np.argmax(x)] * 2.0, (V3,)),
    ("argsort-index", lambda x: np.sum(x[np.argsort(x)] * W3), (V3,)),
    ("comparisons", lambda x: np.sum(x * (np.greater(x, 0) | np.less_equal(x, -1)) * W), (X,)),
    ("logical", lambda x: np.sum(np.where(np.logical_and(x > -1, np.logical_not(x > 1)), x, 0.0)
                                 * W), (X,)),
    ("isfinite", lambda x: np.sum(x * np.isfinite(x) * W), (X,)),
    ("all-any-count", lambda x: np.sum(x * W) * (np.all(x < 10) + np.any(x > 10)
                                                 + np.count_nonzero(x)), (X,)),
    ("shape-size", lambda x: np.sum(x) / np.size(x) + np.sum(x) * np.ndim(x) * np.shape(x)[0],
     (X,)),
]


def _set_first(x):
    z = np.zeros(3)
    z[0] = x[1]
    z[2] = x[0] * x[2]
    return z


def _loss_with_loop(x):
    total = 0.0
    for i in range(3):
        total = total + np.sum(np.tanh(x[:, i]) * W[:, i])
    return total


def _mask_sum(x):
    return np.sum(x[x > 0] ** 2)


def _fancy_repeat(x):
    return np.sum(x[[0, 0, 2, 1]] * np.array([1.0, 2.0, 3.0, 4.0]))


INDEXING = [
    ("int", lambda x: x[1] * 3.0, (V3,)),
    ("negative", lambda x: x[-1] * x[0], (V3,)),
    ("row", lambda x: np.sum(x[1] * W3), (X,)),
    ("column", lambda x: np.sum(x[:, 1] * W2), (X,)),
    ("element", lambda x: x[1, 2] * x[0, 0], (X,)),
    ("slice-step", lambda x: np.sum(x[:, ::-1] * W), (X,)),
    ("slice-range", lambda x: np.sum(x[:, 1:] * W[:, :2]), (X,)),
    ("newaxis", lambda x: np.sum(x[..., None] * W[..., None]), (X,)),
    ("none", lambda x: np.sum(x[None, :] * W3), (V3,)),
    ("ellipsis", lambda x: np.sum(x[..., 0] * W[:, :2]), (T[:, :2, :],)),
    ("fancy-repeats", _fancy_repeat, (V3,)),
    ("fancy-2d", lambda x: np.sum(x[[1, 0, 1]] * W.repeat(2, 0)[:3]), (X,)),
    ("fancy-array", lambda x: np.sum(x[:, np.array([2, 2, 0])] * W), (X,)),
    ("bool-mask", _mask_sum, (X,)),
    ("bool-mask-const", lambda x: np.sum(x[X > 0] ** 2), (X,)),
    ("loop-columns", _loss_with_loop, (X,)),
]



def _through_variable(x):
    fn = np.tanh
    return np.sum(fn(x) * W)


def _method_of_unknown_kind(xs):
    return np.sum(xs[0].sum(axis=0) * W3) + np.sum(xs[1].reshape(3, 2) * W32)


def _ufunc_argument(x, f=np.sin):
    return np.sum(f(x) * W)


# Rules reached at run time (call_fwd / call_bwd), not inlined.
DISPATCH = [
    ("rule-through-variable", _through_variable, (X,)),
    ("method-of-unknown-kind", _method_of_unknown_kind, ([X, Y],)),
    ("ufunc-argument", _ufunc_argument, (X,)),
]

COMPILER_CASES = ([pytest.param(f, args, id=name) for name, f, args in ELEMENTWISE]
                  + [pytest.param(f, args, id=name) for name, f, args in REDUCTIONS]
                  + [pytest.param(f, args, id=name) for name, f, args in SHAPES]
                  + [pytest.param(f, args, id=name) for name, f, args in CONSTANTS]
                  + [pytest.param(f, args, id=name) for name, f, args in DISPATCH])


# np.clip(a, min=, max=) is new in NumPy 2.1; Python 3.9's last NumPy is 2.0.
OLD_CLIP = np.lib.NumpyVersion(np.__version__) < "2.1.0"
CLIP_MIN_MAX = {f for name, f, _ in ELEMENTWISE if name in ("clip-min-max", "clip-kw-bounds")}


@pytest.mark.parametrize("f, args", COMPILER_CASES)
def test_check_grads(f, args):
    if OLD_CLIP and f in CLIP_MIN_MAX:
        pytest.skip("np.clip(min=, max=) needs NumPy >= 2.1")
    check_grads(f, *args, order=2)


def _case(c):
    """A (name, f, args) case, or one wrapped in pytest.param to carry marks."""
    if not hasattr(c, "marks"):
        return pytest.param(c[1], c[2], id=c[0])
    name, f, args = c.values
    return pytest.param(f, args, id=name, marks=c.marks)


@pytest.mark.parametrize("f, args", [_case(c) for c in INDEXING])
def test_indexing(f, args):
    check_grads(f, *args, order=2)


def test_second_order():
    check_grads(lambda x: np.sum(np.sin(x) * W), X, order=2)


# ---------------------------------------------------------------- exact values at kinks and ties

def _grad(f, *args):
    return ad_compiler.gradient(f, *args)


def test_maximum_ties_split_evenly():
    x = np.array([1.0, 2.0, 3.0])
    y = np.array([1.0, 0.0, 3.0])
    gx, gy = _grad(lambda a, b: np.sum(np.maximum(a, b)), x, y)
    np.testing.assert_allclose(gx, [0.5, 1.0, 0.5])
    np.testing.assert_allclose(gy, [0.5, 0.0, 0.5])
    gx, gy = _grad(lambda a, b: np.sum(np.minimum(a, b)), x, y)
    np.testing.assert_allclose(gx, [0.5, 0.0, 0.5])
    np.testing.assert_allclose(gy, [0.5, 1.0, 0.5])


def test_max_reduction_ties_split_evenly():
    x = np.array([[3.0, 1.0, 3.0], [0.0, 2.0, 1.0]])
    g, = _grad(lambda a: np.max(a), x)
    np.testing.assert_allclose(g, [[0.5, 0, 0.5], [0, 0, 0]])
    g, = _grad(lambda a: np.sum(np.min(a, axis=1) * np.array([1.0, 2.0])), np.array(
        [[1.0, 1.0, 1.0], [0.0, 2.0, 1.0]]))
    np.testing.assert_allclose(g, [[1 / 3, 1 / 3, 1 / 3], [2.0, 0, 0]])


def test_abs_sign_at_zero():
    x = np.array([-1.0, 0.0, 2.0])
    g, = _grad(lambda a: np.sum(np.abs(a)), x)
    np.testing.assert_allclose(g, [-1.0, 0.0, 1.0])
    g, = _grad(lambda a: np.sum(np.sign(a) * 3.0 + a), x)
    np.testing.assert_allclose(g, [1.0, 1.0, 1.0])


def test_clip_at_bounds_goes_to_a():
    x = np.array([-2.0, -1.0, 0.0, 1.0, 2.0])
    gx, glo, ghi = _grad(lambda a, lo, hi: np.sum(np.clip(a, lo, hi)), x, -1.0, 1.0)
    np.testing.assert_allclose(gx, [0, 1, 1, 1, 0])
    assert (glo, ghi) == (1.0, 1.0)


def test_keepdims_result_is_not_a_scalar():
    """``keepdims=True`` keeps an array: it must not be seeded like a scalar output."""
    with pytest.raises(ad_compiler.NonScalarOutputError, match=r"shape \(1, 1\)"):
        _grad(lambda a: np.sum(a, keepdims=True) * 2.0, X)
    with pytest.raises(ad_compiler.NonScalarOutputError, match=r"shape \(1, 1\)"):
        _grad(lambda a: a.max(None, None, True) * 2.0, X)


def test_astype_casts_gradient_back_to_input_dtype():
    g, = _grad(lambda a: np.sum(a.astype(np.float32) * W), X)
    assert g.dtype == np.float64
    np.testing.assert_allclose(g, W, rtol=1e-6)
    g, = _grad(lambda a: np.sum(a.astype(np.float64) * W), X.astype(np.float32))
    assert g.dtype == np.float32


def test_prod_with_zeros_exact():
    g, = _grad(lambda a: np.prod(a), np.array([2.0, 0.0, 3.0]))
    np.testing.assert_allclose(g, [0.0, 6.0, 0.0])
    g, = _grad(lambda a: np.prod(a), np.array([2.0, 0.0, 0.0]))
    np.testing.assert_allclose(g, [0.0, 0.0, 0.0])


# ---------------------------------------------------------------- errors


def test_no_rule_raises_no_adjoint_error():
    with pytest.raises(ad_compiler.NoAdjointError, match=r"numpy\.sinc.*@adjoint"):
        _grad(lambda x: np.sum(np.sinc(x)), X)
    with pytest.raises(ad_compiler.NoAdjointError, match=r"numpy\.fft\.fft.*@adjoint"):
        _grad(lambda x: np.sum(np.fft.fft(x).real), V3)


def test_cumprod_has_no_rule():
    with pytest.raises(ad_compiler.NoAdjointError, match=r"cumprod.*@adjoint"):
        _grad(lambda x: np.sum(np.cumprod(x)), V3)


def test_third_derivative_of_prod_is_refused():
    with pytest.raises(ad_compiler.ADError, match=r"third derivative of numpy.prod.*@adjoint"):
        registry.lookup(RR.prod_pairs).vjps[1](V3, None, V3, V3)


# ---------------------------------------------------------------- rule level

RULES = [
    # (function, args, kwargs, differentiable argument positions)
    (np.sin, (X,), {}, (0,)), (np.cos, (X,), {}, (0,)), (np.tan, (U,), {}, (0,)),
    (np.arcsin, (U,), {}, (0,)), (np.arccos, (U,), {}, (0,)), (np.arctan, (X,), {}, (0,)),
    (np.sinh, (X,), {}, (0,)), (np.cosh, (X,), {}, (0,)), (np.tanh, (X,), {}, (0,)),
    (np.arcsinh, (X,), {}, (0,)), (np.arccosh, (Q,), {}, (0,)), (np.arctanh, (U,), {}, (0,)),
    (np.exp, (X,), {}, (0,)), (np.exp2, (X,), {}, (0,)), (np.expm1, (X,), {}, (0,)),
    (np.log, (P,), {}, (0,)), (np.log1p, (P,), {}, (0,)), (np.log2, (P,), {}, (0,)),
    (np.log10, (P,), {}, (0,)), (np.sqrt, (P,), {}, (0,)), (np.cbrt, (X,), {}, (0,)),
    (np.square, (X,), {}, (0,)), (np.reciprocal, (P,), {}, (0,)),
    (np.fabs, (X,), {}, (0,)), (np.deg2rad, (X,), {}, (0,)),
    (np.radians, (X,), {}, (0,)), (np.rad2deg, (X,), {}, (0,)), (np.degrees, (X,), {}, (0,)),
    (np.negative, (X,), {}, (0,)), (np.positive, (X,), {}, (0,)), (np.sin, (0.3,), {}, (0,)),
    (np.add, (X, V3), {}, (0, 1)), (np.subtract, (X, V3), {}, (0, 1)),
    (np.multiply, (X, V2[:, None]), {}, (0, 1)), (np.divide, (X, P), {}, (0, 1)),
    (np.divide, (2.0, P), {}, (0, 1)),
    (np.power, (P, X), {}, (0, 1)), (np.float_power, (P, V3), {}, (0, 1)),
    (np.maximum, (X, Y), {}, (0, 1)), (np.minimum, (X, V3), {}, (0, 1)),
    (np.fmax, (X, 0.1), {}, (0, 1)), (np.fmin, (X, Y), {}, (0, 1)),
    (np.arctan2, (X, Y), {}, (0, 1)), (np.hypot, (X, V3), {}, (0, 1)),
    (np.logaddexp, (X, Y), {}, (0, 1)), (np.logaddexp2, (X, V3), {}, (0, 1)),
    (np.remainder, (X, P), {}, (0, 1)), (np.fmod, (X, P), {}, (0, 1)),
    (np.where, (X > 0, X, V3), {}, (1, 2)), (np.where, (X > 0, X, 0.5), {}, (1, 2)),
    (np.clip, (X, -0.5, V3 * 0.1 + 0.5), {}, (0, 1, 2)),
    (np.clip, (X, -0.5 + 0.1 * V3), {"a_max": 0.5}, (0, 1)),
    (np.clip, (X,), {"min": -0.5, "max": 0.5}, (0,)),
    (np.ndarray.clip, (X, -0.5, 0.5), {}, (0, 1, 2)),
    (np.sum, (X,), {}, (0,)), (np.sum, (T,), {"axis": (0, -1)}, (0,)),
    (np.sum, (X,), {"axis": 1, "keepdims": True}, (0,)),
    (np.ndarray.sum, (X, 0), {}, (0,)),
    (np.mean, (T,), {"axis": 1}, (0,)), (np.ndarray.mean, (X,), {"keepdims": True}, (0,)),
    (np.prod, (Z,), {}, (0,)), (np.prod, (ZZ,), {"axis": 1}, (0,)),
    (np.ndarray.prod, (T,), {"axis": (0, 2), "keepdims": True}, (0,)),
    (np.max, (X,), {}, (0,)), (np.min, (X,), {"axis": 0}, (0,)),
    (np.amax, (T,), {"axis": (0, 1), "keepdims": True}, (0,)), (np.amin, (X, 1), {}, (0,)),
    (np.ndarray.max, (X,), {"axis": -1}, (0,)), (np.ndarray.min, (X,), {}, (0,)),
    (np.var, (X,), {}, (0,)), (np.var, (T,), {"axis": (0, 2), "ddof": 1}, (0,)),
    (np.ndarray.var, (X, 1), {}, (0,)), (np.std, (X,), {"axis": 0, "keepdims": True}, (0,)),
    (np.ndarray.std, (X,), {}, (0,)),
    (np.sum, (X,), {"where": MASK}, (0,)), (np.ndarray.sum, (X, 1), {"where": MASK}, (0,)),
    (np.mean, (X,), {"axis": 1, "where": MASK}, (0,)),
    (np.prod, (Z,), {"axis": 1, "where": MASK, "initial": 1.5}, (0,)),
    (np.max, (X,), {"axis": 0, "where": MASK, "initial": -5.0}, (0,)),
    (np.min, (X,), {"initial": -5.0}, (0,)),
    (np.var, (X,), {"axis": 1, "where": MASK}, (0,)), (np.std, (X,), {"where": MASK}, (0,)),
    (np.cumsum, (X,), {}, (0,)), (np.cumsum, (T,), {"axis": 1}, (0,)),
    (np.ndarray.cumsum, (X, -1), {}, (0,)),
    (np.reshape, (X, (3, 2)), {}, (0,)), (np.reshape, (X, (3, 2)), {"order": "F"}, (0,)),
    (np.ndarray.reshape, (X, 3, 2), {}, (0,)), (np.ndarray.reshape, (X, (6,)), {}, (0,)),
    (np.ravel, (X,), {}, (0,)), (np.ndarray.ravel, (X,), {}, (0,)),
    (np.ndarray.flatten, (X,), {"order": "F"}, (0,)),
    (np.squeeze, (X[:, None],), {}, (0,)), (np.ndarray.squeeze, (X[None],), {}, (0,)),
    (np.expand_dims, (X, (0, 2)), {}, (0,)), (np.broadcast_to, (V3, (2, 3)), {}, (0,)),
    (np.flip, (X,), {}, (0,)), (np.flip, (T,), {"axis": (0, 2)}, (0,)),
    (np.copy, (X,), {}, (0,)), (np.ndarray.copy, (X,), {}, (0,)),
    (np.generic.copy, (X[0, 1],), {}, (0,)),
    (np.ndarray.astype, (X, float), {}, (0,)), (np.ndarray.astype, (X, int), {}, (0,)),
    (np.asarray, (X,), {}, (0,)), (np.asarray, ([V3, 2 * V3],), {}, (0,)),
    (np.array, ([0.5, V2[0], 2.0],), {}, (0,)), (np.array, ((X, Y),), {}, (0,)),
    (np.concatenate, ([X, Y],), {}, (0,)), (np.concatenate, ((X, Y[:, :1]),), {"axis": 1}, (0,)),
    (np.concatenate, ([X, V3],), {"axis": None}, (0,)),
    (np.stack, ([X, Y],), {}, (0,)), (np.stack, ((V3, V3 * 2),), {"axis": -1}, (0,)),
    (np.hstack, ([V3, V2],), {}, (0,)), (np.hstack, ((X, Y[:, :2]),), {}, (0,)),
    (np.vstack, ([V3, X],), {}, (0,)),
    (np.sort, (X,), {}, (0,)), (np.sort, (X,), {"axis": None}, (0,)),
    (np.sort, (T,), {"axis": 0}, (0,)),
    (np.pad, (X, ((1, 2), (0, 1))), {}, (0,)), (np.pad, (T, 1, "reflect"), {}, (0,)),
    (np.pad, (X, (2, 1)), {"mode": "wrap"}, (0,)), (np.pad, (X, 1), {"mode": "edge"}, (0,)),
    (np.pad, (X, 1), {"constant_values": 3.0}, (0,)),
    (np.pad, (T, ((0, 1), (2, 0), (1, 1))), {"mode": "symmetric"}, (0,)),
    (np.full, ((2, 3), 0.7), {}, (1,)), (np.full, ((2, 3), V3), {}, (1,)),
    (np.full_like, (X, 0.7), {}, (1,)),
    (np.linspace, (0.3, 1.7), {"num": 5}, (0, 1)),
    (np.linspace, (V3, 2.0, 4), {"endpoint": False}, (0, 1)),
    (np.linspace, (V3, V3 * 2, 3), {"axis": -1}, (0, 1)),
    (np.arange, (0.2, 3.4, 1.1), {}, (0, 2)), (np.arange, (2.5,), {}, (0,)),
    (np.heaviside, (Z, Y), {}, (1,)), (np.copysign, (X, Y), {}, (0,)),
    (np.abs, (X,), {}, (0,)), (np.sign, (X,), {}, (0,)),
    (R.erf, (X * 2.0,), {}, (0,)),
]

# Helpers used inside rules: their own rules make generated code differentiable again.
HELPER_RULES = [
    (RA.move_like, (X, Y), {}, (0,)),      # same library: the identity (other: test_device)
    (RR.sum_grad, (V3, X, 0, False), {}, (0,)), (RR.sum_grad, (1.5, T, None, False), {}, (0,)),
    (RR.sum_grad, (X[:, :1, None], T[:, :1], (1, 2), True), {}, (0,)),
    (RR.prod_others, (ZZ, 1), {}, (0,)), (RR.prod_others, (X, None), {}, (0,)),
    (RR.prod_pairs, (V3, V3 + 1, None), {}, (0,)), (RR.prod_pairs, (X, Z, 0), {}, (0,)),
    (RR.sum_grad, (V2, X, 1, False, MASK), {}, (0,)),
    (RR.extreme_grad, (V3, X, np.max(X, axis=0), 0, False), {}, (0,)),
    (RR.extreme_grad, (1.5, X, np.min(X), None, False), {}, (0,)),
    (RR.extreme_grad, (V2[:, None], X, np.max(X, axis=1, keepdims=True), 1, True), {}, (0,)),
    (RR.extreme_grad, (V2, X, np.max(X, axis=1, where=MASK, initial=-9.0), 1, False, MASK, -9.0),
     {}, (0,)),
    (RR.prod_others, (Z, None, None, MASK), {}, (0,)),
    (RR.prod_pairs, (X, Z, 1, 2.0, MASK), {}, (0,)),
    (RR.cumsum_vjp, (V3 * 0 + X.ravel()[:3], V3, None), {}, (0,)),
    (RR.cumsum_vjp, (X, X, 1), {}, (0,)), (RR.cumsum_vjp, (W6, X, None), {}, (0,)),
    (RA.unjoin, (W6, [V3, V3], 0, "concatenate"), {}, (0,)),
    (RA.unjoin, (X, (V3, V3), 0, "stack"), {}, (0,)),
    (RA.unjoin, (W6, [V3, V2, 1.0], None, "hstack"), {}, (0,)),
    (RA.unjoin, (W, [V3, X[:1]], None, "vstack"), {}, (0,)),
    (RA.unjoin, (W6.repeat(2), (X, Y), None, "concatenate"), {}, (0,)),
    (RA.join, ([V3, V3], [V3, V3], -1, "stack"), {}, (0,)),
    (RA.join, ([X, V3], [X, V3], None, "vstack"), {}, (0,)),
    (RA.join, ((X, Y[:, :1]), (X, Y[:, :1]), 1, "concatenate"), {}, (0,)),
    (RA.cast_like, (X.astype(np.float32), X), {}, (0,)), (RA.cast_like, (X, X, int), {}, (0,)),
    (RA.asarray_vjp, (X, [V3, V3]), {}, (0,)), (RA.asarray_vjp, (V3, [1.0, V2[0], 2.0]), {}, (0,)),
    (RA.asarray_like, ([V3, V3 * 2], [V3, V3]), {}, (0,)),
    (RA.sort_like, (X, Y, 0), {}, (0,)), (RA.sort_like, (Y, X, None), {}, (0,)),
    (RA.unsort, (X, Y), {}, (0,)), (RA.unsort, (W6, X, None), {}, (0,)),
    (RA.pad_tangent, (X, ((1, 0), (2, 1))), {}, (0,)),
    (RA.pad_tangent, (T, 1, "reflect"), {}, (0,)),
    (RA.unpad, (W34, ((1, 0), (0, 1))), {}, (0,)),
    (RA.unpad, (W234, ((0, 0), (1, 1), (1, 0)), "edge"), {}, (0,)),
]


def _rule_id(case):
    fn, args, kwargs, _ = case
    return "%s-%s" % (getattr(fn, "__name__", "?"), "-".join(
        str(np.shape(a)) if not isinstance(a, (list, tuple)) else "seq" for a in args)
        + ("-" + ",".join(sorted(kwargs)) if kwargs else ""))


@pytest.mark.parametrize("case", RULES + HELPER_RULES, ids=[_rule_id(c) for c in RULES
                                                            + HELPER_RULES])
def test_rule(case):
    fn, args, kwargs, argnums = case
    if OLD_CLIP and fn is np.clip and "min" in kwargs:
        pytest.skip("np.clip(min=, max=) needs NumPy >= 2.1")
    check_rule(fn, args, kwargs, argnums)


def test_float_cotangent_of_scalar_outputs():
    """Scalar outputs are seeded with a Python float: rules must accept it."""
    for fn, args in [(np.sum, (X,)), (np.mean, (X,)), (np.prod, (Z,)), (np.max, (X,)),
                     (np.var, (X,)), (np.std, (X,)), (np.ndarray.sum, (X,))]:
        ans = fn(*args)
        np.testing.assert_allclose(registry.lookup(fn).vjps[0](1.0, ans, *args),
                                   registry.lookup(fn).vjps[0](np.float64(1.0), ans, *args))


def has_forward_rules(fn):
    """A forward rule (template or linearity) for every argument with a reverse rule."""
    rule = registry.lookup(fn)
    jvps = rule.jvps or ()
    return all((i < len(jvps) and jvps[i] is not None) or i in (rule.linear or ())
               for i, t in enumerate(rule.vjps) if t is not None)


def covered(cases):
    return {case[0] for case in cases}


MODULES = (R.__name__, RA.__name__, RR.__name__)


def test_every_rule_of_the_module_is_tested():
    mine = {rule.primal for rule in registry._RULES.values()      # (copies: see test_device)
            if not rule.nondiff and rule.copy_of is None and any(t is not None and t.fn.__module__ in MODULES
                                        for t in (rule.vjps or ()))}
    missing = mine - covered(RULES + HELPER_RULES)
    assert not missing, sorted(registry.qualified_name(f) for f in missing)
    no_forward = [registry.lookup(f).name for f in mine if not has_forward_rules(f)]
    assert not no_forward, no_forward


@pytest.mark.parametrize("reduce", [lambda a: np.max(a), lambda a: np.sum(np.min(a, axis=1)),
                                    lambda a: np.sum(a.max(0, keepdims=True) * 2.0)])
def test_max_gradient_keeps_float32(reduce):
    """A Python-float seed must not promote the gradient of a float32 array."""
    g, = _grad(reduce, X.astype(np.float32))
    assert g.dtype == np.float32


# ---------------------------------------------------------------- erf (NumPy has none)

def _erf_series(x):
    """erf(x) to about 60 digits: its Maclaurin series in Decimal arithmetic."""
    from decimal import Decimal, localcontext
    with localcontext() as ctx:
        ctx.prec = 80
        x = Decimal(x)
        term = total = x
        n = 0
        while abs(term) > Decimal(10) ** -70:
            n += 1
            term = -term * x * x / n
            total += term / (2 * n + 1)
        pi = Decimal("3.14159265358979323846264338327950288419716939937510582097494459")
        return total * 2 / pi.sqrt()


def test_erf_is_accurate_to_a_few_ulp(monkeypatch):
    from decimal import Decimal
    import math
    monkeypatch.setattr(R, "_HAS_SCIPY", False)        # the fallback, even with SciPy
    x = np.concatenate([np.random.RandomState(3).uniform(-6.5, 6.5, 400),
                        [1e-300, 1e-8, 0.5, 1.4999999, 1.5, 5.999999, 6.0]])
    got = R.erf(x)
    for v, g in zip(x, got):
        exact = _erf_series(float(v))
        ulps = abs(Decimal(float(g)) - exact) / Decimal(math.ulp(float(exact)))
        assert ulps <= 4, (v, float(ulps))


def test_erf_special_values_and_dtypes(monkeypatch):
    import math
    monkeypatch.setattr(R, "_HAS_SCIPY", False)
    out = R.erf(np.array([np.nan, np.inf, -np.inf, -0.0, 0.0]))
    assert np.isnan(out[0]) and list(out[1:]) == [1.0, -1.0, 0.0, 0.0]
    assert np.signbit(out[3])
    assert R.erf(np.float32([0.5])).dtype == np.float32
    assert R.erf(np.array([1, 2])).dtype == np.float64
    assert isinstance(R.erf(0.5), np.float64) and R.erf(0.5) == pytest.approx(math.erf(0.5))
    with pytest.raises(TypeError, match="real"):
        R.erf(np.array([1j]))


def test_erf_uses_scipy_when_installed(monkeypatch):
    import math
    import sys
    import types
    special = types.ModuleType("scipy.special")
    special.erf = np.vectorize(lambda v: -1.0 if v == 0.25 else math.erf(v))  # a marker
    monkeypatch.setitem(sys.modules, "scipy", types.ModuleType("scipy"))
    monkeypatch.setitem(sys.modules, "scipy.special", special)
    monkeypatch.setattr(R, "_HAS_SCIPY", True)
    assert R.erf(0.25) == -1.0
    assert ad_compiler.gradient(lambda x: R.erf(x), 0.5)[0] == pytest.approx(
        2 / math.sqrt(math.pi) * math.exp(-0.25))


def test_pad_derivative_is_refused_for_modes_that_do_not_copy_elements():
    from ad_compiler.errors import UnsupportedDerivativeError
    for mode in ("maximum", "linear_ramp", "mean"):
        with pytest.raises(UnsupportedDerivativeError, match="mode=%r" % mode):
            _grad(lambda x: np.sum(np.pad(x, 1, mode)), X)
    with pytest.raises(UnsupportedDerivativeError, match="reflect_type='odd'"):
        _grad(lambda x: np.sum(np.pad(x, 1, "reflect", reflect_type="odd")), X)
