"""Workloads of the higher-order issue: a second derivative through a loop,
a Hessian-vector product on the MLP, and checkpoint memory on the RNN."""
import math

import numpy as np

from ad_compiler import checkpoint, grad, gradient, hvp

from . import peers
from .workloads import (_check, first_call_times, mlp_data, mlp_hand, mlp_loss,
                        rnn_data, rnn_loss, scalar_loop)

# ---------------------------------------------------------------- d2/dx2 of the loop


def scalar_loop_second_hand(x):
    """Forward over forward by hand: value, first and second derivative together."""
    d, dd = 1.0, 0.0
    for i in range(100):
        s, c = math.sin(x), math.cos(x)
        x, d, dd = s * 1.01 + 0.1 * x, (c * 1.01 + 0.1) * d, (-s * 1.01) * d * d + \
            (c * 1.01 + 0.1) * dd
    return dd


def workload_second_derivative():
    x = 0.5
    d2 = grad(grad(scalar_loop))
    contenders = {"ad_compiler grad(grad(f))": lambda: d2(x)}
    jax = peers._try("jax")
    if jax is not None:
        import jax.numpy as jnp
        jax.config.update("jax_enable_x64", True)

        def jf(x):
            for i in range(100):
                x = jnp.sin(x) * 1.01 + 0.1 * x
            return x
        g = jax.jit(jax.grad(jax.grad(jf)))
        g(x)
        contenders["jax.jit(grad(grad))"] = lambda: float(g(x))
    reference = lambda: scalar_loop_second_hand(x)  # noqa: E731
    _check(reference, contenders, rtol=1e-9)
    return reference, contenders, ("second derivative of the 100-step scalar loop, against "
                                   "forward-over-forward by hand")


def second_derivative_codegen_times(rounds=7):
    """Seconds for the first call of grad(grad(scalar_loop)), compiler caches cleared."""
    return first_call_times(lambda: grad(grad(scalar_loop))(0.5), rounds)


# ---------------------------------------------------------------- HVP on the MLP

def mlp_hvp_hand(W1, b1, W2, b2, x, y, V1, c1, V2, c2):
    """Forward over reverse by hand: the tangent of mlp_hand along (V1, c1, V2, c2)."""
    n = x.shape[0]
    h = np.tanh(x @ W1 + b1)
    dh = (x @ V1 + c1) * (1 - h * h)
    logits = h @ W2 + b2
    dlogits = dh @ W2 + h @ V2 + c2
    z = logits - logits.max(axis=1, keepdims=True)
    e = np.exp(z)
    p = e / e.sum(axis=1, keepdims=True)
    dp = p * (dlogits - np.sum(p * dlogits, axis=1, keepdims=True))
    G, dG = (p - y) / n, dp / n
    back = G @ W2.T
    dback = dG @ W2.T + G @ V2.T
    dda = dback * (1 - h * h) - back * (2 * h * dh)
    return x.T @ dda, dda.sum(axis=0), dh.T @ G + h.T @ dG, dG.sum(axis=0)


def workload_hvp():
    W1, b1, W2, b2, x, y = mlp_data(np.float64)
    params = (W1, b1, W2, b2)
    rng = np.random.RandomState(1)
    v = tuple(rng.randn(*p.shape) for p in params)

    def loss(p):
        return mlp_loss(p[0], p[1], p[2], p[3], x, y)

    contenders = {"ad_compiler hvp": lambda: hvp(loss, params, v),
                  "hand-written HVP": lambda: mlp_hvp_hand(*params, x, y, *v)}
    _check(contenders["hand-written HVP"], {"ad_compiler hvp": contenders["ad_compiler hvp"]})
    reference = lambda: mlp_hand(W1, b1, W2, b2, x, y)  # noqa: E731
    return reference, contenders, ("Hessian-vector product on the MLP loss (784-256-10, "
                                   "batch 128), against one hand-written gradient")


# ---------------------------------------------------------------- checkpoint memory

def rnn_checkpointed(Wx, Wh, b, xs, h0):
    step = checkpoint(lambda h, x: np.tanh(x @ Wx + h @ Wh + b))
    h = h0
    for t in range(xs.shape[0]):
        h = step(h, xs[t])
    return np.sum(h * h)


def checkpoint_memory():
    """Peak bytes allocated by one RNN gradient, plain and checkpointed."""
    import tracemalloc
    args = rnn_data(T=50, batch=64, n_in=64, n_hidden=256)
    out = {}
    for name, fn in (("plain", rnn_loss), ("checkpoint", rnn_checkpointed)):
        gradient(fn, *args)                  # compile outside the measurement
        tracemalloc.start()
        gradient(fn, *args)
        out[name] = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    return out
