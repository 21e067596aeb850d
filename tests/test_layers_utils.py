"""ad_compiler.layers' @layer, printing, initialisers and model utilities
(f32/f64, trainables, params, destructure, summary, gpu/cpu)."""
import dataclasses
import math
import warnings

import numpy as np
import pytest

import ad_compiler.layers as nn
from ad_compiler import check_grads, gradient, jvp
from ad_compiler.layers import (Chain, Dense, DimensionMismatch, LayerError, create_bias,
                                destructure, f32, f64, layer, trainable_fields, trainables)
from ad_compiler.layers import devices
from ad_compiler.layers.core import Walk
from ad_compiler.layers.utils import show

RNG = np.random.default_rng(3)


@layer
class Affine:
    def __init__(self, W, b):
        self.W, self.b = W, b

    def __call__(self, x):
        return self.W @ x + self.b


@layer(trainable=("W",))
class HalfFrozen:
    def __init__(self, W, b, name="hf"):
        self.W, self.b, self.name = W, b, name

    def __call__(self, x):
        return np.tanh(self.W @ x) + self.b


# ---------------------------------------------------------------- @layer

def test_layer_records_trainable_fields():
    assert Affine.__trainable__ is None and HalfFrozen.__trainable__ == ("W",)
    a, h = Affine(np.ones((2, 3)), np.zeros(2)), HalfFrozen(np.ones((2, 3)), np.zeros(2))
    assert trainable_fields(a) == ("W", "b") and trainable_fields(h) == ("W",)
    assert nn.is_layer(a) and not nn.is_layer(Affine) and not nn.is_layer(np.tanh)
    assert layer(trainable="W")(type("One", (), {})).__trainable__ == ("W",)


def test_layer_errors():
    with pytest.raises(LayerError, match="field names"):
        layer(trainable=(1,))
    with pytest.raises(LayerError, match="decorates a class"):
        layer(lambda x: x)

    @layer(trainable=("W", "V"))
    class Typo:
        def __init__(self):
            self.W = np.ones(2)
    with pytest.raises(LayerError, match="Typo: .* names V, which is not a field; its fields "
                                         "are W"):
        trainables(Typo())


def test_layer_keeps_own_repr():
    @layer
    class Own:
        def __repr__(self):
            return "Own!"

        def __call__(self, x):
            return x
    assert repr(Own()) == "Own!"
    assert repr(Chain(Own())) == "Chain(\n  Own!,\n)"


def test_repr_counts_non_trainable_and_flags():
    h = HalfFrozen(np.ones((2, 3)), np.zeros(2))
    assert repr(h) == ("HalfFrozen(W=float64[2, 3], b=float64[2], name='hf')  "
                       "# 6 parameters, plus 2 non-trainable")
    nan = Affine(np.array([[np.nan, 1.0]]), np.zeros(1))
    assert repr(nan).endswith("# 3 parameters  (some NaN)")
    inf = Affine(np.array([[np.inf, 1.0]]), np.zeros(1))
    assert repr(inf).endswith("# 3 parameters  (some Inf)")
    zero = Affine(np.zeros((1, 2)), np.zeros(1))
    assert repr(zero).endswith("# 3 parameters  (all zero)")
    total = repr(Chain(zero, h)).split("\n")[-1]
    assert total == (")                   # Total: 3 trainable arrays, 9 parameters, plus 1 "
                     "non-trainable, 2 parameters, 88 bytes.")


def test_repr_of_container_layer_and_tied_weights():
    @layer
    class Encoder:
        def __init__(self, first, second):
            self.first, self.second, self.scale = first, second, 2.0
    d = Dense(3, 3)
    text = repr(Encoder(d, d))
    assert text.split("\n") == [
        "Encoder(",
        "  first = Dense(3 => 3),                # 12 parameters",
        "  second = Dense(3 => 3),               # 12 parameters",
        "  scale = 2.0,",
        ")                   # Total: 2 arrays, 12 parameters, 48 bytes."]   # tied: once
    big = [Dense(1000, 1000) for _ in range(2)]
    assert repr(Chain(*big)).endswith("2_002_000 parameters, 7.64 MiB.")


def test_gradient_of_layer_is_same_class():
    a = Affine(RNG.standard_normal((2, 3)), RNG.standard_normal(2))
    g, = gradient(lambda m: np.sum(m(np.ones(3)) ** 2), a)
    assert isinstance(g, Affine) and g.W.shape == (2, 3)
    h = HalfFrozen(RNG.standard_normal((2, 3)), RNG.standard_normal(2))
    g, = gradient(lambda m: np.sum(m(np.ones(3)) ** 2), h)
    assert g.b.shape == (2,) and g.name is None     # non-trainable fields still get gradients
    check_grads(lambda m: np.sum(m(np.ones(3)) ** 2), h, order=2)


# ---------------------------------------------------------------- initialisers

@pytest.mark.parametrize("init", [nn.glorot_uniform, nn.glorot_normal, nn.kaiming_uniform,
                                  nn.kaiming_normal, nn.zeros32, nn.ones32, nn.rand32,
                                  nn.randn32])
def test_initialisers_shape_dtype_rng(init):
    w = init(4, 3, rng=7)
    assert w.shape == (4, 3) and w.dtype == np.float32
    np.testing.assert_array_equal(w, init(4, 3, rng=np.random.default_rng(7)))
    np.testing.assert_array_equal(w, init((4, 3), rng=7))
    assert init(2, 3, 4, 5, rng=1).shape == (2, 3, 4, 5)
    assert init(5, rng=1, dtype=np.float64).dtype == np.float64
    with pytest.raises(LayerError, match="rng must be"):
        init(2, rng="seed")
    with pytest.raises(LayerError, match="non-negative ints"):
        init(2.5, 3)


def test_nfan_flux_conventions():
    assert nn.nfan() == (1, 1) and nn.nfan(7) == (1, 7)
    assert nn.nfan(5, 10) == (10, 5)                    # (out, in)
    assert nn.nfan(3, 3, 16, 32) == (144, 288)          # (k, k, cin, cout)


def test_glorot_and_kaiming_statistics():
    rng = np.random.default_rng(0)
    u = nn.glorot_uniform(200, 300, rng=rng)
    bound = math.sqrt(6 / 500)
    assert np.abs(u).max() <= bound and np.abs(u).max() > 0.99 * bound
    assert nn.glorot_normal(400, 600, rng=rng).std() == pytest.approx(math.sqrt(2 / 1000), 0.02)
    assert nn.glorot_uniform(30, 30, rng=rng, gain=2).max() <= 2 * math.sqrt(6 / 60)
    # Flux's doc: std(kaiming_normal(1000, 10)) ≈ 0.447 (sqrt(2 / fan_in), fan_in = 10)
    assert nn.kaiming_normal(1000, 10, rng=rng).std() == pytest.approx(0.447, abs=0.01)
    ku = nn.kaiming_uniform(100, 50, rng=rng)
    assert np.abs(ku).max() <= math.sqrt(2) * math.sqrt(3 / 50)
    conv = nn.glorot_uniform(3, 3, 4, 8, rng=rng)
    assert np.abs(conv).max() <= math.sqrt(6 / (36 + 72))
    r = nn.rand32(1000, rng=rng)
    assert r.min() >= 0 and r.max() < 1 and abs(r.mean() - 0.5) < 0.05


def test_create_bias():
    W = nn.glorot_uniform(5, 10)
    b = create_bias(W, True, 5)
    assert b.shape == (5,) and b.dtype == np.float32 and not b.any()
    assert create_bias(W, False, 5) is None and create_bias(W, None, 5) is None
    given = np.arange(5, dtype=np.float32)
    assert create_bias(W, given, 5) is given
    converted = create_bias(W, np.arange(5.0), 5)
    assert converted.dtype == np.float32 and converted.tolist() == [0, 1, 2, 3, 4]
    with pytest.raises(DimensionMismatch, match=r"shape \(5,\).*\(5, 10\), got shape \(4,\)"):
        create_bias(W, np.zeros(4), 5)
    with pytest.raises(LayerError, match="True, False or an array"):
        create_bias(W, 1.5, 5)


# ---------------------------------------------------------------- f32, f64, trainables

def test_f64_f32_convert_without_mutating():
    m = [Dense(3, 2), {"idx": np.arange(3), "c": np.ones(2, np.complex64)}, np.tanh]
    m64 = f64(m)
    assert m64 is not m and m[0].weight.dtype == np.float32
    assert m64[0].weight.dtype == np.float64 and m64[0].bias.dtype == np.float64
    assert m64[1]["idx"].dtype == m[1]["idx"].dtype and m64[1]["c"].dtype == np.complex128
    assert m64[2] is np.tanh and isinstance(m64[0], Dense) and m64[0].σ is m[0].σ
    np.testing.assert_allclose(m64[0].weight, m[0].weight)
    back = f32(m64)
    assert back[0].weight.dtype == np.float32 and back[1]["c"].dtype == np.complex64
    assert f32(np.ones(2)).dtype == np.float32


def test_f64_keeps_ties():
    d = Dense(2, 2)
    m = f64(Chain(d, d))
    assert m[0] is not d and m[0].weight is m[1].weight


def test_trainables_order_ties_and_restriction():
    d = Dense(3, 2)
    h = HalfFrozen(np.ones((2, 2)), np.zeros(2))
    ws = trainables([d, h, d, np.arange(3)])
    assert [w.shape for w in ws] == [(2, 3), (2,), (2, 2)]
    assert ws[0] is d.weight and ws[2] is h.W
    walk = Walk(h)
    assert [a.shape for a in walk.arrays(False)] == [(2,)]


def test_trainables_and_params_of_closures():
    W, b = np.ones((2, 3)), np.zeros(2)
    f = lambda x: W @ x + b             # noqa: E731
    assert [id(a) for a in trainables(f)] == [id(W), id(b)]
    ps = nn.params(Chain(f, Dense(2, 1)))
    assert len(ps) == 4 and W in ps


@dataclasses.dataclass
class Pair:
    a: np.ndarray
    b: np.ndarray


def test_trainables_of_dataclasses_and_dicts():
    p = Pair(np.ones(2), np.zeros(3))
    assert [x.shape for x in trainables({"p": p, "q": [np.ones(1)]})] == [(2,), (3,), (1,)]


# ---------------------------------------------------------------- destructure

def test_destructure_round_trip():
    m = Chain(Dense(3, 4, np.tanh), Dense(4, 2))
    flat, rebuild = destructure(m)
    assert flat.shape == (3 * 4 + 4 + 4 * 2 + 2,) and flat.dtype == np.float32
    m2 = rebuild(flat)
    assert isinstance(m2, Chain) and m2[0].σ is np.tanh and m2[0] is not m[0]
    x = RNG.random((3, 5)).astype(np.float32)
    np.testing.assert_array_equal(m2(x), m(x))
    m3 = rebuild(np.zeros_like(flat))
    assert not m3[0].weight.any() and m[0].weight.any()      # the original is untouched
    flat[:] = 0
    assert m2[0].weight.any()                                # no views into the vector
    assert repr(rebuild) == "Restructure(Chain, 26 parameters)"


def test_destructure_gradient_through_rebuild():
    m = f64(Chain(Dense(3, 4, np.tanh), Dense(4, 2)))
    x = RNG.standard_normal((3, 5))
    flat, rebuild = destructure(m)
    g, = gradient(lambda v: np.sum(rebuild(v)(x) ** 2), flat)
    gm, = gradient(lambda m: np.sum(m(x) ** 2), m)
    expect = np.concatenate([gm.layers[0].weight.ravel(), gm.layers[0].bias,
                             gm.layers[1].weight.ravel(), gm.layers[1].bias])
    np.testing.assert_allclose(g, expect)
    check_grads(lambda v: np.sum(rebuild(v)(x) ** 2), flat)
    _, tangent = jvp(lambda v: np.sum(rebuild(v)(x) ** 2), (flat,), (np.ones_like(flat),))
    assert tangent == pytest.approx(np.sum(expect))


def test_destructure_tied_and_non_trainable():
    d = f64(Dense(2, 2))
    h = HalfFrozen(RNG.standard_normal((2, 2)), RNG.standard_normal(2))
    m = Chain(d, d, h)
    flat, rebuild = destructure(m)
    assert flat.shape == (6 + 4,)
    m2 = rebuild(flat + 1)
    assert m2[0].weight is m2[1].weight and m2[2].b is h.b       # frozen b is kept
    x = RNG.standard_normal(2)
    g, = gradient(lambda v: np.sum(rebuild(v)(x)), flat)
    gm, = gradient(lambda m: np.sum(m(x)), m)
    tied = gm.layers[0].weight + gm.layers[1].weight             # both uses add up
    np.testing.assert_allclose(g[:4], tied.ravel())
    check_grads(lambda v: np.sum(rebuild(v)(x) ** 2), flat)


def test_destructure_errors():
    _, rebuild = destructure(Dense(2, 2))
    with pytest.raises(DimensionMismatch, match=r"\(6,\), got \(5,\)"):
        rebuild(np.zeros(5))
    W = np.ones(2)
    with pytest.raises(LayerError, match="closure.*@layer class"):
        destructure(Chain(lambda x: W * x))
    flat, rebuild = destructure(Chain(np.tanh))
    assert flat.shape == (0,) and rebuild(flat)[0] is np.tanh


# ---------------------------------------------------------------- summary

def test_summary_rows_and_table():
    printed = []
    m = Chain(Dense(10, 5, np.tanh), Chain(Dense(5, 3), np.tanh), Dense(3, 2))
    rows = nn.summary(m, np.ones((10, 7), np.float32), print_fn=printed.append)
    assert rows == [("0", "Dense(10 => 5, tanh)", (5, 7), 55),
                    ("1.0", "Dense(5 => 3)", (3, 7), 18), ("1.1", "tanh", (3, 7), 0),
                    ("2", "Dense(3 => 2)", (2, 7), 8)]
    table = printed[0].split("\n")
    assert table[0].split() == ["name", "layer", "output", "shape", "parameters"]
    assert table[-1].split() == ["total", "81"]
    single = nn.summary(Dense(2, 1), np.ones(2, np.float32), print_fn=None)
    assert single == [("Dense", "Dense(2 => 1)", (1,), 3)]
    par = nn.summary(nn.Parallel(None, Dense(2, 1), Dense(2, 3)), np.ones(2, np.float32), None)
    assert par[0][2] == ((1,), (3,))


# ---------------------------------------------------------------- gpu / cpu

def _cupy_with_gpu():
    try:
        import cupy
        return cupy if cupy.cuda.runtime.getDeviceCount() > 0 else None
    except Exception:
        return None


def test_gpu_without_a_gpu_warns_once_and_returns_model(monkeypatch):
    monkeypatch.setattr(devices, "_state", {"cupy": None, "looked": True, "warned": False})
    m = Chain(Dense(2, 2))
    with pytest.warns(RuntimeWarning, match="no usable GPU"):
        assert nn.gpu(m) is m
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert nn.gpu(m) is m                                    # once per process
    np.testing.assert_array_equal(nn.cpu(m)[0].weight, m[0].weight)


def test_gpu_lookup_is_lazy_and_safe(monkeypatch):
    monkeypatch.setattr(devices, "_state", {"cupy": None, "looked": False, "warned": True})
    found = devices._cupy()
    assert devices._state["looked"] and (found is None) == (_cupy_with_gpu() is None)


@pytest.mark.skipif(_cupy_with_gpu() is None, reason="needs CuPy and a GPU")
def test_gpu_round_trip_on_a_gpu():
    cupy = _cupy_with_gpu()
    d = Dense(3, 2)
    m = nn.gpu(Chain(d, d, np.tanh))
    assert isinstance(m[0].weight, cupy.ndarray) and m[0].weight is m[1].weight
    y = m(cupy.ones((3, 4), dtype=cupy.float32))
    back = nn.cpu(m)
    assert isinstance(back[0].weight, np.ndarray)
    np.testing.assert_allclose(cupy.asnumpy(y), back(np.ones((3, 4), np.float32)), rtol=1e-5)
    assert "6 parameters" in repr(m)


def test_show_of_plain_values():
    assert show(np.ones((2, 3))) == "float64[2, 3]  # 6 parameters"
    assert show(np.tanh) == "tanh"
    assert show((np.ones(1),)) == "(float64[1],)  # 1 parameter"
