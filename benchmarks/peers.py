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


def training_steps(torch_threads=(None, 1), eta=1e-3, beta=(0.9, 0.999), epsilon=1e-8):
    """``{name: make(weights)}`` for the training-step workload: ``make`` takes
    ``[(W, b), ...]`` (``W`` is ``(out, in)``, ReLU between layers) and returns
    an object whose ``step(x, y)`` (batch last, ``y`` one-hot) takes one Adam
    step and whose ``params`` are the weights as NumPy arrays.  PyTorch eager
    runs once per entry of ``torch_threads`` (None: its default thread count)."""
    torch = _try("torch")
    if torch is None:
        return {}
    default = torch.get_num_threads()
    out = {}
    for n in torch_threads:
        n = default if n is None else n
        label = "torch eager (%d thread%s)" % (n, "" if n == 1 else "s")
        out[label] = (lambda w, n=n: _TorchStep(torch, w, n, eta, beta, epsilon))
    return out


class _TorchStep:
    """``nn.Sequential`` of ``Linear`` and ``ReLU``, ``cross_entropy`` on class
    indices and ``optim.Adam``; PyTorch's thread count is set before each step,
    as contenders of other counts run in between."""

    def __init__(self, torch, weights, threads, eta, beta, epsilon):
        self.torch, self.threads = torch, threads
        layers = []
        for W, b in weights:
            lin = torch.nn.Linear(W.shape[1], W.shape[0])
            with torch.no_grad():
                lin.weight.copy_(torch.from_numpy(W))
                lin.bias.copy_(torch.from_numpy(b))
            layers += [lin, torch.nn.ReLU()]
        self.net = torch.nn.Sequential(*layers[:-1])
        self.opt = torch.optim.Adam(self.net.parameters(), lr=eta, betas=beta, eps=epsilon)
        self.batches = {}

    def _tensors(self, x, y):
        # Converted once per batch, as a PyTorch data pipeline would hand them over.
        key = (id(x), id(y))
        if key not in self.batches:
            self.batches[key] = (self.torch.from_numpy(np.ascontiguousarray(x.T)),
                                 self.torch.from_numpy(y.argmax(axis=0)))
        return self.batches[key]

    def step(self, x, y):
        torch = self.torch
        if torch.get_num_threads() != self.threads:
            torch.set_num_threads(self.threads)
        xt, labels = self._tensors(x, y)
        self.opt.zero_grad(set_to_none=True)
        loss = torch.nn.functional.cross_entropy(self.net(xt), labels)
        loss.backward()
        self.opt.step()
        return loss.item()

    @property
    def params(self):
        return [p.detach().numpy() for p in self.net.parameters()]
