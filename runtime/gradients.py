"""Gradient values and how they add up: the zero gradient of a value, the
sum of two gradients (structures leaf by leaf, ``None`` as zero), and the
gradient of a part (``x[i]``, ``x.name``) read from or accumulated into the
gradient of the whole.  Re-exported by :mod:`helpers`, which generated code
calls."""
import numbers
import types

import numpy as np

from .core.errors import NoAdjointError, UnsupportedDerivativeError
from .core.namespace import is_foreign_array, namespace_of
from .core.tree import Struct

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


# A dict display ``{k: v, **d, ...}`` keeps the last entry of each key, so an
# entry's gradient is the display's at the keys no later entry repeats
# (``keys``: the later entries' keys, ``dicts``: the dicts unpacked later).

def _overridden(key, keys, dicts):
    return key in keys or any(key in d for d in dicts)


def display_item(g, key, keys=(), dicts=()):
    """The gradient of the entry ``key: v`` of a dict display whose gradient is ``g``.

    >>> display_item({"a": 1.0}, "a", keys=("a",)) is None
    True
    """
    if g is None or _overridden(key, keys, dicts):
        return None
    return g.get(key)


def display_unpacked(g, d, keys=(), dicts=()):
    """The gradient of the entry ``**d`` of a dict display whose gradient is ``g``.

    >>> display_unpacked({"a": 1.0, "b": 2.0}, {"a": 0, "b": 0}, keys=("b",))
    {'a': 1.0}
    """
    if g is None:
        return None
    out = {k: g[k] for k in d if k in g and not _overridden(k, keys, dicts)}
    return out or None


def display_tangent(d, t):
    """The tangent of ``d`` as an entry ``**d`` of a dict display: one entry
    per key of ``d`` (None for zero), so that it overrides the tangents of
    earlier entries exactly where ``d`` overrides their values.

    >>> display_tangent({"a": 0, "b": 0}, {"a": 1.0})
    {'a': 1.0, 'b': None}
    """
    return {k: None if t is None else t.get(k) for k in d}


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
    tp = np.ndarray if is_foreign_array(x) else type(x)   # CuPy's arrays: NumPy's rules
    rule = registry.lookup_attr(tp, name)
    if rule is None and not callable(getattr(tp, name, None)):
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
        np.add.at(bx, _index_for(bx, idx), g)
    return bx


def _index_for(x, idx):
    """``idx`` with its NumPy index arrays moved to ``x``'s library (CuPy's
    ``add.at`` takes its own arrays only)."""
    xp = namespace_of(x)
    if xp is np:
        return idx
    parts = idx if isinstance(idx, tuple) else (idx,)
    moved = tuple(xp.asarray(i) if isinstance(i, np.ndarray) else i for i in parts)
    return moved if isinstance(idx, tuple) else moved[0]


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
    if isinstance(idx, slice):
        # (the store may change the list's length: every later item's
        # gradient would then belong to another item)
        raise UnsupportedDerivativeError(
            "assigning to a slice of a list is not supported in reverse mode; build the "
            "new list from its items ([a[0], v, a[3]]) or with append in a loop")
    out = list(g)
    out[idx] = None
    return _tuple_like(g, out)
