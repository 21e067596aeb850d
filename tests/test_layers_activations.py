"""layers/activations.py: values against independent formulas, dtypes, stability at
extreme inputs, the derivative conventions at kinks, and gradients (order 1 and 2)
against finite differences."""
import math
import warnings

import numpy as np
import pytest

from ad_compiler import gradient, jvp
from ad_compiler.checks import check_grads
from ad_compiler.layers import activations as A

ELEMENTWISE = ["relu", "sigmoid", "tanh", "leakyrelu", "elu", "celu", "selu", "gelu",
               "gelu_erf", "swish", "softplus", "logsigmoid", "softsign", "relu6",
               "hardsigmoid", "hardtanh"]
# Smooth everywhere: checked to second order, extreme inputs included.
SMOOTH = ["sigmoid", "tanh", "gelu", "gelu_erf", "swish", "softplus", "logsigmoid"]
EXTREME = np.array([-800.0, -30.0, -1.3, -0.4, 0.35, 1.7, 30.0, 800.0])
W8 = np.linspace(0.5, 2.0, 8)          # weights, so that cotangents are not all ones


def _sigmoid(v):
    return 1 / (1 + math.exp(-v)) if v >= 0 else math.exp(v) / (1 + math.exp(v))


def _softplus(v):
    return max(v, 0.0) + math.log1p(math.exp(-abs(v)))


def _gelu_tanh(v):
    return 0.5 * v * (1 + math.tanh(math.sqrt(2 / math.pi) * (v + 0.044715 * v ** 3)))


def _expm1_neg(v):
    return math.expm1(min(v, 0.0))


# Scalar formulas written independently of the module (math, not NumPy).
REFERENCE = {
    "relu": lambda v: max(v, 0.0),
    "sigmoid": _sigmoid,
    "tanh": math.tanh,
    "leakyrelu": lambda v: v if v > 0 else 0.01 * v,
    "elu": lambda v: v if v >= 0 else _expm1_neg(v),
    "celu": lambda v: v if v >= 0 else _expm1_neg(v),
    "selu": lambda v: 1.0507009873554805 * (v if v > 0 else 1.6732632423543772
                                            * _expm1_neg(v)),
    "gelu": _gelu_tanh,
    "gelu_erf": lambda v: 0.5 * v * (1 + math.erf(v / math.sqrt(2))),
    "swish": lambda v: v * _sigmoid(v),
    "softplus": _softplus,
    "logsigmoid": lambda v: -_softplus(-v),
    "softsign": lambda v: v / (1 + abs(v)),
    "relu6": lambda v: min(max(v, 0.0), 6.0),
    "hardsigmoid": lambda v: max(0.0, min(1.0, (v + 3) / 6)),
    "hardtanh": lambda v: max(-1.0, min(1.0, v)),
}

GRID = np.concatenate([np.linspace(-8, 8, 161), [-50.0, -0.0, 50.0]])


@pytest.mark.parametrize("name", ELEMENTWISE)
def test_values_match_the_formula(name):
    got = getattr(A, name)(GRID)
    want = np.array([REFERENCE[name](float(v)) for v in GRID])
    np.testing.assert_allclose(got, want, rtol=1e-14, atol=1e-15)


def test_sigmoid_and_logsigmoid_keep_their_digits_in_the_tails():
    x = np.array([-700.0, -100.0, -30.0, 30.0, 100.0])
    np.testing.assert_allclose(A.sigmoid(x), [_sigmoid(v) for v in x], rtol=1e-15)
    np.testing.assert_allclose(A.logsigmoid(x), [-_softplus(-v) for v in x], rtol=1e-15)
    x32 = np.float32([-80.0, -20.0, -10.0])     # 0.5 + 0.5 tanh(x / 2) would give 0s here
    np.testing.assert_allclose(A.sigmoid(x32), [_sigmoid(float(v)) for v in x32], rtol=1e-6)


@pytest.mark.parametrize("name", ELEMENTWISE)
def test_dtypes_and_scalars(name):
    f = getattr(A, name)
    assert f(np.linspace(-3, 3, 7, dtype=np.float32)).dtype == np.float32
    assert f(np.float32(0.7)).dtype == np.float32
    assert f(np.linspace(-3, 3, 7)).dtype == np.float64
    out = f(0.7)
    assert np.ndim(out) == 0 and not isinstance(out, np.ndarray)      # a scalar
    assert float(out) == pytest.approx(REFERENCE[name](0.7), rel=1e-14)
    grad32 = gradient(lambda x: np.sum(f(x)), np.linspace(-3, 3, 7, dtype=np.float32))[0]
    assert grad32.dtype == np.float32


@pytest.mark.parametrize("name", ELEMENTWISE)
def test_extreme_inputs_are_finite_and_warn_nothing(name):
    f = getattr(A, name)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for x in (EXTREME, np.array([-1e4, 1e4]), EXTREME.astype(np.float32)):
            assert np.all(np.isfinite(f(x)))
            assert np.all(np.isfinite(gradient(lambda v: np.sum(f(v)), x)[0]))


@pytest.mark.parametrize("name", ELEMENTWISE)
def test_nan_propagates(name):
    assert np.isnan(getattr(A, name)(np.array([np.nan]))[0])


def test_infinities_where_the_limit_is_cheap():
    inf = np.array([-np.inf, np.inf])
    np.testing.assert_array_equal(A.sigmoid(inf), [0.0, 1.0])
    np.testing.assert_array_equal(A.tanh(inf), [-1.0, 1.0])
    np.testing.assert_array_equal(A.leakyrelu(inf), [-np.inf, np.inf])
    np.testing.assert_array_equal(A.elu(inf), [-1.0, np.inf])
    np.testing.assert_array_equal(A.hardtanh(inf), [-1.0, 1.0])
    np.testing.assert_array_equal(A.relu6(inf), [0.0, 6.0])
    np.testing.assert_array_equal(A.softmax(np.array([0.0, -np.inf])), [1.0, 0.0])


@pytest.mark.parametrize("name", SMOOTH)
def test_gradients_of_smooth_activations(name):
    f = getattr(A, name)
    check_grads(lambda x: np.sum(f(x) * W8), EXTREME, order=2)
    check_grads(lambda x: np.sum(f(x) * W8[:3]), np.array([-0.0, 0.0, 1e-3]), order=2)


def _derivative(f, points):
    return gradient(lambda x: np.sum(f(x)), np.array(points, dtype=float))[0]


def test_derivatives_at_extreme_inputs_are_right():
    x = np.array([-800.0, -30.0, 30.0, 800.0])
    s = np.array([_sigmoid(v) for v in x])
    r = np.array([_sigmoid(-v) for v in x])          # 1 - s, without the cancellation
    np.testing.assert_allclose(_derivative(A.sigmoid, x), s * r, rtol=1e-12, atol=0)
    np.testing.assert_allclose(_derivative(A.softplus, x), s, rtol=1e-12, atol=0)
    np.testing.assert_allclose(_derivative(A.logsigmoid, x), r, rtol=1e-12, atol=0)
    np.testing.assert_allclose(_derivative(A.swish, x), s + x * s * r, rtol=1e-12)


@pytest.mark.parametrize("name", ["relu", "leakyrelu", "elu", "celu", "selu", "softsign",
                                  "relu6", "hardsigmoid", "hardtanh"])
def test_gradients_away_from_kinks(name):
    f = getattr(A, name)
    x = np.array([-7.3, -2.1, -0.6, 0.4, 0.9, 2.5, 5.5, 8.0])
    check_grads(lambda v: np.sum(f(v) * W8), x, order=2)


def test_derivatives_at_kinks_follow_nnlib():
    lam, alpha = 1.0507009873554805, 1.6732632423543772
    assert _derivative(A.relu, [0.0, -0.0])[0] == 0.0
    assert _derivative(A.relu, [-0.0])[0] == 0.0
    assert _derivative(lambda x: A.leakyrelu(x, 0.2), [0.0])[0] == pytest.approx(0.2)
    assert _derivative(A.elu, [0.0])[0] == 1.0
    assert _derivative(lambda x: A.elu(x, 2.0), [0.0])[0] == 1.0
    assert _derivative(A.celu, [0.0])[0] == 1.0
    assert _derivative(A.selu, [0.0])[0] == pytest.approx(lam * alpha)
    np.testing.assert_array_equal(_derivative(A.hardtanh, [-1.0, 1.0, 0.99]), [0, 0, 1])
    np.testing.assert_array_equal(_derivative(A.relu6, [0.0, 6.0, 6.5]), [1, 1, 0])
    np.testing.assert_allclose(_derivative(A.hardsigmoid, [-3.0, 3.0, 3.5]), [1 / 6, 1 / 6, 0])


def test_smooth_derivatives_at_zero_and_minus_zero():
    for x in ([0.0], [-0.0]):
        assert _derivative(A.sigmoid, x)[0] == pytest.approx(0.25, rel=1e-15)
        assert _derivative(A.softplus, x)[0] == pytest.approx(0.5, rel=1e-15)
        assert _derivative(A.logsigmoid, x)[0] == pytest.approx(0.5, rel=1e-15)
        assert _derivative(A.swish, x)[0] == pytest.approx(0.5, rel=1e-15)
        assert _derivative(A.softsign, x)[0] == 1.0


def test_leakyrelu_slope_is_differentiable():
    check_grads(lambda a: np.sum(A.leakyrelu(np.array([-2.0, 3.0, -0.5]), a)), 0.3)


def test_flux_docstring_values():
    assert A.leakyrelu(np.float32(-10), 0.2) == np.float32(-2.0)
    assert A.leakyrelu(np.float32(-10), 0.05) == np.float32(-0.5)
    assert A.elu(np.float32(-10)) == np.float32(-0.9999546)
    assert A.elu(np.float32(-10), 2) == np.float32(-1.9999092)
    assert A.celu(np.float32(-10)) == np.float32(-0.9999546)
    assert A.selu(np.float32(-10)) == np.float32(-1.7580194)
    assert A.softsign(np.float32(1)) == np.float32(0.5)
    assert A.softsign(np.float32(100)) == np.float32(0.990099)
    assert A.softplus(np.float32(16)) == np.float32(16.0)
    assert A.hardsigmoid(np.float32(0.2)) == np.float32(0.53333336)
    # NNlib prints 0.54983395f0, one float32 ulp below the correctly rounded value
    assert A.sigmoid(np.float32(0.2)) == np.float32(1 / (1 + math.exp(-0.2)))
    assert A.σ is A.sigmoid and A.logσ is A.logsigmoid and A.hardσ is A.hardsigmoid
    assert A.gelu is A.gelu_tanh and A.tanh is np.tanh


# ---------------------------------------------------------------- softmax family

M = np.array([[1.0, 1000.0, 3.0, 0.0],
              [1.0, 1000.0, -2.0, 0.0],      # ties for the maximum in columns 0, 1, 3
              [0.5, 999.0, 3.0, 0.0]])


def _naive_softmax(x, axis):
    e = np.exp(x - np.max(x, axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


@pytest.mark.parametrize("axis", [0, 1, -1])
def test_softmax_values(axis):
    np.testing.assert_allclose(A.softmax(M, axis=axis), _naive_softmax(M, axis), rtol=1e-14)
    shifted = M - np.max(M, axis=axis, keepdims=True)
    lse = np.log(np.sum(np.exp(shifted), axis=axis, keepdims=True))
    np.testing.assert_allclose(A.logsoftmax(M, axis=axis), shifted - lse, rtol=1e-15)
    np.testing.assert_allclose(A.logsumexp(M, axis=axis),
                               np.max(M, axis=axis) + np.squeeze(lse, axis), rtol=1e-15)


def test_softmax_defaults_to_the_feature_axis():
    np.testing.assert_allclose(A.softmax(M).sum(axis=0), np.ones(4))
    assert A.logsumexp(M).shape == (4,)
    assert A.logsumexp(M, axis=1, keepdims=True).shape == (3, 1)
    assert A.logsumexp(M, axis=None) == pytest.approx(1000 + math.log(2 + math.exp(-1)))
    assert A.softmax(np.float32([1, 2, 3])).dtype == np.float32
    assert A.logsumexp(np.float32([1, 2, 3])).dtype == np.float32


@pytest.mark.parametrize("name", ["softmax", "logsoftmax", "logsumexp"])
@pytest.mark.parametrize("axis", [0, 1])
def test_softmax_gradients_with_ties_and_large_values(name, axis):
    f = getattr(A, name)
    weights = np.random.RandomState(axis).randn(*np.shape(f(M, axis=axis)))
    check_grads(lambda x: np.sum(f(x, axis=axis) * weights), M, order=2)


def test_softmax_gradient_at_ties_is_exact():
    x = np.array([2.0, 2.0, -1.0])
    w = np.array([1.0, -2.0, 0.5])
    s = _naive_softmax(x, 0)
    want = s * (w - np.dot(w, s))                  # the Jacobian of softmax applied to w
    got = gradient(lambda v: np.sum(A.softmax(v) * w), x)[0]
    np.testing.assert_allclose(got, want, rtol=1e-14)
    np.testing.assert_allclose(gradient(lambda v: A.logsumexp(v), x)[0], s, rtol=1e-14)


def test_forward_mode_through_softmax():
    x, d = M[:, 0], np.array([1.0, -1.0, 0.5])
    _, tangent = jvp(lambda v: A.softmax(v), (x,), (d,))
    s = _naive_softmax(x, 0)
    np.testing.assert_allclose(tangent, s * (d - np.dot(s, d)), rtol=1e-14)
