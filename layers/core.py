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

from ad_compiler.custom import nondifferentiable
from ad_compiler.runtime.core.tree import tree_children, tree_flatten, tree_unflatten

from .errors import DimensionMismatch, LayerError
from .printing import _layer_repr
from .walk import (  # noqa: F401  (re-exported: other layers use them from here)
    Walk, _trainable, field_names, get_path, is_array, is_float_array, is_layer, trainable_fields)


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
        raise LayerError("%s expects an array (features first, batch last), got %s; "
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


# Both only check and warn: they return None whatever their inputs and change
# nothing, so their output is constant (tested in test_nondifferentiable).
# Registered, a layer's call runs them as plain Python instead of compiling
# them, which was a tenth of the time to a model's first training step.
nondifferentiable(check_features, warn_dtype)

def _short_name(layer_):
    """How errors name a layer: its one-line form without the activation."""
    head = getattr(layer_, "_repr_head", None)
    if head is None:
        return type(layer_).__name__
    try:
        return head(False)          # _repr_head(details=False): shapes only
    except TypeError:               # a _repr_head without that argument
        return head()
