"""Moving models between the CPU and a GPU (Flux's ``gpu`` and ``cpu``), with
CuPy.  Without CuPy or a GPU, ``gpu`` warns once and returns the model as it
is, as Flux does without a GPU backend.

>>> import numpy as np
>>> cpu({"w": np.ones(2)})["w"]
array([1., 1.])
"""
import warnings

import numpy as np

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


def _is_gpu_array(x):
    return hasattr(x, "__cuda_array_interface__") and not isinstance(x, np.ndarray)


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
    return Walk(model).map(cupy.asarray, lambda a: isinstance(a, np.ndarray)
                           and a.dtype.kind in "biufc")


def cpu(model):
    """``model`` with every GPU array copied back to a NumPy array.

    >>> import numpy as np
    >>> cpu([np.zeros(1)])
    [array([0.])]
    """
    return Walk(model).map(lambda a: a.get(), _is_gpu_array)
