"""Calls from generated code into user code, resolved at call time.

``y, res = call_fwd(f, spec, *args)`` runs the forward sweep of whatever
``f`` is *now* (a function, closure, bound method, callable object or a
function with a rule) and returns its residuals; ``call_bwd(res, by)``
returns the gradients for the entries of ``spec``: argument positions,
keyword names, and ``-1`` for the callable itself (the gradient of a
closure's captured variables, or of a bound method's ``self``).

Closures are read at call time, never at compile time, and each callee
is compiled once per (code object, active parameters, argument kinds).
"""
import inspect
import types

from . import registry
from .helpers import Struct, zeros_like


def _compiler():
    from ad_compiler import compiler
    return compiler


class Target:
    """A callable opened up: plain function, the object it is bound to, cells."""

    __slots__ = ("func", "bound", "rule")

    def __init__(self, fn):
        self.rule = registry.lookup(fn)
        self.bound = None
        self.func = None
        if self.rule is not None:
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


def _bind(func, args, kwargs):
    """Values for every parameter of ``func``, in order, and their names."""
    code = func.__code__
    n = code.co_argcount
    simple = not kwargs and len(args) == n and not (code.co_flags & 0x0C) and \
        not code.co_kwonlyargcount
    if simple:
        return list(args)
    sig = _signature(func)
    ba = sig.bind(*args, **kwargs)
    ba.apply_defaults()
    return [ba.arguments[p] if p in ba.arguments else () for p in sig.parameters]


_SIGS = {}


def _signature(func):
    sig = _SIGS.get(func)
    if sig is None:
        sig = _SIGS[func] = inspect.signature(func, follow_wrapped=False)
    return sig


def _param_of(func, spec_entry, n_args_before_star):
    """The parameter index (and item inside it) a spec entry refers to."""
    code = func.__code__
    names = code.co_varnames[:code.co_argcount + code.co_kwonlyargcount]
    has_varargs = bool(code.co_flags & 0x04)
    if isinstance(spec_entry, int):
        if spec_entry < code.co_argcount:
            return spec_entry, None
        if has_varargs:
            return code.co_argcount + code.co_kwonlyargcount, spec_entry - code.co_argcount
        raise TypeError("too many positional arguments")
    if spec_entry in names:
        return names.index(spec_entry), None
    kw_index = code.co_argcount + code.co_kwonlyargcount + (1 if has_varargs else 0)
    return kw_index, spec_entry


class Res:
    """Residuals of one call: what ``call_bwd`` needs."""

    __slots__ = ("compiled", "inner", "out", "spec", "target", "args", "kwargs", "n_cells",
                 "n_bound", "values")

    def __init__(self, **kw):
        for k, v in kw.items():
            setattr(self, k, v)


def call_fwd(fn, spec, *args, **kwargs):
    """Forward sweep of ``fn(*args, **kwargs)``: returns ``(out, residuals)``."""
    target = Target(fn)
    if target.rule is not None:
        out = fn(*args, **kwargs)
        bound = target.bound or ()
        return out, Res(compiled=None, inner=None, out=out, spec=spec, target=target,
                        args=bound + tuple(args), kwargs=kwargs, n_cells=0,
                        n_bound=len(bound), values=None)
    func = target.func
    bound = target.bound or ()
    if _expand_starred(spec):
        args = tuple(args)
    values = _bind(func, bound + tuple(args), kwargs)
    cells = [c.cell_contents for c in func.__closure__] if func.__closure__ else []
    active = _active_params(func, spec, len(bound), len(cells))
    compiled = _compiler().vjp_function(func, active, cells + values)
    out, inner = compiled.fwd(*cells, *values)
    return out, Res(compiled=compiled, inner=inner, out=out, spec=spec, target=target,
                    args=args, kwargs=kwargs, n_cells=len(cells), n_bound=len(bound),
                    values=cells + values)


def _expand_starred(spec):
    return any(isinstance(s, str) and s.startswith("*") for s in spec)


def _active_params(func, spec, n_bound, n_cells):
    """Indices (over cells + parameters) of the inputs a gradient is wanted for."""
    active = set()
    code = func.__code__
    for entry in spec:
        if entry == -1:
            active.update(range(n_cells))
            if n_bound:
                active.add(n_cells)
            continue
        if isinstance(entry, str) and entry.startswith("*"):
            start = int(entry[1:]) + n_bound
            active.update(n_cells + i for i in range(start, code.co_argcount))
            if code.co_flags & 0x04:
                active.add(n_cells + code.co_argcount + code.co_kwonlyargcount)
            continue
        if isinstance(entry, int):
            entry += n_bound
        index, _ = _param_of(func, entry, 0)
        active.add(n_cells + index)
    return tuple(sorted(active))


def call_bwd(res, g):
    """Gradients for the entries of the call's ``spec``, in order."""
    if g is None:
        g = zeros_like(res.out)
    if res.compiled is None:
        return _rule_bwd(res, g)
    grads = res.compiled.bwd(res.inner, g)
    by_input = dict(zip(res.compiled.active, grads))
    out = []
    func = res.target.func
    code = func.__code__
    for entry in res.spec:
        if entry == -1:
            out.append(_callable_grad(res, by_input))
            continue
        if isinstance(entry, str) and entry.startswith("*"):
            out.append(_starred_grad(res, int(entry[1:]), by_input))
            continue
        if isinstance(entry, int):
            entry += res.n_bound
        index, item = _param_of(func, entry, 0)
        g_param = by_input.get(res.n_cells + index)
        if item is not None and g_param is not None:
            g_param = g_param[item] if isinstance(entry, int) else g_param.get(item)
        out.append(g_param)
    return tuple(out)


def _callable_grad(res, by_input):
    func = res.target.func
    if res.n_bound:
        return by_input.get(res.n_cells)
    fields = {}
    for i, name in enumerate(func.__code__.co_freevars):
        g = by_input.get(i)
        if g is not None:
            fields[name] = g
    return Struct(fields) if fields else None


def _starred_grad(res, start, by_input):
    func = res.target.func
    code = func.__code__
    grads = []
    n_pos = code.co_argcount
    for i in range(start + res.n_bound, n_pos):
        grads.append(by_input.get(res.n_cells + i))
    if code.co_flags & 0x04:
        var = by_input.get(res.n_cells + n_pos + code.co_kwonlyargcount)
        grads.extend(var if var is not None else [None] * (len(res.args) - len(grads) - start))
    return tuple(grads)


def _rule_bwd(res, g):
    """A function with a rule, called through a variable (``act(x)``)."""
    rule = res.target.rule
    if rule.nondiff:
        return tuple(None for _ in res.spec)
    if rule.vjp_all is not None:
        grads = rule.vjp_all(g, res.out, *res.args, **res.kwargs)
    else:
        wanted = {(0 if e == -1 else e + res.n_bound) for e in res.spec if isinstance(e, int)}
        grads = []
        for i, t in enumerate(rule.vjps or ()):
            want = i in wanted and t is not None
            grads.append(t(g, res.out, *res.args, **res.kwargs) if want else None)
    out = []
    for entry in res.spec:
        if entry == -1 and res.n_bound:
            entry = 0
        elif isinstance(entry, int):
            entry += res.n_bound
        out.append(grads[entry] if isinstance(entry, int) and 0 <= entry < len(grads)
                   else None)
    return tuple(out)
