"""Binding a call's arguments to a function's parameters, as Python does.

``bind(func, args, kwargs)`` gives one value per parameter of ``func``
(``*args`` as a tuple, ``**kwargs`` as a dict), with the defaults read from
the function at call time: they are inputs of its generated code, never
remembered.  A call that does not fit raises ``ArgumentError`` (a
``TypeError``) naming the call site, the signature and the definition.
"""
import inspect

from .core.errors import ArgumentError, function_name, user_site, where_defined

_VARARGS, _VARKW = 0x04, 0x08

_EMPTY = object()


def bind(func, args, kwargs):
    """Values for every parameter of ``func``, in order (``*args`` as a tuple,
    ``**kwargs`` as a dict).

    Defaults are read from the function now (``__defaults__``,
    ``__kwdefaults__``), never remembered: they are inputs of its code.
    """
    code = func.__code__
    n_pos, flags = code.co_argcount, code.co_flags
    if not kwargs and len(args) == n_pos and not code.co_kwonlyargcount and \
            not (flags & (_VARARGS | _VARKW)):
        return list(args)
    n_all, names = n_pos + code.co_kwonlyargcount, code.co_varnames
    values = list(args[:n_pos]) + [_EMPTY] * (n_all - min(len(args), n_pos))
    if len(args) > n_pos and not flags & _VARARGS:
        raise bind_error(func, args, kwargs, "too many positional arguments")
    rest = {}
    for k, v in kwargs.items():
        i = names.index(k, code.co_posonlyargcount, n_all) if k in \
            names[code.co_posonlyargcount:n_all] else -1
        if i < 0 and not flags & _VARKW:
            raise bind_error(func, args, kwargs, "unexpected keyword argument %r" % k)
        if i >= 0 and values[i] is not _EMPTY:
            raise bind_error(func, args, kwargs, "multiple values for argument %r" % k)
        if i < 0:
            rest[k] = v
        else:
            values[i] = v
    _fill_defaults(func, values, args, kwargs)
    if flags & _VARARGS:
        values.append(tuple(args[n_pos:]))
    if flags & _VARKW:
        values.append(rest)
    return values


def _fill_defaults(func, values, args, kwargs):
    code = func.__code__
    n_pos, names = code.co_argcount, code.co_varnames
    defaults, kwdefaults = func.__defaults__ or (), func.__kwdefaults__ or {}
    first = n_pos - len(defaults)
    missing = []
    for i, v in enumerate(values):
        if v is not _EMPTY:
            continue
        if first <= i < n_pos:
            values[i] = defaults[i - first]
        elif i >= n_pos and names[i] in kwdefaults:
            values[i] = kwdefaults[names[i]]
        else:
            missing.append(names[i])
    if missing:
        raise bind_error(func, args, kwargs, "missing %s %s" % (
            "argument" if len(missing) == 1 else "arguments", ", ".join(map(repr, missing))))


def bind_error(func, args, kwargs, problem):
    """An ArgumentError (a TypeError) naming the call site, ``func``'s signature
    and where it is defined."""
    try:
        sig = str(inspect.signature(func, follow_wrapped=False))
    except (TypeError, ValueError):
        sig = "(...)"
    given = "%d positional argument%s" % (len(args), "" if len(args) == 1 else "s")
    if kwargs:
        given += " and keyword%s %s" % ("" if len(kwargs) == 1 else "s", ", ".join(kwargs))
    site = user_site()
    name = function_name(func)
    return ArgumentError("%s%s%s was called with %s: %s; pass one value per parameter of "
                         "%s%s (defined at %s)"
                         % (site + ": " if site else "", name, sig, given, problem, name, sig,
                            where_defined(func)))


def param_of(func, where):
    """The parameter slot of a positional index or keyword name: (index, item).

    ``item`` is the position inside ``*args`` or the key inside ``**kwargs``
    when the argument lands there, else None.
    """
    code = func.__code__
    n_pos, n_kw = code.co_argcount, code.co_kwonlyargcount
    names = code.co_varnames[:n_pos + n_kw]
    varargs = bool(code.co_flags & _VARARGS)
    if isinstance(where, int):
        if where < n_pos:
            return where, None
        if varargs:
            return n_pos + n_kw, where - n_pos
        raise bind_error(func, (None,) * (where + 1), {}, "too many positional arguments")
    if where in names:
        return names.index(where), None
    return n_pos + n_kw + (1 if varargs else 0), where
