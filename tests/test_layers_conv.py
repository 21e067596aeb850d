"""Conv, CrossCor and the pooling layers (layers/conv.py): values against direct
nested-loop references, gradients against finite differences, errors, printing."""
import numpy as np
import pytest

from ad_compiler import gradient
from ad_compiler.checks import check_grads
from ad_compiler.layers.conv import (
    Conv, CrossCor, GlobalMaxPool, GlobalMeanPool, MaxPool, MeanPool, SamePad, conv, maxpool,
    meanpool)
from ad_compiler.layers.errors import DimensionMismatch, LayerError

RNG = np.random.default_rng(0)
X = RNG.standard_normal((6, 7, 2, 3))
W = RNG.standard_normal((3, 2, 2, 4))


def reference_conv(x, w, stride=(1, 1), pads=(0, 0, 0, 0), dilation=(1, 1), flipped=False):
    """The definition, one multiply-add at a time."""
    h, wd, c, n = x.shape
    kh, kw, _, o = w.shape
    xp = np.zeros((h + pads[0] + pads[1], wd + pads[2] + pads[3], c, n))
    xp[pads[0]:pads[0] + h, pads[2]:pads[2] + wd] = x
    ho = (xp.shape[0] - dilation[0] * (kh - 1) - 1) // stride[0] + 1
    wo = (xp.shape[1] - dilation[1] * (kw - 1) - 1) // stride[1] + 1
    y = np.zeros((ho, wo, o, n))
    for a in range(ho):
        for b in range(wo):
            for i in range(kh):
                for j in range(kw):
                    k = w[i, j] if flipped else w[kh - 1 - i, kw - 1 - j]
                    pixel = xp[a * stride[0] + i * dilation[0], b * stride[1] + j * dilation[1]]
                    for ci in range(c):
                        for oi in range(o):
                            y[a, b, oi] += pixel[ci] * k[ci, oi]
    return y


def reference_pool(x, k, stride, pads, how):
    fill = -np.inf if how == "max" else 0.0
    h, wd = x.shape[:2]
    xp = np.full((h + pads[0] + pads[1], wd + pads[2] + pads[3]) + x.shape[2:], fill)
    xp[pads[0]:pads[0] + h, pads[2]:pads[2] + wd] = x
    ho, wo = (xp.shape[0] - k[0]) // stride[0] + 1, (xp.shape[1] - k[1]) // stride[1] + 1
    y = np.zeros((ho, wo) + x.shape[2:])
    for a in range(ho):
        for b in range(wo):
            window = xp[a * stride[0]:a * stride[0] + k[0], b * stride[1]:b * stride[1] + k[1]]
            y[a, b] = window.max(axis=(0, 1)) if how == "max" else window.mean(axis=(0, 1))
    return y


GEOMETRIES = [  # stride, pads (top, bottom, left, right), dilation
    ((1, 1), (0, 0, 0, 0), (1, 1)),
    ((2, 1), (1, 0, 2, 1), (1, 2)),
    ((2, 3), (1, 1, 1, 1), (2, 1)),
    ((1, 2), (2, 2, 0, 0), (1, 1)),
]


@pytest.mark.parametrize("stride, pads, dilation", GEOMETRIES)
@pytest.mark.parametrize("flipped", [False, True])
def test_conv_matches_the_definition(stride, pads, dilation, flipped):
    got = conv(X, W, stride, pads, dilation, flipped)
    np.testing.assert_allclose(got, reference_conv(X, W, stride, pads, dilation, flipped),
                               rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("stride, pads, dilation", GEOMETRIES)
def test_conv_gradients(stride, pads, dilation):
    x, w, b = X[:5, :5, :, :2], W[:, :, :, :2], RNG.standard_normal(2)
    weights = RNG.standard_normal(conv(x, w, stride, pads, dilation).shape)
    check_grads(lambda x, w, b: np.sum(np.tanh(conv(x, w, stride, pads, dilation) + b[:, None])
                                       * weights), x, w, b, order=2)


def test_conv_layer_is_conv_plus_bias_through_the_activation():
    m = Conv((3, 2), 2, 4, np.tanh, stride=(2, 1), pad=(1, 0, 2, 1), dilation=(1, 2))
    m.weight, m.bias = W.copy(), RNG.standard_normal(4)
    expected = np.tanh(reference_conv(X, W, (2, 1), (1, 0, 2, 1), (1, 2)) + m.bias[:, None])
    np.testing.assert_allclose(m(X), expected, rtol=1e-12)
    c = CrossCor((3, 2), 2, 4, bias=False)
    c.weight = W[::-1, ::-1].copy()                  # CrossCor is Conv with the flip undone
    np.testing.assert_allclose(c(X), reference_conv(X, W), rtol=1e-12)


def test_conv_layer_gradient_is_the_model_shaped_functional_gradient():
    m = Conv((3, 2), 2, 4, np.tanh, pad=1)
    m.weight, m.bias = W.copy(), RNG.standard_normal(4)
    g, gx = gradient(lambda m, x: np.sum(m(x) ** 2), m, X)
    gw, gb, gx2 = gradient(
        lambda w, b, x: np.sum(np.tanh(conv(x, w, 1, 1) + b[:, None]) ** 2), m.weight, m.bias, X)
    assert type(g) is Conv and g.σ is None
    np.testing.assert_allclose(g.weight, gw, rtol=1e-10)
    np.testing.assert_allclose(g.bias, gb, rtol=1e-10)
    np.testing.assert_allclose(gx, gx2, rtol=1e-10)
    nobias = Conv((3, 2), 2, 4, bias=False)
    assert gradient(lambda m, x: np.sum(m(x)), nobias, X.astype(np.float32))[0].bias is None


@pytest.mark.parametrize("stride, dilation", [(1, 1), (2, 1), (3, 2), ((1, 2), (2, 1))])
def test_same_padding_keeps_the_size_divided_by_the_stride(stride, dilation):
    x = RNG.standard_normal((7, 8, 2, 1)).astype(np.float32)
    for pad in ("same", SamePad()):
        m = Conv((3, 4), 2, 3, stride=stride, dilation=dilation, pad=pad)
        s = (stride, stride) if isinstance(stride, int) else stride
        assert m(x).shape == (-(-7 // s[0]), -(-8 // s[1]), 3, 1)


def test_inputs_are_converted_to_the_weights_dtype_as_in_flux():
    m = Conv((2, 2), 1, 1)
    with pytest.warns(UserWarning, match=r"Conv\(\(2, 2\), 1 => 1\) has float32 parameters "
                      r"but got float64 input"):
        assert m(np.ones((3, 3, 1, 1))).dtype == np.float32
    assert m(np.ones((3, 3, 1, 1), np.int64)).dtype == np.float32


def test_float32_stays_float32():
    m = Conv((3, 3), 2, 3, pad=1)
    assert m.weight.dtype == np.float32 and m.bias.dtype == np.float32
    x = X.astype(np.float32)
    g, gx = gradient(lambda m, x: np.sum(MaxPool((2, 2))(m(x))), m, x)
    assert m(x).dtype == np.float32 and g.weight.dtype == np.float32 and gx.dtype == np.float32


def test_initialisation():
    m = Conv((5, 5), 3, 8)
    limit = np.sqrt(6 / (25 * 3 + 25 * 8))          # Glorot: fans count kernel positions
    assert m.weight.shape == (5, 5, 3, 8) and np.abs(m.weight).max() <= limit
    assert np.abs(m.weight).max() > 0.9 * limit and np.all(m.bias == 0)
    custom = Conv((2, 2), 1, 2, init=lambda *dims: np.ones(dims), bias=np.array([1.0, 2.0]))
    np.testing.assert_array_equal(custom(np.ones((2, 2, 1, 1)))[0, 0, :, 0], [5.0, 6.0])
    with pytest.raises(DimensionMismatch, match="expected a bias of shape"):
        Conv((2, 2), 1, 2, bias=np.zeros(3))


def test_input_errors_name_the_layer_the_layout_and_the_shape():
    m, x = Conv((3, 3), 2, 4), X.astype(np.float32)
    with pytest.raises(DimensionMismatch, match=r"Conv\(\(3, 3\), 2 => 4\) expects input of "
                       r"layout \(H, W, C, N\).*2 channels.*got an array of shape \(6, 7, 2\)"):
        m(x[..., 0])
    with pytest.raises(DimensionMismatch, match=r"got shape \(6, 7, 3, 1\) with 3 channels"):
        m(np.ones((6, 7, 3, 1), np.float32))
    with pytest.raises(DimensionMismatch, match=r"smaller than the kernel"):
        m(x[:2])
    with pytest.raises(LayerError, match=r"expects a NumPy array.*got list"):
        m([[1.0]])
    with pytest.raises(DimensionMismatch, match=r"maxpool expects input of layout"):
        maxpool(np.ones((4, 4)), (2, 2))
    with pytest.raises(DimensionMismatch, match=r"GlobalMeanPool\(\) expects"):
        GlobalMeanPool()(np.ones(3))


@pytest.mark.parametrize("make", [
    lambda: Conv((0, 3), 1, 1), lambda: Conv((3, 3), 1, 0), lambda: Conv((3, 3), 1, 2, stride=0),
    lambda: Conv((3, 3), 1, 2, pad=-1), lambda: Conv((3, 3), 1, 2, pad=(1, 2, 3)),
    lambda: Conv((3, 3), 1, 2, dilation=(1, 1, 1)), lambda: MaxPool((2, 2), pad=2),
    lambda: MeanPool((2, 2), stride=1.5)])
def test_bad_settings_are_refused(make):
    with pytest.raises(LayerError):
        make()


def test_printing():
    assert repr(Conv((3, 3), 1, 16, np.tanh, pad=1)) == \
        "Conv((3, 3), 1 => 16, tanh, pad=1)  # 160 parameters"
    m = Conv((3, 3), 1, 2, stride=(1, 2), pad=(1, 0, 0, 0), dilation=2, bias=False)
    assert m._repr_head() == \
        "Conv((3, 3), 1 => 2, stride=(1, 2), pad=(1, 0, 0, 0), dilation=2, bias=False)"
    assert CrossCor((2, 2), 3, 4, pad=(1, 2))._repr_head() == \
        "CrossCor((2, 2), 3 => 4, pad=(1, 2))"
    assert repr(MaxPool((2, 2))) == "MaxPool((2, 2))"
    assert repr(MeanPool(3, pad=1, stride=1)) == "MeanPool((3, 3), pad=1, stride=1)"
    assert repr(GlobalMaxPool()) == "GlobalMaxPool()"


POOLS = [  # window, stride, pads: the first two use the reshape fast path
    ((2, 2), (2, 2), (0, 0, 0, 0)), ((3, 2), (3, 2), (0, 0, 0, 0)),
    ((3, 2), (2, 1), (1, 1, 1, 0)), ((2, 3), (1, 2), (0, 1, 2, 0)), ((3, 3), (1, 1), (0, 0, 0, 0)),
]


@pytest.mark.parametrize("k, stride, pads", POOLS)
@pytest.mark.parametrize("how", ["max", "mean"])
def test_pooling_matches_the_definition(k, stride, pads, how):
    layer = (MaxPool if how == "max" else MeanPool)(k, stride=stride, pad=pads)
    np.testing.assert_allclose(layer(X), reference_pool(X, k, stride, pads, how), rtol=1e-12)


@pytest.mark.parametrize("k, stride, pads", POOLS)
def test_pooling_gradients(k, stride, pads):
    # Distinct values (a permutation): no ties, so max is differentiable at X.
    x = RNG.permutation(X.size).reshape(X.shape) / X.size
    weights = RNG.standard_normal(maxpool(x, k, pads, stride).shape)
    check_grads(lambda x: np.sum(maxpool(x, k, pads, stride) * weights), x, order=2)
    check_grads(lambda x: np.sum(np.sin(meanpool(x, k, pads, stride)) * weights), x, order=2)


def test_max_pool_ties_share_the_gradient_like_np_max():
    x = np.zeros((2, 2, 1, 1))
    x[0, 1] = x[1, 0] = 1.0                               # two winners in one window
    g, = gradient(lambda x: np.sum(maxpool(x, (2, 2))), x)
    np.testing.assert_array_equal(g[..., 0, 0], [[0, 0.5], [0.5, 0]])
    g, = gradient(lambda x: np.sum(maxpool(x, (2, 2), stride=1)), x)      # general path
    np.testing.assert_array_equal(g[..., 0, 0], [[0, 0.5], [0.5, 0]])


def test_padding_never_wins_a_max_and_counts_as_zero_in_a_mean():
    x = -np.ones((2, 2, 1, 1))
    assert np.all(MaxPool((2, 2), pad=1)(x) == -1)
    np.testing.assert_array_equal(MeanPool((2, 2), pad=1)(x)[..., 0, 0],
                                  [[-0.25, -0.25], [-0.25, -0.25]])


def test_pooling_drops_incomplete_windows_like_flux():
    assert MaxPool((2, 2))(np.ones((5, 7, 1, 1))).shape == (2, 3, 1, 1)


def test_global_pools():
    np.testing.assert_allclose(GlobalMaxPool()(X), X.max(axis=(0, 1), keepdims=True))
    np.testing.assert_allclose(GlobalMeanPool()(X), X.mean(axis=(0, 1), keepdims=True))
    x = RNG.permutation(X.size).reshape(X.shape) / X.size
    check_grads(lambda x: np.sum(GlobalMaxPool()(x) * np.arange(6.0).reshape(2, 3)), x)
    check_grads(lambda x: np.sum(np.sin(GlobalMeanPool()(x))), x, order=2)


def test_a_small_network_differentiates_end_to_end():
    c1, c2 = Conv((3, 3), 2, 3, pad=1), Conv((2, 2), 3, 2)
    for m in (c1, c2):
        m.weight = m.weight.astype(float)
        m.bias = RNG.standard_normal(m.bias.shape)
    pool = MaxPool((2, 2))
    x = RNG.standard_normal((6, 6, 2, 2))
    check_grads(lambda x: np.sum(np.sin(c2(pool(np.tanh(c1(x)))))), x)
    g1, g2, _ = gradient(lambda a, b, x: np.sum(np.sin(b(pool(np.tanh(a(x)))))), c1, c2, x)
    b1 = c1.bias[:, None]
    gw, = gradient(lambda w: np.sum(np.sin(c2(pool(np.tanh(conv(x, w, 1, 1) + b1))))), c1.weight)
    np.testing.assert_allclose(g1.weight, gw, rtol=1e-10)
    assert g2.weight.shape == c2.weight.shape
