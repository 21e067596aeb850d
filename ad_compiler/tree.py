"""Structures of values (pytrees) and the shape of their gradients.

A gradient has the same structure as its argument: tuples, lists, dicts,
namedtuples, dataclasses and plain objects map to the same containers,
with ``None`` for leaves that cannot carry a gradient.
"""
import dataclasses
import types
from collections import namedtuple

import numpy as np

from runtime.helpers import Struct

from .errors import ADError


def finish(x, g):
    """Turn a raw gradient ``g`` of the argument ``x`` into its user-facing form."""
    tp = type(x)
    if tp is float or tp is int:
        return 0.0 if g is None else float(g)
    if tp is np.ndarray:
        return _array_grad(x, g)
    if isinstance(x, (bool, np.bool_)) or x is None or isinstance(x, str):
        return None
    if isinstance(x, (float, int, np.number)):
        return 0.0 if g is None else float(g)
    if isinstance(x, types.FunctionType):
        return _closure_grad(x, g)
    if callable(x) and not _has_fields(x):
        return None
    return rebuild(x, g)


_CLOSURE_TYPES = {}


def _closure_grad(fn, g):
    """A closure's gradient: a namedtuple of its captured variables' gradients."""
    names = fn.__code__.co_freevars
    if not names or g is None:
        return None
    tp = _CLOSURE_TYPES.get(names)
    if tp is None:
        tp = _CLOSURE_TYPES[names] = namedtuple("Closure", names)
    values = [c.cell_contents for c in fn.__closure__]
    return tp(*[finish(v, _get(g, i, name)) for i, (name, v) in enumerate(zip(names, values))])


def _array_grad(x, g):
    if x.dtype.kind not in "fc":
        return None if x.dtype.kind == "b" else _array_grad(x.astype(float), g)
    if g is None:
        return np.zeros_like(x)
    g = np.asarray(g)
    if g.shape != x.shape:
        raise ADError("internal error: the gradient of an argument of shape %s has shape %s; "
                      "a rule returned a cotangent of the wrong shape (check custom "
                      "@adjoint rules)" % (x.shape, g.shape))
    if g.dtype != x.dtype:
        g = g.astype(x.dtype)           # gradients have their argument's dtype, as in JAX
    elif not g.flags.writeable or not g.flags.owndata:
        g = g.copy()
    return g


def _has_fields(x):
    return hasattr(x, "__dict__") and not isinstance(x, (type, types.FunctionType,
                                                          types.BuiltinFunctionType))


def rebuild(x, g):
    """The gradient of structure ``x`` in ``x``'s own container types."""
    if g is None:
        return _zero_structure(x)
    if isinstance(x, tuple) and hasattr(x, "_fields"):
        items = [rebuild(v, _get(g, i, f)) for i, (f, v) in enumerate(zip(x._fields, x))]
        return type(x)(*items)
    if isinstance(x, (tuple, list)):
        items = [finish(v, _get(g, i)) for i, v in enumerate(x)]
        return type(x)(items)
    if isinstance(x, dict):
        return {k: finish(v, _get(g, k)) for k, v in x.items()}
    if dataclasses.is_dataclass(x) and not isinstance(x, type):
        out = object.__new__(type(x))
        for f in dataclasses.fields(x):
            object.__setattr__(out, f.name, finish(getattr(x, f.name), _get(g, f.name)))
        return out
    if hasattr(x, "__dict__"):
        out = object.__new__(type(x))
        for k, v in vars(x).items():
            object.__setattr__(out, k, finish(v, _get(g, k)))
        return out
    return finish(x, g)


def _get(g, i, name=None):
    if g is None:
        return None
    if isinstance(g, Struct):
        return g.fields.get(name if name is not None else i)
    if isinstance(g, dict):
        return g.get(i)
    if isinstance(g, (tuple, list)):
        return g[i] if i < len(g) else None
    return getattr(g, name, None) if name is not None else None


def _zero_structure(x):
    if isinstance(x, np.ndarray):
        return _array_grad(x, None)
    if isinstance(x, (float, int)) and not isinstance(x, bool):
        return 0.0
    if isinstance(x, (tuple, list, dict)) or hasattr(x, "__dict__"):
        return rebuild(x, {}) if isinstance(x, dict) else rebuild(x, Struct())
    return None
