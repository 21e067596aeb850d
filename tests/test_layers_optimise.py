"""Optimiser rules, setup/update, adjust/freeze (Optimisers.jl semantics)."""
import numpy as np
import pytest

from ad_compiler import gradient
from ad_compiler.tree import tree_leaves
from ad_compiler.layers import optimise
from ad_compiler.layers.errors import LayerError, StateError
from ad_compiler.layers.optimise import (Adam, AdamW, ClipGrad, ClipNorm, Descent, Fields, Leaf,
                                         Momentum, Nesterov, OptimiserChain, RMSProp, Scratch,
                                         WeightDecay, setup, update)
from ad_compiler.layers.train import adjust, freeze, leaves, thaw


class Affine:
    def __init__(self, W, b, act=np.tanh):
        self.W, self.b, self.act = W, b, act

    def __call__(self, x):
        return self.act(self.W @ x + self.b[:, None])


class Net:
    def __init__(self, layers):
        self.layers = layers

    def __call__(self, x):
        for layer in self.layers:
            x = layer(x)
        return x


def net(seed=0, dtype=np.float32, shapes=((3, 4), (2, 3))):
    rng = np.random.default_rng(seed)
    return Net([Affine(rng.standard_normal(s).astype(dtype), rng.standard_normal(s[0]).astype(
        dtype)) for s in shapes])


def grads_like(model, seed):
    rng = np.random.default_rng(seed)
    return Net([Affine(rng.standard_normal(l.W.shape).astype(l.W.dtype),
                       rng.standard_normal(l.b.shape).astype(l.b.dtype), None)
                for l in model.layers])


# ---------------------------------------------------------------- references (float64, plain)

def ref_momentum(x, gs, eta, rho):
    v = np.zeros_like(x)
    for g in gs:
        v = rho * v + eta * g
        x = x - v
    return x


def ref_nesterov(x, gs, eta, rho):
    v = np.zeros_like(x)
    for g in gs:
        step = -rho ** 2 * v + (1 + rho) * eta * g
        v = rho * v - eta * g
        x = x - step
    return x


def ref_rmsprop(x, gs, eta, rho, eps, centred):
    q, lin = np.zeros_like(x), np.zeros_like(x)
    for g in gs:
        q = rho * q + (1 - rho) * g ** 2
        if centred:
            lin = rho * lin + (1 - rho) * g
        x = x - eta * g / (np.sqrt(q - lin ** 2) + eps)
    return x


def ref_adam(x, gs, eta, b1, b2, eps, lambd=0.0, couple=True):
    m, v = np.zeros_like(x), np.zeros_like(x)
    for t, g in enumerate(gs, 1):
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g ** 2
        adam = m / (1 - b1 ** t) / (np.sqrt(v / (1 - b2 ** t)) + eps)
        x = x - (eta * (adam + lambd * x) if couple else eta * adam + lambd * x)
    return x


def run(rule, x, gs):
    x = x.copy()
    state = setup(rule, {"x": x})
    for g in gs:
        update(state, {"x": x}, {"x": g})
    return x


RNG = np.random.default_rng(7)
X0 = RNG.standard_normal((4, 5))
GS = [RNG.standard_normal((4, 5)) for _ in range(4)]


@pytest.mark.parametrize("rule, reference", [
    (Momentum(0.1, 0.8), lambda x, gs: ref_momentum(x, gs, 0.1, 0.8)),
    (Nesterov(0.1, 0.8), lambda x, gs: ref_nesterov(x, gs, 0.1, 0.8)),
    (RMSProp(0.01, 0.7, 1e-3), lambda x, gs: ref_rmsprop(x, gs, 0.01, 0.7, 1e-3, False)),
    (RMSProp(0.01, 0.7, 1e-3, centred=True),
     lambda x, gs: ref_rmsprop(x, gs, 0.01, 0.7, 1e-3, True)),
    (Adam(0.01, (0.8, 0.9), 1e-3), lambda x, gs: ref_adam(x, gs, 0.01, 0.8, 0.9, 1e-3)),
    (Adam(), lambda x, gs: ref_adam(x, gs, 0.001, 0.9, 0.999, 1e-8)),
    (AdamW(0.01, lambd=0.1), lambda x, gs: ref_adam(x, gs, 0.01, 0.9, 0.999, 1e-8, 0.1)),
    (AdamW(0.01, lambd=0.1, couple=False),
     lambda x, gs: ref_adam(x, gs, 0.01, 0.9, 0.999, 1e-8, 0.1, False)),
    (WeightDecay(0.1), lambda x, gs: _fold(x, gs, lambda x, g: x - (g + 0.1 * x))),
    (ClipGrad(0.5), lambda x, gs: _fold(x, gs, lambda x, g: x - np.clip(g, -0.5, 0.5))),
    (ClipNorm(2.0), lambda x, gs: _fold(x, gs, lambda x, g: x - g * min(
        1, 2.0 / np.linalg.norm(g)))),
    (ClipNorm(2.0, 1), lambda x, gs: _fold(x, gs, lambda x, g: x - g * min(
        1, 2.0 / np.abs(g).sum()))),
    (ClipNorm(100.0, np.inf), lambda x, gs: _fold(x, gs, lambda x, g: x - g)),
    (OptimiserChain(WeightDecay(0.1), Adam(0.01)), lambda x, gs: _chain_reference(x, gs)),
    (OptimiserChain(), lambda x, gs: _fold(x, gs, lambda x, g: x - g)),
])
def test_rules_match_reference_formulas(rule, reference):
    np.testing.assert_allclose(run(rule, X0, GS), reference(X0, GS), rtol=1e-10, atol=1e-12)


def _fold(x, gs, step):
    for g in gs:
        x = step(x, g)
    return x


def _chain_reference(x, gs):
    """WeightDecay then Adam: Adam of ``g + 0.1*x`` (unlike AdamW, whose decay
    skips Adam's normalisation)."""
    m, v = np.zeros_like(x), np.zeros_like(x)
    for t, g in enumerate(gs, 1):
        g = g + 0.1 * x
        m = 0.9 * m + 0.1 * g
        v = 0.999 * v + 0.001 * g ** 2
        x = x - 0.01 * m / (1 - 0.9 ** t) / (np.sqrt(v / (1 - 0.999 ** t)) + 1e-8)
    return x


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_descent_is_exact_and_in_place(dtype):
    x = np.random.default_rng(0).standard_normal(10).astype(dtype)
    g = np.random.default_rng(1).standard_normal(10).astype(dtype)
    expected, before = x - dtype(0.1) * g, x
    state, model = update(setup(Descent(0.1), [x]), [x], [g])
    assert model[0] is before and x.dtype == dtype
    np.testing.assert_array_equal(x, expected)


def test_float32_stays_float32_with_every_rule():
    for rule in (Momentum(), Nesterov(), RMSProp(centred=True), Adam(), AdamW(lambd=0.1),
                 OptimiserChain(ClipNorm(1.0), WeightDecay(), Momentum())):
        model = net()
        W = model.layers[0].W
        state = setup(rule, model)
        for seed in range(3):
            update(state, model, grads_like(model, seed))
        assert model.layers[0].W is W and W.dtype == np.float32
        parts = [a for l in leaves(state) for a in tree_leaves(l.state)
                 if isinstance(a, np.ndarray)]
        assert parts and all(a.dtype == np.float32 for a in parts)


def test_flux_documented_setup_example():
    model = {"x": np.random.rand(3), "y": (True, False), "z": np.tanh}
    state = setup(Momentum(), model)
    assert isinstance(state["x"], Leaf) and state["y"] is None and state["z"] is None
    assert len(leaves(state)) == 1
    np.testing.assert_array_equal(state["x"].state, np.zeros(3))


def test_setup_skips_integer_arrays_and_numbers():
    model = {"w": np.ones(2), "n": np.arange(3), "mask": np.ones(2, bool), "s": 2.0, "k": 3}
    state = setup(Adam(), model)
    assert [k for k, v in state.items() if v is not None] == ["w"]


def test_object_state_reads_as_attributes():
    state = setup(Adam(), net())
    assert isinstance(state, Fields) and isinstance(state.layers[1].W, Leaf)
    assert state.layers[0].act is None
    with pytest.raises(AttributeError, match="has no field 'weight'"):
        state.layers[0].weight
    assert "Affine(W=Leaf(Adam(" in repr(state)


def test_update_with_a_real_gradient():
    model = net(dtype=np.float64)
    x = np.random.default_rng(3).standard_normal((4, 6))

    def loss(m, x):
        return np.sum(m(x) ** 2)

    state = setup(Descent(0.05), model)
    before = loss(model, x)
    for _ in range(20):
        g = gradient(loss, model, x)[0]
        update(state, model, g)
    assert loss(model, x) < before / 2


def test_none_branches_of_the_gradient_are_skipped():
    model = net()
    b = model.layers[1].b.copy()
    g = grads_like(model, 0)
    g.layers[1].b = None
    update(setup(Descent(), model), model, g)
    np.testing.assert_array_equal(model.layers[1].b, b)
    update(setup(Descent(), model), model, None)


def test_tied_arrays_share_one_leaf_and_sum_gradients():
    W = np.ones((2, 2))
    model = {"a": W, "b": W, "c": (W,)}
    state = setup(Descent(0.5), model)
    assert state["a"] is state["b"] is state["c"][0]
    update(state, model, {"a": np.ones((2, 2)), "b": 2 * np.ones((2, 2)), "c": None})
    np.testing.assert_array_equal(W, np.full((2, 2), 1 - 0.5 * 3))


def test_views_sharing_memory_are_refused():
    W = np.ones((2, 3))
    with pytest.raises(StateError, match=r"\['a'\] and \['b'\] share memory"):
        setup(Adam(), {"a": W, "b": W.T})
    flat = np.zeros(6)
    setup(Adam(), {"a": flat[:3], "b": flat[3:]})      # disjoint views are fine


def test_read_only_and_complex_arrays_are_refused():
    ro = np.ones(2)
    ro.flags.writeable = False
    with pytest.raises(StateError, match="read-only"):
        setup(Adam(), {"w": ro})
    with pytest.raises(StateError, match="complex"):
        setup(Adam(), {"w": np.ones(2, complex)})


def test_rule_where_state_belongs():
    model = net()
    with pytest.raises(StateError, match=r"setup\(rule, model\)"):
        update(Adam(), model, grads_like(model, 0))
    with pytest.raises(StateError, match="swapped"):
        setup(model, Adam())


def test_mismatched_state_names_the_path():
    state = setup(Adam(), net())
    other = net(shapes=((3, 4), (5, 3)))
    with pytest.raises(StateError, match=r"at layers\[1\]\.W: .*shape \(2, 3\).*\(5, 3\)"):
        update(state, other, grads_like(other, 0))
    with pytest.raises(StateError, match=r"at layers: .*list of 2 entries.*list of 1"):
        update(state, Net([net().layers[0]]), grads_like(net(), 0))
    with pytest.raises(StateError, match=r"at \['w'\]"):
        update(setup(Adam(), {"w": np.ones(2)}), {"w": np.ones(3)}, {"w": np.ones(3)})


def test_mismatched_gradient_is_an_error():
    model = net()
    g = grads_like(model, 0)
    g.layers[0].b = np.ones(7, np.float32)
    with pytest.raises(StateError, match=r"gradient at layers\[0\]\.b has shape \(7,\)"):
        update(setup(Adam(), model), model, g)
    with pytest.raises(StateError, match=r"pass its \[0\]"):
        update(setup(Adam(), model), model, (grads_like(model, 0), None))
    with pytest.raises(StateError, match="gradient at layers is a ndarray"):
        update(setup(Adam(), model), model, Net(np.ones(3)))


def test_errors_of_rules_name_the_array():
    model = {"w": np.ones(3)}
    with pytest.raises(LayerError, match=r"ClipNorm.*nan.*at \['w'\]"):
        update(setup(ClipNorm(), model), model, {"w": np.array([1.0, np.nan, 0.0])})
    update(setup(ClipNorm(throw=False), model), model, {"w": np.array([1.0, np.nan, 0.0])})


def test_optimisers_chain_example():
    m = (np.zeros(3),)
    s = setup(OptimiserChain(ClipGrad(1.0), Descent(0.1)), m)
    update(s, m, (np.array([0.3, 1.0, 7.0]),))
    np.testing.assert_allclose(m[0], [-0.03, -0.1, -0.1])


def test_scratch_buffers_are_reused():
    model = net()
    state = setup(Adam(), model)
    update(state, model, grads_like(model, 0))
    bufs = [b for l in leaves(state) for b in l.scratch.buffers]
    update(state, model, grads_like(model, 1))
    assert [b for l in leaves(state) for b in l.scratch.buffers] == bufs
    s = Scratch(np.zeros(2))
    a = s.take()
    assert s.take(a) is not a and s.take() is a


def test_threaded_update_equals_serial(monkeypatch):
    shapes = ((300, 500), (300,), (200, 300))

    def big(seed):
        rng = np.random.default_rng(seed)
        return [rng.standard_normal(s).astype(np.float32) for s in shapes]

    results = []
    for threads in (1, 2):
        monkeypatch.setattr(optimise, "threads", threads)
        model = big(0)
        state = setup(Adam(), model)
        for seed in (1, 2):
            update(state, model, big(seed))
        results.append(model)
    for a, b in zip(*results):
        np.testing.assert_array_equal(a, b)


# ---------------------------------------------------------------- rules' arguments

def test_rule_defaults_and_aliases():
    assert Adam() == Adam(0.001, (0.9, 0.999), 1e-8)
    assert Adam(η=0.1, β=(0.8, 0.9), ϵ=1e-6) == Adam(0.1, (0.8, 0.9), 1e-6)
    assert AdamW(lr=0.1, wd=0.01) == AdamW(eta=0.1, lambd=0.01) == AdamW(0.1, λ=0.01)
    assert RMSProp(centered=True).centred and not RMSProp().centred
    assert WeightDecay().lambd == 5e-4 and ClipGrad().delta == 10 and ClipNorm().omega == 10
    assert Descent().eta == 0.1 and Momentum().rho == 0.9 and Nesterov().eta == 0.001


@pytest.mark.parametrize("make, match", [
    (lambda: Adam(foo=1), "no hyperparameter 'foo'.*eta, beta, epsilon"),
    (lambda: Descent(-0.1), "eta must be finite and >= 0"),
    (lambda: Momentum(rho=1.5), r"rho must be in \[0, 1\)"),
    (lambda: Adam(beta=0.9), "beta must be a pair"),
    (lambda: Descent(0.1, 2), "at most 1"),
    (lambda: OptimiserChain(Adam(), "sgd"), "takes rules"),
    (lambda: Adam(eta=1, η=2), "given twice"),
])
def test_bad_hyperparameters(make, match):
    with pytest.raises(LayerError, match=match):
        make()


# ---------------------------------------------------------------- adjust, freeze, thaw

def test_adjust_changes_rules_in_place_and_keeps_moments():
    model = net()
    state = setup(Adam(), model)
    update(state, model, grads_like(model, 0))
    moments = state.layers[0].W.state[0].copy()
    assert adjust(state, 0.01) is state
    assert state.layers[1].b.rule == Adam(0.01)
    adjust(state, β=(0.5, 0.6))
    assert state.layers[0].W.rule == Adam(0.01, (0.5, 0.6))
    np.testing.assert_array_equal(state.layers[0].W.state[0], moments)
    assert adjust(Momentum(), rho=0.5) == Momentum(rho=0.5)


def test_adjust_rejects_unknown_names():
    state = setup(OptimiserChain(ClipGrad(), Adam()), {"w": np.ones(2)})
    adjust(state, delta=1.0, eta=0.5)
    assert state["w"].rule == OptimiserChain(ClipGrad(1.0), Adam(0.5))
    with pytest.raises(StateError, match="no hyperparameter 'rho'.*beta, delta, epsilon, eta"):
        adjust(state, rho=0.1)
    with pytest.raises(StateError, match="no hyperparameter 'eta'"):
        adjust(setup(ClipGrad(), {"w": np.ones(2)}), 0.1)
    with pytest.raises(LayerError, match="centred cannot change"):
        adjust(setup(RMSProp(), {"w": np.ones(2)}), centred=True)


def test_freeze_and_thaw():
    model = net()
    state = setup(Momentum(), model)
    freeze(state.layers[0])
    W0, W1 = model.layers[0].W.copy(), model.layers[1].W.copy()
    update(state, model, grads_like(model, 0))
    np.testing.assert_array_equal(model.layers[0].W, W0)
    assert not np.array_equal(model.layers[1].W, W1)
    assert "frozen=True" in repr(state.layers[0].W)
    thaw(state)
    update(state, model, grads_like(model, 1))
    assert not np.array_equal(model.layers[0].W, W0)
    with pytest.raises(StateError, match="not to the model itself"):
        freeze(model)


# ---------------------------------------------------------------- with the library's layers

def test_layer_trainable_fields_are_respected():
    from ad_compiler.layers.core import layer

    @layer(trainable=("W",))
    class Half:
        def __init__(self):
            self.W, self.b = np.ones(2), np.ones(2)

    model = Half()
    state = setup(Descent(1.0), model)
    assert isinstance(state.W, Leaf) and state.b is None
    update(state, model, Half())
    np.testing.assert_array_equal(model.W, [0.0, 0.0])
    np.testing.assert_array_equal(model.b, [1.0, 1.0])


def test_chain_of_dense_and_batchnorm():
    from ad_compiler.layers.basic import Chain, Dense
    from ad_compiler.layers.normalise import BatchNorm, Dropout

    model = Chain(Dense(3, 4, np.tanh), BatchNorm(4), Dropout(0.5), Dense(4, 2))
    state = setup(Adam(), model)
    assert isinstance(state.layers[0].weight, Leaf) and isinstance(state.layers[1].γ, Leaf)
    assert state.layers[1].μ is None and state.layers[2] is None
    assert len(leaves(state)) == 6
    x = np.random.default_rng(0).standard_normal((3, 5)).astype(np.float32)
    before = model.layers[3].weight.copy()
    g = gradient(lambda m, x: np.sum(m(x) ** 2), model, x)[0]
    update(state, model, g)
    assert not np.array_equal(model.layers[3].weight, before)
    assert model.layers[3].weight.dtype == np.float32
