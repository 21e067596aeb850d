"""Derivatives of derivatives: the primitives generated code calls, as functions.

Generated code calls a few primitives: ``call_fwd``/``call_bwd`` (reverse
mode through a callee), ``call_jvp`` (forward mode through a callee) and
``gradient`` (a nested gradient).  Differentiating such code in forward
mode turns each of them into one more ``call_jvp`` of a small wrapper:

* ``JvpOf(spec)(fn, tans, *args)`` is ``call_jvp(fn, spec, tans, *args)``,
  and ``TangentOf(spec)`` the same call's tangent alone (``call_tangent``);
* ``FwdOf(spec)(fn, *args)`` is ``call_fwd(fn, spec, *args)``;
* ``BwdOf()(res, g)`` is ``call_bwd(res, g)``;
* ``GradOf(wrt, single)(fn, *xs)`` is ``gradient(fn, *xs)`` (or ``grad``'s);
* ``FullGradOf()(fn, *xs)`` is the gradient with respect to ``fn``'s
  captured variables too, used for the adjoint of a nested ``gradient``.

:func:`resolve` says which *generated* Python function, with which explicit
inputs, applying a callable amounts to.  So every level of differentiation
only ever meets ``call_jvp`` and plain generated code, and derivatives of
any order need no further machinery.
"""
import numpy as np

from .dispatch import constructor_grads
from .helpers import Struct, zeros_like
from .lazy import ad, rt


def _dispatch():
    return rt.dispatch


def _compiler():
    return ad.compiler


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
    d = _dispatch()
    target = d.Target(fn)
    if target.func is None:
        if target.rule is not None and target.fields is None and not target.bound:
            return resolve(static_call(d.rule_primal(fn), len(args), tuple(kwargs)), args,
                           kwargs)
        if target.rule is not None and target.fields is None:
            return _bound_rule(fn, target.bound, args, kwargs)
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
            d._put(places, n_cells + index, item, t, values[index])
        for k, t in t_kwargs.items():
            index, item = d._param_of(func, k)
            d._put(places, n_cells + index, item, t, values[index])
        for i, t in places.items():
            out[i] = t
        return out

    return Applied(func, cells + values, tangents, _same, lambda: fn(*args, **kwargs),
                   func.__code__.co_freevars[:n_cells], _itself)


def _bound_rule(fn, bound, args, kwargs):
    """``d.values()``, a method with a rule bound to its receiver, as the
    call ``type(d).values(d)``: the tangent of the bound method is the
    receiver's (a constant bound method would lose it at the next order)."""
    callee = getattr(type(bound[0]), fn.__name__)
    inner = resolve(static_call(callee, len(bound) + len(args), tuple(kwargs)),
                    tuple(bound) + tuple(args), kwargs)

    def tangents(t_fn, t_args, t_kwargs):
        shifted = {p + len(bound): t for p, t in t_args.items()}
        if t_fn is not None:
            shifted[0] = t_fn
        return inner.tangents(None, shifted, t_kwargs)

    return Applied(inner.func, inner.inputs, tangents, inner.adapt, inner.call, inner.cells,
                   inner.adapt_tangent)


_STATIC = {}


def static_call(fn, n_args, keywords=()):
    """A plain function calling ``fn`` by a global name, so its rule is inlined.

    ``gradient(np.sin, x)`` and ``hessian(np.sin, x)`` differentiate
    ``def apply_sin(_a0): return _fn(_a0)`` like any user function.
    """
    key = (id(fn), n_args, keywords)
    got = _STATIC.get(key)
    if got is not None and got[0] is fn:
        return got[1]
    from ad_compiler.source import register_source
    name = "apply_" + "".join(c if c.isalnum() else "_" for c in
                              getattr(fn, "__name__", "fn"))
    params = ["_a%d" % i for i in range(n_args)] + list(keywords)
    call = ["_a%d" % i for i in range(n_args)] + ["%s=%s" % (k, k) for k in keywords]
    text = "def %s(%s):\n    return _fn(%s)\n" % (name, ", ".join(params), ", ".join(call))
    filename = "<ad_compiler apply %s %d>" % (name, len(_STATIC))
    register_source(filename, text)         # (kept for after linecache.clearcache())
    namespace = {"_fn": fn}
    exec(compile(text, filename, "exec"), namespace)
    func = namespace[name]
    _STATIC[key] = (fn, func)
    return func


def _on_args(applied):
    """An application ``w(x0, *args)`` seen as ``fn(*args)``: the callable's own
    tangent is none, argument ``p`` is the wrapper's argument ``p + 1``."""
    inner = applied.tangents

    def tangents(t_fn, t_args, t_kwargs):
        return inner(None, {p + 1: t for p, t in t_args.items()}, t_kwargs)

    return Applied(applied.func, applied.inputs, tangents, applied.adapt, applied.call,
                   applied.cells, applied.adapt_tangent)


def hvp_wrt(f, xs, cotangents):
    """Hessian-vector products: the adjoint of ``gradient(f, *xs)`` for ``xs``.

    ``cotangents[i]`` is the cotangent of the gradient with respect to
    ``xs[i]`` (None for none); returns one gradient per argument.
    """
    spec = tuple(i + 1 for i, c in enumerate(cotangents) if c is not None)
    tans = tuple(c for c in cotangents if c is not None)
    dispatch = _dispatch()
    _, hv = dispatch.call_jvp(FULL_GRAD, spec, tans, f, *xs)
    return list(hv[1:]) if hv is not None else [None] * len(xs)


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
        compiled = _compiler().jvp_function(applied.func, active, inputs, tangent_only=True)
        return applied.adapt_tangent(compiled.jvp(*inputs, *tans))
    compiled = _compiler().jvp_function(applied.func, active, inputs)
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
    compiled = _compiler().jvp_function(applied.func, (), inputs)
    return applied.adapt(*compiled.jvp(*inputs))[0]


def _materialise(t, x):
    if t is None and isinstance(x, (float, int, np.ndarray, np.number)):
        return zeros_like(x)
    return t


# ---------------------------------------------------------------- wrappers

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


class JvpOf(SpecWrapper):
    """``JvpOf(spec)(fn, tans, *args)`` is ``call_jvp(fn, spec, tans, *args)``."""

    __slots__ = ()

    def resolve(self, args, kwargs):
        fn, tans, rest = args[0], args[1], tuple(args[2:])
        inner = resolve(fn, rest, kwargs)
        if inner is None:               # a constructor: through a plain function calling it
            inner = resolve(static_call(fn, len(rest), tuple(kwargs)), rest, kwargs)
        place = _placement(self.spec, rest, kwargs)
        inner_tans = inner.tangents(*place(tans))
        active = tuple(i for i, t in enumerate(inner_tans) if t is not None)
        compiled = _compiler().jvp_function(inner.func, active, inner.inputs)
        tan_inputs = [_materialise(inner_tans[i], inner.inputs[i]) for i in active]
        n = len(inner.inputs)

        def tangents(t_fn, t_args, t_kwargs):
            t_inner = inner.tangents(t_args.get(0), {p - 2: t for p, t in t_args.items()
                                                      if p >= 2}, t_kwargs)
            dt = t_args.get(1)
            t_tans = inner.tangents(*place(dt)) if dt is not None else [None] * n
            return list(t_inner) + [t_tans[i] for i in active]

        def adapt(out, dout):
            primal = inner.adapt(out[0], out[1])
            return primal, (None if dout is None else inner.adapt(dout[0], dout[1]))

        def adapt_tangent(dout):
            return None if dout is None else inner.adapt(dout[0], dout[1])

        inputs = list(inner.inputs) + tan_inputs
        return Applied(compiled.jvp, inputs, tangents, adapt,
                       lambda: adapt(compiled.jvp(*inputs), None)[0],
                       adapt_tangent=adapt_tangent)


class TangentOf(SpecWrapper):
    """``TangentOf(spec)(fn, tans, *args)`` is ``call_tangent(fn, spec, tans, *args)``:
    the tangent half of :class:`JvpOf`."""

    __slots__ = ()

    def resolve(self, args, kwargs):
        inner = JvpOf(self.spec).resolve(args, kwargs)

        def adapt(out, dout):
            primal, tangent = inner.adapt(out, dout)
            return primal[1], (None if tangent is None else tangent[1])

        def adapt_tangent(dout):
            tangent = inner.adapt_tangent(dout)
            return None if tangent is None else tangent[1]

        return Applied(inner.func, inner.inputs, inner.tangents, adapt,
                       lambda: inner.call()[1], adapt_tangent=adapt_tangent)


class FwdOf(SpecWrapper):
    """``FwdOf(spec)(fn, *args)`` is ``call_fwd(fn, spec, *args)``."""

    __slots__ = ()

    def resolve(self, args, kwargs):
        d = _dispatch()
        fn, spec, rest = d.as_function(args[0], self.spec, tuple(args[1:]), kwargs)
        shift = len(rest) - (len(args) - 1)          # a bound receiver became argument 0
        inner = resolve(fn, rest, kwargs)
        if inner is None:
            return self.constructor(fn, spec, rest, kwargs)
        place = _placement(spec, rest, kwargs)
        marks = inner.tangents(*place(tuple(True for _ in spec)))
        active = tuple(i for i, t in enumerate(marks) if t is not None)
        compiled = _compiler().vjp_function(inner.func, active, inner.inputs)
        target = d.Target(fn)
        if target.recompute:
            # checkpoint(f) is f: a derivative of its adjoint keeps the residuals
            # (recomputing would need them differentiated twice anyway)
            target = target.stored()

        def adapt(out, dout):
            meta = d.Meta(compiled, out[0], spec, target, rest, kwargs,
                          len(d.cell_values(target.func)))
            primal = (out[0], (meta, out[1]))
            return primal, (None if dout is None else (dout[0], (None, dout[1])))

        tangents = _shifted(inner)
        if shift:
            # x.method(...) by value: the receiver's tangent is the callable's
            base = tangents

            def tangents(t_fn, t_args, t_kwargs):
                moved = {p + 1: t for p, t in t_args.items() if p >= 1}
                moved[1] = t_args.get(0)        # the bound method's receiver
                return base(None, {0: None, **moved}, t_kwargs)

        return Applied(compiled.fwd, list(inner.inputs), tangents, adapt,
                       lambda: adapt(compiled.fwd(*inner.inputs), None)[0],
                       adapt_tangent=_residual_tangent)

    @staticmethod
    def constructor(cls, spec, args, kwargs):
        """``call_fwd`` of a namedtuple/dataclass: the construction itself, whose
        forward mode is field by field, plus the residual ``call_bwd`` reads."""
        d = _dispatch()
        target = d.Target(cls)
        inner = resolve(static_call(cls, len(args), tuple(kwargs)), args, kwargs)

        def adapt(out, dout):
            meta = d.Meta(None, out, spec, target, args, kwargs, 0)
            return (out, (meta, None)), (None if dout is None else (dout, (None, None)))

        return Applied(inner.func, inner.inputs, _shifted(inner), adapt,
                       lambda: adapt(inner.call(), None)[0],
                       adapt_tangent=lambda dout: None if dout is None else (dout, (None, None)))


def _residual_tangent(dout):
    """The tangent of ``call_fwd``'s ``(out, (meta, saved))``."""
    return None if dout is None else (dout[0], (None, dout[1]))


def constructor_bwd(meta, g):
    """``call_bwd`` after a namedtuple/dataclass constructor, as code the
    compiler reads (``constructor_grads`` is linear in ``g``)."""
    return constructor_grads(meta, g)


class BwdOf(Wrapper):
    """``BwdOf()(res, g)`` is ``call_bwd(res, g)``."""

    __slots__ = ()

    def resolve(self, args, kwargs):
        d = _dispatch()
        (meta, inner), g = args
        if meta.target.fields is not None:
            return Applied(constructor_bwd, [meta, g],
                           lambda t_fn, t_args, t_kwargs: [None, t_args.get(1)], _same,
                           lambda: constructor_bwd(meta, g), adapt_tangent=_itself)
        if meta.compiled is None or meta.target.recompute:
            raise _unsupported("higher-order derivatives through a rule called by value "
                               "or through checkpoint")
        if g is None:
            g = zeros_like(meta.out)

        def tangents(t_fn, t_args, t_kwargs):
            t_res = t_args.get(0)
            return [None if t_res is None else t_res[1], t_args.get(1)]

        def adapt(out, dout):
            return (d.spec_grads(meta, out),
                    None if dout is None else d.spec_grads(meta, dout))

        return Applied(meta.compiled.bwd, [inner, g], tangents, adapt,
                       lambda: d.spec_grads(meta, meta.compiled.bwd(inner, g)),
                       adapt_tangent=lambda dout: None if dout is None else
                       d.spec_grads(meta, dout))


class GradOf(Wrapper):
    """``GradOf(wrt, single)(fn, *xs)`` is ``gradient(fn, *xs)`` (``wrt`` selects,
    ``single`` unpacks one gradient, as ``grad(fn, wrt)`` does)."""

    __slots__ = ("wrt", "single", "full")

    def __init__(self, wrt=None, single=False, full=False):
        self.wrt, self.single, self.full = wrt, single, full

    def key(self):
        return (self.wrt, self.single, self.full)

    def resolve(self, args, kwargs):
        api, tree = ad.api, ad.tree
        fn, xs = args[0], tuple(api._as_input(x) for x in args[1:])
        inner = resolve(fn, xs, kwargs)
        if inner is None:
            raise _unsupported("a nested gradient of a function with a rule")
        wanted = tuple(range(len(xs))) if self.wrt is None else self.wrt
        # The adjoint of a nested gradient (full) also needs the gradients of
        # captured variables; gradient() itself only those of its arguments.
        first = 0 if self.full else len(inner.cells)
        active = tuple(i for i, v in enumerate(inner.inputs)
                       if i >= first and api._differentiable(v))
        if len(active) == 1 and type(inner.inputs[active[0]]) is float:
            return self.forward(inner, active[0], xs, wanted)
        compiled = _compiler().grad_function(inner.func, active, inner.inputs, api._GRAD)
        slot = {a: j for j, a in enumerate(active)}
        x_slots = [_x_slot(inner, i, slot) for i in range(len(xs))]
        cell_slots = [(name, slot[i]) for i, name in enumerate(inner.cells) if i in slot]

        def pick(raw, finish):
            if raw is None:                 # a zero tangent: every gradient is zero
                raw = [None] * len(active)
            grads = [_select(raw, s) for s in x_slots]
            if self.full:
                cells = {n: raw[j] for n, j in cell_slots if raw[j] is not None}
                return (Struct(cells) if cells else None,) + tuple(grads)
            out = tuple(finish(xs[i], grads[i]) for i in wanted)
            return out[0] if self.single else out

        def adapt(out, dout):
            return pick(out, tree.finish), pick(dout, _finish_tangent)

        return Applied(compiled.grad, list(inner.inputs), _shifted(inner), adapt,
                       lambda: adapt(compiled.grad(*inner.inputs), None)[0],
                       adapt_tangent=lambda dout: pick(dout, _finish_tangent))


    def forward(self, inner, index, xs, wanted):
        """One scalar input: its derivative is a forward sweep along 1.0, so a
        nested derivative is forward over forward (one pass, no stacks)."""
        tree, NonScalarOutputError = ad.tree, ad.errors.NonScalarOutputError
        compiled = _compiler().jvp_function(inner.func, (index,), inner.inputs)
        position = [_x_slot(inner, i, {index: 0})[0] for i in range(len(xs))]

        def pick(value, derivative, finish):
            if getattr(value, "shape", ()) != ():     # (no value: tangent-only code)
                raise NonScalarOutputError.for_value(value)
            if getattr(derivative, "shape", ()) != ():    # d(output)/dx has its shape
                raise NonScalarOutputError.for_value(derivative)
            grads = [derivative if p == 0 else None for p in position]
            if self.full:
                return (None,) + tuple(grads)
            out = tuple(finish(xs[i], grads[i]) for i in wanted)
            return out[0] if self.single else out

        def adapt(out, dout):
            primal = pick(out[0], out[1], tree.finish)
            if dout is None:
                return primal, pick(out[0], None, _finish_tangent)
            return primal, pick(out[0], dout[1], _finish_tangent)

        def tangents(t_fn, t_args, t_kwargs):
            return list(_shifted(inner)(t_fn, t_args, t_kwargs)) + [None]

        inputs = list(inner.inputs) + [1.0]
        return Applied(compiled.jvp, inputs, tangents, adapt,
                       lambda: adapt(compiled.jvp(*inputs), None)[0],
                       adapt_tangent=lambda dout: pick(None, None if dout is None else
                                                       dout[1], _finish_tangent))


def _finish_tangent(x, t):
    return ad.tree.finish(x, t)


def _shifted(inner):
    """Tangents of ``(fn, *rest)`` mapped through the application ``fn(*rest)``."""
    def tangents(t_fn, t_args, t_kwargs):
        return inner.tangents(t_args.get(0), {p - 1: t for p, t in t_args.items() if p >= 1},
                              t_kwargs)
    return tangents


def _x_slot(inner, i, slot):
    """Where argument ``i``'s gradient sits in the raw output (index, item)."""
    marks = inner.tangents(None, {i: True}, {})
    for index, t in enumerate(marks):
        if t is not None:
            item = None
            if isinstance(t, tuple):
                item = next(k for k, v in enumerate(t) if v is True)
            elif isinstance(t, dict):
                item = next(k for k, v in t.items() if v is True)
            return slot.get(index), item
    return None, None


def _select(raw, s):
    index, item = s
    if index is None:
        return None
    g = raw[index]
    if item is not None and g is not None:
        g = g[item] if isinstance(item, int) else g.get(item)
    return g


def _placement(spec, args, kwargs):
    """A function from tangents aligned with ``spec`` to (t_fn, t_args, t_kwargs)."""
    n = len(args)

    def place(tans):
        t_fn, t_args, t_kwargs = None, {}, {}
        for entry, t in zip(spec, tans):
            if t is None:
                continue
            if entry == "fn":
                t_fn = t
            elif isinstance(entry, int):
                t_args[entry if entry >= 0 else n + entry] = t
            elif isinstance(entry, str):
                t_kwargs[entry] = t
            elif entry[0] == "*":
                _, i, m = entry
                positions = range(i, n - (m - 1 - i))
                items = t if isinstance(t, (tuple, list)) else [t] * len(positions)
                for p, ti in zip(positions, items):
                    t_args[p] = ti
            else:
                named = set(entry[1])
                for k in kwargs:
                    if k not in named and (t is True or t.get(k) is not None):
                        t_kwargs[k] = True if t is True else t[k]
        return t_fn, t_args, t_kwargs

    return place


def _unsupported(what):
    from ad_compiler.errors import ADError
    return ADError("%s is not supported yet; differentiate the function directly" % what)


FULL_GRAD = GradOf(full=True)
PLAIN_GRAD = GradOf()
BWD = BwdOf()

