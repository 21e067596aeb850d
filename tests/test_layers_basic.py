"""ad_compiler.layers' basic layers: Dense, Chain, compose, SkipConnection,
Parallel, Scale, Embedding, flatten; and the seed's Affine and linear models."""
import math
import warnings

import numpy as np
import pytest

import ad_compiler.layers as nn
from ad_compiler import Params, check_grads, gradient
from ad_compiler.layers import (Chain, Dense, DimensionMismatch, Embedding, LayerError, Parallel,
                                Scale, SkipConnection, compose, create_bias, f64, flatten,
                                glorot_uniform, gpu, layer)

RNG = np.random.default_rng(12)


def relu(x):
    return np.maximum(x, 0)


def sq_loss(m, x):
    return np.sum(m(x) ** 2)


def randn(*shape):
    return RNG.standard_normal(shape)


# ---------------------------------------------------------------- Dense

def test_dense_fields_shapes_and_dtype():
    d = Dense(10, 5, relu)
    assert d.weight.shape == (5, 10) and d.weight.dtype == np.float32
    assert d.bias.shape == (5,) and d.bias.dtype == np.float32 and not d.bias.any()
    assert d.σ is relu
    bound = math.sqrt(6 / 15)           # glorot_uniform: fan_in 10, fan_out 5
    assert np.abs(d.weight).max() <= bound and np.abs(d.weight).max() > bound / 2


@pytest.mark.parametrize("shape,out", [((10,), (5,)), ((10, 7), (5, 7)),
                                       ((10, 6, 4, 3), (5, 6, 4, 3))])
def test_dense_input_shapes(shape, out):
    d = Dense(10, 5, np.tanh)
    x = RNG.random(shape).astype(np.float32)
    y = d(x)
    assert y.shape == out and y.dtype == np.float32
    flat = np.tanh(d.weight @ x.reshape(10, -1) + d.bias[:, None]).reshape(out)
    np.testing.assert_allclose(y, flat, rtol=1e-6)


def test_dense_repr_matches_flux():
    assert repr(Dense(10, 5, relu)) == "Dense(10 => 5, relu)  # 55 parameters"
    assert repr(Dense(5, 2)) == "Dense(5 => 2)  # 12 parameters"
    assert repr(Dense(784, 512)) == "Dense(784 => 512)  # 401_920 parameters"
    assert repr(Dense(5, 2, bias=False)) == "Dense(5 => 2, bias=False)  # 10 parameters"


def test_dense_from_arrays_flux_doc_example():
    # Flux docs: d1 = Dense(ones(2, 5), false, tanh); d1(ones(5)) ≈ [0.99990920, ...]
    d1 = Dense(np.ones((2, 5)), False, np.tanh)
    assert d1.bias is None
    np.testing.assert_allclose(d1(np.ones(5)), [0.9999092042625951] * 2)
    assert repr(d1) == "Dense(5 => 2, tanh, bias=False)  # 10 parameters"
    d2 = Dense(np.ones((2, 3)), np.array([1.0, 2.0]))
    np.testing.assert_allclose(d2(np.ones(3)), [4.0, 5.0])
    d3 = Dense(np.ones((2, 3)), bias=False, σ=np.tanh)
    assert d3.bias is None and d3.σ is np.tanh


def test_dense_sigma_alias_bias_and_init():
    d = Dense(3, 2, sigma=np.tanh, bias=False, init=nn.ones32)
    assert d.σ is np.tanh and d.bias is None
    np.testing.assert_array_equal(d.weight, np.ones((2, 3), np.float32))
    with pytest.raises(LayerError, match="once"):
        Dense(3, 2, np.tanh, sigma=relu)


def test_dense_dimension_mismatch_message():
    d = Dense(784, 512)
    with pytest.raises(DimensionMismatch) as info:
        d(np.zeros((128, 784), np.float32))
    assert str(info.value) == ("Dense(784 => 512) expects x.shape[0] == 784 "
                               "(features first, batch last), got (128, 784)")
    with pytest.raises(DimensionMismatch, match=r"got \(\)"):
        Dense(2, 1)(np.zeros((), np.float32))


@pytest.mark.parametrize("args,match", [((10,), "Dense\\(in_, out\\)"), ((0, 3), "positive"),
                                        ((2.5, 3), "positive"), ((2, 3, 4), "callable")])
def test_dense_bad_construction(args, match):
    with pytest.raises(LayerError, match=match):
        Dense(*args)


def test_dense_bad_input_and_bias():
    with pytest.raises(LayerError, match="expects an array"):
        Dense(2, 1)([1.0, 2.0])
    with pytest.raises(DimensionMismatch, match="matrix"):
        Dense(np.ones(3))
    with pytest.raises(DimensionMismatch, match=r"\(3,\).*\(3, 2\).*\(4,\)"):
        Dense(np.ones((3, 2)), np.ones(4))


def test_dense_computes_in_weight_dtype():
    d = Dense(3, 2)
    with pytest.warns(UserWarning, match="float32 parameters but got float64 input"):
        y = d(np.ones((3, 4)))
    assert y.dtype == np.float32
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert d(np.ones(3, dtype=np.int64)).dtype == np.float32      # ints: no warning
        assert f64(d)(np.ones(3, np.float32)).dtype == np.float64     # widening: no warning


def test_dense_float32_gradient_stays_float32():
    d = Dense(3, 2, np.tanh)
    g, = gradient(lambda m: np.sum(m(np.ones((3, 4), np.float32))), d)
    assert isinstance(g, Dense) and g.weight.dtype == np.float32 and g.σ is None


@pytest.mark.parametrize("shape", [(4,), (4, 5), (4, 2, 3)])
@pytest.mark.parametrize("bias", [True, False])
def test_dense_gradients(shape, bias):
    d = f64(Dense(4, 3, np.tanh, bias=bias))
    if bias:
        d.bias[:] = randn(3)
    check_grads(sq_loss, d, randn(*shape), order=2)


def test_dense_gradient_against_hand_written():
    d = f64(Dense(3, 2))
    x = randn(3, 5)
    g, gx = gradient(sq_loss, d, x)
    y = d.weight @ x + d.bias[:, None]
    np.testing.assert_allclose(g.weight, 2 * y @ x.T)
    np.testing.assert_allclose(g.bias, 2 * y.sum(1))
    np.testing.assert_allclose(gx, 2 * d.weight.T @ y)


# ---------------------------------------------------------------- Chain and compose

def test_chain_of_functions_seed_example():
    assert Chain(lambda x: x ** 2, lambda x: x + 1)(5) == 26
    assert Chain()(3) == 3


def test_chain_applies_left_to_right_flux_doc():
    m = Chain(Dense(10, 5, np.tanh), Dense(5, 2))
    x = RNG.random((10, 32)).astype(np.float32)
    np.testing.assert_array_equal(m(x), m[1](m[0](x)))
    assert len(m) == 2 and list(m) == list(m.layers) and m.names is None
    assert isinstance(m.layers, tuple) and m[-1] is m.layers[1]


def test_named_chain_flux_doc():
    m2 = Chain(enc=Chain(flatten, Dense(10, 5, np.tanh)), dec=Dense(5, 2))
    x = RNG.random((10, 32)).astype(np.float32)
    np.testing.assert_array_equal(m2(x), compose(m2["dec"], m2["enc"])(x))
    assert m2.names == ("enc", "dec") and isinstance(m2.layers, dict)
    assert m2[0] is m2["enc"] and [f for f in m2] == [m2["enc"], m2["dec"]]
    with pytest.raises(KeyError, match="no layer named 'mid'.*'enc', 'dec'"):
        m2["mid"]


def test_chain_slicing():
    layers = [Dense(4, 4, np.tanh) for _ in range(3)]
    c = Chain(*layers)
    s = c[1:]
    assert isinstance(s, Chain) and s.layers == tuple(layers[1:])
    named = Chain(a=layers[0], b=layers[1], c=layers[2])[:2]
    assert named.names == ("a", "b") and named["b"] is layers[1]
    assert Chain(layers).layers == tuple(layers)        # a list of layers, as Flux's Chain([...])


def test_chain_construction_errors():
    with pytest.raises(LayerError, match="not both"):
        Chain(np.tanh, b=np.tanh)
    with pytest.raises(LayerError, match="callable"):
        Chain(np.tanh, 3)


def test_chain_repr_nested_and_named():
    m = Chain(Dense(10, 5, relu), Dense(5, 2), np.tanh)
    assert repr(m) == (
        "Chain(\n"
        "  Dense(10 => 5, relu),                 # 55 parameters\n"
        "  Dense(5 => 2),                        # 12 parameters\n"
        "  tanh,\n"
        ")                   # Total: 4 arrays, 67 parameters, 268 bytes.")
    nested = Chain(enc=Chain(Dense(2, 3)), dec=Dense(3, 1))
    assert repr(nested) == (
        "Chain(\n"
        "  enc = Chain(\n"
        "    Dense(2 => 3),                      # 9 parameters\n"
        "  ),\n"
        "  dec = Dense(3 => 1),                  # 4 parameters\n"
        ")                   # Total: 4 arrays, 13 parameters, 52 bytes.")
    assert repr(Chain(lambda x: x)) == "Chain(\n  <lambda>,\n)"


def test_chain_gradient_structure_and_values():
    m = f64(Chain(Dense(4, 3, np.tanh), np.tanh, Dense(3, 2)))
    x = randn(4, 6)
    g, = gradient(lambda m: sq_loss(m, x), m)
    assert isinstance(g, Chain) and g.layers[1] is None
    assert g.layers[0].weight.shape == (4, 3)[::-1] and g.layers[2].bias.shape == (2,)
    check_grads(sq_loss, m, x, order=2)


def test_named_chain_gradients():
    m = f64(Chain(enc=Dense(4, 3, np.tanh), dec=Dense(3, 2)))
    x = randn(4, 5)
    g, = gradient(lambda m: sq_loss(m, x), m)
    assert set(g.layers) == {"enc", "dec"} and g.layers["enc"].weight.shape == (3, 4)
    check_grads(sq_loss, m, x, order=2)


def test_compose_seed_example():
    σ = np.tanh
    m = compose(Dense(5, 2), Dense(10, 5, σ))
    x = RNG.random(10).astype(np.float32)
    y = m(x)
    assert y.shape == (2,)
    np.testing.assert_allclose(y, m.layers[1](m.layers[0](x)))
    assert compose(np.exp, np.log, np.abs)(-2.0) == pytest.approx(2.0)
    check_grads(sq_loss, f64(m), randn(10, 3), order=2)
    with pytest.raises(LayerError):
        compose()


# ---------------------------------------------------------------- SkipConnection, Parallel

def test_skip_connection():
    model = SkipConnection(Dense(10, 10), np.add)
    x = RNG.random((10, 32)).astype(np.float32)
    assert model(x).shape == (10, 32)
    np.testing.assert_allclose(model(x), model.layers(x) + x)
    cat = SkipConnection(Dense(3, 2), lambda mx, x: np.concatenate([mx, x]))
    assert cat(np.ones((3, 4), np.float32)).shape == (5, 4)
    check_grads(sq_loss, f64(SkipConnection(Dense(3, 3, np.tanh), np.add)), randn(3, 4),
                order=2)
    with pytest.raises(LayerError, match="connection must be callable"):
        SkipConnection(Dense(2, 2), "+")
    assert repr(model).startswith("SkipConnection(\n  Dense(10 => 10),")


def vcat(*xs):
    return np.concatenate(xs, axis=0)


def test_parallel_flux_doc_examples():
    model = Chain(Dense(3, 5), Parallel(vcat, Dense(5, 4), Chain(Dense(5, 7), Dense(7, 4))))
    assert model(RNG.random(3).astype(np.float32)).shape == (8,)
    model2 = Parallel(np.add, α=Dense(10, 2, np.tanh), β=Dense(5, 2))
    x, z = RNG.random(10).astype(np.float32), RNG.random(5).astype(np.float32)
    np.testing.assert_allclose(model2(x, z), model2["α"](x) + model2["β"](z))
    np.testing.assert_allclose(model2((x, z)), model2(x, z))
    assert len(model2) == 2 and model2.names == ("α", "β") and model2[1] is model2["β"]
    assert model2[:1].names == ("α",) and model2[:1].connection is np.add


def test_parallel_one_layer_many_inputs_and_no_connection():
    d = Dense(2, 2)
    p = Parallel(None, d)
    a, b = np.ones(2, np.float32), np.zeros(2, np.float32)
    ya, yb = p(a, b)
    np.testing.assert_allclose(ya, d(a)) and np.testing.assert_allclose(yb, d(b))
    with pytest.raises(DimensionMismatch, match="2 layers takes 1 input.*or 2.*got 3"):
        Parallel(np.add, d, d)(a, a, a)
    with pytest.raises(LayerError, match="at least one layer"):
        Parallel(np.add)


def test_parallel_gradients_every_mode():
    p = f64(Parallel(np.add, Dense(4, 3), Dense(4, 3, np.tanh)))
    x, z = randn(4, 5), randn(4, 5)
    check_grads(sq_loss, p, x, order=2)
    check_grads(lambda m, x, z: np.sum(m(x, z) ** 2), p, x, z, order=2)
    check_grads(lambda m, x, z: np.sum(m((x, z)) ** 2), p, x, z)
    one = f64(Parallel(np.multiply, Dense(4, 4, np.tanh)))
    check_grads(lambda m, x, z: np.sum(m(x, z) ** 2), one, x, z, order=2)
    g, = gradient(lambda m: sq_loss(m, x), p)
    assert isinstance(g, Parallel) and g.connection is None and g.layers[1].weight.shape == (3, 4)


def test_parallel_repr():
    text = repr(Parallel(np.add, a=Dense(2, 3), b=Dense(2, 3)))
    assert text.split("\n")[:3] == ["Parallel(", "  add,",
                                    "  a = Dense(2 => 3),                    # 9 parameters"]


# ---------------------------------------------------------------- Scale, Embedding, flatten

def test_scale_flux_doc_examples():
    a = Scale(2)
    assert repr(a) == "Scale(2)  # 4 parameters"
    np.testing.assert_array_equal(a.scale, [1, 1]) and np.testing.assert_array_equal(a.bias, 0)
    np.testing.assert_array_equal(a(np.array([[1, 2, 3]])), [[1, 2, 3], [1, 2, 3]])
    b = Scale(np.array([[1, 2, 3, 4]]), False, np.square)
    assert repr(b) == "Scale(1, 4, square, bias=False)"          # int arrays are no parameters
    np.testing.assert_array_equal(b(np.array([1, 10])), [[1, 4, 9, 16], [100, 400, 900, 1600]])


def test_scale_shapes_and_errors():
    s = Scale(3, 2, np.tanh)
    assert s.scale.shape == (3, 2) and s.bias.shape == (3, 2) and s.σ is np.tanh
    assert s(np.ones((3, 2, 7), np.float32)).shape == (3, 2, 7)
    with pytest.raises(DimensionMismatch, match=r"Scale\(3, 2\) cannot broadcast.*\(3, 2\).*"
                                                r"\(2, 2\)"):
        s(np.ones((2, 2)))
    with pytest.raises(LayerError, match="needs a size"):
        Scale()
    assert Scale(2, bias=False).bias is None
    with pytest.warns(UserWarning, match="Scale has float32 parameters but got float64"):
        assert Scale(2)(np.ones(2)).dtype == np.float32


def test_scale_gradients():
    s = f64(Scale(3, σ=np.tanh))
    s.scale[:], s.bias[:] = randn(3), randn(3)
    check_grads(sq_loss, s, randn(3, 5), order=2)
    check_grads(sq_loss, f64(Scale(3, 2)), randn(3, 2, 4), order=2)
    check_grads(sq_loss, f64(Scale(np.ones((1, 4)), False)), randn(2), order=2)


def test_embedding_indices_any_shape():
    e = Embedding(26, 4)
    assert e.weight.shape == (4, 26) and repr(e) == "Embedding(26 => 4)  # 104 parameters"
    data = RNG.integers(0, 26, size=(10, 5))
    y = e(data)
    assert y.shape == (4, 10, 5)
    np.testing.assert_array_equal(y[:, 3, 2], e.weight[:, data[3, 2]])
    assert e(25).shape == (4,) and e(np.array([3, 1, 20])).shape == (4, 3)


def test_embedding_onehot_equals_indices():
    e = Embedding(26, 4)
    idx = np.array([7, 4, 11, 11, 14])
    onehot = np.eye(26, dtype=bool)[:, idx]
    np.testing.assert_allclose(e(onehot), e(idx))
    np.testing.assert_allclose(e(onehot.astype(np.float32)), e(idx))
    np.testing.assert_allclose(e(np.eye(26, dtype=bool)[:, idx.reshape(1, 5)]),
                               e(idx.reshape(1, 5)))


def test_embedding_errors():
    e = Embedding(5, 2)
    with pytest.raises(LayerError, match="0..4, got 5.*start at 0"):
        e(np.array([1, 5]))
    with pytest.raises(LayerError, match="got -1"):
        e(-1)
    with pytest.raises(DimensionMismatch, match="x.shape\\[0\\] == 5"):
        e(np.ones((4, 2), bool))
    with pytest.raises(LayerError, match="integer indices or one-hot"):
        e("a")


def test_embedding_gradients_reach_rows():
    e = f64(Embedding(5, 3))
    idx = np.array([[0, 1], [4, 4]])
    g, = gradient(lambda m: np.sum(m(idx)), e)
    np.testing.assert_array_equal(g.weight, np.array([[1, 1, 0, 0, 2]] * 3))
    check_grads(lambda m: np.sum(m(idx) ** 2), e, order=2)
    check_grads(lambda m: np.sum(m(2) ** 2), e, order=2)
    check_grads(lambda m: np.sum(m(np.eye(5)[:, [0, 3, 3]]) ** 2), e, order=2)


def test_flatten():
    assert flatten(np.zeros((3, 4, 5))).shape == (12, 5)
    assert flatten(np.zeros((3, 5))).shape == (3, 5)
    assert flatten(np.zeros(5)).shape == (1, 5)          # as MLUtils.flatten: batch stays last
    with pytest.raises(DimensionMismatch, match="batch axis"):
        flatten(np.zeros(()))
    check_grads(lambda x: np.sum(flatten(x) ** 2), randn(3, 2, 5), order=2)


# ---------------------------------------------------------------- the seed's examples

def linear(n_in, n_out):
    W = RNG.standard_normal((n_out, n_in))
    b = RNG.standard_normal(n_out)
    return lambda x: W @ x + b.reshape((-1,) + (1,) * (x.ndim - 1))   # Julia's W * x .+ b


@layer
class Affine:
    """The seed's Affine struct, with its constructors translated."""

    def __init__(self, W, b=None, *, bias=True, init=glorot_uniform):
        if isinstance(W, tuple):                    # Affine((in, out); bias, init)
            n_in, n_out = W
            W = init(n_out, n_in)
            b = create_bias(W, bias, n_out)
        elif isinstance(W, int):                    # Affine(in, out)
            W, b = RNG.standard_normal((b, W)), np.zeros(b)
        self.W, self.b = W, b

    def __call__(self, x):
        y = self.W @ x
        if self.b is None:
            return y
        if y.ndim == 2:                             # Julia's .+ b broadcasts down columns
            return y + self.b[:, None]
        return y + self.b


def test_seed_building_layers():
    sigmoid = lambda x: 1 / (1 + np.exp(-x))          # noqa: E731
    linear1, linear2 = linear(5, 3), linear(3, 2)
    assert linear2(sigmoid(linear1(RNG.random(5)))).shape == (2,)
    a = Affine(10, 5)
    assert a(RNG.random(10)).shape == (5,)
    assert repr(a) == "Affine(W=float64[5, 10], b=float64[5])  # 55 parameters"
    model2 = Chain(Dense(10, 5, relu), Dense(5, 2), lambda x: np.exp(x) / np.sum(np.exp(x)))
    assert model2(RNG.random(10).astype(np.float32)).shape == (2,)


def test_seed_final_example_affine_with_create_bias_and_gpu():
    a = Affine((3, 1), bias=False)
    assert a.W.shape == (1, 3) and a.W.dtype == np.float32 and a.b is None
    assert repr(a) == "Affine(W=float32[1, 3], b=None)  # 3 parameters"
    with warnings.catch_warnings(record=True):
        warnings.simplefilter("always")
        moved = gpu(a)
    assert moved(np.ones(3, np.float32)).shape == (1,)
    assert Affine((3, 1)).b.shape == (1,)


def _descend(loss, steps, grads_of, update):
    losses = []
    for _ in range(steps):
        losses.append(loss())
        update(grads_of())
    losses.append(loss())
    return losses


def _data():
    x = RNG.standard_normal((5, 20))
    y = RNG.standard_normal((3, 5)) @ x + 0.5
    return x, y


def test_seed_models_train_through_params():
    x, y = _data()
    for model in (linear(5, 3), Affine((5, 3), init=lambda *d: RNG.standard_normal(d))):
        ps = nn.params(model)
        assert len(ps) == 2
        loss = lambda: np.mean((model(x) - y) ** 2)           # noqa: E731

        def update(grads):
            for p in ps:
                p -= 0.1 * grads[p]
        losses = _descend(loss, 20, lambda: gradient(loss, ps), update)
        assert all(b < a for a, b in zip(losses, losses[1:])) and losses[-1] < losses[0] / 2


def test_seed_models_train_through_structural_gradients():
    x, y = _data()
    a = Affine((5, 3), init=lambda *d: RNG.standard_normal(d))
    loss = lambda: np.mean((a(x) - y) ** 2)                   # noqa: E731

    def update(g):
        assert isinstance(g, Affine)
        a.W -= 0.1 * g.W
        a.b -= 0.1 * g.b
    losses = _descend(loss, 20, lambda: gradient(lambda m: np.mean((m(x) - y) ** 2), a)[0],
                      update)
    assert all(b < a for a, b in zip(losses, losses[1:])) and losses[-1] < losses[0] / 2
    lin = linear(5, 3)
    g, = gradient(lambda f: np.mean((f(x) - y) ** 2), lin)
    assert g.W.shape == (3, 5) and g.b.shape == (3,)     # a closure's gradient: its captures
    assert isinstance(Params(nn.trainables(lin)), Params)
