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
