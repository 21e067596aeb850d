"""Sequences walked by loops and built by ``sum``, ``tuple``, ``list``,
``dict.values``/``items`` and ``append``: what a loop indexes, and the
gradients and tangents of those builtins.  Re-exported by :mod:`helpers`,
which generated code calls."""
import numpy as np

from .core.errors import ADError
from .gradients import _tuple_like, item, nz, zeros_like
from .shapes import unbroadcast


def iter_sequence(x):
    """What ``for v in x`` walks, as something indexable."""
    if isinstance(x, (list, tuple, np.ndarray, range)):
        return x
    return list(x)


def sequence_grad(g, x):
    """The gradient of ``x`` from that of ``iter_sequence(x)``: itself for a
    sequence; none for a dict, whose keys are walked; an error for an
    iterator, whose items cannot be given a gradient afterwards."""
    if g is None or isinstance(x, (list, tuple, np.ndarray, range)):
        return g
    if isinstance(x, (dict, set, frozenset, str)) or type(x).__name__ in (
            "dict_keys", "range_iterator"):
        return None
    if type(x).__name__ in ("dict_values", "dict_items"):
        return list(g)                  # views walk in a fixed order, like a list
    if all(v is None for v in g):
        return None
    raise ADError("cannot differentiate through the items of a %s walked by a loop: "
                  "build a list first (for v in list(...)) or iterate over the sequence "
                  "itself" % type(x).__name__)


def sum_vjp(g, x):
    """Gradient of the builtin ``sum(x)`` with respect to the sequence ``x``."""
    if isinstance(x, np.ndarray):
        return np.broadcast_to(g, x.shape)
    grads = [unbroadcast(g, v) for v in x]
    return tuple(grads) if isinstance(x, tuple) else grads


def sum_jvp(d, x):
    """Tangent of the builtin ``sum`` given the tangent ``d`` of the sequence."""
    total = 0.0
    for v in d:
        if v is not None:
            total = total + v
    return total


def sequence_vjp(g, x):
    """Gradient of ``x`` through ``tuple(x)``/``list(x)``: the same items, x's container."""
    if g is None:
        return None
    if isinstance(x, np.ndarray):
        return np.stack([nz(gi, xi) for gi, xi in zip(g, x)]) if len(x) else zeros_like(x)
    if isinstance(x, (list, tuple)):
        return _tuple_like(x, g)
    return list(g)


def sequence_jvp(d, ans):
    """Tangent of ``tuple(x)``/``list(x)``: the tangent's items in ``ans``'s container."""
    if d is None:
        return None
    return type(ans)(d)


def values_grad(g, d):
    """The gradient of dict ``d`` from that of ``list(d.values())``."""
    if g is None:
        return None
    return {k: gi for k, gi in zip(d, g) if gi is not None}


def values_tangent(t, d):
    """The tangent of ``d.values()`` (as a list) from the tangent of ``d``."""
    if t is None:
        return None
    return [item(t, k) for k in d]


def items_grad(g, d):
    """The gradient of dict ``d`` from that of ``list(d.items())``."""
    if g is None:
        return None
    return {k: gi[1] for k, gi in zip(d, g) if gi is not None and gi[1] is not None}


def items_tangent(t, d):
    """The tangent of ``d.items()`` (as a list of pairs) from the tangent of ``d``."""
    if t is None:
        return None
    return [(None, item(t, k)) for k in d]


# ---------------------------------------------------------------- lists of unknown kind

def append_tangent(obj, dobj, value, dvalue):
    """Forward mode of ``obj.append(value)``; returns the tangent of ``obj``."""
    obj.append(value)
    if dobj is None:
        dobj = [None] * (len(obj) - 1)
    dobj.append(dvalue)
    return dobj
