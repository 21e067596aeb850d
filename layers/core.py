"""The ``@layer`` decorator, trainable fields, and the walk over a model's
arrays that ``trainables``, ``destructure``, ``f32`` and ``gpu`` share.

Models are plain objects (pytrees): ``gradient`` already walks any object's
fields and returns an object of the same class, so ``@layer`` registers no
tree node.  It records which fields are trainable and gives the class
Flux's printing (``utils.show``), unless the class defines its own
``__repr__``.  A layer shapes its printed form with two optional methods:
``_repr_head(self, details=True)`` (the one-line form, e.g.
``"Dense(10 => 5, relu)"``; without details, as errors name the layer:
``"Dense(10 => 5)"``) or, for containers, ``_repr_children(self)`` (a list
of ``(name or None, child)`` printed one per line, indented).

>>> import numpy as np
>>> @layer
... class Affine:
...     def __init__(self, W, b):
...         self.W, self.b = W, b
...     def __call__(self, x):
...         return self.W @ x + self.b
>>> Affine(np.ones((5, 10), np.float32), np.zeros(5, np.float32))
Affine(W=float32[5, 10], b=float32[5])  # 55 parameters
"""
import dataclasses
import types
import warnings

import numpy as np

from ad_compiler.tree import tree_children, tree_flatten, tree_unflatten

from .errors import DimensionMismatch, LayerError


def identity(x):
    """The identity function, the default activation of layers.

    >>> identity(3)
    3
    """
    return x


def layer(cls=None, *, trainable=None):
    """Class decorator making a class a Flux-style layer (Flux's ``@layer``).

    ``@layer(trainable=("W",))`` limits the fields that optimisers,
    ``trainables`` and ``destructure`` see; the others stay in the model (and
    still get gradients) but are not trained.

    >>> import numpy as np
    >>> @layer(trainable=("W",))
    ... class Frozen:
    ...     def __init__(self):
    ...         self.W, self.mask = np.ones(2), np.ones(2)
    >>> trainable_fields(Frozen())
    ('W',)
    >>> Frozen()
    Frozen(W=float64[2], mask=float64[2])  # 2 parameters, plus 2 non-trainable
    """
    if isinstance(trainable, str):
        trainable = (trainable,)
    if trainable is not None:
        trainable = tuple(trainable)
        if not all(isinstance(n, str) for n in trainable):
            raise LayerError("@layer(trainable=...) takes field names (strings), got %r"
                             % (trainable,))

    def decorate(klass):
        if not isinstance(klass, type):
            raise LayerError("@layer decorates a class, got %r; write @layer above "
                             "'class Name:'" % (klass,))
        klass.__trainable__ = trainable
        if "__repr__" not in klass.__dict__:
            klass.__repr__ = _layer_repr
        return klass

    return decorate if cls is None else decorate(cls)


def is_layer(x):
    """Whether ``x`` is an instance of a ``@layer`` class.

    >>> is_layer(identity)
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
    """A NumPy array, or a GPU array (anything with ``__cuda_array_interface__``)."""
    return isinstance(x, np.ndarray) or hasattr(x, "__cuda_array_interface__")


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

def positive_int(n, who, what):
    """``n`` as an int, or a LayerError naming the layer and the argument.

    >>> positive_int(3, "Dense", "out")
    3
    """
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise LayerError("%s: %s must be a positive int, got %r" % (who, what, n))
    return int(n)


def activation(sigma, alias, who):
    """The activation given as ``σ`` or as its ASCII alias ``sigma``.

    >>> activation(identity, np.tanh, "Dense") is np.tanh
    True
    """
    if alias is not None:
        if sigma is not identity:
            raise LayerError("%s: give the activation once, as σ or as sigma" % who)
        sigma = alias
    if not callable(sigma):
        raise LayerError("%s: the activation must be callable, got %r" % (who, sigma))
    return sigma


def check_features(layer_, x, n, dtype):
    """Check that ``x`` has ``n`` features on axis 0 for ``layer_``, whose
    parameters have ``dtype``; warn when ``x`` is wider than ``dtype`` (the
    layer will convert it, as Flux does).  Call it from ``__call__`` as
    ``check_features(stop_gradient(self), stop_gradient(x), n, dtype)``.

    >>> check_features(identity, np.ones((3, 2)), 3, np.dtype("float64"))
    """
    who = _short_name(layer_)
    if not is_array(x):
        raise LayerError("%s expects a NumPy array (features first, batch last), got %s; "
                         "convert it with np.asarray" % (who, type(x).__name__))
    if x.ndim == 0 or x.shape[0] != n:
        raise DimensionMismatch("%s expects x.shape[0] == %d (features first, batch last), "
                                "got %s" % (who, n, x.shape))
    warn_dtype(layer_, x.dtype, dtype)


def warn_dtype(layer_, given, dtype):
    """Warn (as Flux does) when an input of dtype ``given`` is wider than the
    layer's parameters' ``dtype``, which the layer converts it to.

    >>> warn_dtype(identity, np.dtype("float32"), np.dtype("float64"))
    """
    if given.kind == "f" and dtype.kind == "f" and given.itemsize > dtype.itemsize:
        warnings.warn("%s has %s parameters but got %s input; the input is converted to %s "
                      "(convert the data, or the model with f64(model))"
                      % (type(layer_).__name__, dtype, given, dtype), stacklevel=4)


def _short_name(layer_):
    """How errors name a layer: its one-line form without the activation."""
    head = getattr(layer_, "_repr_head", None)
    if head is None:
        return type(layer_).__name__
    try:
        return head(False)          # _repr_head(details=False): shapes only
    except TypeError:               # a _repr_head without that argument
        return head()


def _layer_repr(self):
    from .utils import show     # utils builds on this module, so it is found when needed
    return show(self)
