"""Implicit parameters (seed 000): param, Params, gradient of a zero-argument function."""
import numpy as np
import pytest

from ad_compiler import ADError, Params, gradient, param

W = param(2)
b = param(3)


def f(x):
    return W * x + b


def test_seed_scalar_params():
    grads = gradient(lambda: f(4), Params([W, b]))
    assert grads[W] == 4.0
    assert grads[b] == 1.0


def test_seed_broadcast_example():
    x = np.array([[1.0, 2, 3], [4, 5, 6]])
    y = np.array([7.0, 8])
    z = np.array([1.0, 10, 100])
    g = gradient(lambda: np.sum(x * y[:, None] * z), Params([x, y]))
    np.testing.assert_array_equal(g[x], [[7, 70, 700], [8, 80, 800]])
    np.testing.assert_array_equal(g[y], [1 * 1 + 2 * 10 + 3 * 100, 4 + 50 + 600])


def test_array_not_in_params_raises_keyerror():
    z = np.ones(2)
    grads = gradient(lambda: f(4), Params([W]))
    with pytest.raises(KeyError):
        grads[z]
    with pytest.raises(KeyError):
        grads[b]


def linear(n_in, n_out, rng):
    Wl = rng.randn(n_out, n_in)
    bl = rng.randn(n_out)
    return (lambda x: Wl @ x + bl), Wl, bl


def test_seed_two_linear_layers_through_closures():
    rng = np.random.RandomState(1)
    l1, W1, b1 = linear(5, 3, rng)
    l2, W2, b2 = linear(3, 2, rng)
    x, y = rng.rand(5), rng.rand(2)

    def loss(x, y):
        return np.sum((l2(l1(x)) - y) ** 2)

    grads = gradient(lambda: loss(x, y), Params([W1, b1, W2, b2]))
    # Against the explicit gradient of the same computation.
    gW1, gb1, gW2, gb2 = gradient(
        lambda W1, b1, W2, b2: np.sum((W2 @ (W1 @ x + b1) + b2 - y) ** 2), W1, b1, W2, b2)
    np.testing.assert_allclose(grads[W1], gW1)
    np.testing.assert_allclose(grads[b1], gb1)
    np.testing.assert_allclose(grads[W2], gW2)
    np.testing.assert_allclose(grads[b2], gb2)


class Model:
    def __init__(self):
        self.W = np.array([[1.0, 2.0], [0.5, -1.0]])
        self.b = np.array([0.1, 0.2])

    def __call__(self, x):
        return np.tanh(self.W @ x + self.b)


MODEL = Model()


def test_params_found_in_attributes_of_captured_and_global_objects():
    x = np.array([0.3, -0.4])
    m = Model()
    for model in (m, MODEL):
        grads = gradient(lambda: np.sum(model(x) ** 2), Params([model.W, model.b]))
        gW, gb = gradient(lambda W, b: np.sum(np.tanh(W @ x + b) ** 2), model.W, model.b)
        np.testing.assert_allclose(grads[model.W], gW)
        np.testing.assert_allclose(grads[model.b], gb)


def test_unused_param_gets_zero_and_training_step_in_place():
    unused = np.ones(3)
    x = 4.0
    grads = gradient(lambda: f(x), Params([W, b, unused]))
    np.testing.assert_array_equal(grads[unused], np.zeros(3))
    w0 = float(W)
    W[...] -= 0.1 * grads[W]
    try:
        assert float(W) == pytest.approx(w0 - 0.4)
        assert gradient(lambda: f(4), Params([W]))[W] == 4.0
    finally:
        W[...] = w0


def test_params_reject_non_arrays():
    with pytest.raises(ADError, match="Params holds NumPy arrays"):
        Params([1.0])
