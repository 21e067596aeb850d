"""The array library a value belongs to: NumPy, or CuPy and the like.

Rules are written against NumPy's names.  NumPy's functions pass another
library's arrays on to that library (``__array_ufunc__``,
``__array_function__``), so most rules run on CuPy arrays as written; the
few that *create* an array (``zeros``, ``asarray``, ``eye``...) ask
:func:`namespace_of` for the library of their inputs first, so the new
array lives where the inputs do.

>>> import numpy as np
>>> namespace_of(np.ones(2), 3.0) is np
True
"""
import threading

import numpy as np

from . import registry

_REGISTERED = set()
_LOCK = threading.Lock()


def namespace_of(*values):
    """The namespace (``__array_namespace__``) of the first array among
    ``values`` that is not NumPy's, else ``numpy``."""
    for v in values:
        if type(v) is not np.ndarray and hasattr(v, "__array_namespace__") and \
                not isinstance(v, np.generic):
            return v.__array_namespace__()
    return np


def is_foreign_array(value):
    """An array of another library (CuPy...), which NumPy cannot read directly.

    >>> is_foreign_array(np.ones(2))
    False
    """
    return namespace_of(value) is not np


def move_like(value, like):
    """``value`` in the array library of ``like``: the cotangent of a NumPy input
    whose copy went to the GPU comes back to the host, and the other way round.

    >>> move_like(np.ones(2), 1.0)
    array([1., 1.])
    """
    source, target = namespace_of(value), namespace_of(like)
    if source is target:
        return value
    if target is np:
        return value.get() if hasattr(value, "get") else np.asarray(value)
    return target.asarray(value)


def register_namespace(xp):
    """Give the functions of the array library ``xp`` (``cupy.sin``,
    ``cupy.linalg.inv``...) the rules of NumPy's functions of the same names,
    once per library, so that code written against ``xp`` is differentiated
    too.  Called when an array of ``xp`` first reaches a transform, and by
    ``layers.gpu``.

    >>> register_namespace(np)      # NumPy's own rules: nothing to do
    """
    if xp is np or xp in _REGISTERED:
        return
    with _LOCK:
        if xp in _REGISTERED:
            return
        for sub, source in ((xp, np), (getattr(xp, "linalg", None), np.linalg)):
            if sub is not None:
                names = [n for n in dir(source)
                         if registry.lookup(getattr(source, n, None)) is not None]
                registry.instantiate_namespace(sub, names, source)
        _REGISTERED.add(xp)
