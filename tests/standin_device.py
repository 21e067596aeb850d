"""A stand-in for CuPy, so that CI (which has no GPU) covers the device path.

``DeviceArray`` holds a NumPy array that NumPy itself may not see, as a CuPy
array lives in GPU memory:

* ``np.asarray(d)`` raises ``TypeError`` (CuPy: "Implicit conversion to a
  NumPy array is not allowed"); ``d.get()`` copies to the host;
* mixing a host ``ndarray`` into a device operation raises ``TypeError``
  (CuPy: "Unsupported type <class 'numpy.ndarray'>");
* NumPy's functions reach the device namespace through ``__array_ufunc__``
  and ``__array_function__``, as CuPy's do, and reductions return 0-d device
  arrays, not NumPy scalars;
* ``d.__array_namespace__()`` is :data:`xp`, the device namespace, which
  counts the functions it ran (``xp.calls``) so a test can see who did the
  work.

>>> d = xp.asarray([1.0, 2.0])
>>> float(np.sum(d * 2))
6.0
"""
import collections
import types

import numpy as np

_HOST = ("asarray", "array", "asanyarray", "ascontiguousarray")   # may take host data


class DeviceArray:
    __slots__ = ("_a",)
    __array_priority__ = 100

    def __init__(self, a):
        assert isinstance(a, np.ndarray)
        self._a = a

    def __array_namespace__(self, api_version=None):
        return xp

    def __array__(self, *args, **kwargs):
        raise TypeError("Implicit conversion to a NumPy array is not allowed "
                        "(stand-in device array); use .get()")

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        fn = getattr(xp, ufunc.__name__)
        return fn(*inputs, **kwargs) if method == "__call__" else \
            getattr(fn, method)(*inputs, **kwargs)

    def __array_function__(self, func, types, args, kwargs):
        space = xp.linalg if func.__module__ == "numpy.linalg" else xp
        if not hasattr(np.linalg if space is xp.linalg else np, func.__name__):
            return NotImplemented
        return getattr(space, func.__name__)(*args, **kwargs)

    def get(self):
        return self._a.copy()

    def __getattr__(self, name):
        if name.startswith("__"):   # no __array_interface__: NumPy must not read the memory
            raise AttributeError(name)
        value = getattr(self._a, name)
        if callable(value):        # a bound method, as CuPy's are (``x.sum.__self__ is x``)
            return types.MethodType(_method(name), self)
        return _wrap(value)

    def __setitem__(self, index, value):
        xp.calls["__setitem__"] += 1
        self._a[_unwrap(index, index=True)] = _unwrap(value)

    def __getitem__(self, index):
        return _wrap(self._a[_unwrap(index, index=True)])

    def __len__(self):
        return len(self._a)

    def __iter__(self):
        return (self[i] for i in range(len(self._a)))

    def __bool__(self):
        return bool(self._a)

    def __float__(self):
        return float(self._a)

    def __int__(self):
        return int(self._a)

    def __index__(self):
        return self._a.__index__()

    def __complex__(self):
        return complex(self._a)

    def __repr__(self):
        return "DeviceArray(%r)" % (self._a,)


def _operator(name):
    def method(self, *args):
        xp.calls[name] += 1
        out = getattr(self._a, name)(*(_unwrap(a) for a in args))
        if name.startswith("__i") and name not in ("__invert__", "__index__"):
            return self                                  # in place: the same device array
        return _wrap(out)
    method.__name__ = name
    return method


for _name in ("add sub mul truediv floordiv mod pow matmul and or xor lshift rshift "
              "divmod").split():
    for _form in ("__%s__", "__r%s__", "__i%s__"):
        if _form == "__i%s__" and _name == "divmod":
            continue
        setattr(DeviceArray, _form % _name, _operator(_form % _name))
for _name in "neg pos abs invert lt le gt ge eq ne".split():
    setattr(DeviceArray, "__%s__" % _name, _operator("__%s__" % _name))
DeviceArray.__hash__ = None


def _unwrap(value, index=False):
    """The host array behind device values; a host ndarray is refused (CuPy's rule)."""
    if isinstance(value, DeviceArray):
        return value._a
    if isinstance(value, np.ndarray) and not index:
        raise TypeError("Unsupported type %r: a NumPy array mixed into a stand-in device "
                        "operation" % type(value))
    if isinstance(value, (tuple, list)):
        return type(value)(_unwrap(v, index) for v in value)
    if isinstance(value, dict):
        return {k: _unwrap(v, index) for k, v in value.items()}
    return value


def _wrap(value):
    """Results as device arrays: reductions give 0-d arrays, as CuPy's do."""
    if isinstance(value, np.ndarray):
        return DeviceArray(value)
    if isinstance(value, (np.number, np.bool_)):
        return DeviceArray(np.asarray(value))
    if isinstance(value, tuple) and not hasattr(value, "_fields"):
        return tuple(_wrap(v) for v in value)
    if isinstance(value, list):
        return [_wrap(v) for v in value]
    return value


def _device(fn, name, host=False):
    def run(*args, **kwargs):
        xp.calls[name] += 1
        if host:                    # a copy to the device, as CuPy's asarray makes of host data
            if isinstance(args[0], DeviceArray):
                out = fn(args[0]._a, *args[1:], **kwargs)
                return args[0] if out is args[0]._a else _wrap(out)
            return _wrap(np.array(fn(*args, **kwargs), copy=True))
        args, kwargs = _unwrap(args), _unwrap(kwargs)
        return _wrap(fn(*args, **kwargs))
    run.__name__ = name
    return run


def _method(name):
    def method(self, *args, **kwargs):
        return _device(getattr(self._a, name), name)(*args, **kwargs)
    method.__name__ = name
    return method


class _Ufunc:
    """A device ufunc: callable, with ``reduce``/``accumulate``/``outer``."""

    def __init__(self, ufunc):
        self._u = ufunc
        self.__name__ = ufunc.__name__
        self.nin, self.nout, self.identity = ufunc.nin, ufunc.nout, ufunc.identity

    def __call__(self, *args, **kwargs):
        return _device(self._u, self.__name__)(*args, **kwargs)

    def __getattr__(self, method):
        return _device(getattr(self._u, method), "%s.%s" % (self.__name__, method))


class _Namespace(types.ModuleType):
    """NumPy's names, run on device arrays (``calls`` counts them)."""

    def __init__(self, name, host):
        super().__init__(name)
        self._host = host
        self.calls = collections.Counter()

    def __getattr__(self, name):
        value = getattr(self._host, name)
        if isinstance(value, np.ufunc):
            value = _Ufunc(value)
        elif isinstance(value, types.ModuleType):
            value = _Namespace("%s.%s" % (self.__name__, name), value)
        elif callable(value) and not isinstance(value, type):
            value = _device(value, name, host=name in _HOST)
        setattr(self, name, value)                   # cached: one wrapper per name
        return value

    def __repr__(self):
        return "<stand-in device namespace %s>" % self.__name__


xp = _Namespace("standin_device", np)


def to_device(tree):
    """Every float array in nested lists/tuples/dicts moved to the device."""
    if isinstance(tree, np.ndarray):
        return xp.asarray(tree)
    if isinstance(tree, (list, tuple)):
        return type(tree)(to_device(t) for t in tree)
    if isinstance(tree, dict):
        return {k: to_device(v) for k, v in tree.items()}
    return tree


def to_host(tree):
    if isinstance(tree, DeviceArray):
        return tree.get()
    if isinstance(tree, (list, tuple)):
        return type(tree)(to_host(t) for t in tree)
    if isinstance(tree, dict):
        return {k: to_host(v) for k, v in tree.items()}
    return tree

