"""One training step of an MLP 784-512-512-10 (ReLU, logit cross-entropy,
float32, batch 128): forward, gradient and Adam update.

Ours is ``withgradient`` of a ``Chain`` of ``Dense`` layers plus ``update``
with an Adam state from ``setup``; the reference is written by hand in
NumPy with a naive Adam (fresh temporaries, as one writes it first);
PyTorch eager is a peer when installed.
"""
import numpy as np

import ad_compiler.layers as nn
from ad_compiler import withgradient

SIZES = (784, 512, 512, 10)
BATCH = 128
LR, B1, B2, EPS = 1e-3, 0.9, 0.999, 1e-8


def data(seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((SIZES[0], BATCH)).astype(np.float32)
    y = nn.onehotbatch(rng.integers(0, SIZES[-1], BATCH), range(SIZES[-1]))
    weights = [nn.glorot_uniform(o, i, rng=rng) for i, o in zip(SIZES[:-1], SIZES[1:])]
    return x, y, weights


def model_from(weights):
    last = len(weights) - 1
    return nn.Chain(*[nn.Dense(W.copy(), bias=True, σ=nn.relu if k < last else nn.identity)
                      for k, W in enumerate(weights)])


def loss(m, x, y):
    return nn.logitcrossentropy(m(x), y)


class Ours:
    """A training step of ours: gradient by the compiler, Adam by ``update``."""

    def __init__(self, weights):
        self.model = model_from(weights)
        self.state = nn.setup(nn.Adam(LR, (B1, B2), EPS), self.model)

    def step(self, x, y):
        val, (g, _, _) = withgradient(loss, self.model, x, y)
        nn.update(self.state, self.model, g)
        return val


class Hand:
    """The same step by hand: forward, backward, and a naive Adam."""

    def __init__(self, weights):
        self.W = [W.copy() for W in weights]
        self.b = [np.zeros(W.shape[0], np.float32) for W in weights]
        self.m = [np.zeros_like(p) for p in self.W + self.b]
        self.v = [np.zeros_like(p) for p in self.W + self.b]
        self.t = 0

    def grads(self, x, y):
        hs, h = [x], x
        for k, (W, b) in enumerate(zip(self.W, self.b)):
            z = W @ h + b[:, None]
            h = np.maximum(z, 0) if k < len(self.W) - 1 else z
            hs.append(h)
        z = h - h.max(axis=0, keepdims=True)
        logp = z - np.log(np.exp(z).sum(axis=0, keepdims=True))
        val = -np.sum(y * logp) / x.shape[1]
        d = (np.exp(logp) - y) / x.shape[1]
        gW, gb = [], []
        for k in reversed(range(len(self.W))):
            if k < len(self.W) - 1:
                d = d * (hs[k + 1] > 0)
            gW.insert(0, d @ hs[k].T)
            gb.insert(0, d.sum(axis=1))
            d = self.W[k].T @ d
        return val, gW + gb

    def step(self, x, y):
        val, grads = self.grads(x, y)
        self.t += 1
        for p, g, m, v in zip(self.W + self.b, grads, self.m, self.v):
            m[...] = B1 * m + (1 - B1) * g
            v[...] = B2 * v + (1 - B2) * g * g
            mhat = m / (1 - B1 ** self.t)
            vhat = v / (1 - B2 ** self.t)
            p -= LR * mhat / (np.sqrt(vhat) + EPS)
        return val


def check(weights, x, y):
    """One step of ours and of the hand-written version update alike."""
    ours, hand = Ours(weights), Hand(weights)
    assert np.isclose(ours.step(x, y), hand.step(x, y), rtol=1e-4)
    for layer, W in zip(ours.model.layers, hand.W):
        np.testing.assert_allclose(layer.weight, W, rtol=1e-3, atol=1e-5)


def torch_step(weights, x, y, threads=None):
    """PyTorch eager, the same model and Adam, or None without torch."""
    try:
        import torch
    except ImportError:
        return None
    if threads is not None:
        torch.set_num_threads(threads)
    layers = []
    for k, W in enumerate(weights):
        lin = torch.nn.Linear(W.shape[1], W.shape[0])
        with torch.no_grad():
            lin.weight.copy_(torch.from_numpy(W))
            lin.bias.zero_()
        layers += [lin] + ([torch.nn.ReLU()] if k < len(weights) - 1 else [])
    net = torch.nn.Sequential(*layers)
    opt = torch.optim.Adam(net.parameters(), lr=LR, betas=(B1, B2), eps=EPS)
    xt, yt = torch.from_numpy(x.T.copy()), torch.from_numpy(y.argmax(axis=0))

    def step():
        opt.zero_grad()
        out = torch.nn.functional.cross_entropy(net(xt), yt)
        out.backward()
        opt.step()
        return float(out)
    return step


def workload_train_step():
    x, y, weights = data()
    check(weights, x, y)
    ours, hand = Ours(weights), Hand(weights)
    contenders = {"ad_compiler (Chain, withgradient, Adam update)": lambda: ours.step(x, y)}
    for label, threads in (("PyTorch eager, default threads", None), ("PyTorch eager, 1 thread", 1)):
        step = torch_step(weights, x, y, threads)
        if step is not None:
            contenders[label] = step
    return (lambda: hand.step(x, y)), contenders, (
        "one training step, MLP 784-512-512-10 ReLU, logit cross-entropy, float32, batch 128, "
        "Adam")


def first_step_times(rounds=5):
    """Seconds to the first training step of a fresh model, caches cleared."""
    from .workloads import first_call_times
    x, y, weights = data()
    return first_call_times(lambda: Ours(weights).step(x, y), rounds)
