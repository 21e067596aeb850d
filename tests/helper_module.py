"""Functions imported by tests/test_calls.py, to differentiate across modules."""
import math

import numpy as np


def smooth(x, k=2.0):
    return np.log(1.0 + np.exp(k * x)) / k


def power_sum(*xs):
    total = 0.0
    for i, x in enumerate(xs):
        total = total + x ** (i + 1)
    return total


def scale_all(x, **factors):
    out = x
    for name in sorted(factors):
        out = out * factors[name]
    return out


def angle(x):
    return math.atan2(math.sin(x), math.cos(x) + 2.0)
