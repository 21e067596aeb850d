"""layers/losses.py: Flux's documented values, agg, dtypes, size errors, one-hot
encoding, and gradients (order 1 and 2) against finite differences."""
import math
import timeit

import numpy as np
import pytest

from ad_compiler import gradient
from ad_compiler.checks import check_grads
from ad_compiler.layers import losses as L
from ad_compiler.layers.activations import sigmoid, softmax
from ad_compiler.layers.errors import DimensionMismatch, LayerError

rng = np.random.RandomState(0)
YHAT = rng.randn(4, 5)
YREAL = rng.randn(4, 5)
PROBS = softmax(rng.randn(4, 5))
ONEHOT = L.onehotbatch(rng.randint(0, 4, 5), range(4)).astype(np.float64)
PBIN = sigmoid(rng.randn(6))
YBIN = np.array([1.0, 0.0, 0.0, 1.0, 1.0, 0.0])

# (name, loss, ŷ, y): every loss, with inputs inside its domain.
CASES = [
    ("mse", L.mse, YHAT, YREAL),
    ("mae", L.mae, YHAT, YREAL),
    ("huber_loss", L.huber_loss, 2 * YHAT, YREAL),
    ("huber_loss-small-delta", lambda a, b, **k: L.huber_loss(a, b, delta=0.3, **k),
     YHAT, YREAL),
    ("crossentropy", L.crossentropy, PROBS, ONEHOT),
    ("crossentropy-smoothed", L.crossentropy, PROBS, L.label_smoothing(ONEHOT, 0.1)),
    ("logitcrossentropy", L.logitcrossentropy, 10 * YHAT, ONEHOT),
    ("logitcrossentropy-dims1", lambda a, b, **k: L.logitcrossentropy(a.T, b.T, dims=1, **k),
     YHAT, softmax(YREAL)),
    ("binarycrossentropy", L.binarycrossentropy, PBIN, YBIN),
    ("logitbinarycrossentropy", L.logitbinarycrossentropy, 5 * rng.randn(6), YBIN),
    ("kldivergence", L.kldivergence, PROBS, softmax(YREAL)),
]
AGGS = [np.mean, np.sum, lambda l: np.sum(l * l)]


@pytest.mark.parametrize("name,loss,yhat,y", CASES, ids=[c[0] for c in CASES])
@pytest.mark.parametrize("agg", AGGS, ids=["mean", "sum", "lambda"])
def test_gradients(name, loss, yhat, y, agg):
    check_grads(lambda a, b: loss(a, b, agg=agg), yhat, y, order=2)


def test_gradients_at_extreme_logits():
    big = np.array([[800.0, -800.0, 30.0], [-800.0, 800.0, -30.0]])
    y = np.array([[1.0, 0.0, 0.5], [0.0, 1.0, 0.5]])
    check_grads(lambda a: L.logitcrossentropy(a, y), big, order=2)
    check_grads(lambda a: L.logitbinarycrossentropy(a, y), big, order=2)
    assert np.isfinite(L.logitbinarycrossentropy(big, 1 - y))


def test_logitcrossentropy_gradient_is_softmax_minus_y_over_n():
    g = gradient(lambda a: L.logitcrossentropy(a, ONEHOT), YHAT)[0]
    np.testing.assert_allclose(g, (softmax(YHAT) - ONEHOT) / YHAT.shape[1], rtol=1e-13,
                               atol=1e-16)
    g = gradient(lambda a: L.logitcrossentropy(a, ONEHOT, agg=np.sum), YHAT)[0]
    np.testing.assert_allclose(g, softmax(YHAT) - ONEHOT, rtol=1e-13, atol=1e-16)


def test_logit_losses_equal_their_probability_versions():
    np.testing.assert_allclose(L.logitcrossentropy(YHAT, ONEHOT),
                               L.crossentropy(softmax(YHAT), ONEHOT, eps=0), rtol=1e-13)
    x = rng.randn(6)
    np.testing.assert_allclose(L.logitbinarycrossentropy(x, YBIN),
                               L.binarycrossentropy(sigmoid(x), YBIN, eps=0), rtol=1e-13)


# ---------------------------------------------------------------- Flux's documented values

def test_flux_regression_values():
    assert L.mse([1.1, 1.9, 3.1], [1, 2, 3]) == pytest.approx(0.01, abs=1e-15)
    assert float(L.mse([1.1, 1.9, 3.1], np.arange(1, 4))) == 0.010000000000000018
    assert float(L.mae([1.1, 1.9, 3.1], [1, 2, 3])) == 0.10000000000000009
    assert float(L.huber_loss([1.1, 2.1, 3.1], [1, 2, 3])) == 0.005000000000000009
    assert float(L.huber_loss([1.1, 2.1, 3.1], [1, 2, 3], delta=0.05)) == 0.003750000000000005


def test_flux_crossentropy_values():
    y = L.onehotbatch([0, 1, 2, 1, 0], range(3))
    p = softmax(np.arange(-7, 8, dtype=np.float32).reshape(5, 3).T)
    assert L.crossentropy(p, y) == np.float32(1.6076053)
    assert L.crossentropy(p, y, agg=np.sum) == pytest.approx(5 * 1.6076053, rel=1e-6)
    assert L.crossentropy(p, L.label_smoothing(y, 0.15)) == np.float32(1.5776052)
    assert L.crossentropy(p, y).dtype == np.float32


def test_flux_logit_values():
    y = L.onehotbatch(list("abcabaa"), "abc")
    scores = np.concatenate([np.arange(-9, 1), np.arange(0, 10), [7.5]]).reshape(7, 3).T
    assert np.float32(L.logitcrossentropy(scores, y)) == np.float32(1.5791205)
    assert L.logitcrossentropy(scores.astype(np.float32), y) == pytest.approx(1.5791205,
                                                                               rel=2e-7)
    assert L.crossentropy(softmax(scores.astype(np.float32)), y) == pytest.approx(1.5791197,
                                                                                 rel=2e-7)
    x = np.float32([2, -1, np.pi])
    ybin = [True, False, True]
    assert L.logitbinarycrossentropy(x, ybin) == pytest.approx(0.160832, rel=1e-6)
    assert L.binarycrossentropy(sigmoid(x), ybin) == pytest.approx(0.16083185, rel=1e-6)
    p = softmax(np.float32([[1, 3, 4], [2, 3, 5]]))
    assert L.binarycrossentropy(p[1], ybin) == np.float32(0.43989)
    assert L.crossentropy(p, L.onehotbatch(ybin, [False, True])) == np.float32(0.43989)


def test_flux_kldivergence_values():
    p1 = np.array([[1, 0], [0, 1]])
    p2 = np.full((2, 2), 0.5)
    assert L.kldivergence(p2, p1) == pytest.approx(math.log(2))
    assert L.kldivergence(p2, p1, agg=np.sum) == pytest.approx(2 * math.log(2))
    assert L.kldivergence(p2, p2, eps=0) == 0.0
    with np.errstate(divide="ignore"):
        assert L.kldivergence(p1, p2, eps=0) == np.inf
    assert L.kldivergence(p1, p2) == pytest.approx(17.3, abs=0.05)


def test_flux_label_smoothing_example():
    y = L.onehotbatch([1, 1, 1, 0, 1, 0], [0, 1])
    smooth = L.label_smoothing(y, 0.2)
    np.testing.assert_allclose(smooth, 0.1 + 0.8 * y, rtol=1e-6)
    assert smooth.dtype == np.float32
    sim = softmax(y * math.log(2))
    dis = sim[::-1]
    assert L.crossentropy(sim, y) < L.crossentropy(sim, smooth)
    assert L.crossentropy(dis, y) > L.crossentropy(dis, smooth)
    np.testing.assert_allclose(L.label_smoothing(np.array([1.0, 0.0]), 0.2, dims=None),
                               [0.9, 0.1])


# ---------------------------------------------------------------- agg, dtypes, edge cases

def test_agg_variants():
    per_element = L.mse(YHAT, YREAL, agg=lambda l: l)
    np.testing.assert_allclose(per_element, (YHAT - YREAL) ** 2)
    assert L.mse(YHAT, YREAL, agg=np.sum) == pytest.approx(per_element.sum())
    per_sample = L.logitcrossentropy(YHAT, ONEHOT, agg=lambda l: l)
    assert per_sample.shape == (5,)
    w = np.arange(5.0)
    assert L.logitcrossentropy(YHAT, ONEHOT, agg=lambda l: np.mean(w * l)) == pytest.approx(
        np.mean(w * per_sample))


def test_float32_stays_float32_with_integer_or_bool_targets():
    yhat = np.float32([0.2, 0.7, 0.9])
    for loss in (L.mse, L.mae, L.huber_loss, L.binarycrossentropy,
                 L.logitbinarycrossentropy):
        assert loss(yhat, [0, 1, 1]).dtype == np.float32
        assert loss(yhat, np.array([False, True, True])).dtype == np.float32
        assert gradient(lambda a: loss(a, [0, 1, 1]), yhat)[0].dtype == np.float32
    assert L.mse(np.float32([1, 2]), np.array([1.0, 2.5])).dtype == np.float64   # as Julia


def test_scalar_targets_and_scalar_inputs():
    assert L.mse(np.array([1.0, 3.0]), 2) == 1.0
    assert L.mse(2.0, 1.0) == 1.0
    assert L.mae(0.5, [1.0, 0.0]) == 0.5


def test_crossentropy_with_zero_probabilities_and_zero_targets():
    p = np.array([[1.0, 0.0], [0.0, 1.0]])
    assert L.crossentropy(p, p, eps=0) == 0.0            # 0 log 0 is 0, not NaN
    g = gradient(lambda a: L.crossentropy(a, p, eps=0), p)[0]
    np.testing.assert_array_equal(g, [[-0.5, 0.0], [0.0, -0.5]])
    assert L.binarycrossentropy(np.array([1.0, 0.0]), np.array([1.0, 0.0]), eps=0) == 0.0


@pytest.mark.parametrize("loss", [L.mse, L.mae, L.huber_loss, L.crossentropy,
                                  L.logitcrossentropy, L.binarycrossentropy,
                                  L.logitbinarycrossentropy, L.kldivergence])
def test_size_mismatch_names_the_loss_and_both_shapes(loss):
    with pytest.raises(DimensionMismatch) as info:
        loss(np.ones((3, 4)) / 3, np.ones((3, 5)) / 3)
    message = str(info.value)
    assert loss.__name__ in message and "(3, 4)" in message and "(3, 5)" in message
    with pytest.raises(DimensionMismatch):                # NumPy would broadcast these
        loss(np.full(3, 0.5), np.full((3, 1), 0.5))
    with pytest.raises(DimensionMismatch):                # ... under gradient too
        gradient(lambda a: loss(a, np.full((3, 1), 0.5)), np.full(3, 0.5))


def test_label_smoothing_rejects_bad_alpha():
    for alpha in (0, 1, -0.1, 1.5):
        with pytest.raises(LayerError, match="α"):
            L.label_smoothing(ONEHOT, alpha)


# ---------------------------------------------------------------- one-hot encoding

def test_onehotbatch():
    y = L.onehotbatch([0, 1, 2, 1, 0], range(3))
    assert y.dtype == np.float32 and y.shape == (3, 5)
    np.testing.assert_array_equal(y.argmax(axis=0), [0, 1, 2, 1, 0])
    np.testing.assert_array_equal(y.sum(axis=0), np.ones(5))
    chars = L.onehotbatch("abcabaa", "abc")
    np.testing.assert_array_equal(chars.argmax(axis=0), [0, 1, 2, 0, 1, 0, 0])
    grid = L.onehotbatch(np.array([[0, 2], [1, 1]]), [0, 1, 2])
    assert grid.shape == (3, 2, 2) and grid[2, 0, 1] == 1
    withdefault = L.onehotbatch(["x", "cat", "dog"], ["cat", "dog", "?"], default="?")
    np.testing.assert_array_equal(withdefault.argmax(axis=0), [2, 0, 1])


def test_onehotbatch_names_a_label_outside_the_classes():
    with pytest.raises(LayerError, match="label 7 .*position 2"):
        L.onehotbatch([0, 1, 7], range(3))
    with pytest.raises(LayerError, match="default"):
        L.onehotbatch([0], range(3), default=9)


def test_onecold_inverts_onehotbatch():
    labels = ["b", "a", "c", "c"]
    y = L.onehotbatch(labels, "abc")
    assert list(L.onecold(y, "abc")) == labels
    np.testing.assert_array_equal(L.onecold(y), [1, 0, 2, 2])
    assert L.onecold(np.array([0.1, 0.7, 0.2]), [10, 20, 30]) == 20
    assert L.onecold(softmax(YHAT)).shape == (5,)
    with pytest.raises(DimensionMismatch, match="3 rows"):
        L.onecold(np.ones((3, 2)), "ab")


# ---------------------------------------------------------------- speed

def test_logitcrossentropy_with_its_gradient_is_cheap():
    """(10, 128) float32 logits: about 20 µs forward and 60 µs with the gradient on
    one core (the hand-written NumPy pair takes 16 µs); the bound leaves room for a
    loaded machine."""
    x = rng.randn(10, 128).astype(np.float32)
    y = L.onehotbatch(rng.randint(0, 10, 128), range(10))
    grad = lambda: gradient(lambda a: L.logitcrossentropy(a, y), x)
    assert grad()[0].dtype == np.float32
    seconds = min(timeit.repeat(grad, number=50, repeat=5)) / 50
    assert seconds < 1e-3
