"""Rules for NumPy, written against ``xp``, the array's own namespace.

This table is registered for NumPy; :func:`registry.instantiate_namespace`
registers the same rules for CuPy with ``xp`` bound to ``cupy``.
"""
import numpy
import numpy as xp

from .helpers import broadcast_like, unbroadcast
from .registry import (ELEMENTWISE, REDUCE, SAME, def_linear, def_unary, defjvp, defvjp,
                       nondifferentiable)

# ---------------------------------------------------------------- elementwise

def_unary(numpy.sin, lambda ans, x: xp.cos(x))
def_unary(numpy.cos, lambda ans, x: -xp.sin(x))
def_unary(numpy.exp, lambda ans, x: ans)
def_unary(numpy.log, lambda ans, x: 1.0 / x)
def_unary(numpy.tanh, lambda ans, x: 1.0 - ans * ans)

# ---------------------------------------------------------------- reductions

defvjp(numpy.sum, lambda g, ans, x, axis=None, keepdims=False: sum_grad(g, x, axis, keepdims),
       out=REDUCE)
def_linear(numpy.sum)


def sum_grad(g, x, axis, keepdims):
    """Broadcast the gradient of a sum back over the summed axes."""
    shape = xp.shape(x)
    if axis is not None and not keepdims:
        g = xp.expand_dims(g, axis)
    return xp.broadcast_to(g, shape)


# ---------------------------------------------------------------- linear algebra

defvjp(numpy.dot, lambda g, ans, a, b: g @ b.T, lambda g, ans, a, b: a.T @ g,
       when=lambda a, b: a.ndim == 2 and b.ndim == 2)
