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

import numpy as np

from . import entry as _entry, helpers, implicit
from .binding import bind, param_of
from . import spec as _spec
from .callee import Callee, static_call
from .core import registry
from .core.namespace import is_foreign_array
from .core.errors import NoAdjointError, UnsupportedDerivativeError, public_name, user_site
from .helpers import Struct, zeros_like

_CALLERS = {}


def _method_caller(name):
    """``caller(x, *args)`` calling ``x.name(*args)``, with the rule of NumPy's
    ``ndarray.name``: a CuPy array's method called by value."""
    caller = _CALLERS.get(name)
    if caller is None:
        def caller(self, *args, **kwargs):
            return getattr(self, name)(*args, **kwargs)
        caller.__name__ = caller.__qualname__ = name
        registry.copy_rule(caller, getattr(np.ndarray, name), "ndarray." + name)
        caller = _CALLERS.setdefault(name, caller)
    return caller


class Target(Callee):
    """A callable called from generated code, opened (:class:`Callee`); one
    that cannot be differentiated raises here, saying what to do instead."""

    __slots__ = ()

    def __init__(self, fn):
        super().__init__(fn)
        if self.problem is not None:
            raise _cannot_open(self.fn, self.problem)

    def stored(self):
        """This target without recomputation (checkpoint's plain twin)."""
        out = object.__new__(Target)
        for name in Callee.__slots__:
            setattr(out, name, getattr(self, name))
        out.recompute = False
        return out


def _cannot_open(fn, problem):
    if problem == "class":
        return NoAdjointError(
            "cannot differentiate through the constructor of %s: build the object "
            "outside the differentiated function, make it a dataclass or namedtuple, "
            "or register a rule with @adjoint(%s)" % (fn.__qualname__, fn.__qualname__))
    if problem == "partial":
        name = public_name(fn.func)
        return NoAdjointError(
            "%scannot differentiate functools.partial(%s, ...): only a partial of Python code "
            "is differentiated through (with its bound arguments); write a def or lambda "
            "that calls %s with those arguments, or register a rule with @adjoint(%s)"
            % ((user_site() or "") + ": " if user_site() else "", name, name, name))
    return _no_adjoint(fn)


def cell_values(func):
    """The closure values that are inputs of ``func``'s generated code.

    Generated functions close over the runtime names they use (constants),
    so they have none.
    """
    if not func.__closure__ or getattr(func, "__ad_generated__", False):
        return []
    return [c.cell_contents for c in func.__closure__]


def _check_partial_not_differentiated(fn, target):
    """A partial's bound arguments have no place in the callable's gradient."""
    if target.keywords is not None and (target.bound or target.keywords):
        raise UnsupportedDerivativeError(
            "the gradient with respect to the arguments bound by %r is not supported; pass "
            "them to the call instead of binding them with functools.partial" % (fn,))


def _no_adjoint(fn):
    return NoAdjointError.for_function(fn, registry.qualified_name(fn))


# ---------------------------------------------------------------- binding

_bind, _param_of = bind, param_of       # (their names here before runtime.binding)


def _slots(func, entry, n_bound, n_args, kwargs):
    """``(form, {place: parameter slot})`` of one spec entry (see :mod:`.spec`)."""
    form, where = _spec.places(entry, n_args, kwargs)
    return form, {p: _param_of(func, p + n_bound if isinstance(p, int) else p) for p in where}


class Meta:
    """What ``call_bwd`` needs besides the saved values: a constant, never differentiated.

    A call's residual is the pair ``(meta, inner)``, where ``inner`` is the
    callee's own tuple of saved values; its tangent is ``(None, d_inner)``.
    """

    __slots__ = ("compiled", "out", "spec", "target", "args", "kwargs", "n_cells")

    def __init__(self, compiled, out, spec, target, args, kwargs, n_cells):
        self.compiled, self.out, self.spec = compiled, out, spec
        self.target, self.args, self.kwargs, self.n_cells = target, args, kwargs, n_cells


# ---------------------------------------------------------------- the two sweeps

def call_fwd(fn, spec, *args, **kwargs):
    """Forward sweep of ``fn(*args, **kwargs)``: returns ``(out, residuals)``."""
    fn, spec, args = as_function(fn, spec, args, kwargs)
    target = Target(fn)
    if target.fields is not None:
        out = fn(*args, **kwargs)
        return out, (Meta(None, out, spec, target, target.bound + args, kwargs, 0), None)
    func = target.func
    values = _bind(func, target.bound + args, target.kwargs(kwargs))
    cells = cell_values(func)
    params = implicit.current() is not None
    active = set()
    for entry in spec:
        if entry == "fn":
            _check_partial_not_differentiated(fn, target)
            if not params:              # in params mode a callee deposits its own cells
                active.update(range(len(cells)))
            if target.bound:
                active.add(len(cells))
            continue
        _, slots = _slots(func, entry, len(target.bound), len(args), kwargs)
        for index, _ in slots.values():
            active.add(len(cells) + index)
    compiled = _entry.compiler.vjp_function(func, tuple(sorted(active)), cells + values, params)
    if target.recompute:
        # checkpoint: keep only the inputs; call_bwd runs the forward sweep again.
        out = func(*values)
        return out, (Meta(compiled, out, spec, target, args, kwargs, len(cells)),
                     tuple(cells + values))
    out, inner = compiled.fwd(*cells, *values)
    return out, (Meta(compiled, out, spec, target, args, kwargs, len(cells)), inner)


def call_bwd(res, g):
    """Gradients for the entries of the call's ``spec``, in order."""
    res, inner = res
    if g is None:
        g = zeros_like(res.out)
    if res.target.fields is not None:
        return constructor_grads(res, g)
    if res.target.recompute:
        inner = res.compiled.fwd(*inner)[1]
    return spec_grads(res, res.compiled.bwd(inner, g))


def spec_grads(res, raw):
    """The callee's input gradients ``raw`` rearranged per entry of the call's spec."""
    grads = dict(zip(res.compiled.active, raw))
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
        form, slots = _slots(func, entry, n_bound, len(res.args), res.kwargs)
        out.append(_spec.gathered(form, list(slots), lambda p: slot(*slots[p])))
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


def constructor_grads(res, g):
    """Field gradients of a namedtuple/dataclass, sent back to its constructor
    arguments (linear in ``g``; see rules.runtime)."""
    fields = res.target.fields

    def field(name):
        if isinstance(g, tuple):          # a namedtuple's gradient: by position
            i = fields.index(name)
            return g[i] if i < len(g) else None
        return helpers.field(g, name)

    def at(place):                      # a position is its field's, a keyword names one
        if isinstance(place, int):
            return field(fields[place]) if place < len(fields) else None
        return field(place)

    out = []
    for entry in res.spec:
        if entry == "fn":
            out.append(None)
            continue
        form, where = _spec.places(entry, len(res.args), res.kwargs)
        out.append(_spec.gathered(form, where, at))
    return tuple(out)


def as_function(fn, spec, args, kwargs):
    """A function with a rule, called by value (``act(x)``, ``x.sum()`` of unknown
    kind), becomes a plain function calling it by a global name, so that one
    code path serves every callee.  Returns ``(fn, spec, args)``, adjusted."""
    target = Target(fn)
    if target.rule is None or target.fields is not None:
        return fn, spec, args
    callee = rule_callee(target)
    if target.bound:
        args = target.bound + tuple(args)
        spec = tuple(_spec.shifted(e) for e in spec)
    return static_call(callee, len(args), tuple(kwargs)), spec, args


def rule_callee(target):
    """What a call of ``target`` (which has a rule) calls, by a global name, so
    that the rule is inlined: the rule's primal (``checkpoint(np.tanh)`` is
    ``np.tanh``: nothing to recompute), taking a bound receiver first."""
    callee = target.rule.primal
    if target.bound and is_foreign_array(target.bound[0]):   # NumPy's method cannot take it
        callee = _method_caller(callee.__name__)
    return callee
