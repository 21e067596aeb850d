"""Helpers that generated adjoint code calls.

Every helper here is either linear in its gradient arguments or constant,
and has forward rules in :mod:`runtime.rules.runtime`, so generated code
that calls them can itself be differentiated again.

Zero gradients are represented by ``None`` inside structures and are never
materialised for arrays unless an in-place update needs a buffer.

Gradient values and their accumulation live in :mod:`gradients`,
sequences and the builtins that walk or build them in :mod:`sequences`;
both are re-exported here, the one module generated code's helpers are
taken from.
"""
import numpy as np

from .core.errors import NonScalarOutputError
from .core.tree import Struct
from .gradients import (add, add_attr, add_field, add_item, attr_tangent, clear_item,
                        display_item, display_tangent, display_unpacked, field, item, nz,
                        scatter_add, to_float, zero_entry, zeros_like)
from .sequences import (append_tangent, items_grad, items_tangent, iter_sequence,
                        sequence_grad, sequence_jvp, sequence_vjp, sum_jvp, sum_vjp,
                        values_grad, values_tangent)
from .shapes import SMALL, like_dtype, shape_only, spread, unbroadcast, unbroadcast_scalar

# What generated code and the compiler take from here: the helpers defined
# below and those re-exported from gradients, sequences, shapes and core.tree.
__all__ = [
    "SMALL", "Struct", "add", "add_attr", "add_field", "add_item", "append_tangent",
    "attr_tangent", "broadcast_like", "clear_item", "copy_input", "display_item",
    "display_tangent", "display_unpacked", "field", "item",
    "items_grad", "items_tangent", "iter_sequence", "like_dtype", "log", "make_struct", "nz",
    "own_tangent", "restore_region", "save_region", "scatter_add", "seed", "sequence_grad",
    "sequence_jvp", "sequence_vjp", "shape_only", "spread", "stop_gradient", "sum_jvp",
    "sum_vjp", "to_float", "unbroadcast", "unbroadcast_scalar", "values_grad",
    "values_tangent", "zero_entry", "zeros_like",
]

# ---------------------------------------------------------------- seeding

def seed(y, where="", first_of_tuple=False):
    """The cotangent 1 for a scalar output ``y``; error for anything else.

    With ``first_of_tuple`` (``withgradient``), a tuple output seeds its
    first element and gives the rest no cotangent.
    """
    if first_of_tuple and isinstance(y, tuple) and y:
        return (seed(y[0], where),) + (None,) * (len(y) - 1)
    if isinstance(y, (complex, np.complexfloating)) or getattr(y, "dtype", None) is not None \
            and y.dtype.kind == "c":
        raise NonScalarOutputError(
            "%soutput is complex, so the gradient is not defined; differentiate a real "
            "number such as abs(z) ** 2 or z.real, or use jvp" % (where + ": " if where else ""))
    if isinstance(y, (float, int, np.number)) and not isinstance(y, bool):
        return 1.0
    shape = getattr(y, "shape", None)
    if shape == ():
        return np.ones_like(y, dtype=float) if y.dtype.kind not in "fc" else np.ones_like(y)
    raise NonScalarOutputError.for_value(y, where)


# ---------------------------------------------------------------- saving state

_ABSENT = object()


def save_region(x, idx):
    """A copy of ``x[idx]`` before it is overwritten (or a marker if absent)."""
    if isinstance(x, dict):
        return x.get(idx, _ABSENT)
    v = x[idx]
    return v.copy() if isinstance(v, np.ndarray) else v


def restore_region(x, idx, saved):
    """Undo ``x[idx] = ...`` during the adjoint sweep."""
    if saved is _ABSENT:
        del x[idx]
    else:
        x[idx] = saved


# ---------------------------------------------------------------- tangents and copies

def broadcast_like(d, ans):
    """A tangent ``d`` broadcast to the shape of the result ``ans``."""
    shape = getattr(ans, "shape", None)
    dshape = getattr(d, "shape", ())
    if shape is None or dshape == shape:
        return d
    return np.broadcast_to(d, shape)


def log(x):
    """``log`` for the exponent rule of ``**``: math for Python numbers."""
    if type(x) is float or type(x) is int:
        import math
        return math.log(x) if x > 0 else float("nan")
    return np.log(x)


def own_tangent(t, x):
    """A fresh tangent for container ``x`` that code may change in place."""
    if isinstance(x, list):
        return [None] * len(x) if t is None else list(t)
    if isinstance(x, dict):
        return {} if t is None else dict(t)
    if isinstance(x, np.ndarray):
        return np.zeros_like(x) if t is None else t.copy()
    return t


def copy_input(x):
    """A shallow copy of an argument the function mutates (the caller's stays as is)."""
    if isinstance(x, np.ndarray):
        return x.copy()
    if isinstance(x, (list, dict)):
        return type(x)(x)
    return x


def stop_gradient(x):
    """``x`` itself, through which no gradient flows.

    >>> stop_gradient(3.0)
    3.0
    """
    return x


def make_struct(names, *values):
    """A closure's tangent: the tangents of its captured variables by name."""
    return Struct({n: v for n, v in zip(names, values) if v is not None})

