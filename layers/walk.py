"""Walking a model's fields and arrays: which fields a layer has and trains,
and the walk (paths, ties, trainable or not) that ``trainables``,
``destructure``, ``f32``, ``gpu``, printing and saving share.

>>> import numpy as np
>>> class Pair:
...     def __init__(self): self.W, self.n = np.ones(2), 3
>>> field_names(Pair())
('W', 'n')
"""
import dataclasses
import types

import numpy as np

from ad_compiler.runtime.core.namespace import is_foreign_array
from ad_compiler.runtime.core.tree import tree_children, tree_flatten, tree_unflatten

from .errors import LayerError


def is_layer(x):
    """Whether ``x`` is an instance of a ``@layer`` class.

    >>> is_layer(len)
    False
    """
    return not isinstance(x, type) and hasattr(type(x), "__trainable__")


def field_names(obj):
    """The data fields of an object, in the order gradients and walks use
    (``()`` for arrays, functions, numbers and containers).

    >>> class Pair:
    ...     def __init__(self): self.a, self.b = 1, 2
    >>> field_names(Pair())
    ('a', 'b')
    """
    if obj is None or isinstance(obj, _NOT_OBJECTS) or is_array(obj):
        return ()
    if dataclasses.is_dataclass(obj):
        return tuple(f.name for f in dataclasses.fields(obj))
    names = list(vars(obj)) if hasattr(obj, "__dict__") else []
    for klass in type(obj).__mro__:
        for slot in getattr(klass, "__slots__", ()):
            if slot not in names and slot not in ("__dict__", "__weakref__") and \
                    hasattr(obj, slot):
                names.append(slot)
    return tuple(names)


_NOT_OBJECTS = (type, types.FunctionType, types.BuiltinFunctionType, types.MethodType,
                types.ModuleType, np.ufunc, np.generic, np.dtype, tuple, list, dict, str,
                bytes, int, float, complex)


def trainable_fields(obj):
    """The names of ``obj``'s trainable fields: all of them unless its class
    was decorated ``@layer(trainable=...)``.

    >>> class Plain:
    ...     def __init__(self): self.W, self.b = 1.0, 2.0
    >>> trainable_fields(Plain())
    ('W', 'b')
    """
    return _trainable(obj, field_names(obj))


def _trainable(obj, names):
    chosen = getattr(type(obj), "__trainable__", None)
    if chosen is None:
        return tuple(names)
    missing = [n for n in chosen if n not in names]
    if missing:
        raise LayerError("%s: @layer(trainable=...) names %s, which %s not a field; its "
                         "fields are %s" % (type(obj).__name__, ", ".join(missing),
                                            "is" if len(missing) == 1 else "are",
                                            ", ".join(names) or "(none)"))
    return chosen


# ---------------------------------------------------------------- walking

def is_array(x):
    """A NumPy array, or another library's (CuPy's: ``__array_namespace__``)."""
    return isinstance(x, np.ndarray) or is_foreign_array(x)


def is_float_array(x):
    """An array of floats or complex numbers: a parameter when trainable."""
    return is_array(x) and x.dtype.kind in "fc"


class Walk:
    """A model taken apart: ``leaves`` and ``treedef`` (as ``tree_flatten``
    gives them) and, for each leaf, its ``path`` and whether it is trainable.

    With ``closures=True`` the arrays captured by closures are found too (as
    Zygote's implicit parameters are); :meth:`map` cannot put those back, so
    ``closure_leaves`` says which they are.

    >>> w = Walk({"W": np.ones(2), "f": np.tanh})
    >>> [(path, trainable) for _, path, trainable in w.entries]
    [((('item', 'W'),), True), ((('item', 'f'),), True)]
    """

    def __init__(self, model, closures=False, _seen=None):
        self.leaves, self.treedef = tree_flatten(model)
        self.entries = []           # (leaf, path, trainable)
        self.closure_leaves = []
        self._seen = set() if _seen is None else _seen      # closures met: they may recurse
        self._walk(self.treedef, iter(self.leaves), (), True, closures)

    def _walk(self, td, it, path, trainable, closures):
        if td.kind == "leaf":
            leaf = next(it)
            self.entries.append((leaf, path, trainable))
            if closures and isinstance(leaf, types.FunctionType) and leaf.__closure__ and \
                    id(leaf) not in self._seen:
                self._seen.add(id(leaf))
                self._walk_closure(leaf, path, trainable)
            return
        chosen = None
        if td.kind == "obj":
            chosen = set(_trainable(td.template[0], td.keys))
        step = {"obj": "attr", "node": "child"}.get(td.kind, "item")
        for key, child in zip(td.keys, td.children):
            keep = trainable and (chosen is None or key in chosen)
            self._walk(child, it, path + ((step, key),), keep, closures)

    def _walk_closure(self, fn, path, trainable):
        for i, cell in enumerate(fn.__closure__):
            try:
                value = cell.cell_contents
            except ValueError:          # a cell not yet filled
                continue
            inner = Walk(value, closures=True, _seen=self._seen)
            for leaf, sub, keep in inner.entries:
                entry = (leaf, path + (("cell", i),) + sub, trainable and keep)
                self.entries.append(entry)
                self.closure_leaves.append(entry)

    def arrays(self, trainable=True):
        """The distinct float arrays (by identity) that are, or are not, trainable."""
        seen, out = set(), []
        if not trainable:
            seen = {id(a) for a in self.arrays(True)}
        for leaf, _, keep in self.entries:
            if keep == trainable and is_float_array(leaf) and id(leaf) not in seen:
                seen.add(id(leaf))
                out.append(leaf)
        return out

    def map(self, fn, where=is_array):
        """The model with ``fn(leaf)`` for each leaf ``where`` accepts (ties kept)."""
        memo = {}
        new = []
        for leaf in self.leaves:
            if where(leaf):
                if id(leaf) not in memo:
                    memo[id(leaf)] = fn(leaf)
                leaf = memo[id(leaf)]
            new.append(leaf)
        return tree_unflatten(self.treedef, new)


def get_path(x, path):
    """The value at ``path`` (a :class:`Walk` path) in ``x`` or in a gradient
    of the same structure; None where the gradient has none."""
    for step, key in path:
        if x is None:
            return None
        if step == "attr":
            x = getattr(x, key, None)
        elif step == "child":
            x = tree_children(x)[key]
        elif step == "cell" and isinstance(x, types.FunctionType):
            x = x.__closure__[key].cell_contents
        else:
            try:
                x = x[key]
            except (KeyError, IndexError, TypeError):
                return None
    return x


# ---------------------------------------------------------------- checks shared by layers
