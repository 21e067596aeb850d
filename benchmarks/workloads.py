"""The benchmark workloads: each returns (reference, {name: contender}, note).

References are hand-written NumPy gradients; contenders are this compiler
and, when installed, peers (HIPS autograd, JAX, PyTorch).  Every contender
is checked against the reference before it is timed.
"""
import math
import time

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


# ---------------------------------------------------------------- scalar loop

def scalar_loop(x):
    for i in range(100):
        x = math.sin(x) * 1.01 + 0.1 * x
    return x


def scalar_loop_hand(x):
    xs = []
    for i in range(100):
        xs.append(x)
        x = math.sin(x) * 1.01 + 0.1 * x
    g = 1.0
    for x in reversed(xs):
        g = g * (math.cos(x) * 1.01 + 0.1)
    return g


def workload_scalar_loop():
    x = 0.5
    dloop = grad(scalar_loop)
    contenders = {"ad_compiler": lambda: dloop(x)}
    contenders.update(peers.scalar_grads(scalar_loop, x, loop=True))
    reference = lambda: scalar_loop_hand(x)  # noqa: E731
    _check(reference, contenders, rtol=1e-9)
    return reference, contenders, "100-step scalar loop x = sin(x)*1.01 + 0.1x"


# ---------------------------------------------------------------- RNN

def rnn_loss(Wx, Wh, b, xs, h0):
    h = h0
    for t in range(xs.shape[0]):
        h = np.tanh(xs[t] @ Wx + h @ Wh + b)
    return np.sum(h * h)


def rnn_hand(Wx, Wh, b, xs, h0):
    hs = [h0]
    h = h0
    for t in range(xs.shape[0]):
        h = np.tanh(xs[t] @ Wx + h @ Wh + b)
        hs.append(h)
    dh = 2.0 * h
    dWx, dWh, db = np.zeros_like(Wx), np.zeros_like(Wh), np.zeros_like(b)
    for t in reversed(range(xs.shape[0])):
        h = hs[t + 1]
        da = dh * (1.0 - h * h)
        dWx += xs[t].T @ da
        dWh += hs[t].T @ da
        db += da.sum(axis=0)
        dh = da @ Wh.T
    return dWx, dWh, db


def rnn_data(T=50, batch=8, n_in=16, n_hidden=32, seed=0):
    rng = np.random.RandomState(seed)
    Wx = rng.randn(n_in, n_hidden) * 0.2
    Wh = rng.randn(n_hidden, n_hidden) * 0.2
    b = np.zeros(n_hidden)
    xs = rng.randn(T, batch, n_in)
    h0 = np.zeros((batch, n_hidden))
    return Wx, Wh, b, xs, h0


def workload_rnn():
    args = rnn_data()
    drnn = grad(rnn_loss, wrt=(0, 1, 2))
    contenders = {"ad_compiler": lambda: drnn(*args)}
    contenders.update(peers.rnn_grads(args))
    reference = lambda: rnn_hand(*args)  # noqa: E731
    _check(reference, contenders, rtol=1e-6)
    return reference, contenders, "vanilla RNN, T=50, batch 8, 16->32, loss sum(h*h)"


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


CODEGEN_LOOPS_SOURCE = '''
import math
import numpy as np

def squash(v, k):
    return np.tanh(k * v) / k

def penalty(ws):
    total = 0.0
    for w in ws:
        total = total + np.sum(w * w)
    return total

def step(h, x, W, U, b):
    return squash(x @ W + h @ U + b, 1.5)

def model(W, U, b, V, xs, ys):
    h = np.zeros((xs.shape[1], W.shape[1]))
    loss = 0.0
    count = 0
    for t in range(xs.shape[0]):
        h = step(h, xs[t], W, U, b)
        if t % 2 == 0:
            out = h @ V
            err = out - ys[t]
            loss = loss + np.mean(err * err)
            count = count + 1
        else:
            loss = loss + 0.01 * np.sum(np.abs(h))
    scale = 1.0
    i = 0
    while scale > 0.3:
        scale = scale * 0.7
        i = i + 1
    decay = [math.exp(-0.1 * k) for k in range(3)]
    reg = penalty([W, U, V]) * decay[0]
    for j, w in enumerate([W, U]):
        reg = reg + decay[j + 1] * np.sum(np.abs(w))
    norms = []
    for w in (W, U, V):
        norms.append(np.sqrt(np.sum(w * w) + 1e-8))
    total_norm = sum(norms)
    if total_norm > 10.0:
        reg = reg * 2.0
    elif total_norm > 5.0:
        reg = reg * 1.5
    avg = loss / max(count, 1)
    smooth = squash(avg, 2.0)
    result = smooth + scale * reg
    result = result + 0.001 * total_norm
    return result
'''


def _fresh_compiler_state():
    from ad_compiler import api, compiler
    from ad_compiler.front.source import _SOURCES
    compiler.clear_cache()
    _SOURCES.clear()
    api._PLANS.clear()
    api._FAST.clear()


def _load(source, filename):
    import linecache
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
    ns = {}
    exec(compile(source, filename, "exec"), ns)
    return ns["model"]


def codegen_loop_times(rounds=7):
    """Seconds for the first gradient of a 40-line function with loops and 3 helpers."""
    model = _load(CODEGEN_LOOPS_SOURCE, "<benchmark codegen loops>")
    rng = np.random.RandomState(0)
    args = (rng.randn(3, 4) * 0.3, rng.randn(4, 4) * 0.3, np.zeros(4), rng.randn(4, 2) * 0.3,
            rng.randn(6, 2, 3), rng.randn(6, 2, 2))
    return first_call_times(lambda: gradient(model, *args), rounds)


def first_call_times(call, rounds=7):
    """Sorted seconds of ``call()`` with the compiler's caches cleared before each."""
    times = []
    for _ in range(rounds):
        _fresh_compiler_state()
        start = time.perf_counter()
        call()
        times.append(time.perf_counter() - start)
    return sorted(times)


def codegen_times(rounds=7):
    """Seconds to generate and compile the gradient of a 20-line function."""
    model = _load(CODEGEN_SOURCE, "<benchmark codegen>")
    args = mlp_data(np.float64, batch=4, n_in=5, n_hidden=3, n_out=2)
    return first_call_times(lambda: gradient(model, *args), rounds)
