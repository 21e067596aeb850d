"""Moving models between the CPU and a GPU (Flux's ``gpu`` and ``cpu``), with
CuPy.  Without CuPy or a GPU, ``gpu`` warns once and returns the model as it
is, as Flux does without a GPU backend.

>>> import numpy as np
>>> cpu({"w": np.ones(2)})["w"]
array([1., 1.])
"""
import warnings

import numpy as np

from ad_compiler.runtime.core import registry
from ad_compiler.runtime.core.namespace import is_foreign_array, register_namespace

from .core import Walk

_state = {"cupy": None, "looked": False, "warned": False}


def _cupy():
    """The cupy module when it imports and sees a GPU, else None (looked up once)."""
    if not _state["looked"]:
        _state["looked"] = True
        try:
            import cupy
            if cupy.cuda.runtime.getDeviceCount() > 0:
                _state["cupy"] = cupy
        except Exception:           # no cupy, no driver, no device: all mean "no GPU"
            _state["cupy"] = None
    return _state["cupy"]


def to_array(x, dtype=None):
    """``np.asarray(x, dtype)``, except that an array of another library (CuPy)
    stays on its device; differentiated as ``np.asarray`` is.

    >>> to_array([1, 2], dtype=np.float32)
    array([1., 2.], dtype=float32)
    """
    if is_foreign_array(x):
        return x if dtype is None or x.dtype == dtype else x.astype(dtype)
    return np.asarray(x, dtype=dtype)


registry.copy_rule(to_array, np.asarray, "layers.to_array")


def to_host(x):
    """``x`` as a NumPy array, copied from its device if it lives on one.

    >>> to_host([1.0])
    array([1.])
    """
    if is_foreign_array(x):
        return x.get() if hasattr(x, "get") else np.from_dlpack(x)
    return np.asarray(x)


def to_namespace(model, xp):
    """``model`` with every numeric NumPy array moved to the array library
    ``xp`` (``xp.asarray``; ties kept), whose functions then get NumPy's rules.
    :func:`gpu` is ``to_namespace(model, cupy)``."""
    register_namespace(xp)
    return Walk(model).map(xp.asarray, lambda a: isinstance(a, np.ndarray)
                           and a.dtype.kind in "biufc")


def gpu(model):
    """``model`` with every numeric NumPy array moved to the GPU (as CuPy
    arrays, ties kept); without a usable GPU, warns once per process and
    returns ``model`` itself.

    >>> import numpy as np, warnings
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("ignore")
    ...     m = gpu({"w": np.ones(2)})
    >>> sorted(m)
    ['w']
    """
    cupy = _cupy()
    if cupy is None:
        if not _state["warned"]:
            _state["warned"] = True
            warnings.warn("gpu: no usable GPU (CuPy is not installed or sees no device); "
                          "the model stays on the CPU", RuntimeWarning, stacklevel=2)
        return model
    return to_namespace(model, cupy)


def cpu(model):
    """``model`` with every device array (CuPy's...) copied back to a NumPy array.

    >>> import numpy as np
    >>> cpu([np.zeros(1)])
    [array([0.])]
    """
    return Walk(model).map(to_host, is_foreign_array)
