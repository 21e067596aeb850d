"""float32 stays float32 inside generated code (no silent float64 promotion)."""
import numpy as np
import pytest

from ad_compiler import gradient
from ad_compiler.api import _GRAD, Plan, Target

rng = np.random.RandomState(0)
A = rng.rand(4, 3).astype(np.float32) + 0.5
B = rng.rand(3, 2).astype(np.float32) + 0.5
V = rng.rand(3).astype(np.float32) + 0.5
W = rng.rand(4, 3).astype(np.float32)

CASES = [
    ("sum", lambda a: np.sum(a * W)),
    ("sum-axis", lambda a: np.sum(np.sum(a, axis=0) * V)),
    ("mean", lambda a: np.mean(a * W)),
    ("max", lambda a: np.max(a, axis=1).sum() + np.max(a)),
    ("min-keepdims", lambda a: np.sum(np.min(a, axis=0, keepdims=True) * V)),
    ("prod", lambda a: np.prod(a[:2])),
    ("var-std", lambda a: np.var(a) + np.std(a, axis=0).sum()),
    ("elementwise", lambda a: np.sum(np.tanh(a) * np.exp(-a) + np.sqrt(a) / (1.0 + a))),
    ("matmul", lambda a: np.sum(np.tanh(a @ B))),
    ("logsumexp", lambda a: np.sum(np.log(np.sum(np.exp(a - np.max(a, axis=1, keepdims=True)),
                                                 axis=1)))),
    ("shape-ops", lambda a: np.sum(np.concatenate([a.reshape(-1), a.T.ravel()]) ** 2)),
    ("broadcast-scalar", lambda a: np.sum(a * 2.0 + 1.0)),
    ("divide-by-size", lambda a: np.sum(a) / a.shape[0]),
    ("where-clip", lambda a: np.sum(np.where(a > 1.0, a, 0.0) + np.clip(a, 0.7, 1.2))),
]


@pytest.mark.parametrize("name, f", CASES, ids=[c[0] for c in CASES])
def test_float32_gradients_are_computed_in_float32(name, f):
    plan = Plan(Target(f), (A,), (0,), _GRAD)
    (raw,) = plan.compiled.grad(A)
    assert np.asarray(raw).dtype == np.float32, plan.compiled.text
    (g,) = gradient(f, A)
    assert g.dtype == np.float32


def test_gradient_has_the_arguments_dtype_even_if_the_function_promotes():
    w64 = np.ones(3)
    (g,) = gradient(lambda v: np.sum(v * w64), V)
    assert g.dtype == np.float32
