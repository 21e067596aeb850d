"""Optional peers (HIPS autograd, JAX, PyTorch): used only when installed."""
import numpy as np


def _try(name):
    try:
        return __import__(name)
    except Exception:
        return None


def scalar_grads(f, x, loop=False):
    out = {}
    ag = _try("autograd")
    if ag is not None:
        g = ag.grad(f)
        out["autograd"] = lambda: g(x)
    jax = _try("jax")
    if jax is not None:
        g = jax.jit(jax.grad(f))
        g(x)
        out["jax.jit(grad)"] = lambda: float(g(x))
    torch = _try("torch")
    if torch is not None:
        def tg():
            t = torch.tensor(x, dtype=torch.float64, requires_grad=True)
            f(t).backward()
            return t.grad.item()
        out["torch eager"] = tg
    return out


def mlp_grads(loss, args, dtype):
    out = {}
    ag = _try("autograd")
    if ag is not None:
        import autograd.numpy as anp

        def aloss(W1, b1, W2, b2, x, y):
            h = anp.tanh(x @ W1 + b1)
            logits = h @ W2 + b2
            z = logits - anp.max(logits, axis=1, keepdims=True)
            logp = z - anp.log(anp.sum(anp.exp(z), axis=1, keepdims=True))
            return -anp.sum(logp * y) / x.shape[0]
        g = ag.grad(aloss, argnum=[0, 1, 2, 3])
        out["autograd"] = lambda: g(*args)
    jax = _try("jax")
    if jax is not None:
        import jax.numpy as jnp
        if dtype == np.float64:
            jax.config.update("jax_enable_x64", True)

        def jloss(W1, b1, W2, b2, x, y):
            h = jnp.tanh(x @ W1 + b1)
            logits = h @ W2 + b2
            z = logits - jnp.max(logits, axis=1, keepdims=True)
            logp = z - jnp.log(jnp.sum(jnp.exp(z), axis=1, keepdims=True))
            return -jnp.sum(logp * y) / x.shape[0]
        g = jax.jit(jax.grad(jloss, argnums=(0, 1, 2, 3)))
        jargs = [jnp.asarray(a) for a in args]
        jax.block_until_ready(g(*jargs))
        out["jax.jit"] = lambda: jax.block_until_ready(g(*jargs))
    return out


def rnn_grads(args):
    out = {}
    jax = _try("jax")
    if jax is not None:
        import jax.numpy as jnp
        jax.config.update("jax_enable_x64", True)

        def jloss(Wx, Wh, b, xs, h0):
            def body(h, x):
                return jnp.tanh(x @ Wx + h @ Wh + b), None
            h, _ = jax.lax.scan(body, h0, xs)
            return jnp.sum(h * h)
        g = jax.jit(jax.grad(jloss, argnums=(0, 1, 2)))
        jargs = [jnp.asarray(a) for a in args]
        jax.block_until_ready(g(*jargs))
        out["jax.jit + lax.scan"] = lambda: jax.block_until_ready(g(*jargs))
    return out
