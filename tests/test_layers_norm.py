"""Dropout, LayerNorm and BatchNorm (layers/normalise.py): Flux's semantics in
train and test mode, running statistics, gradients against finite differences."""
import numpy as np
import pytest

from ad_compiler import gradient, jvp, withgradient
from ad_compiler.checks import check_grads, numerical_gradient
from ad_compiler.layers.errors import DimensionMismatch, LayerError
from ad_compiler.layers import mode
from ad_compiler.layers.core import trainable_fields
from ad_compiler.layers.normalise import BatchNorm, Dropout, LayerNorm, dropout_mask

RNG = np.random.default_rng(0)


def check_layer_grads(loss, layer, x, order=1, rtol=1e-5, atol=1e-6, eps=1e-6):
    """``gradient(loss, layer, x)`` against central differences in ``x``, ``layer.β``
    and ``layer.γ`` (check_grads does not open callable objects); ``order=2`` checks
    the gradient of a random directional derivative the same way."""
    g, gx = gradient(loss, layer, x)
    np.testing.assert_allclose(gx, numerical_gradient(loss, (layer, x), 1, (), eps),
                               rtol=rtol, atol=atol)
    for name in ("β", "γ"):
        np.testing.assert_allclose(getattr(g, name),
                                   numerical_gradient(loss, (layer, x), 0, (name,), eps),
                                   rtol=rtol, atol=atol, err_msg=name)
    if order > 1:
        vx, vb, vg = (RNG.standard_normal(np.shape(a)) for a in (x, layer.β, layer.γ))

        def directional(layer, x):
            g, gx = gradient(loss, layer, x)
            return np.sum(gx * vx) + np.sum(g.β * vb) + np.sum(g.γ * vg)

        check_layer_grads(directional, layer, x, order - 1, rtol * 10, atol * 10, eps * 10)


def _with_params(layer):
    layer.β = RNG.standard_normal(layer.β.shape)
    layer.γ = RNG.standard_normal(layer.γ.shape)
    return layer


# ---------------------------------------------------------------- Dropout

def test_dropout_plain_calls_are_the_identity():
    x = RNG.standard_normal((20, 10))
    d = Dropout(0.5)
    assert d(x) is x
    with mode.testmode(d):
        assert d(x) is x
        np.testing.assert_array_equal(gradient(lambda x: np.sum(d(x)), x)[0], np.ones_like(x))


def test_dropout_is_active_inside_gradient_in_automatic_mode():
    p, x = 0.3, RNG.standard_normal((200, 100))
    d = Dropout(p, rng=np.random.default_rng(1))
    value, (g,) = withgradient(lambda x: np.sum(d(x)), x)
    # The gradient is the mask: each entry 0 or 1/(1-p), about p of them zero ...
    assert set(np.unique(g)) == {0.0, 1 / (1 - p)}
    assert abs(np.mean(g == 0) - p) < 0.02
    # ... and the value is the masked sum, so the same mask was used forward.
    np.testing.assert_allclose(value, np.sum(g * x))


def test_trainmode_turns_dropout_on_in_plain_calls():
    p, x = 0.25, RNG.standard_normal((300, 100)) + 3.0
    d = Dropout(p)
    with mode.trainmode(d):
        y = d(x)
    kept = y != 0
    assert abs(1 - np.mean(kept) - p) < 0.01
    np.testing.assert_allclose(y[kept], x[kept] / (1 - p))
    assert d(x) is x                                  # back to automatic


def test_trainmode_and_testmode_inside_a_differentiated_loss():
    """They only set flags (registered non-differentiable): inside the loss they
    run as plain Python and leave the mode set, as Flux's trainmode! does."""
    x = RNG.standard_normal((50, 20))
    d = Dropout(0.5, rng=np.random.default_rng(4))

    def in_test_mode(x):
        mode.testmode(d)
        return np.sum(d(x) ** 2)
    np.testing.assert_array_equal(gradient(in_test_mode, x)[0], 2 * x)   # no mask
    assert d.active is False
    d.active = None

    def in_train_mode(x):
        mode.trainmode(d)
        return np.sum(d(x) ** 2)
    g = gradient(in_train_mode, x)[0]
    assert d.active is True
    assert set(np.unique(np.round(g / x, 12))) == {0.0, 8.0}     # 2 x (1/(1-p))^2, or dropped


def test_dropout_keeps_the_expectation():
    ones = np.ones(400_000, np.float32)
    y = Dropout(0.4, active=True, rng=np.random.default_rng(2))(ones)
    assert y.dtype == np.float32
    assert abs(np.mean(y) - 1.0) < 0.01              # 5 standard deviations of the mean


def test_dropout_dims_shares_the_mask_along_the_other_axes():
    x = np.ones((4, 5, 16, 8))
    y = Dropout(0.5, dims=2, active=True, rng=np.random.default_rng(3))(x)
    per_channel = y.reshape(-1, 16, 8).transpose(1, 0, 2).reshape(16, -1)
    assert all(np.all(row == row[0]) for row in per_channel)      # whole channels
    assert set(np.unique(per_channel[:, 0])) == {0.0, 2.0}
    mask = dropout_mask(np.random.default_rng(0), (3, 4, 5), 0.5, dims=(0, -1))
    assert mask.shape == (3, 1, 5)


def test_dropout_edge_probabilities():
    x = RNG.standard_normal((5, 4))
    assert Dropout(0.0, active=True)(x) is x
    always = Dropout(1.0, active=True)
    np.testing.assert_array_equal(always(x), np.zeros_like(x))
    np.testing.assert_array_equal(gradient(lambda x: np.sum(always(x)), x)[0], 0.0)


def test_dropout_errors_and_printing():
    for p in (-0.1, 1.5, "half", None):
        with pytest.raises(LayerError, match="Dropout: the probability p"):
            Dropout(p)
    with pytest.raises(LayerError, match="rng must be"):
        Dropout(0.5, rng=np.random.RandomState(0))
    with pytest.raises(DimensionMismatch, match="dims=\\(3,\\)"):
        Dropout(0.5, dims=3, active=True)(np.ones((2, 2)))
    assert repr(Dropout(0.5)) == "Dropout(0.5)"
    assert repr(Dropout(0.1, dims=2, active=False)) == "Dropout(0.1, dims=2, active=False)"


def test_a_model_holding_a_dropout_has_a_gradient():
    d = Dropout(0.5, rng=np.random.default_rng(4))
    g, gx = gradient(lambda m, x: np.sum(m(x) ** 2), d, np.ones(6))
    assert type(g) is Dropout and gx.shape == (6,)


def test_same_seed_same_mask():
    x = np.ones(50)
    a = Dropout(0.5, active=True, rng=np.random.default_rng(7))(x)
    b = Dropout(0.5, active=True, rng=7)(x)
    np.testing.assert_array_equal(a, b)


# ---------------------------------------------------------------- LayerNorm

@pytest.mark.parametrize("size, shape", [(5, (5, 4)), ((3, 4), (3, 4, 2)), (6, (6,)),
                                         ((2, 3), (2, 3, 2, 2))])
def test_layernorm_normalises_the_leading_axes(size, shape):
    m = _with_params(LayerNorm(size))
    x = RNG.standard_normal(shape) * 3 + 1
    axes = tuple(range(len(m.size)))
    z = (x - x.mean(axis=axes, keepdims=True)) / np.sqrt(x.var(axis=axes, keepdims=True) + 1e-5)
    gamma = m.γ.reshape(m.γ.shape + (1,) * (x.ndim - len(axes)))
    beta = m.β.reshape(gamma.shape)
    np.testing.assert_allclose(m(x), z * gamma + beta, rtol=1e-10)


def test_layernorm_gradients():
    m = _with_params(LayerNorm((3, 2), np.tanh))
    x, weights = RNG.standard_normal((3, 2, 4)), RNG.standard_normal((3, 2, 4))
    check_layer_grads(lambda m, x: np.sum(m(x) * weights), m, x, order=2)
    check_grads(lambda x: np.sum(LayerNorm(4, affine=False)(x) ** 3), x[0].T, order=2)


def test_layernorm_keeps_float32_and_has_no_parameters_without_affine():
    m = LayerNorm(4)
    assert m(np.ones((4, 2), np.float32)).dtype == np.float32
    plain = LayerNorm(4, affine=False)
    assert plain.β is None and plain.γ is None


def test_layernorm_errors_and_printing():
    m = LayerNorm((3, 2))
    with pytest.raises(DimensionMismatch, match=r"LayerNorm\(\(3, 2\)\) normalises the first "
                       r"2 axes.*got shape \(2, 3, 5\)"):
        m(np.ones((2, 3, 5)))
    with pytest.raises(LayerError):
        LayerNorm(0)
    assert repr(LayerNorm(5)) == "LayerNorm(5)  # 10 parameters"
    assert repr(LayerNorm((3, 2), np.tanh, affine=False)) == \
        "LayerNorm((3, 2), tanh, affine=False)"


# ---------------------------------------------------------------- BatchNorm

X4 = RNG.standard_normal((3, 2, 4, 5)) * 2 + 1          # (H, W, C, N)
AXES = (0, 1, 3)


def _normalised(x, axes, mu, var, m):
    shape = (m.chs, 1)
    return ((x - mu.reshape(shape)) / np.sqrt(var.reshape(shape) + m.eps) * m.γ.reshape(shape)
            + m.β.reshape(shape))


@pytest.mark.parametrize("x, axes", [(X4, AXES), (X4[0, 0], (1,)), (X4[0], (0, 2))])
def test_batchnorm_training_uses_batch_statistics_and_tracks_them(x, axes):
    m = _with_params(BatchNorm(4, active=True))
    mu, var = x.mean(axis=axes), x.var(axis=axes)
    np.testing.assert_allclose(m(x), _normalised(x, axes, mu, var, m), rtol=1e-10)
    count = x.size // 4
    np.testing.assert_allclose(m.μ, 0.1 * mu, rtol=1e-6)
    np.testing.assert_allclose(m.σ2, 0.9 + 0.1 * var * count / (count - 1), rtol=1e-6)
    m(x)
    np.testing.assert_allclose(m.μ, 0.9 * 0.1 * mu + 0.1 * mu, rtol=1e-6)
    assert m.μ.dtype == np.float32 and m.σ2.dtype == np.float32


def test_batchnorm_updates_running_statistics_inside_gradient():
    m = _with_params(BatchNorm(4))
    g, _ = gradient(lambda m, x: np.sum(m(x) ** 3), m, X4)
    np.testing.assert_allclose(m.μ, 0.1 * X4.mean(axis=AXES), rtol=1e-6)
    np.testing.assert_array_equal(g.μ, 0.0)             # state, not parameters
    np.testing.assert_array_equal(g.σ2, 0.0)
    before = m.μ.copy()
    m(X4)                                               # a plain call is test mode
    np.testing.assert_array_equal(m.μ, before)


def test_batchnorm_test_mode_uses_the_running_statistics():
    m = _with_params(BatchNorm(4, np.tanh, momentum=0.3))
    m.μ = RNG.standard_normal(4).astype(np.float32)
    m.σ2 = RNG.uniform(0.5, 2, 4).astype(np.float32)
    expected = np.tanh(_normalised(X4, AXES, m.μ, m.σ2, m))
    np.testing.assert_allclose(m(X4), expected, rtol=1e-6)
    with mode.testmode(m):
        g, gx = gradient(lambda m, x: np.sum(m(x)), m, X4)
    np.testing.assert_allclose(gx, (1 - expected ** 2) * (m.γ / np.sqrt(m.σ2 + m.eps))[:, None],
                               rtol=1e-5)


def test_batchnorm_without_tracking_always_uses_batch_statistics():
    m = _with_params(BatchNorm(4, track_stats=False))
    y = m(X4)
    np.testing.assert_allclose(y, _normalised(X4, AXES, X4.mean(axis=AXES), X4.var(axis=AXES),
                                              m), rtol=1e-10)
    np.testing.assert_array_equal(m.μ, 0.0)
    np.testing.assert_array_equal(m.σ2, 1.0)


@pytest.mark.parametrize("active", [True, False])
def test_batchnorm_gradients(active):
    m = _with_params(BatchNorm(4, np.tanh, active=active))
    m.μ, m.σ2 = RNG.standard_normal(4), RNG.uniform(0.5, 2, 4)
    x, weights = X4[:2, :1], RNG.standard_normal(X4[:2, :1].shape)
    check_layer_grads(lambda m, x: np.sum(m(x) * weights), m, x, order=2)


def test_batchnorm_forward_mode():
    m = _with_params(BatchNorm(4, active=True))
    direction = RNG.standard_normal(X4.shape)
    _, tangent = jvp(lambda x: np.sum(m(x) ** 3), (X4,), (direction,))
    g, = gradient(lambda x: np.sum(m(x) ** 3), X4)
    np.testing.assert_allclose(tangent, np.sum(g * direction), rtol=1e-8)


def test_batchnorm_errors_aliases_and_printing():
    m = BatchNorm(3)
    with pytest.raises(DimensionMismatch, match=r"BatchNorm\(3\) expects input of layout "
                       r"\(\.\.\., C, N\).*C = 3 channels.*got shape \(4, 5\)"):
        m(np.ones((4, 5)))
    with pytest.raises(DimensionMismatch, match="more than one value per channel"):
        BatchNorm(3, active=True)(np.ones((3, 1)))
    with pytest.raises(LayerError):
        BatchNorm(0)
    assert trainable_fields(m) == ("β", "γ")            # not the running statistics
    m.gamma = np.full(3, 2.0, np.float32)
    assert m.γ is m.gamma and m.beta is m.β and m.mu is m.μ and m.sigma2 is m.σ2
    assert repr(BatchNorm(64, np.tanh)) == \
        "BatchNorm(64, tanh)  # 128 parameters, plus 128 non-trainable"
    assert BatchNorm(3, affine=False, momentum=0.2, active=True)._repr_head() \
        == "BatchNorm(3, affine=False, momentum=0.2, active=True)"
