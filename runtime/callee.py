"""Opening a callable: the Python function behind it, with the arguments it
adds in front (a bound ``self``, a partial's arguments) and its keywords.

>>> import functools
>>> def f(a, b, c=0): return a + b + c
>>> unwrap(functools.partial(f, 1, c=3))[1:]
((1,), {'c': 3})
"""
import functools
import itertools
import types

from .core.lru import LRU
from .generated import register_source


def unwrap(fn):
    """``(function, leading arguments, keywords)`` behind the callable ``fn``,
    or None when it has no Python function behind it (a builtin, a ufunc).

    Bound methods give ``(function, (self,), {})``; callable objects
    ``(type(obj).__call__, (obj,), {})``; staticmethod/classmethod wrappers
    are opened; ``functools.lru_cache``/``cache`` give the wrapped function
    (the cache only saves recomputation); ``functools.partial`` gives the
    wrapped function with the partial's arguments first and its keywords.
    """
    if isinstance(fn, (staticmethod, classmethod)):
        fn = fn.__func__
    if isinstance(fn, types.MethodType):
        return fn.__func__, (fn.__self__,), {}
    if isinstance(fn, types.FunctionType):
        return fn, (), {}
    if isinstance(fn, functools.partial):
        inner = unwrap(fn.func)
        if inner is None:
            return None
        func, lead, keywords = inner
        return func, lead + tuple(fn.args), {**keywords, **fn.keywords}
    if type(fn) is _LRU_WRAPPER:
        return unwrap(fn.__wrapped__)
    call = getattr(type(fn), "__call__", None)
    if isinstance(call, types.FunctionType):
        return call, (fn,), {}
    return None


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
