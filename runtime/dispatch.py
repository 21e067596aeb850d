"""Calls from generated code into user code, resolved at call time.

``y, res = call_fwd(f, spec, *args, **kwargs)`` runs the forward sweep of
whatever ``f`` is *now* (a function, closure, bound method, callable
object, or a function with a rule) and returns its residuals;
``call_bwd(res, by)`` returns one gradient per entry of ``spec``:

* ``"fn"``: the callable itself (a closure's captured variables as a
  :class:`Struct`, or a bound method's ``self``);
* ``i`` (``>= 0``): the i-th positional argument; ``i < 0`` counts from the
  end, for arguments after a ``*sequence``;
* ``("*", i, n)``: the ``*sequence`` written at position ``i`` of ``n``
  positional arguments, as a tuple of gradients;
* ``"name"``: a keyword argument;
* ``("**", named)``: a ``**mapping``, as a dict over its keys (the keywords
  in ``named`` were written out separately).

Closures are read at call time, never at compile time, and each callee
is compiled once per (code object, active parameters, argument kinds).
"""
import inspect
import types

from . import implicit, registry
from .helpers import Struct, zeros_like

_VARARGS, _VARKW = 0x04, 0x08


def _compiler():
    from ad_compiler import compiler
    return compiler


def _constructor_fields(cls):
    """Field names a class's constructor arguments map to, or None.

    namedtuples and dataclasses (without ``__post_init__``) store each
    argument in the field of the same name, so the gradient of an argument
    is the gradient of its field.
    """
    if isinstance(cls, type) and issubclass(cls, tuple) and hasattr(cls, "_fields"):
        return tuple(cls._fields)
    import dataclasses
    if isinstance(cls, type) and dataclasses.is_dataclass(cls) and \
            not hasattr(cls, "__post_init__"):
        return tuple(f.name for f in dataclasses.fields(cls) if f.init)
    return None


class Target:
    """A callable opened up: its plain function, what it is bound to, or its rule."""

    __slots__ = ("func", "bound", "rule", "fields", "recompute")

    def __init__(self, fn):
        self.rule = registry.lookup(fn)
        self.bound = ()
        self.func = None
        self.fields = None
        self.recompute = False
        if self.rule is not None:
            return
        if type(fn).__name__ == "Checkpoint" and hasattr(fn, "fn"):
            inner = Target(fn.fn)
            for name in self.__slots__:
                setattr(self, name, getattr(inner, name))
            self.recompute = True
            return
        if isinstance(fn, type):
            self.fields = _constructor_fields(fn)
            if self.fields is None:
                from ad_compiler.errors import NoAdjointError
                raise NoAdjointError(
                    "cannot differentiate through the constructor of %s: build the object "
                    "outside the differentiated function, make it a dataclass or namedtuple, "
                    "or register a rule with @adjoint(%s)" % (fn.__qualname__, fn.__qualname__))
            return
        owner = getattr(fn, "__self__", None)
        if isinstance(fn, (types.BuiltinMethodType, types.MethodWrapperType)) and \
                owner is not None and not isinstance(owner, types.ModuleType):
            # ``x.sum`` where ``x`` was not known to be an array at compile time.
            self.rule = registry.lookup(getattr(type(owner), fn.__name__, None))
            if self.rule is None:
                raise _no_adjoint(fn)
            self.bound = (owner,)
            return
        if isinstance(fn, types.MethodType):
            self.func, self.bound = fn.__func__, (fn.__self__,)
        elif isinstance(fn, types.FunctionType):
            self.func = fn
        elif isinstance(fn, (staticmethod, classmethod)):
            self.func = fn.__func__
        elif isinstance(getattr(type(fn), "__call__", None), types.FunctionType):
            self.func, self.bound = type(fn).__call__, (fn,)
        else:
            raise _no_adjoint(fn)
        override = registry.lookup(self.func)
        if override is not None:
            self.rule = override


def _no_adjoint(fn):
    from ad_compiler.errors import NoAdjointError
    return NoAdjointError.for_function(fn, registry.qualified_name(fn))


# ---------------------------------------------------------------- binding

_SIGS = {}


def _signature(func):
    sig = _SIGS.get(func)
    if sig is None:
        sig = _SIGS[func] = inspect.signature(func, follow_wrapped=False)
    return sig


def _bind(func, args, kwargs):
    """Values for every parameter of ``func``, in order (``*args`` as a tuple,
    ``**kwargs`` as a dict)."""
    code = func.__code__
    if not kwargs and len(args) == code.co_argcount and not code.co_kwonlyargcount and \
            not (code.co_flags & (_VARARGS | _VARKW)):
        return list(args)
    ba = _signature(func).bind(*args, **kwargs)
    ba.apply_defaults()
    return [ba.arguments[p] for p in _signature(func).parameters]


def _param_of(func, where):
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
        raise TypeError("%s() takes %d positional arguments" % (func.__name__, n_pos))
    if where in names:
        return names.index(where), None
    return n_pos + n_kw + (1 if varargs else 0), where


def _slots(func, entry, n_bound, n_args, kwargs):
    """The parameter slots that one spec entry refers to (a list, or a dict for ``**``)."""
    if isinstance(entry, int):
        p = entry if entry >= 0 else n_args + entry
        return [_param_of(func, p + n_bound)]
    if isinstance(entry, str):
        return [_param_of(func, entry)]
    if entry[0] == "*":
        _, i, n = entry
        return [_param_of(func, p + n_bound) for p in range(i, n_args - (n - 1 - i))]
    named = set(entry[1])
    return {k: _param_of(func, k) for k in kwargs if k not in named}


class Res:
    """Residuals of one call: what ``call_bwd`` needs."""

    __slots__ = ("compiled", "inner", "out", "spec", "target", "args", "kwargs", "n_cells")

    def __init__(self, compiled, inner, out, spec, target, args, kwargs, n_cells):
        self.compiled, self.inner, self.out, self.spec = compiled, inner, out, spec
        self.target, self.args, self.kwargs, self.n_cells = target, args, kwargs, n_cells


# ---------------------------------------------------------------- the two sweeps

def call_fwd(fn, spec, *args, **kwargs):
    """Forward sweep of ``fn(*args, **kwargs)``: returns ``(out, residuals)``."""
    target = Target(fn)
    if target.rule is not None or target.fields is not None:
        out = fn(*args, **kwargs)
        return out, Res(None, None, out, spec, target, target.bound + args, kwargs, 0)
    func = target.func
    values = _bind(func, target.bound + args, kwargs)
    cells = [c.cell_contents for c in func.__closure__] if func.__closure__ else []
    params = implicit.current() is not None
    active = set()
    for entry in spec:
        if entry == "fn":
            if not params:              # in params mode a callee deposits its own cells
                active.update(range(len(cells)))
            if target.bound:
                active.add(len(cells))
            continue
        slots = _slots(func, entry, len(target.bound), len(args), kwargs)
        for index, _ in (slots.values() if isinstance(slots, dict) else slots):
            active.add(len(cells) + index)
    compiled = _compiler().vjp_function(func, tuple(sorted(active)), cells + values, params)
    if target.recompute:
        # checkpoint: keep only the inputs; call_bwd runs the forward sweep again.
        out = func(*values)
        return out, Res(compiled, cells + values, out, spec, target, args, kwargs, len(cells))
    out, inner = compiled.fwd(*cells, *values)
    return out, Res(compiled, inner, out, spec, target, args, kwargs, len(cells))


def call_bwd(res, g):
    """Gradients for the entries of the call's ``spec``, in order."""
    if g is None:
        g = zeros_like(res.out)
    if res.target.fields is not None:
        return _constructor_bwd(res, g)
    if res.compiled is None:
        return _rule_bwd(res, g)
    inner = res.inner
    if res.target.recompute:
        inner = res.compiled.fwd(*inner)[1]
    grads = dict(zip(res.compiled.active, res.compiled.bwd(inner, g)))
    func, n_bound, n_cells = res.target.func, len(res.target.bound), res.n_cells

    def slot(index, item):
        value = grads.get(n_cells + index)
        if item is None or value is None:
            return value
        return value[item] if isinstance(item, int) else value.get(item)

    out = []
    for entry in res.spec:
        if entry == "fn":
            out.append(_callable_grad(res, grads))
            continue
        slots = _slots(func, entry, n_bound, len(res.args), res.kwargs)
        if isinstance(slots, dict):
            out.append({k: slot(*s) for k, s in slots.items()})
        elif isinstance(entry, tuple):
            out.append(tuple(slot(*s) for s in slots))
        else:
            out.append(slot(*slots[0]))
    return tuple(out)


def _callable_grad(res, grads):
    """The gradient of the callable: ``self`` for a method, captured variables else."""
    if res.target.bound:
        return grads.get(res.n_cells)
    fields = {}
    for i, name in enumerate(res.target.func.__code__.co_freevars):
        if grads.get(i) is not None:
            fields[name] = grads[i]
    return Struct(fields) if fields else None


def _constructor_bwd(res, g):
    """Field gradients of a namedtuple/dataclass, sent back to its constructor arguments."""
    fields = res.target.fields

    def field(name):
        if g is None:
            return None
        if isinstance(g, Struct):
            return g.fields.get(name)
        if isinstance(g, dict):
            return g.get(name)
        if isinstance(g, tuple):
            i = fields.index(name)
            return g[i] if i < len(g) else None
        return getattr(g, name, None)

    out = []
    for entry in res.spec:
        if isinstance(entry, int):
            p = entry if entry >= 0 else len(res.args) + entry
            out.append(field(fields[p]) if p < len(fields) else None)
        elif isinstance(entry, str) and entry != "fn":
            out.append(field(entry))
        elif isinstance(entry, tuple) and entry[0] == "*":
            _, i, n = entry
            out.append(tuple(field(fields[p]) for p in range(i, len(res.args) - (n - 1 - i))))
        elif isinstance(entry, tuple):
            named = set(entry[1])
            out.append({k: field(k) for k in res.kwargs if k not in named})
        else:
            out.append(None)
    return tuple(out)


def _rule_bwd(res, g):
    """A function with a rule, called through a variable (``act(x)``)."""
    rule = res.target.rule
    n_bound = len(res.target.bound)
    if rule.nondiff:
        return tuple(None for _ in res.spec)
    if rule.vjp_all is not None:
        grads = rule.vjp_all(g, res.out, *res.args, **res.kwargs)
    else:
        wanted = {0 if e == "fn" else e + n_bound for e in res.spec if e == "fn" or
                  (isinstance(e, int) and e >= 0)}
        grads = [t(g, res.out, *res.args, **res.kwargs) if i in wanted and t is not None
                 else None for i, t in enumerate(rule.vjps or ())]
    out = []
    for entry in res.spec:
        index = 0 if entry == "fn" and n_bound else (entry + n_bound
                                                       if isinstance(entry, int) else None)
        out.append(grads[index] if index is not None and 0 <= index < len(grads) else None)
    return tuple(out)
