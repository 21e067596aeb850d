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
from . import dispatch, entry
from .applied import (Applied, SpecWrapper, Wrapper, _itself, _materialise, _placement, _same,
                      call_jvp, resolve)
from .callee import static_call
from .core import tree
from .core.errors import ADError, NonScalarOutputError
from .dispatch import constructor_grads
from .helpers import Struct, zeros_like
from .plan import GRAD, as_input, differentiable


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
    _, hv = call_jvp(FULL_GRAD, spec, tans, f, *xs)
    return list(hv[1:]) if hv is not None else [None] * len(xs)


# ---------------------------------------------------------------- wrappers

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
        compiled = entry.compiler.jvp_function(inner.func, active, inner.inputs)
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
        d = dispatch
        fn, spec, rest = d.as_function(args[0], self.spec, tuple(args[1:]), kwargs)
        shift = len(rest) - (len(args) - 1)          # a bound receiver became argument 0
        inner = resolve(fn, rest, kwargs)
        if inner is None:
            return self.constructor(fn, spec, rest, kwargs)
        place = _placement(spec, rest, kwargs)
        marks = inner.tangents(*place(tuple(True for _ in spec)))
        active = tuple(i for i, t in enumerate(marks) if t is not None)
        compiled = entry.compiler.vjp_function(inner.func, active, inner.inputs)
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
        d = dispatch
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
        d = dispatch
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
        fn, xs = args[0], tuple(as_input(x) for x in args[1:])
        inner = resolve(fn, xs, kwargs)
        if inner is None:
            raise _unsupported("a nested gradient of a function with a rule")
        wanted = tuple(range(len(xs))) if self.wrt is None else self.wrt
        # The adjoint of a nested gradient (full) also needs the gradients of
        # captured variables; gradient() itself only those of its arguments.
        first = 0 if self.full else len(inner.cells)
        active = tuple(i for i, v in enumerate(inner.inputs)
                       if i >= first and differentiable(v))
        if len(active) == 1 and type(inner.inputs[active[0]]) is float:
            return self.forward(inner, active[0], xs, wanted)
        compiled = entry.compiler.grad_function(inner.func, active, inner.inputs, GRAD)
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
        compiled = entry.compiler.jvp_function(inner.func, (index,), inner.inputs)
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
    return tree.finish(x, t)


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


def _unsupported(what):
    return ADError("%s is not supported yet; differentiate the function directly" % what)


FULL_GRAD = GradOf(full=True)
PLAIN_GRAD = GradOf()
BWD = BwdOf()

