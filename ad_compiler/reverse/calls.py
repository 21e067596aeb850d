"""Reverse mode for calls: nested ``gradient`` (a Hessian-vector product),
special forms, and calls into user code resolved at run time."""
import gast

from ad_compiler import nodes as N
from ad_compiler.runtime import helpers as H
from ad_compiler.runtime.core import kinds as K
from ad_compiler.runtime.core.errors import UnsupportedSyntaxError, located
from ad_compiler.steps import MAYBE, ZERO, Step



# ------------------------------------------------------------ nested derivatives

def nested_gradient(sw, var, value, call, s, marker):
    """``z = gradient(f, *xs)``: its adjoint is a Hessian-vector product.

    The cotangent of the gradient is the direction of a forward sweep
    over ``f``'s generated gradient code, with respect to ``f``'s inputs
    *and its captured variables* (for closures over outer variables).
    """
    f, xs = value.args[0], value.args[1:]
    starred = len(xs) == 1 and isinstance(xs[0], gast.Starred)
    if (not starred and any(isinstance(x, gast.Starred) for x in xs)) or value.keywords:
        raise UnsupportedSyntaxError(
            "%s: a nested gradient must be called as gradient(f, x, y, ...) or "
            "gradient(f, *xs)" % located(s, sw.ctx.source))
    primal = N.assign(var, value, s)

    def rev():
        code = []
        if sw.state(var).state != ZERO:
            code = hvp_adjoint(sw, var, f, xs, starred, s)
        sw.kill(var)
        return code + [m.restore for m in marker]
    return Step(marker + [primal], rev)


def hvp_adjoint(sw, var, f, xs, starred, s):
    """The adjoint of ``var = gradient(f, *xs)`` when ``bvar`` is not zero:
    the parts of the Hessian-vector product go to ``f`` (its captured
    variables) and to each ``x``."""
    hv, code = hessian_vector(sw, var, f, xs, starred, s)

    def part(index):            # None (a zero tangent) has no parts
        return N.call(sw.rt(H.item), [N.name(hv), index])

    targets = [(f, part(N.const(0)))]
    if starred:
        rest = sw.index(gast.Slice(lower=N.const(1), upper=None, step=None))
        targets.append((xs[0].value, part(rest)))
    else:
        targets += [(x, part(N.const(i + 1))) for i, x in enumerate(xs)]
    for atom, expr in targets:
        if sw.is_active(atom):
            code += sw.accumulate(atom.id, expr, False, maybe_none=True, like=s)
    return code


def hessian_vector(sw, var, f, xs, starred, s):
    """``_hv = call_tangent(full_gradient, spec, tangents, f, *xs)``: a
    forward sweep of ``f``'s gradient code in the direction ``bvar``.
    Returns the name ``_hv`` and the assignment."""
    from ad_compiler.runtime.applied import call_tangent
    from ad_compiler.runtime.transforms import FULL_GRAD
    bz = sw.b(var)
    if starred:
        spec, tans = N.const((("*", 1, 2),)), N.tuple_([bz])
    else:
        tans = N.tuple_([N.call(sw.rt(H.item), [bz, N.const(i)])
                         for i in range(len(xs))])
        spec = N.tuple_([N.const(i + 1) for i in range(len(xs))])
    hv = sw.namer.fresh("_hv")
    # only the tangent: the gradient's own value is not needed again
    return hv, [N.assign(hv, gast.Call(
        func=sw.rt(call_tangent), args=[
            N.name(sw.externs.ref(FULL_GRAD, "full_gradient")), spec, tans,
            N.copy(f)] + [N.copy(x) for x in xs], keywords=[]), s)]


def special_call(sw, var, value, call, s, marker):
    if call.special == "grad" and not sw.any_active(call, value):
        return Step(marker + [N.assign(var, value, s)],
                    lambda: [m.restore for m in marker])
    advice = {"grad": "inside differentiated code call gradient(f, x) instead of "
                      "grad(f)(x) when f depends on differentiated values"}.get(
        call.special, "call it outside the differentiated function")
    raise UnsupportedSyntaxError("%s: differentiating through %s() is not supported; %s"
                                 % (located(s, sw.ctx.source), call.special, advice))


# ------------------------------------------------------------ calls into user code

def active_spec(sw, value, call, s):
    """Which atoms of a call want gradients, encoded for ``call_fwd``."""
    return call_spec(value, call, s, sw.active, sw.ctx.source)


def receiver_adjoint(sw, recv, attr, g, s):
    """``b_obj = add_attr(b_obj, obj, 'attr', g)`` for the callable ``obj.attr``."""
    expr = N.call(sw.rt(H.add_attr), [
        sw.b(recv.id) if sw.state(recv.id).state != ZERO else N.const(None),
        recv, N.const(attr), g])
    a = sw.state(recv.id)
    a.state, a.owned = MAYBE, False
    return [N.assign(sw.b(recv.id), expr, s)]


def dynamic_call(sw, var, value, call, s, loops, marker):
    from ad_compiler.runtime.dispatch import call_bwd, call_fwd
    spec, targets = active_spec(sw, value, call, s)
    res = sw.namer.fresh("_res")
    args = [N.copy(value.func), N.tuple_([N.const(x) for x in spec])] + \
        [N.copy(a) for a in value.args]
    fwd_call = gast.Call(func=sw.rt(call_fwd), args=args,
                         keywords=N.copy(value.keywords))
    res_marker = sw.save(res, loops, s)
    target = N.tuple_([N.name(var, store=True), N.name(res, store=True)], store=True)
    fwd = marker + res_marker + [N.assign(target, fwd_call, s)]
    def rev():
        code = []
        if sw.state(var).state != ZERO:
            grads = sw.namer.fresh("_g")
            code.append(N.assign(grads, N.call(sw.rt(call_bwd),
                                               [res, sw.b(var)]), s))
            for i, (entry, atom) in enumerate(zip(spec, targets)):
                expr = N.subscript(grads, N.const(i))
                if entry == "fn" and call.receiver is not None:
                    # obj.f(x): the callable is obj's bound method (its gradient
                    # is obj's) or a callable stored in obj (a field's)
                    code += receiver_adjoint(sw, atom, value.func.attr, expr, s)
                    continue
                if isinstance(entry, tuple) and entry[0] == "*" and \
                        sw.kind(atom.id) == K.LIST:
                    # f(*ys): the items' cotangents come back as a tuple;
                    # a list's adjoint is a list (it is popped)
                    expr = N.call(N.name(sw.ctx.externs.ref(list, "list")), [expr])
                known = K.numeric(sw.kind(atom.id))
                code += sw.accumulate(atom.id, expr, False, maybe_none=not known, like=s)
        sw.kill(var)
        return code + [m.restore for m in res_marker] + [m.restore for m in marker]
    return Step(fwd, rev)


def call_spec(value, call, s, active, source):
    """Which atoms of a call want gradients (those named in ``active``),
    encoded for ``call_fwd``: ``(spec, targets)``.  Forward mode asks too,
    with its live tangents as ``active``."""
    spec, targets = [], []
    fn_atom = call.receiver if call.receiver is not None else value.func
    if isinstance(fn_atom, gast.Name) and _in(active, fn_atom):
        spec.append("fn")
        targets.append(fn_atom)
    stars = [i for i, a in enumerate(value.args) if isinstance(a, gast.Starred)]
    doubles = [k for k in value.keywords if k.arg is None]
    n = len(value.args)
    for i, a in enumerate(value.args):
        atom = a.value if isinstance(a, gast.Starred) else a
        if not _in(active, atom):
            continue
        if len(stars) > 1:
            raise UnsupportedSyntaxError(
                "%s: a call with several *sequences and differentiated arguments is not "
                "supported; build one sequence and pass *it" % located(s, source))
        if isinstance(a, gast.Starred):
            spec.append(("*", i, n))
        else:
            spec.append(i - n if stars and i > stars[0] else i)
        targets.append(atom)
    named = tuple(k.arg for k in value.keywords if k.arg is not None)
    for k in value.keywords:
        if not _in(active, k.value):
            continue
        if k.arg is None and len(doubles) > 1:
            raise UnsupportedSyntaxError(
                "%s: a call with several **mappings and differentiated arguments is not "
                "supported; merge them into one dict" % located(s, source))
        spec.append(k.arg if k.arg is not None else ("**", named))
        targets.append(k.value)
    return spec, targets


def _in(active, atom):
    return isinstance(atom, gast.Name) and atom.id in active
