"""Structures of values (pytrees) and the shape of their gradients.

A gradient has the same structure as its argument: tuples, lists, dicts,
namedtuples, dataclasses, registered classes and plain objects map to the
same containers, with ``None`` for leaves that cannot carry a gradient
(functions, strings, bools, None).

>>> tree_leaves({"a": (1.0, [2.0]), "b": None})
[1.0, 2.0]
>>> tree_map(lambda v: v * 2, (1.0, {"k": 3.0}))
(2.0, {'k': 6.0})
"""
import dataclasses
import types
from collections import namedtuple

import numpy as np

from .errors import ADError
from .lru import LRU


class Struct:
    """The gradient of an object: its differentiable attributes by name.

    It stands for a user object (a layer, a closure, a dataclass) while
    gradients are accumulated; :func:`rebuild` turns it
    into an object of the user's type at the end.
    """

    __slots__ = ("fields",)

    def __init__(self, fields=None):
        self.fields = dict(fields or {})

    def __getattr__(self, name):
        try:
            return self.fields[name]
        except KeyError:
            raise AttributeError(name) from None

    def __getitem__(self, name):
        return self.fields.get(name)

    def __eq__(self, other):
        return isinstance(other, Struct) and _fields_equal(self.fields, other.fields)

    __hash__ = None

    def __repr__(self):
        inner = ", ".join("%s=%r" % kv for kv in sorted(self.fields.items()))
        return "Struct(%s)" % inner


def _fields_equal(a, b):
    if a.keys() != b.keys():
        return False
    return all(np.array_equal(a[k], b[k]) if isinstance(a[k], np.ndarray) else a[k] == b[k]
               for k in a)



# Leaves that never carry a gradient (besides None, str and bool).
_OPAQUE = (types.BuiltinFunctionType, types.MethodType, types.ModuleType, type, np.ufunc,
           np.dtype, slice, range, bytes, type(Ellipsis), str, bool, np.bool_,
           np.random.Generator, np.random.RandomState, np.random.BitGenerator)
if not isinstance(np.copy, types.FunctionType):
    # NumPy >= 1.25 wraps its functions in a C type (``np.copy`` passed as an
    # argument has no gradient: it is a function, not a container)
    _OPAQUE += (type(np.copy),)

_NODES = {}      # class -> (flatten(obj) -> (children, aux), unflatten(aux, children))


def register_node(cls, flatten, unflatten):
    """Make ``cls`` a container: ``flatten(obj) -> (children, aux)``,
    ``unflatten(aux, children) -> obj``.  Its gradients then have type ``cls``.

    >>> class Pair:
    ...     def __init__(self, a, b): self.a, self.b = a, b
    >>> _ = register_node(Pair, lambda p: ((p.a, p.b), None), lambda aux, c: Pair(*c))
    >>> tree_leaves(Pair(1.0, [2.0, 3.0]))
    [1.0, 2.0, 3.0]
    """
    _NODES[cls] = (flatten, unflatten)
    return cls


def _is_namedtuple(x):
    return isinstance(x, tuple) and hasattr(type(x), "_fields")


def _attrs(x):
    """The attribute names of a plain object (``__dict__`` and ``__slots__``)."""
    names = list(vars(x)) if hasattr(x, "__dict__") else []
    for klass in type(x).__mro__:
        for slot in getattr(klass, "__slots__", ()):
            if slot not in names and slot not in ("__dict__", "__weakref__") and \
                    hasattr(x, slot):
                names.append(slot)
    return names


def _children(x):
    """(kind, children as [(key, value)]) of a container, or None for a leaf."""
    node = _NODES.get(type(x))
    if node is not None:
        kids, aux = node[0](x)
        return ("node", aux), list(enumerate(kids))
    if isinstance(x, (tuple, list)):
        return ("seq", None), list(enumerate(x))
    if isinstance(x, dict):
        return ("dict", None), list(x.items())
    if x is None or isinstance(x, (np.ndarray, float, int, complex, np.number) + _OPAQUE) or \
            isinstance(x, types.FunctionType) or _foreign_array(x):
        return None
    if dataclasses.is_dataclass(x):
        return ("obj", None), [(f.name, getattr(x, f.name)) for f in dataclasses.fields(x)]
    if hasattr(x, "__dict__") or hasattr(type(x), "__slots__"):
        return ("obj", None), [(k, getattr(x, k)) for k in _attrs(x)]
    return None


def _foreign_array(x):
    """An array of another library (CuPy's): a leaf, never walked into."""
    return hasattr(type(x), "__array_namespace__")


def tree_children(x):
    """The direct children of a container (``[]`` for a leaf).

    >>> tree_children({"a": 1.0, "b": (2.0, 3.0)})
    [1.0, (2.0, 3.0)]
    """
    found = _children(x)
    return [] if found is None else [v for _, v in found[1]]


def check_walkable(x, where="argument"):
    """Raise ADError if ``x`` may hold gradients but cannot be walked."""
    if _children(x) is not None or x is None or isinstance(
            x, (np.ndarray, float, int, complex, np.number, types.FunctionType) + _OPAQUE) \
            or _foreign_array(x):
        return
    raise ADError("cannot take the gradient of %s of type %s: it is not a container this "
                  "compiler knows how to walk; register it with "
                  "ad_compiler.register_node(%s, flatten, unflatten), or pass its arrays"
                  % (where, type(x).__name__, type(x).__name__))


# ---------------------------------------------------------------- gradients

def finish(x, g):
    """Turn a raw gradient ``g`` of the argument ``x`` into its user-facing form."""
    tp = type(x)
    if tp is float or tp is int:
        return 0.0 if g is None else float(g.real)     # .real: see _array_grad
    if tp is np.ndarray or _foreign_array(x):
        return _array_grad(x, g)
    if x is None or isinstance(x, _OPAQUE):
        return None
    if isinstance(x, (complex, np.complexfloating)):
        return 0j if g is None else complex(np.conj(g))
    if isinstance(x, (float, int, np.number)):
        return 0.0 if g is None else float(np.real(g))
    if isinstance(x, types.FunctionType):
        return _closure_grad(x, g)
    return rebuild(x, g)


def _array_grad(x, g):
    if x.dtype.kind not in "fc":
        return None if x.dtype.kind == "b" else _array_grad(x.astype(float), g)
    if g is None:
        return np.zeros_like(x)         # (CuPy's x: through __array_function__, on its device)
    host = type(x) is np.ndarray
    g = np.asarray(g) if host else g
    if g.shape != x.shape:
        raise ADError("internal error: the gradient of an argument of shape %s has shape %s; "
                      "a rule returned a cotangent of the wrong shape (check custom "
                      "@adjoint rules)" % (x.shape, g.shape))
    if g.dtype.kind == "c":     # cotangents are conjugate gradients (runtime/rules/complex.py);
        g = np.conj(g) if x.dtype.kind == "c" else g.real     # a real x's is the real part
    if g.dtype != x.dtype:
        g = g.astype(x.dtype)           # gradients have their argument's dtype, as in JAX
    elif host and (not g.flags.writeable or not g.flags.owndata):
        g = g.copy()
    return g


_CLOSURE_TYPES = LRU(1024)     # free variable names -> their gradient's namedtuple


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


def _part(x, g, fields):
    """A part's gradient, as :func:`finish`; but under an object's fields
    (``fields``) an ``int`` that received none has None, Flux's ``nothing``
    (a stride, a count: configuration), not 0.0 as a number passed in has."""
    if fields and g is None and type(x) is int:
        return None
    if fields and isinstance(x, (tuple, list, dict)) and not _NODES.get(type(x)):
        return rebuild(x, g, fields)
    return finish(x, g)


def rebuild(x, g, fields=False):
    """The gradient of container ``x`` in ``x``'s own types (``g`` None is zero)."""
    node = _NODES.get(type(x))
    if node is not None:
        kids, aux = node[0](x)
        return node[1](aux, [_part(v, gv, True) for v, gv in zip(kids, _node_grads(x, g, node))])
    if _is_namedtuple(x):
        return type(x)(*[_part(v, _get(g, i, f), fields) for i, (f, v) in
                         enumerate(zip(type(x)._fields, x))])
    if isinstance(x, (tuple, list)):
        parts = [_part(v, _get(g, i), fields) for i, v in enumerate(x)]
        if fields and parts and all(p is None for p in parts):
            return None             # stride=(1, 1): no gradient at all, as Flux's nothing
        return type(x)(parts)
    if isinstance(x, dict):
        return {k: _part(v, _get(g, k), fields) for k, v in x.items()}
    found = _children(x)
    if found is None:
        check_walkable(x)
        return None
    out = object.__new__(type(x))
    for k, v in found[1]:
        object.__setattr__(out, k, _part(v, _get(g, k, k), True))
    return out


def _node_grads(x, g, node):
    """The gradients of a registered node's children, in flatten order.

    Inside differentiated code an object's gradient accumulates by attribute
    name (a Struct); an object of the node's type holding those gradients is
    flattened so they line up with the children.
    """
    n = len(node[0](x)[0])
    if g is None:
        return [None] * n
    if isinstance(g, type(x)):
        return list(node[0](g)[0])
    if isinstance(g, Struct):
        holder = object.__new__(type(x))
        for name in _attrs(x):
            object.__setattr__(holder, name, g.fields.get(name))
        return list(node[0](holder)[0])
    return [_get(g, i) for i in range(n)]


def _get(g, i, name=None):
    if g is None:
        return None
    if isinstance(g, Struct):
        return g.fields.get(name if name is not None else i)
    if isinstance(g, dict):
        return g.get(i)
    if isinstance(g, (tuple, list)):
        return g[i] if isinstance(i, int) and i < len(g) else None
    return getattr(g, name, None) if name is not None else None


# ---------------------------------------------------------------- tree utilities

class TreeDef:
    """The structure of a tree, without its leaves."""

    __slots__ = ("kind", "template", "children", "keys")

    def __init__(self, kind, template, children, keys):
        self.kind, self.template, self.children, self.keys = kind, template, children, keys

    def __repr__(self):
        return "TreeDef(%s)" % (self.kind if self.kind != "leaf" else "*")

    def __eq__(self, other):
        return (isinstance(other, TreeDef) and self.kind == other.kind
                and type(self.template) is type(other.template) and self.keys == other.keys
                and self.children == other.children)


def tree_flatten(x):
    """``(leaves, treedef)``: the leaves in order, and how to put them back.

    ``None`` is an empty subtree (no leaves), as in JAX; a dict's leaves come
    in its own (insertion) order.

    >>> leaves, td = tree_flatten({"w": 1.0, "b": (2.0, None)})
    >>> leaves
    [1.0, 2.0]
    >>> tree_unflatten(td, [10.0, 20.0])
    {'w': 10.0, 'b': (20.0, None)}
    """
    leaves = []
    return leaves, _flatten(x, leaves)


def _flatten(x, leaves):
    if x is None:
        return TreeDef("none", None, (), ())
    if isinstance(x, Struct):
        keys = tuple(x.fields)
        return TreeDef("struct", None, tuple(_flatten(x.fields[k], leaves) for k in keys), keys)
    found = _children(x)
    if found is None:
        leaves.append(x)
        return TreeDef("leaf", None, (), ())
    (kind, aux), kids = found
    keys = tuple(k for k, _ in kids)
    return TreeDef(kind, (x, aux), tuple(_flatten(v, leaves) for _, v in kids), keys)


def tree_unflatten(treedef, leaves):
    """The tree of ``treedef``'s structure with ``leaves`` in order.

    >>> tree_unflatten(tree_flatten((1.0, [2.0]))[1], [3.0, 4.0])
    (3.0, [4.0])
    """
    it = iter(leaves)
    out = _unflatten(treedef, it)
    if next(it, _END) is not _END:
        raise ValueError("too many leaves for the tree structure")
    return out


_END = object()


def _unflatten(td, it):
    if td.kind == "leaf":
        return next(it)
    if td.kind == "none":
        return None
    kids = [_unflatten(c, it) for c in td.children]
    if td.kind == "struct":
        return Struct(dict(zip(td.keys, kids)))
    x, aux = td.template
    if td.kind == "node":
        return _NODES[type(x)][1](aux, kids)
    if td.kind == "seq":
        return type(x)(*kids) if _is_namedtuple(x) else type(x)(kids)
    if td.kind == "dict":
        return dict(zip(td.keys, kids))
    out = object.__new__(type(x))
    for k, v in zip(td.keys, kids):
        object.__setattr__(out, k, v)
    return out


def tree_leaves(x):
    """The leaves of ``x`` in order (``None`` has none).

    >>> tree_leaves([1.0, None, (2.0, 3.0)])
    [1.0, 2.0, 3.0]
    """
    return tree_flatten(x)[0]


def tree_map(f, tree, *rest):
    """``f`` applied leaf by leaf to one tree, or to several of the same structure.

    >>> tree_map(lambda a, b: a + b, {"w": 1.0, "b": 2.0}, {"w": 10.0, "b": 20.0})
    {'w': 11.0, 'b': 22.0}
    """
    leaves, td = tree_flatten(tree)
    others = [tree_flatten(r)[0] for r in rest]
    for o in others:
        if len(o) != len(leaves):
            raise ValueError("tree_map: trees have different numbers of leaves")
    return tree_unflatten(td, [f(*vals) for vals in zip(leaves, *others)])
