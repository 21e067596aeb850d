"""Property tests: random points, gradients against finite differences.

Skipped cleanly when hypothesis is not installed (it is in the test extra).
"""
import math

import numpy as np
import pytest

from ad_compiler import grad, gradient, hessian, jvp
from ad_compiler.checks import check_grads

hypothesis = pytest.importorskip("hypothesis")
st = hypothesis.strategies
settings = hypothesis.settings(max_examples=25, deadline=None, derandomize=True)

FLOATS = st.floats(min_value=-2.0, max_value=2.0, allow_nan=False)
VECTORS = st.lists(FLOATS, min_size=1, max_size=5).map(np.array)


def step(y, x):
    return math.tanh(y + 0.5 * x) if y > 0 else y * x - 0.1


def branchy(x):
    y = math.sin(x) * x
    for i in range(3):
        y = step(y, x)
    return y * math.exp(0.2 * x)


def decisions(x):
    y, out = math.sin(x) * x, []
    for i in range(3):
        out.append(y > 0)
        y = step(y, x)
    return out


def same_branches_near(x, h=1e-3):
    """Finite differences only mean something where no branch flips nearby."""
    return decisions(x - h) == decisions(x) == decisions(x + h)


def array_fn(v):
    w = np.tanh(v) * np.cumsum(v)
    return np.sum(w * w) + np.max(v) * np.mean(v ** 2)


@settings
@hypothesis.given(FLOATS)
def test_scalar_function_to_second_order(x):
    hypothesis.assume(same_branches_near(x))
    check_grads(branchy, x, order=2)


@settings
@hypothesis.given(VECTORS)
def test_array_function_to_second_order(v):
    hypothesis.assume(len(set(np.round(v, 6))) == len(v))    # max is smooth here
    check_grads(array_fn, v, order=2)


@settings
@hypothesis.given(VECTORS, VECTORS)
def test_forward_and_reverse_agree(v, t):
    n = min(len(v), len(t))
    v, t = v[:n], t[:n]
    f = lambda x: np.sum(np.sin(x) * x ** 2)  # noqa: E731
    _, dy = jvp(f, (v,), (t,))
    (g,) = gradient(f, v)
    assert dy == pytest.approx(float(np.dot(g, t)), rel=1e-9, abs=1e-9)
    h = hessian(f, v)
    np.testing.assert_allclose(h, h.T, atol=1e-9)


@settings
@hypothesis.given(FLOATS)
def test_grad_tower_matches_closed_form(x):
    f = lambda x: math.exp(2 * x) * math.sin(x)  # noqa: E731
    d4 = grad(grad(grad(grad(f))))(x)
    assert d4 == pytest.approx(math.exp(2 * x) * (24 * math.cos(x) - 7 * math.sin(x)),
                               rel=1e-9, abs=1e-9)
