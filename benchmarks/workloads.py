"""The benchmark workloads: each returns (reference, {name: contender}, note).

References are hand-written NumPy gradients; contenders are this compiler
and, when installed, peers (HIPS autograd, JAX, PyTorch).  Every contender
is checked against the reference before it is timed.
"""
import numpy as np

from ad_compiler import grad, gradient

from . import peers


def _check(reference, contenders, rtol=1e-6):
    want = reference()
    for name, fn in contenders.items():
        got = fn()
        for a, b in zip(_flat(want), _flat(got)):
            if not np.allclose(np.asarray(a, dtype=float), np.asarray(b, dtype=float),
                               rtol=rtol, atol=1e-8):
                raise AssertionError("%s disagrees with the hand-written gradient" % name)


def _flat(x):
    return list(x) if isinstance(x, (tuple, list)) else [x]


# ---------------------------------------------------------------- polynomial

def poly(x):
    return 3 * x ** 2 + 2 * x + 1


def poly_hand(x):
    return 6 * x + 2


def workload_poly():
    x = 2.0
    dpoly = grad(poly)
    contenders = {"ad_compiler grad(f)(x)": lambda: dpoly(x),
                  "ad_compiler gradient(f, x)[0]": lambda: gradient(poly, x)[0]}
    contenders.update(peers.scalar_grads(poly, x))
    reference = lambda: poly_hand(x)  # noqa: E731
    _check(reference, contenders)
    return reference, contenders, "f(x) = 3x^2 + 2x + 1 at x = 2"


# ---------------------------------------------------------------- MLP

def mlp_loss(W1, b1, W2, b2, x, y):
    h = np.tanh(x @ W1 + b1)
    logits = h @ W2 + b2
    z = logits - np.max(logits, axis=1, keepdims=True)
    logp = z - np.log(np.sum(np.exp(z), axis=1, keepdims=True))
    return -np.sum(logp * y) / x.shape[0]


def mlp_hand(W1, b1, W2, b2, x, y):
    h = np.tanh(x @ W1 + b1)
    logits = h @ W2 + b2
    z = logits - logits.max(axis=1, keepdims=True)
    e = np.exp(z)
    p = e / e.sum(axis=1, keepdims=True)
    dlogits = (p - y) / x.shape[0]
    dW2 = h.T @ dlogits
    db2 = dlogits.sum(axis=0)
    da = (dlogits @ W2.T) * (1 - h * h)
    dW1 = x.T @ da
    db1 = da.sum(axis=0)
    return dW1, db1, dW2, db2


def mlp_data(dtype, batch=128, n_in=784, n_hidden=256, n_out=10, seed=0):
    rng = np.random.RandomState(seed)
    W1 = (rng.randn(n_in, n_hidden) / np.sqrt(n_in)).astype(dtype)
    b1 = np.zeros(n_hidden, dtype)
    W2 = (rng.randn(n_hidden, n_out) / np.sqrt(n_hidden)).astype(dtype)
    b2 = np.zeros(n_out, dtype)
    x = rng.randn(batch, n_in).astype(dtype)
    y = np.eye(n_out, dtype=dtype)[rng.randint(0, n_out, batch)]
    return W1, b1, W2, b2, x, y


def workload_mlp(dtype=np.float64):
    W1, b1, W2, b2, x, y = mlp_data(dtype)
    dmlp = grad(mlp_loss, wrt=(0, 1, 2, 3))
    contenders = {"ad_compiler": lambda: dmlp(W1, b1, W2, b2, x, y)}
    contenders.update(peers.mlp_grads(mlp_loss, (W1, b1, W2, b2, x, y), dtype))
    reference = lambda: mlp_hand(W1, b1, W2, b2, x, y)  # noqa: E731
    _check(reference, contenders, rtol=1e-3 if dtype == np.float32 else 1e-6)
    return reference, contenders, "MLP 784-256 tanh-10, batch 128, softmax CE, %s" % (
        np.dtype(dtype).name)


# ---------------------------------------------------------------- code generation

CODEGEN_SOURCE = '''
import numpy as np

def model(W1, b1, W2, b2, x, y):
    a = x @ W1 + b1
    h = np.tanh(a)
    h2 = h * h
    r = np.sqrt(h2 + 1.0)
    logits = h @ W2 + b2
    z = logits - np.max(logits, axis=1, keepdims=True)
    e = np.exp(z)
    s = np.sum(e, axis=1, keepdims=True)
    p = e / s
    logp = z - np.log(s)
    ce = -np.sum(logp * y) / x.shape[0]
    reg = 0.01 * (np.sum(W1 * W1) + np.sum(W2 * W2))
    act = np.mean(r)
    spread = np.sum((p - np.mean(p, axis=0)) ** 2)
    total = ce + reg
    total = total + 0.001 * act
    total = total + 0.0001 * spread
    return total
'''


def codegen_times(rounds=7):
    """Seconds to generate and compile the gradient of a 20-line function."""
    import linecache
    import time
    from ad_compiler import compiler
    from ad_compiler.source import _SOURCES
    filename = "<benchmark codegen>"
    linecache.cache[filename] = (len(CODEGEN_SOURCE), None,
                                 CODEGEN_SOURCE.splitlines(True), filename)
    ns = {}
    exec(compile(CODEGEN_SOURCE, filename, "exec"), ns)
    args = mlp_data(np.float64, batch=4, n_in=5, n_hidden=3, n_out=2)
    times = []
    for _ in range(rounds):
        compiler.clear_cache()
        _SOURCES.clear()
        from ad_compiler import api
        api._PLANS.clear()
        api._FAST.clear()
        start = time.perf_counter()
        gradient(ns["model"], *args)
        times.append(time.perf_counter() - start)
    return sorted(times)
