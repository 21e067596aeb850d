"""Helpers that generated adjoint code calls.

Every helper here is either linear in its gradient arguments or constant,
and has forward rules in :mod:`runtime.rules_runtime`, so generated code
that calls them can itself be differentiated again.

Zero gradients are represented by ``None`` inside structures and are never
materialised for arrays unless an in-place update needs a buffer.
"""
import numbers
import types

import numpy as np

from .core.errors import ADError, NoAdjointError, NonScalarOutputError
from .core.tree import Struct  # noqa: F401  (re-exported: generated code builds them)
from .shapes import (SMALL, like_dtype, shape_only, spread,  # noqa: F401  (re-exported)
                     unbroadcast, unbroadcast_scalar)

# ---------------------------------------------------------------- zeros

def zeros_like(x):
    """The zero gradient for ``x``: a float, an array, or None for structures."""
    if isinstance(x, np.ndarray):
        if x.dtype.kind in "fc":
            return np.zeros_like(x)
        return np.zeros(x.shape)
    if isinstance(x, (float, int, np.number)) and not isinstance(x, bool):
        return 0.0 if isinstance(x, numbers.Real) else 0j
    if hasattr(x, "__array_namespace__") or hasattr(x, "__cuda_array_interface__"):
        return x * 0
    return None


def nz(g, x):
    """``g``, or the zero gradient of ``x`` if ``g`` is None."""
    return zeros_like(x) if g is None else g


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


# ---------------------------------------------------------------- accumulation

def _is_namedtuple(x):
    return isinstance(x, tuple) and hasattr(type(x), "_fields")


def _tuple_like(x, items):
    """``items`` in the container type of ``x``: a namedtuple's gradient is a
    namedtuple of the same type, so its fields can be read by name or index."""
    if _is_namedtuple(x):
        return type(x)._make(items)     # tuple.__new__: no user __new__ runs
    return tuple(items) if isinstance(x, tuple) else list(items)


def _as_namedtuple(g, like):
    """A namedtuple's gradient that arrived as a Struct of fields, by position."""
    if isinstance(g, Struct) and _is_namedtuple(like):
        return type(like)._make([g.fields.get(f) for f in type(like)._fields])
    return g


def add(a, b):
    """Sum two gradients; None is zero; structures add leaf by leaf."""
    if a is None:
        return b
    if b is None:
        return a
    a, b = _as_namedtuple(a, b), _as_namedtuple(b, a)
    if isinstance(a, tuple) and isinstance(b, tuple):
        return _tuple_like(a if _is_namedtuple(a) else b,
                           [add(x, y) for x, y in zip(a, b)])
    if isinstance(a, list) and isinstance(b, list):
        return [add(x, y) for x, y in zip(a, b)]
    if isinstance(a, dict) and isinstance(b, dict):
        out = dict(a)
        for k, v in b.items():
            out[k] = add(out.get(k), v)
        return out
    if isinstance(a, Struct) and isinstance(b, Struct):
        return Struct(add(a.fields, b.fields))
    return a + b


def item(g, i):
    """``g[i]`` of a structural gradient, where None stands for all zeros."""
    if g is None:
        return None
    if isinstance(g, Struct):
        return g.fields.get(i)
    if isinstance(g, dict):
        return g.get(i)
    return g[i]


def field(g, name):
    """The gradient of attribute ``name`` inside an object's gradient ``g``."""
    if g is None:
        return None
    if isinstance(g, Struct):
        return g.fields.get(name)
    if isinstance(g, dict):
        return g.get(name)
    return getattr(g, name, None)


def _array_like(x):
    return isinstance(x, (np.ndarray, np.generic)) or hasattr(x, "__array_namespace__")


def _attr_rule(x, name):
    """The rule for property ``name`` of array ``x``; None for a method."""
    from .core import registry
    rule = registry.lookup_attr(type(x), name)
    if rule is None and not callable(getattr(type(x), name, None)):
        raise NoAdjointError("no derivative rule for attribute ndarray.%s; register one with "
                             "registry.defattr(numpy.ndarray, %r, vjp=..., jvp=...)"
                             % (name, name))
    return rule


def _is_method(x, name):
    """``x.name`` is a method bound to ``x``: its derivative is ``x``'s own."""
    return isinstance(getattr(type(x), name, None), (types.FunctionType,
                                                     types.MethodDescriptorType))


def add_attr(bx, x, name, g):
    """Accumulate the gradient ``g`` of ``x.name``, for ``x`` of any type.

    Arrays use their attribute rules (``.T``, ``.real``); a method bound to
    ``x`` passes ``g`` on as ``x``'s gradient; objects get a :class:`Struct`
    of attribute gradients.
    """
    if g is None:
        return bx
    if _array_like(x):
        rule = _attr_rule(x, name)
        if rule is None:
            return add(bx, g)
        if rule.nondiff:
            return bx
        if rule.vjps is None:
            raise NoAdjointError("no adjoint for attribute ndarray.%s; register one with "
                                 "registry.defattr(numpy.ndarray, %r, vjp=...)" % (name, name))
        return add(bx, rule.vjps[0](g, getattr(x, name), x))
    if _is_method(x, name):
        return add(bx, g)
    if _is_namedtuple(x) and name in type(x)._fields:
        return add_item(bx, x, type(x)._fields.index(name), g)
    return add_field(bx, name, g)


def attr_tangent(t, x, name):
    """Forward mode: the tangent of ``x.name`` from ``x``'s tangent ``t``.

    The counterpart of :func:`add_attr`: array properties use their rules, a
    method bound to ``x`` carries ``t`` itself (``call_jvp`` reads it as the
    tangent of ``self``), and an object's attribute is a field of ``t``.
    """
    if t is None:
        return None
    if _array_like(x):
        rule = _attr_rule(x, name)
        if rule is None:
            return t
        if rule.nondiff:
            return None
        return rule.jvps[0](t, getattr(x, name), x)
    if _is_method(x, name):
        return t
    if _is_namedtuple(x) and name in type(x)._fields and not isinstance(t, Struct):
        return item(t, type(x)._fields.index(name))   # t may be a plain tuple
    return field(t, name)


def add_field(bx, name, g):
    """Accumulate the gradient ``g`` of ``x.name`` into ``bx``."""
    if g is None:
        return bx
    fields = {} if bx is None else dict(bx.fields)
    fields[name] = add(fields.get(name), g)
    return Struct(fields)


def _is_basic_index(idx):
    if isinstance(idx, tuple):
        return all(_is_basic_index(i) for i in idx)
    return idx is None or idx is Ellipsis or isinstance(idx, (int, np.integer, slice))


def scatter_add(bx, idx, g):
    """``bx[idx] += g`` for arrays, summing repeated integer indices (None
    stands for a zero ``g``, as in the other helpers)."""
    if g is None:
        return bx
    if _is_basic_index(idx):
        bx[idx] += g
    else:
        np.add.at(bx, idx, g)
    return bx


def add_item(bx, x, idx, g):
    """Accumulate the gradient ``g`` of ``x[idx]`` into ``bx`` (any container)."""
    if g is None:
        return bx
    if isinstance(x, (tuple, list)):
        out = [None] * len(x) if bx is None else list(_as_namedtuple(bx, x))
        if isinstance(idx, slice):
            for j, gj in zip(range(*idx.indices(len(x))), g):
                out[j] = add(out[j], gj)
        else:
            out[idx] = add(out[idx], g)
        return _tuple_like(x, out)
    if isinstance(x, dict):
        out = {} if bx is None else dict(bx)
        out[idx] = add(out.get(idx), g)
        return out
    if isinstance(x, Struct):
        return add_field(bx, idx, g)
    if bx is None:
        bx = zeros_like(x)
    else:
        bx = bx.copy()
    return scatter_add(bx, idx, g)


def to_float(g):
    """The gradient of a Python number argument, as a Python float."""
    if g is None:
        return 0.0
    if isinstance(g, complex):
        return g
    return float(g)


def zero_entry(d):
    """The zero to store into the tangent ``d`` of a container: 0.0 in an
    array, None (the structural zero) in a list or dict."""
    return 0.0 if hasattr(d, "shape") else None


def clear_item(g, idx):
    """``g`` with the gradient at ``idx`` removed (the target was overwritten)."""
    if g is None:
        return None
    if isinstance(g, dict):
        out = dict(g)
        out.pop(idx, None)
        return out
    if isinstance(g, np.ndarray):
        out = g.copy()
        out[idx] = 0.0
        return out
    out = list(g)
    out[idx] = None
    return _tuple_like(g, out)


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


# ---------------------------------------------------------------- lists of unknown kind

def append_tangent(obj, dobj, value, dvalue):
    """Forward mode of ``obj.append(value)``; returns the tangent of ``obj``."""
    obj.append(value)
    if dobj is None:
        dobj = [None] * (len(obj) - 1)
    dobj.append(dvalue)
    return dobj
