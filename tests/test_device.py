"""Generated code on arrays of another library (CuPy), through a stand-in.

CI has no GPU, so :mod:`standin_device` plays CuPy: its arrays refuse to
become NumPy arrays and refuse NumPy arrays mixed in, and NumPy's functions
reach its namespace through ``__array_ufunc__``/``__array_function__``.  Every
rule test case of the compiler runs here on device arrays (the case's global
weights moved to the device too) and must give the NumPy gradient, as
device arrays.  Each test runs on real CuPy too where CuPy sees a GPU (and
skips that half cleanly elsewhere).
"""
import copy
import types

import numpy as np
import pytest

import ad_compiler.layers as nn
import standin_device as SD
import test_rules_numpy
from ad_compiler import (checkpoint, gradient, hessian, hvp, jacobian, jvp, pullback,
                         stop_gradient, withgradient)
from ad_compiler.layers import devices


def _cupy_with_gpu():
    try:
        import cupy
        return cupy if cupy.cuda.runtime.getDeviceCount() > 0 else None
    except Exception:                   # no CuPy, no driver, no device
        return None


CUPY = _cupy_with_gpu()
NEEDS_GPU = pytest.mark.skipif(CUPY is None, reason="needs CuPy and a GPU")
SPACES = [pytest.param("standin", id="standin"), pytest.param("cupy", id="cupy", marks=NEEDS_GPU)]


@pytest.fixture(params=SPACES)
def xp(request):
    return SD.xp if request.param == "standin" else CUPY


def _on_device(f, xp):
    """``f`` with the float arrays among its globals moved to the device (a
    copy: the test module's own globals stay on the host)."""
    g = dict(f.__globals__)
    for name, v in f.__globals__.items():
        if isinstance(v, np.ndarray) and v.dtype.kind in "fc":
            g[name] = xp.asarray(v)
    out = types.FunctionType(f.__code__, g, f.__name__, f.__defaults__, f.__closure__)
    out.__kwdefaults__ = f.__kwdefaults__
    return out


def _move(tree, xp):
    if isinstance(tree, (list, tuple)):
        return type(tree)(_move(v, xp) for v in tree)
    return xp.asarray(tree) if isinstance(tree, np.ndarray) else tree


def _on_this_device(x, xp):
    """``x`` is an array of the library ``xp`` (the stand-in's, or CuPy's)."""
    return type(x) is type(xp.asarray(np.zeros(1)))


def assert_device_like(got, want, xp, path="g", rtol=1e-10, atol=1e-12):
    """``got`` mirrors ``want`` (NumPy), each array on the device of ``xp``."""
    if isinstance(want, (list, tuple)):
        assert isinstance(got, (list, tuple)) and len(got) == len(want), path
        for i, (a, b) in enumerate(zip(got, want)):
            assert_device_like(a, b, xp, "%s[%d]" % (path, i), rtol, atol)
    elif isinstance(want, np.ndarray):
        assert _on_this_device(got, xp), "%s: %r is not on the device" % (path, type(got))
        np.testing.assert_allclose(got.get(), want, rtol=rtol, atol=atol, err_msg=path)
    elif want is None:
        assert got is None, path
    elif hasattr(want, "__dict__") and not isinstance(want, (float, int)):
        for k, v in vars(want).items():
            assert_device_like(getattr(got, k), v, xp, "%s.%s" % (path, k), rtol, atol)
    else:
        np.testing.assert_allclose(float(got), want, rtol=rtol, atol=atol, err_msg=path)


# ---------------------------------------------------------------- every rule case

CASES = [p for p in test_rules_numpy.COMPILER_CASES
         if not (test_rules_numpy.OLD_CLIP and p.values[0] in test_rules_numpy.CLIP_MIN_MAX)]
CASES += [test_rules_numpy._case(c) for c in test_rules_numpy.INDEXING]


@pytest.mark.parametrize("f, args", CASES)
def test_rule_cases_on_device_arrays(f, args, xp):
    want = gradient(f, *args)
    fd, argsd = _on_device(f, xp), _move(args, xp)
    try:
        fd(*argsd)
    except TypeError as e:          # the case itself mixes in host arrays (np.arange...):
        with pytest.raises(TypeError, match=str(e)[:40]):   # the gradient fails alike
            gradient(fd, *argsd)
        return
    assert_device_like(gradient(fd, *argsd), want, xp)


def test_the_device_namespace_does_the_work():
    SD.xp.calls.clear()
    g = gradient(lambda x: np.sum(np.maximum(np.sin(x), 0.0) ** 2), SD.xp.asarray(np.ones(3)))[0]
    assert isinstance(g, SD.DeviceArray)
    assert SD.xp.calls["sin"] and SD.xp.calls["maximum"] and SD.xp.calls["cos"]


# ---------------------------------------------------------------- transforms

X = np.linspace(-1.0, 1.0, 4)
V = np.array([0.5, -1.0, 2.0, 0.25])


def f_poly(x):
    return np.sum(np.sin(x) * x ** 2)


TRANSFORMS = {
    "hessian": lambda x, v: hessian(f_poly, x),
    "hvp": lambda x, v: hvp(f_poly, x, v),
    "jacobian": lambda x, v: jacobian(lambda x: np.sin(x) * x, x)[0],
    "jacobian-forward": lambda x, v: jacobian(lambda x: np.outer(x, x), x[:2])[0],
    "jvp": lambda x, v: jvp(lambda x: np.tanh(x) * x, (x,), (v,)),
    "withgradient": lambda x, v: withgradient(f_poly, x),
    "pullback": lambda x, v: pullback(lambda x: np.sin(x) * 2.0, x)[1](v),
    "checkpoint": lambda x, v: gradient(lambda x: np.sum(checkpoint(np.tanh)(x) * v), x),
    "stop_gradient": lambda x, v: gradient(lambda x: np.sum(stop_gradient(x) * x), x),
    "second-order": lambda x, v: gradient(lambda x: np.sum(gradient(f_poly, x)[0] * v), x),
}


@pytest.mark.parametrize("name", sorted(TRANSFORMS))
def test_transforms_on_device_arrays(name, xp):
    run = TRANSFORMS[name]
    want = run(X, V)
    assert_device_like(run(xp.asarray(X), xp.asarray(V)), want, xp)


def test_numpy_and_device_specialisations_stay_apart(xp):
    f = lambda x: np.sum(np.exp(x) * x)            # noqa: E731
    want = gradient(f, X)[0]
    for _ in range(2):                              # the fast path, both ways
        assert isinstance(gradient(f, X)[0], np.ndarray)
        assert_device_like(gradient(f, xp.asarray(X))[0], want, xp)
        assert_device_like(gradient(f, xp.asarray(X.astype(np.float32)))[0], want, xp,
                           rtol=1e-6, atol=1e-6)


def test_code_written_against_the_device_library(xp):
    """``cupy.sin`` and ``cupy.linalg.inv`` get NumPy's rules."""
    g = gradient(lambda x: xp.sum(xp.sin(x) * xp.exp(x)), xp.asarray(X))[0]
    assert_device_like(g, np.exp(X) * (np.cos(X) + np.sin(X)), xp)
    A = 3.0 * np.eye(3) + 0.1
    want = gradient(lambda a: np.sum(np.linalg.inv(a) * A), A)[0]
    assert_device_like(gradient(lambda a: xp.sum(xp.linalg.inv(a) * xp.asarray(A)),
                                xp.asarray(A))[0], want, xp, rtol=1e-8)


def test_a_host_input_copied_to_the_device_gets_a_host_gradient(xp):
    w = xp.asarray(V)
    g = gradient(lambda x: np.sum(xp.asarray(x) ** 2 * w), X)[0]
    assert isinstance(g, np.ndarray)
    np.testing.assert_allclose(g, 2 * X * V)
    _, t = jvp(lambda x: xp.asarray(x) * w, (X,), (np.ones(4),))
    assert_device_like(t, V, xp)


def test_a_host_array_mixed_into_device_code_fails_as_the_function_does(xp):
    f = lambda x: np.sum(x * np.ones(4))           # noqa: E731  (a host array)
    with pytest.raises(TypeError) as primal:
        f(xp.asarray(X))
    with pytest.raises(TypeError) as derived:
        gradient(f, xp.asarray(X))
    assert type(derived.value) is type(primal.value)


# ---------------------------------------------------------------- layers

RNG = np.random.default_rng(0)
MODELS = {
    "dense-chain": (lambda: nn.Chain(nn.Dense(4, 6, nn.tanh), nn.Dense(6, 3)), (4, 5)),
    "layernorm": (lambda: nn.Chain(nn.Dense(4, 6), nn.LayerNorm(6)), (4, 5)),
    "batchnorm": (lambda: nn.Chain(nn.Dense(4, 6), nn.BatchNorm(6, nn.relu)), (4, 5)),
    "dropout": (lambda: nn.Chain(nn.Dense(4, 6), nn.Dropout(0.5, rng=3)), (4, 5)),
    "skip": (lambda: nn.SkipConnection(nn.Dense(4, 4, nn.relu), lambda a, b: a + b), (4, 5)),
    "parallel": (lambda: nn.Parallel(lambda a, b: a * b, nn.Dense(4, 3), nn.Dense(4, 3)),
                 (4, 5)),
    "scale": (lambda: nn.Scale(4, nn.softplus), (4, 5)),
    "conv-maxpool": (lambda: nn.Chain(nn.Conv((3, 3), 2, 3, nn.relu, pad=1),
                                      nn.MaxPool((2, 2)), nn.flatten), (6, 6, 2, 2)),
    "conv-stride-meanpool": (lambda: nn.Chain(nn.Conv((2, 2), 2, 3, stride=2, dilation=1),
                                              nn.MeanPool((1, 1))), (6, 6, 2, 2)),
}


@pytest.mark.parametrize("name", sorted(MODELS))
def test_layer_gradients_on_device_arrays(name, xp):
    make, shape = MODELS[name]
    m, x = make(), RNG.normal(size=shape).astype(np.float32)
    md = devices.to_namespace(copy.deepcopy(m), xp)     # the same parameters and rng
    loss = lambda m, x: np.sum(m(x) ** 2)          # noqa: E731
    want = gradient(loss, m, x)
    assert_device_like(gradient(loss, md, xp.asarray(x)), want, xp, rtol=2e-4, atol=2e-5)


def test_embedding_and_losses_on_device_arrays(xp):
    m = nn.Embedding(10, 4)
    md = devices.to_namespace(m, xp)
    idx = np.array([1, 3, 3])
    y = nn.onehotbatch([0, 2, 1], range(4))
    loss = lambda m, y: nn.logitcrossentropy(m(idx), y) + nn.mse(m(idx), y)   # noqa: E731
    assert_device_like(gradient(loss, md, xp.asarray(y)), gradient(loss, m, y), xp,
                       rtol=1e-5, atol=1e-7)
    assert nn.onecold(xp.asarray(y)).tolist() == [0, 2, 1]


def test_training_on_device_arrays_matches_the_host(xp):
    data = RNG.normal(size=(4, 32)).astype(np.float32)
    labels = nn.onehotbatch(RNG.integers(0, 3, 32), range(3))
    host = nn.Chain(nn.Dense(4, 8, nn.relu), nn.Dense(8, 3))
    dev = devices.to_namespace(host, xp)
    loss = lambda m, x, y: nn.logitcrossentropy(m(x), y)      # noqa: E731
    for model, batch in ((host, (data, labels)), (dev, (xp.asarray(data), xp.asarray(labels)))):
        state = nn.setup(nn.Adam(0.01), model)
        for _ in range(5):
            nn.train(loss, model, [batch], state, progress=False)
    assert_device_like(dev, host, xp, rtol=2e-4, atol=2e-5)
    back = nn.cpu(dev)
    assert isinstance(back.layers[0].weight, np.ndarray)
    np.testing.assert_allclose(back.layers[1].bias, host.layers[1].bias, rtol=2e-4, atol=2e-5)


@NEEDS_GPU
def test_gpu_moves_a_model_to_cupy_and_cpu_back():
    m = nn.Chain(nn.Dense(3, 2))
    g = nn.gpu(m)
    assert type(g.layers[0].weight).__module__.startswith("cupy")
    np.testing.assert_array_equal(nn.cpu(g).layers[0].weight, m.layers[0].weight)
