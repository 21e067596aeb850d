"""Forward mode for functions that only have a reverse rule.

A reverse rule is linear in its cotangent: ``vjp(g) = J^T g``.  So the
tangent ``J d`` is the gradient in ``g`` of ``<vjp(g), d>``, at any ``g``.
Generated forward-mode code calls :func:`transposed_jvp` for a rule
registered with ``@adjoint`` alone, so derivatives of every order work
without a ``@tangent`` rule.  It is ordinary code the compiler reads (the
nested ``gradient`` included), so it is differentiated again for higher
orders.  It costs one reverse sweep of the rule per tangent: register a
forward rule with ``@tangent`` where that matters.
"""
import numpy as np

from ad_compiler.runtime.core.errors import NoAdjointError
from ad_compiler.runtime.helpers import zeros_like

# The API's gradient, installed by ad_compiler.api when it is imported (this
# module sits below the API; generated code calls transposed_jvp at run time).
gradient = None


def install(api_gradient):
    global gradient
    gradient = api_gradient


def transposed_jvp(vjp, index, d, ans, *args, **kwargs):
    """The tangent of ``ans = f(*args)`` along ``d`` (argument ``index``, or
    the only argument of a per-argument rule when ``index`` is None)."""
    if not isinstance(ans, (float, np.ndarray, np.number)):
        raise NoAdjointError("no forward rule for a function whose output is a %s, and "
                             "none can be derived from its reverse rule %s: register one "
                             "with @tangent" % (type(ans).__name__,
                                                getattr(vjp, "__qualname__", vjp)))

    def pairing(g):             # everything else is captured: g is the only input
        out = vjp(g, ans, *args, **kwargs)
        if index is not None:
            out = out[index]
        return inner(out, d)

    return gradient(pairing, zeros_like(ans))[0]


def inner(a, b):
    """``<a, b>`` over arrays, numbers and tuples of them; None is zero."""
    if a is None or b is None:
        return 0.0
    if isinstance(a, (tuple, list)):
        total = 0.0
        for ai, bi in zip(a, b):
            total = total + inner(ai, bi)
        return total
    return np.sum(a * b)
