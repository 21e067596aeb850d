"""state_dict, save/load (.npz and .safetensors) and loadmodel."""
import json

import numpy as np
import pytest

from ad_compiler.layers import saving
from ad_compiler.layers.errors import LayerError, StateError
from ad_compiler.layers.optimise import Adam, ClipGrad, Momentum, OptimiserChain, setup, update
from ad_compiler.layers.saving import load, loadmodel, save, state_dict
from ad_compiler.layers.train import adjust, freeze, leaves


class Affine:
    def __init__(self, W, b):
        self.W, self.b, self.act, self.index = W, b, np.tanh, np.arange(3)


class Net:
    def __init__(self, layers):
        self.layers = layers


def net(seed, tied=True):
    rng = np.random.default_rng(seed)
    W = rng.standard_normal((2, 3)).astype(np.float32)
    W2 = W if tied else rng.standard_normal((2, 3)).astype(np.float32)
    return Net([Affine(W, rng.standard_normal(2).astype(np.float32)),
                Affine(W2, rng.standard_normal(2).astype(np.float32))])


def grads(seed):
    rng = np.random.default_rng(seed)
    return Net([Affine(rng.standard_normal((2, 3)).astype(np.float32),
                       rng.standard_normal(2).astype(np.float32)) for _ in range(2)])


def same(a, b):
    da, db = state_dict(a), state_dict(b)
    return list(da) == list(db) and all(np.array_equal(da[k], db[k]) and
                                        da[k].dtype == db[k].dtype for k in da)


def test_state_dict_names_every_array_by_dotted_path():
    model = net(0)
    d = state_dict(model)
    assert list(d) == ["layers.0.W", "layers.0.b", "layers.0.index", "layers.1.W",
                       "layers.1.b", "layers.1.index"]
    assert d["layers.0.W"] is d["layers.1.W"] is model.layers[0].W
    assert list(state_dict({"a": (np.ones(1), {"b": np.ones(2)})})) == ["a.0", "a.1.b"]


@pytest.mark.parametrize("suffix", ["npz", "safetensors"])
def test_round_trip_with_optimiser_state(tmp_path, suffix):
    if suffix == "safetensors":
        pytest.importorskip("safetensors")
    rule = OptimiserChain(ClipGrad(1.0), Adam(0.01))
    model = net(0)
    state = setup(rule, model)
    update(state, model, grads(1))
    adjust(state, 0.02)
    freeze(state.layers[1].b)
    path = tmp_path / ("model." + suffix)
    save(path, model, state)

    like = net(5)
    loaded, loaded_state = load(path, like, opt_like=setup(rule, like))
    assert same(loaded, model) and loaded is not like and same(like, net(5))
    assert loaded.layers[0].W is loaded.layers[1].W                # ties survive
    assert loaded_state.layers[0].W is loaded_state.layers[1].W
    assert loaded_state.layers[0].b.rule == OptimiserChain(ClipGrad(1.0), Adam(0.02))
    assert loaded_state.layers[1].b.frozen and not loaded_state.layers[0].b.frozen
    for seed in (2, 3):                     # training goes on exactly as it would have
        update(state, model, grads(seed))
        update(loaded_state, loaded, grads(seed))
    assert same(loaded, model)
    assert all(l.state[1][0].dtype == np.float32 for l in leaves(loaded_state))


def test_npz_is_written_at_the_exact_path_and_needs_no_pickle(tmp_path):
    path = tmp_path / "weights.bin"
    save(path, net(0))
    assert path.exists() and not (tmp_path / "weights.bin.npz").exists()
    with np.load(path, allow_pickle=False) as f:
        meta = json.loads(str(f["__metadata__"]))
    assert meta["format"] == "ad_compiler.layers" and meta["version"] == saving.VERSION
    assert same(load(path, net(1)), net(0))


def test_load_refuses_foreign_or_newer_files(tmp_path):
    plain = tmp_path / "plain.npz"
    np.savez(plain, w=np.ones(2))
    with pytest.raises(LayerError, match="not written by ad_compiler.layers.save"):
        load(plain, {"w": np.zeros(2)})
    newer = tmp_path / "newer.npz"
    with open(newer, "wb") as f:
        np.savez(f, **{"model/w": np.ones(2), "__metadata__": np.array(json.dumps(
            {"format": "ad_compiler.layers", "version": saving.VERSION + 1}))})
    with pytest.raises(LayerError, match="newer"):
        load(newer, {"w": np.zeros(2)})


def test_load_into_a_different_model_names_the_differences(tmp_path):
    path = tmp_path / "m.npz"
    save(path, net(0))
    with pytest.raises(StateError, match=r"layers\.0\.W has shape \(2, 3\) in the source but "
                                         r"\(4, 3\)"):
        load(path, Net([Affine(np.zeros((4, 3), np.float32), np.zeros(2, np.float32)),
                        Affine(np.zeros((2, 3), np.float32), np.zeros(2, np.float32))]))
    with pytest.raises(StateError, match="holds no optimiser state"):
        load(path, net(1), opt_like=setup(Adam(), net(1)))
    save(path, net(0), setup(Adam(), net(0)))
    with pytest.raises(StateError, match="saved with Adam, but opt_like has Momentum"):
        load(path, net(1), opt_like=setup(Momentum(), net(1)))
    with pytest.raises(StateError, match="only in opt_like: layers.1.W"):
        load(path, net(1), opt_like=setup(Adam(), net(1, tied=False)))


def test_save_refuses_object_arrays(tmp_path):
    with pytest.raises(LayerError, match="pickling"):
        save(tmp_path / "m.npz", {"w": np.array([None, 1])})


# ---------------------------------------------------------------- loadmodel

def test_loadmodel_copies_in_place_keeping_dtypes():
    dst, src = net(0), net(1, tied=False)
    W = dst.layers[0].W
    src.layers[0].b = src.layers[0].b.astype(np.float64)
    assert loadmodel(dst, src) is dst and dst.layers[0].W is W
    np.testing.assert_array_equal(dst.layers[0].b, src.layers[0].b.astype(np.float32))
    assert dst.layers[0].b.dtype == np.float32
    loadmodel(dst, state_dict(net(2)))
    assert same(dst, net(2))


def test_loadmodel_strict_names_missing_and_unexpected_keys():
    dst = net(0)
    src = state_dict(net(1))
    del src["layers.1.b"]
    src["layers.2.W"] = np.ones((2, 3), np.float32)
    with pytest.raises(StateError, match=r"missing from the source: layers\.1\.b; unexpected "
                                         r"in the source: layers\.2\.W.*strict=False"):
        loadmodel(dst, src)
    assert same(dst, net(0))                # nothing copied
    loadmodel(dst, src, strict=False)
    np.testing.assert_array_equal(dst.layers[0].b, net(1).layers[0].b)
    np.testing.assert_array_equal(dst.layers[1].b, net(0).layers[1].b)


def test_loadmodel_shape_and_dtype_errors():
    dst = {"w": np.zeros((2, 2), np.float32), "n": np.zeros(2, np.int64)}
    with pytest.raises(StateError, match=r"w has shape \(3,\) in the source but \(2, 2\)"):
        loadmodel(dst, {"w": np.zeros(3), "n": np.zeros(2, np.int64)}, strict=False)
    with pytest.raises(StateError, match="float64 values of n in the model's int64"):
        loadmodel(dst, {"w": np.zeros((2, 2)), "n": np.ones(2)})


def test_round_trip_of_a_chain_with_batchnorm_statistics(tmp_path):
    from ad_compiler.layers.basic import Chain, Dense
    from ad_compiler.layers.normalise import BatchNorm

    model = Chain(Dense(3, 4), BatchNorm(4))
    model.layers[1].μ[:] = [1, 2, 3, 4]             # running statistics are saved too
    assert "layers.1.μ" in state_dict(model) and "layers.0.weight" in state_dict(model)
    save(tmp_path / "c.npz", model)
    loaded = load(tmp_path / "c.npz", Chain(Dense(3, 4), BatchNorm(4)))
    assert same(loaded, model)
    np.testing.assert_array_equal(loaded.layers[1].μ, [1, 2, 3, 4])
