"""Opening a callable (:class:`Callee`): its rule, or the Python function
behind it with the arguments it adds in front (a bound ``self``, a
partial's arguments) and its keywords; and the static callers that let a
rule be inlined (:func:`static_call`).
"""
import dataclasses
import functools
import itertools
import types

import numpy as np

from .core import registry
from .core.lru import LRU
from .core.namespace import is_foreign_array
from .generated import register_source


class Callee:
    """A callable opened up: the one place that does it, for every way a
    callable reaches a transform or a call in generated code.

    * ``rule``: the registered rule, which always wins (a function's
      ``@adjoint`` overrides its source; a builtin, a ufunc);
    * ``func``: the plain Python function to compile, and ``bound``: the
      arguments it takes in front (a method's ``self``, a callable object, a
      ``functools.partial``'s arguments), ``keywords``: a partial's keywords;
    * ``fields``: a namedtuple or dataclass called to build an object (its
      arguments are its fields);
    * ``recompute``: a :class:`Checkpoint` (the forward sweep runs again);
    * ``problem``: why it cannot be opened (``"partial"``, ``"class"``,
      ``"opaque"``), else None.

    ``grad(f)`` objects open as their plain twin; ``functools.lru_cache`` as
    the function it wraps (the cache only saves recomputation).

    >>> import functools
    >>> def f(a, b, c=0): return a + b + c
    >>> c = Callee(functools.partial(f, 1, c=3))
    >>> c.func is f, c.bound, c.keywords
    (True, (1,), {'c': 3})
    """

    __slots__ = ("fn", "func", "bound", "keywords", "rule", "fields", "recompute", "problem")

    def __init__(self, fn):
        fn = getattr(fn, "__ad_twin__", fn)
        self.fn, self.func, self.bound, self.keywords = fn, None, (), None
        self.fields, self.recompute, self.problem = None, False, None
        self.rule = registry.lookup(fn)
        if self.rule is None:
            self._open(fn)

    def _open(self, fn):
        if type(fn) is _LRU_WRAPPER:
            self._copy(Callee(fn.__wrapped__))
        elif isinstance(fn, functools.partial):
            self._open_partial(fn)
        elif type(fn) is Checkpoint:
            self._copy(Callee(fn.fn))
            self.recompute = True
        elif isinstance(fn, type):
            self.fields = constructor_fields(fn)
            self.problem = "class" if self.fields is None else None
        else:
            self._open_callable(fn)
            if self.func is not None:
                # a method or callable object whose plain function has a rule
                self.rule = registry.lookup(self.func)

    def _open_partial(self, fn):
        inner = Callee(fn.func)
        if inner.func is None or inner.rule is not None or inner.recompute or inner.keywords:
            self.problem = "partial"
            return
        self.func, self.bound, self.keywords = inner.func, inner.bound + fn.args, fn.keywords

    def _open_callable(self, fn):
        owner = getattr(fn, "__self__", None)
        if owner is not None and not isinstance(owner, types.ModuleType) and (
                isinstance(fn, (types.BuiltinMethodType, types.MethodWrapperType))
                or is_foreign_array(owner)):
            # ``x.sum`` where ``x`` was not known to be an array at compile time
            self.rule, self.bound = method_rule(owner, fn.__name__), (owner,)
            self.problem = "opaque" if self.rule is None else None
        elif isinstance(fn, types.MethodType):
            self.func, self.bound = fn.__func__, (fn.__self__,)
        elif isinstance(fn, types.FunctionType):
            self.func = fn
        elif isinstance(fn, (staticmethod, classmethod)):
            self.func = fn.__func__
        elif isinstance(getattr(type(fn), "__call__", None), types.FunctionType):
            self.func, self.bound = type(fn).__call__, (fn,)
        else:
            self.problem = "opaque"

    def _copy(self, inner):
        for name in Callee.__slots__:          # (a subclass's own __slots__ is empty)
            if name != "fn":
                setattr(self, name, getattr(inner, name))

    def kwargs(self, kwargs):
        """The keywords of a call: a partial's, then the call's."""
        return {**self.keywords, **kwargs} if self.keywords else kwargs


def unwrap(fn):
    """``(function, leading arguments, keywords)`` to compile for the callable
    ``fn``, or None when its rule (or nothing) stands for it: a builtin, a
    ufunc, a function with ``@adjoint``.  See :class:`Callee`.

    >>> import functools
    >>> def f(a, b, c=0): return a + b + c
    >>> unwrap(functools.partial(f, 1, c=3))[1:]
    ((1,), {'c': 3})
    """
    c = Callee(fn)
    if c.func is None or c.rule is not None or c.recompute:
        return None
    return c.func, c.bound, c.keywords or {}


def constructor_fields(cls):
    """Field names a class's constructor arguments map to, or None.

    namedtuples and dataclasses (without ``__post_init__``) store each
    argument in the field of the same name, so the gradient of an argument
    is the gradient of its field.
    """
    if issubclass(cls, tuple) and hasattr(cls, "_fields"):
        return tuple(cls._fields)
    if dataclasses.is_dataclass(cls) and not hasattr(cls, "__post_init__"):
        return tuple(f.name for f in dataclasses.fields(cls) if f.init)
    return None


def method_rule(owner, name):
    """The rule of ``owner.name``; a CuPy array's method has the rule of NumPy's
    method of that name (the rules call NumPy functions, which CuPy takes)."""
    rule = registry.lookup(getattr(type(owner), name, None))
    if rule is None and is_foreign_array(owner):
        rule = registry.lookup(getattr(np.ndarray, name, None))
    return rule


_LRU_WRAPPER = type(functools.lru_cache(maxsize=None)(lambda: None))


_NUMBERS = itertools.count()
_STATIC = LRU(1024)     # (id(fn), n_args, keywords) -> (fn, its static caller)


def static_call(fn, n_args, keywords=()):
    """A plain function calling ``fn`` by a global name, so its rule is inlined.

    ``gradient(np.sin, x)`` and ``hessian(np.sin, x)`` differentiate
    ``def apply_sin(_a0): return _fn(_a0)`` like any user function.
    """
    key = (id(fn), n_args, keywords)
    got = _STATIC.get(key)
    if got is not None and got[0] is fn:
        return got[1]
    name = "apply_" + "".join(c if c.isalnum() else "_" for c in
                              getattr(fn, "__name__", "fn"))
    params = ["_a%d" % i for i in range(n_args)] + list(keywords)
    call = ["_a%d" % i for i in range(n_args)] + ["%s=%s" % (k, k) for k in keywords]
    text = "def %s(%s):\n    return _fn(%s)\n" % (name, ", ".join(params), ", ".join(call))
    # (a counter, not the cache's size: a file name is never reused for other text)
    filename = "<ad_compiler apply %s %d>" % (name, next(_NUMBERS))
    register_source(filename, text)         # (kept for after linecache.clearcache())
    namespace = {"_fn": fn}
    exec(compile(text, filename, "exec"), namespace)
    func = namespace[name]
    func.__ad_source__ = text
    _STATIC[key] = (fn, func)
    return func


class Checkpoint:
    """A function whose forward sweep is recomputed during the adjoint
    (``ad_compiler.checkpoint(fn)``).

    Nothing inside it is stored for the adjoint; only its inputs are kept.
    It lives here, with the other ways of opening a callable, so that the
    runtime recognises it by type.
    """

    __slots__ = ("fn", "__wrapped__")

    def __init__(self, fn):
        self.fn = fn
        self.__wrapped__ = fn

    def __call__(self, *args, **kwargs):
        return self.fn(*args, **kwargs)

    def __repr__(self):
        return "checkpoint(%r)" % (self.fn,)
