"""One training step of an MLP, the issue's numbers: forward, gradient and
Adam update of 784-512-512-10 (ReLU, logit cross-entropy), float32, batch 128.

The reference is a hand-written NumPy step: forward, backward by hand and a
naive Adam (``m = b1*m + (1-b1)*g``, creating temporaries).  The contenders
are this library (a ``Chain`` of ``Dense``, the gradient from the compiler,
``update`` with the state from ``setup``) and, when installed, PyTorch eager.
Every contender starts from the same weights and must land on the same
weights as the reference after a few steps before it is timed.  As timing
goes on, each contender keeps training its own copy on the same batches.
"""
import numpy as np

from ad_compiler import gradient, withgradient
from ad_compiler.layers.activations import relu
from ad_compiler.layers.basic import Chain, Dense
from ad_compiler.layers.losses import logitcrossentropy
from ad_compiler.layers.optimise import Adam, setup, update
from ad_compiler.layers.train import train

from . import peers

SIZES = (784, 512, 512, 10)
BATCH = 128
ETA, BETA, EPSILON = 1e-3, (0.9, 0.999), 1e-8


def mlp_weights(sizes=SIZES, seed=0):
    """``[(W, b), ...]`` in Flux's layout (``W`` is ``(out, in)``), Glorot
    uniform, float32, the biases small but non-zero."""
    rng = np.random.default_rng(seed)
    out = []
    for n_in, n_out in zip(sizes[:-1], sizes[1:]):
        bound = np.sqrt(6.0 / (n_in + n_out))
        out.append((rng.uniform(-bound, bound, (n_out, n_in)).astype(np.float32),
                    rng.uniform(-0.1, 0.1, n_out).astype(np.float32)))
    return out


def mlp_batches(count=4, sizes=SIZES, batch=BATCH, seed=1):
    """``count`` batches ``(x, y)``: ``x`` is ``(784, batch)``, ``y`` one-hot
    ``(10, batch)``, both float32, batch last."""
    rng = np.random.default_rng(seed)
    eye = np.eye(sizes[-1], dtype=np.float32)
    return [(rng.standard_normal((sizes[0], batch), dtype=np.float32),
             np.ascontiguousarray(eye[:, rng.integers(0, sizes[-1], batch)]))
            for _ in range(count)]


# ---------------------------------------------------------------- hand-written

class HandStep:
    """The reference: a ReLU MLP's forward pass, its backward pass by hand,
    and Adam written the obvious way; ``step(x, y)`` returns the loss."""

    def __init__(self, weights, eta=ETA, beta=BETA, epsilon=EPSILON):
        self.params = [p.copy() for wb in weights for p in wb]
        self.m = [np.zeros_like(p) for p in self.params]
        self.v = [np.zeros_like(p) for p in self.params]
        self.eta, self.beta, self.epsilon, self.t = eta, beta, epsilon, 0

    def gradients(self, x, y):
        """``(loss, [dW1, db1, ...])`` for logit cross-entropy, mean over the batch."""
        W1, b1, W2, b2, W3, b3 = self.params
        a1 = W1 @ x + b1[:, None]
        h1 = np.maximum(a1, 0)
        a2 = W2 @ h1 + b2[:, None]
        h2 = np.maximum(a2, 0)
        z = W3 @ h2 + b3[:, None]
        z = z - z.max(axis=0, keepdims=True)
        e = np.exp(z)
        s = e.sum(axis=0, keepdims=True)
        loss = np.mean(np.sum(y * (np.log(s) - z), axis=0))
        d3 = (e / s - y) / x.shape[1]
        d2 = (W3.T @ d3) * (a2 > 0)
        d1 = (W2.T @ d2) * (a1 > 0)
        return loss, [d1 @ x.T, d1.sum(axis=1), d2 @ h1.T, d2.sum(axis=1),
                      d3 @ h2.T, d3.sum(axis=1)]

    def step(self, x, y):
        loss, grads = self.gradients(x, y)
        self.last_grads = grads
        self.t += 1
        b1, b2 = self.beta
        for i, (p, g) in enumerate(zip(self.params, grads)):
            self.m[i] = b1 * self.m[i] + (1 - b1) * g
            self.v[i] = b2 * self.v[i] + (1 - b2) * g * g
            m_hat = self.m[i] / (1 - b1 ** self.t)
            v_hat = self.v[i] / (1 - b2 ** self.t)
            p -= self.eta * m_hat / (np.sqrt(v_hat) + self.epsilon)
        return loss


# ---------------------------------------------------------------- ours

def mlp_model(weights):
    """``Chain(Dense(784 => 512, relu), Dense(512 => 512, relu), Dense(512 => 10))``
    holding copies of ``weights``."""
    *hidden, (W, b) = weights
    return Chain(*[Dense(W.copy(), b.copy(), relu) for W, b in hidden], Dense(W.copy(), b.copy()))


def mlp_loss(model, x, y):
    return logitcrossentropy(model(x), y)


def model_params(model):
    return [p for d in model.layers for p in (d.weight, d.bias)]


class OursStep:
    """A step the way ``train`` takes it (the gradient for the model alone,
    then ``update``); ``explicit=True`` calls ``withgradient(loss, model, x, y)``
    instead, which also forms the gradients of ``x`` and ``y``."""

    def __init__(self, weights, explicit=False):
        self.model = mlp_model(weights)
        self.state = setup(Adam(ETA, BETA, EPSILON), self.model)
        self.explicit = explicit

    @property
    def params(self):
        return model_params(self.model)

    def step(self, x, y):
        if self.explicit:
            val, grads = withgradient(mlp_loss, self.model, x, y)
            update(self.state, self.model, grads[0])
            return val
        return train(mlp_loss, self.model, ((x, y),), self.state, progress=False)[0]


# ---------------------------------------------------------------- the workload

def _stepper(step, batches):
    """A zero-argument callable that takes one step on the next batch."""
    state = {"i": 0}

    def run():
        x, y = batches[state["i"] % len(batches)]
        state["i"] += 1
        return step(x, y)
    return run


def check_gradients(weights, batches, rtol=1e-3):
    """The compiler's gradient of the Chain against the hand-written one."""
    x, y = batches[0]
    model = mlp_model(weights)
    got = model_params(gradient(mlp_loss, model, x, y)[0])
    _, want = HandStep(weights).gradients(x, y)
    for i, (a, b) in enumerate(zip(got, want)):
        if a.dtype != np.float32 or not np.allclose(a, b, rtol=rtol, atol=rtol * abs(b).max()):
            raise AssertionError("ad_compiler's gradient of parameter %d disagrees with the "
                                 "hand-written one (or is not float32: %s)" % (i, a.dtype))


def check_steps(weights, batches, steppers, steps=3, rtol=1e-4, near_zero=1e-5):
    """Every contender's losses and weights after ``steps`` steps against the
    reference's, to ``rtol``.  Adam's step ``eta*g/(|g| + epsilon)`` turns a
    rounding difference in a gradient entry near 0 into a visible part of a
    step, and summation order differs between libraries: entries whose
    gradient fell below ``near_zero`` at some step are only checked to lie
    within ``2 * steps * eta`` (:func:`check_gradients` checks the gradients
    themselves closely)."""
    ref = HandStep(weights)
    want, loose = [], [np.zeros(p.shape, bool) for p in ref.params]
    for i in range(steps):
        want.append(ref.step(*batches[i % len(batches)]))
        for mask, g in zip(loose, ref.last_grads):
            mask |= np.abs(g) < near_zero
    for name, make in steppers.items():
        contender = make(weights)
        got = [contender.step(*batches[i % len(batches)]) for i in range(steps)]
        if not np.allclose(got, want, rtol=rtol):
            raise AssertionError("%s: losses %s, the hand-written step's %s" % (name, got, want))
        for j, (a, b, mask) in enumerate(zip(contender.params, ref.params, loose)):
            if not (np.allclose(a[~mask], b[~mask], rtol=rtol, atol=1e-6) and
                    np.all(np.abs(a - b)[mask] <= 2 * steps * ETA)):
                raise AssertionError("%s: parameter %d after %d Adam steps differs from the "
                                     "hand-written step by up to %.3g" % (
                                         name, j, steps, float(np.max(np.abs(a - b)))))


def workload_train_step(sizes=SIZES, batch=BATCH):
    """The reference and the contenders, each checked against the reference
    first (smaller ``sizes`` and ``batch`` make a quick check of this file)."""
    weights, batches = mlp_weights(sizes), mlp_batches(sizes=sizes, batch=batch)
    check_gradients(weights, batches)
    makers = {"ad_compiler (Chain; train: gradient of the model, update)": OursStep,
              "ad_compiler (withgradient(loss, model, x, y), update)":
                  lambda w: OursStep(w, explicit=True)}
    makers.update(peers.training_steps(torch_threads=(None, 1)))
    check_steps(weights, batches, makers)
    contenders = {name: _stepper(make(weights).step, batches) for name, make in makers.items()}
    reference = _stepper(HandStep(weights).step, batches)
    return reference, contenders, ("one training step (forward, gradient, Adam update), MLP "
                                   "%s ReLU, logit cross-entropy, float32, batch %d, against "
                                   "a hand-written NumPy step with a naive Adam"
                                   % ("-".join(map(str, sizes)), batch))


# ---------------------------------------------------------------- the first step

def first_step_times(rounds=5):
    """Sorted seconds of the first step of a fresh model (``train`` on one
    batch), the compiler's caches cleared before each: code generation,
    compilation and the step itself."""
    from .workloads import first_call_times
    weights, (batch,) = mlp_weights(), mlp_batches(1)
    return first_call_times(lambda: OursStep(weights).step(*batch), rounds)


_COLD = """
import time
from benchmarks.training import OursStep, mlp_weights, mlp_batches
weights, (batch,) = mlp_weights(), mlp_batches(1)
start = time.perf_counter()
OursStep(weights).step(*batch)
print(time.perf_counter() - start)
"""


def cold_first_step_times(runs=3):
    """Sorted seconds of the same first step in a new Python process each
    time (after its imports): nothing is warm, not even the parsed rule
    templates, NumPy's first allocations or BLAS's threads."""
    import os
    import subprocess
    import sys
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        [root] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]))
    times = []
    for _ in range(runs):
        out = subprocess.run([sys.executable, "-c", _COLD], env=env, cwd=root, check=True,
                             capture_output=True, text=True).stdout
        times.append(float(out.strip().splitlines()[-1]))
    return sorted(times)
