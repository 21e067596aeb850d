"""Functions whose generated adjoint source is pinned in tests/golden/."""
import math

import numpy as np

from ad_compiler.runtime.mode import differentiating


def poly(x):
    return 3 * x ** 2 + 2 * x + 1


def scalar_loop(x):
    for i in range(100):
        x = math.sin(x) * 1.01 + 0.1 * x
    return x


def slicing(x):
    return np.sum(x[:, 1] * x[..., None, 0:2][:, 0, 1])


def branchy(x, y):
    if x > y:
        z = x * y
    else:
        z = x + y
    return z * z


GOLDEN = {
    "poly": (poly, (2.0,)),
    "scalar_loop": (scalar_loop, (0.5,)),
    "slicing": (slicing, (np.ones((3, 4)),)),
    "branchy": (branchy, (1.0, 2.0)),
}


def mode_dependent(x):
    if differentiating():
        return x * 2.0
    return x * 3.0


def step_bias(x):
    y = 0.0
    if x > 0:
        y = 3.0
    return x * 2.0 + y


# ---------------------------------------------------------------- pinned by test_golden_more.py
# (appended below the functions above so their line numbers, which the
# goldens and test_codegen cite, stay put)

def mlp_loss(W1, b1, W2, b2, X, Y):
    h = np.tanh(X @ W1 + b1)
    logits = h @ W2 + b2
    logits = logits - np.max(logits, axis=1, keepdims=True)
    logp = logits - np.log(np.sum(np.exp(logits), axis=1, keepdims=True))
    return -np.sum(Y * logp) / X.shape[0]


def loop_break_continue(x):
    y = 0.0
    for i in range(10):
        if i % 3 == 1:
            continue
        y = y + x * (1.5 + math.sin(y + i))
        if y > 4.0:
            break
    return y


def fwd_loop_array(x):
    s = x
    for i in range(3):
        s = np.tanh(s) * x + 0.5 * s
    return np.sum(s ** 2)


def poly_loop(x):
    y = x
    for i in range(3):
        y = y * x + 2.0
    return 0.5 * y ** 2 + x ** 3
