"""Applying a callable as generated code, and forward mode through callees.

:func:`resolve` says which *generated* Python function, with which explicit
inputs, applying a callable amounts to (a :class:`Wrapper` resolves itself);
:func:`call_jvp` runs its forward-mode code.  The wrappers that turn
derivatives of generated code into more ``call_jvp`` calls are in
:mod:`.transforms`.
"""
import functools

import numpy as np

from . import dispatch as d, entry as _entry, spec as _spec
from .callee import static_call
from .core.tree import Struct
from .dispatch import Target, _check_partial_not_differentiated, as_function
from .helpers import zeros_like


class Applied:
    """``fn(*args)`` as ``func(*inputs)`` for a generated or user ``func``.

    ``tangents(t_fn, t_args, t_kwargs)`` maps the tangents of the callable and
    of the arguments to tangents of ``inputs``; ``adapt(out, dout)`` turns
    ``func``'s raw output and its tangent into the application's, and
    ``adapt_tangent(dout)`` the tangent alone (for tangent-only code).
    """

    __slots__ = ("func", "inputs", "tangents", "adapt", "call", "cells", "adapt_tangent")

    def __init__(self, func, inputs, tangents, adapt, call, cells=(), adapt_tangent=None):
        self.func, self.inputs, self.tangents, self.adapt, self.call = \
            func, inputs, tangents, adapt, call
        self.cells = tuple(cells)      # names of the leading inputs that are closure cells
        self.adapt_tangent = adapt_tangent


def _same(out, dout):
    return out, dout


def _itself(dout):
    return dout


def resolve(fn, args, kwargs):
    """The :class:`Applied` form of ``fn(*args, **kwargs)``."""
    if isinstance(fn, Wrapper):
        return fn.resolve(args, kwargs)
    target = d.Target(fn)
    if target.func is None or target.rule is not None:     # (a rule wins over source)
        if target.rule is not None and target.fields is None and not target.bound:
            return resolve(static_call(target.rule.primal, len(args), tuple(kwargs)), args,
                           kwargs)
        if target.rule is not None and target.fields is None:
            return _bound_rule(target, args, kwargs)
        return None                     # a constructor: handled by the caller
    func = target.func
    values = d._bind(func, target.bound + args, target.kwargs(kwargs))
    cells = d.cell_values(func)
    n_cells, n_bound = len(cells), len(target.bound)

    def tangents(t_fn, t_args, t_kwargs):
        out = [None] * (n_cells + len(values))
        if t_fn is not None:
            if n_bound:
                out[n_cells] = t_fn
            elif t_fn is True:             # a marker: every captured variable
                out[:n_cells] = [True] * n_cells
            elif isinstance(t_fn, Struct):
                for i, name in enumerate(func.__code__.co_freevars[:n_cells]):
                    out[i] = t_fn.fields.get(name)
        places = {}
        for p, t in t_args.items():
            index, item = d._param_of(func, p + n_bound)
            _put(places, n_cells + index, item, t, values[index])
        for k, t in t_kwargs.items():
            index, item = d._param_of(func, k)
            _put(places, n_cells + index, item, t, values[index])
        for i, t in places.items():
            out[i] = t
        return out

    return Applied(func, cells + values, tangents, _same, lambda: fn(*args, **kwargs),
                   func.__code__.co_freevars[:n_cells], _itself)


def _bound_rule(target, args, kwargs):
    """``d.values()``, a method with a rule bound to its receiver, as the
    call ``type(d).values(d)``: the tangent of the bound method is the
    receiver's (a constant bound method would lose it at the next order)."""
    bound = target.bound
    inner = resolve(static_call(d.rule_callee(target), len(bound) + len(args), tuple(kwargs)),
                    tuple(bound) + tuple(args), kwargs)

    def tangents(t_fn, t_args, t_kwargs):
        shifted = {p + len(bound): t for p, t in t_args.items()}
        if t_fn is not None:
            shifted[0] = t_fn
        return inner.tangents(None, shifted, t_kwargs)

    return Applied(inner.func, inner.inputs, tangents, inner.adapt, inner.call, inner.cells,
                   inner.adapt_tangent)


def jvp_applied(applied, input_tangents, tangent_only=False):
    """Run the forward-mode code of an applied function: ``(out, dout)`` adapted,
    or with ``tangent_only`` the tangent alone, from code that skips whatever
    only the primal output needed."""
    inputs = applied.inputs
    active = tuple(i for i, t in enumerate(input_tangents) if t is not None)
    if not active:
        out = _call_checked(applied, inputs)
        return zeros_like(out) if tangent_only else (out, zeros_like(out))
    tans = [_materialise(input_tangents[i], inputs[i]) for i in active]
    if tangent_only and applied.adapt_tangent is not None:
        compiled = _entry.compiler.jvp_function(applied.func, active, inputs, tangent_only=True)
        return applied.adapt_tangent(compiled.jvp(*inputs, *tans))
    compiled = _entry.compiler.jvp_function(applied.func, active, inputs)
    out, dout = compiled.jvp(*inputs, *tans)
    result = applied.adapt(out, dout)
    return result[1] if tangent_only else result


def _call_checked(applied, inputs):
    """A call with no tangents still runs the callee's compiled code when it
    receives arrays or containers: compiling refuses a callee that changes
    its arguments, which its caller (differentiated) would not see."""
    if getattr(applied.func, "__code__", None) is None or getattr(
            applied.func, "__ad_generated__", False) or not any(
            isinstance(v, (np.ndarray, list, dict)) for v in inputs):
        return applied.call()
    compiled = _entry.compiler.jvp_function(applied.func, (), inputs)
    return applied.adapt(*compiled.jvp(*inputs))[0]


def _materialise(t, x):
    if t is None and isinstance(x, (float, int, np.ndarray, np.number)):
        return zeros_like(x)
    return t


class Wrapper:
    """A primitive applied to some static arguments, callable like a function."""

    __slots__ = ()

    def __call__(self, *args, **kwargs):
        applied = self.resolve(args, kwargs)
        return applied.call()

    def __eq__(self, other):
        return type(self) is type(other) and self.key() == other.key()

    def __hash__(self):
        return hash((type(self), self.key()))

    def key(self):
        return ()

    def __repr__(self):
        return "%s%r" % (type(self).__name__, self.key())


class SpecWrapper(Wrapper):
    """A wrapper whose static argument is a spec: which arguments are active."""

    __slots__ = ("spec",)

    def __init__(self, spec):
        self.spec = tuple(spec)

    def key(self):
        return self.spec


def _placement(spec, args, kwargs):
    """A function from tangents aligned with ``spec`` to (t_fn, t_args, t_kwargs)."""
    decoded = [None if entry == "fn" else _spec.places(entry, len(args), kwargs)
               for entry in spec]

    def place(tans):
        t_fn, t_args, t_kwargs = None, {}, {}
        for where, t in zip(decoded, tans):
            if t is None:
                continue
            if where is None:
                t_fn = t
                continue
            for p, tp in _spec.scattered(*where, t):
                (t_args if isinstance(p, int) else t_kwargs)[p] = tp
        return t_fn, t_args, t_kwargs

    return place


# ---------------------------------------------------------------- forward mode

def call_jvp(fn, spec, tangents, *args, **kwargs):
    """``(out, tangent of out)`` of ``fn(*args, **kwargs)`` given the tangents of
    the ``spec`` entries, by the callee's forward-mode code (see transforms)."""
    return _jvp(fn, spec, tangents, args, kwargs, False)


def call_tangent(fn, spec, tangents, *args, **kwargs):
    """``call_jvp`` where the caller needs only the tangent: the callee runs
    code with everything that only its output needed removed (the gradient
    itself, in a Hessian-vector product)."""
    return _jvp(fn, spec, tangents, args, kwargs, True)


def _jvp(fn, spec, tangents, args, kwargs, tangent_only):
    if not isinstance(fn, Wrapper):
        fn, spec, args = as_function(fn, spec, args, kwargs)
        if "fn" in spec and isinstance(fn, functools.partial):
            _check_partial_not_differentiated(fn, Target(fn))
    applied = resolve(fn, args, kwargs)
    if applied is None:
        result = _constructor_jvp(fn, spec, tangents, args, kwargs)
        return result[1] if tangent_only else result
    place = _placement(spec, args, kwargs)
    return jvp_applied(applied, applied.tangents(*place(tangents)), tangent_only)


def _put(by_input, index, item, t, value):
    """Place one argument's tangent, inside ``*args``/``**kwargs`` if need be."""
    if t is None:
        return
    if item is None:
        by_input[index] = t
        return
    whole = by_input.get(index)
    if whole is None:
        whole = [None] * len(value) if isinstance(item, int) else {}
    if isinstance(item, int):
        whole = list(whole)
        whole[item] = t
        by_input[index] = tuple(whole)
    else:
        whole = dict(whole)
        whole[item] = t
        by_input[index] = whole


def _constructor_jvp(fn, spec, tangents, args, kwargs):
    """Forward mode through a namedtuple/dataclass constructor: field by field."""
    out = fn(*args, **kwargs)
    fields = Target(fn).fields
    per_field = dict.fromkeys(fields)
    _, t_args, t_kwargs = _placement(spec, args, kwargs)(tangents)
    for p, t in t_args.items():             # a position is its field's
        per_field[fields[p]] = t
    for k, t in t_kwargs.items():
        if k in per_field:
            per_field[k] = t
    if all(t is None for t in per_field.values()):
        return out, None
    if isinstance(out, tuple):          # a namedtuple's tangent is one of its type
        return out, type(out)._make([per_field[f] for f in fields])
    return out, Struct({k: v for k, v in per_field.items() if v is not None})


def pop_tangent(obj, dobj, *args):
    """Forward mode of ``obj.pop(*args)`` when ``obj``'s kind was not known."""
    if isinstance(obj, list):
        value = obj.pop(*args)
        return value, (dobj.pop(*args) if dobj else None)
    return call_jvp(obj.pop, ("fn",), (dobj,), *args)


