"""User control over differentiation: custom rules, stop_gradient, checkpoint.

>>> import numpy as np
>>> from ad_compiler import gradient
>>> def clipped(x):
...     return np.clip(x, -1.0, 1.0)
>>> @adjoint(clipped)
... def clipped_vjp(g, ans, x):
...     return (g,)                      # straight-through estimator
>>> gradient(lambda x: clipped(x) * 3.0, 5.0)
(3.0,)
"""
from ad_compiler.runtime.callee import Checkpoint  # noqa: F401  (re-exported)
from ad_compiler.runtime.core import registry
from ad_compiler.runtime.helpers import stop_gradient  # noqa: F401  (re-exported)


def adjoint(primal):
    """Register a reverse rule ``rule(g, ans, *args, **kwargs) -> tuple``.

    The tuple has one cotangent per positional argument of ``primal`` (None
    where there is none).  It overrides the source of a Python function and
    gives a gradient to functions with no source at all.  The rule is
    ordinary Python, so it is differentiated again for higher orders.

    >>> def clip(x):
    ...     return min(max(x, -1.0), 1.0)
    >>> @adjoint(clip)
    ... def clip_vjp(g, ans, x):
    ...     return (g,)                         # straight-through
    >>> from ad_compiler import gradient
    >>> gradient(lambda x: clip(x) * 3.0, 5.0)
    (3.0,)
    """
    def register(rule):
        registry.defvjp(primal, vjp_all=rule)
        return rule
    return register


def tangent(primal):
    """Register a forward rule ``rule(tangents, ans, *args, **kwargs) -> tangent``.

    ``tangents`` has one entry per positional argument (None for those that
    carry no tangent).

    >>> def cube(x):
    ...     return x ** 3
    >>> @tangent(cube)
    ... def cube_jvp(tangents, ans, x):
    ...     return 3.0 * x * x * tangents[0]
    >>> from ad_compiler import jvp
    >>> jvp(cube, (2.0,), (1.0,))
    (8.0, 12.0)
    """
    def register(rule):
        registry.defjvp(primal, jvp_all=rule)
        return rule
    return register


def nondifferentiable(*fns):
    """Declare functions whose results carry no derivative (like ``argmax``).

    >>> def bucket(x):
    ...     return float(int(x * 10)) / 10
    >>> _ = nondifferentiable(bucket)
    >>> from ad_compiler import gradient
    >>> gradient(lambda x: bucket(x) + x, 0.37)
    (1.0,)
    """
    registry.nondifferentiable(*fns)
    return fns[0] if len(fns) == 1 else fns


def checkpoint(fn):
    """``fn``, recomputed in the adjoint instead of storing its intermediates.

    Trades time for memory, e.g. one step of a long recurrence:
    ``step = checkpoint(lambda h, x: np.tanh(x @ Wx + h @ Wh))``.

    >>> import math
    >>> from ad_compiler import gradient
    >>> def run(x):
    ...     step = checkpoint(lambda h: math.sin(h) * x)
    ...     return step(step(1.0))
    >>> round(gradient(run, 0.5)[0], 6) == round(gradient(
    ...     lambda x: math.sin(math.sin(1.0) * x) * x, 0.5)[0], 6)
    True
    """
    return Checkpoint(fn)


# The derivative of checkpoint(fn) is fn's own (its captured variables'):
# the wrapper only changes how the adjoint is scheduled.
registry.defvjp(checkpoint, lambda g, ans, fn: g)
registry.defjvp(checkpoint, lambda d, ans, fn: d)
