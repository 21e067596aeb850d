"""Reverse mode for structures and mutation: attributes, items, tuples,
lists, dicts, item assignment, ``append`` and ``pop``."""
import gast
import numpy as np

from ad_compiler import nodes as N
from ad_compiler.analysis import calls as C
from ad_compiler.inline import instantiate
from ad_compiler.runtime import helpers as H
from ad_compiler.runtime.core import kinds as K, registry
from ad_compiler.runtime.core.errors import NoAdjointError, UnsupportedSyntaxError, located
from ad_compiler.steps import MAYBE, SET, ZERO, Save, Step, basic_index, fresh



# ------------------------------------------------------------ structures

def attr_adjoint(sw, var, value, s):
    base = value.value
    if not sw.is_active(base):
        return []
    g = N.name(sw.b(var))
    if K.array_property(sw.kind(base.id), value.attr):
        rule = registry.lookup_attr(np.ndarray, value.attr)
        if rule is not None and rule.nondiff:
            return []
        if rule is None or rule.vjps is None:
            raise NoAdjointError("%s: no adjoint for attribute ndarray.%s; register one "
                                 "with registry.defattr(numpy.ndarray, %r, vjp=...)"
                                 % (located(s, sw.ctx.source), value.attr, value.attr))
        code = sw.materialize(var, s)
        expr = instantiate(rule.vjps[0].fn, {"g": g, "ans": N.name(var), "x": base},
                           sw.externs)
        return code + sw.accumulate(base.id, expr, fresh(expr), like=s)
    expr = N.call(sw.rt(H.add_attr), [sw.b(base.id) if sw.state(base.id).state
                                        != ZERO else N.const(None),
                                        base, N.const(value.attr), g])
    a = sw.state(base.id)
    a.state, a.owned = MAYBE, False
    return [N.assign(sw.b(base.id), expr, s)]


def item_adjoint(sw, var, value, s):
    base = value.value
    if not sw.is_active(base):
        return []
    code = sw.materialize(var, s)
    g = N.name(sw.b(var))
    k = sw.kind(base.id)
    index = value.slice
    if (k.tag == "tuple" and k.token is not None and isinstance(index, gast.Constant)
            and isinstance(index.value, int) and sw.state(base.id).state == ZERO
            and -len(k.token) <= index.value < len(k.token)):
        # A tuple of known length: its cotangent is a literal, so the
        # tuple itself need not be kept (or computed) for the adjoint.
        i = index.value % len(k.token)
        elts = [N.const(None)] * len(k.token)
        elts[i] = g
        a = sw.state(base.id)
        a.state, a.owned = SET, False
        return code + [N.assign(sw.b(base.id), N.tuple_(elts), s)]
    index = N.copy(value.slice)
    if K.is_array(sw.kind(base.id)) and sw.inplace:
        code += sw.own(base.id, s)
        if basic_index(value.slice, sw.kinds):
            target = N.subscript(sw.b(base.id), index, store=True)
            code.append(N.located_as(gast.AugAssign(target=target, op=gast.Add(), value=g),
                                     s))
        else:
            code.append(N.expr_stmt(N.call(sw.rt(H.scatter_add),
                                           [sw.b(base.id), sw.index(index), g]), s))
        return code
    prev = sw.b(base.id) if sw.state(base.id).state != ZERO else N.const(None)
    expr = N.call(sw.rt(H.add_item), [prev, base, sw.index(index), g])
    a = sw.state(base.id)
    a.state, a.owned = SET, False
    return code + [N.assign(sw.b(base.id), expr, s)]


def sequence_adjoint(sw, var, value, s):
    code = []
    g = sw.b(var)
    for i, elt in enumerate(value.elts):
        if isinstance(elt, gast.Starred):
            if sw.is_active(elt.value):
                raise UnsupportedSyntaxError(
                    "%s: unpacking a differentiated value with * into a tuple or list is "
                    "not supported in reverse mode; list its items ([a[0], a[1], y]) or "
                    "build it with append in a loop"
                    % located(s, sw.ctx.source))
            continue
        if sw.is_active(elt):
            expr = N.call(sw.rt(H.item), [g, N.const(i)])
            code += sw.accumulate(elt.id, expr, False, maybe_none=True, like=s)
    return code


def dict_adjoint(sw, var, value, s):
    """``var = {k: v, **d, ...}``: each entry's gradient is ``bvar``'s at its
    keys, except those a later entry repeats (Python keeps the last)."""
    code = []
    plain = all(isinstance(k, gast.Constant) for k in value.keys) and \
        len({k.value for k in value.keys}) == len(value.keys)      # (1 and 1.0 are one key)
    for i, (key, val) in enumerate(zip(value.keys, value.values)):
        if not sw.is_active(val):
            continue
        if plain:       # distinct constant keys: nothing is overridden
            expr = N.call(sw.rt(H.item), [sw.b(var), N.copy(key)])
        else:
            later = list(zip(value.keys[i + 1:], value.values[i + 1:]))
            keys = N.tuple_([N.copy(k) for k, _ in later if k is not None])
            dicts = N.tuple_([N.copy(v) for k, v in later if k is None])
            helper, part = (H.display_unpacked, val) if key is None else (H.display_item, key)
            expr = N.call(sw.rt(helper), [sw.b(var), N.copy(part)],
                          [("keys", keys), ("dicts", dicts)])
        code += sw.accumulate(val.id, expr, False, maybe_none=True, like=s)
    return code


# ------------------------------------------------------------ mutation

def store_item(sw, s, loops):
    target = s.targets[0]
    base, value = target.value, s.value
    if not isinstance(base, gast.Name):
        return Step([s])
    marker = [Save(base.id, loops > 0, index=target.slice, like=s)]
    if base.id not in sw.active:
        return Step(marker + [s], lambda: [m.restore for m in marker])

    def rev():
        code = []
        if sw.state(base.id).state != ZERO:
            code = store_item_adjoint(sw, base.id, target.slice, value, s)
        return code + [m.restore for m in marker]
    return Step(marker + [s], rev)


def store_item_adjoint(sw, var, index, value, s):
    bvar = sw.b(var)
    code = []
    if K.is_array(sw.kind(var)):
        code += sw.own(var, s)
        if sw.is_active(value):
            g = N.call(N.attribute(N.subscript(bvar, N.copy(index)), "copy"))
            g = N.call(sw.rt(H.unbroadcast), [g, value])
            code += sw.accumulate(value.id, g, False, like=s)
        code.append(N.assign(N.subscript(bvar, N.copy(index), store=True),
                             N.const(0.0), s))
        return code
    code += sw.materialize(var, s)
    if sw.is_active(value):
        g = N.call(sw.rt(H.item), [bvar, sw.index(index)])
        # (an array of unknown kind takes a number into a mask or a slice:
        # its gradient is the sum over what it filled)
        g = N.call(sw.rt(H.unbroadcast), [g, value])
        code += sw.accumulate(value.id, g, False, maybe_none=True, like=s)
    cleared = N.call(sw.rt(H.clear_item), [bvar, sw.index(index)])
    code.append(N.assign(bvar, cleared, s))
    sw.state(var).owned = False
    return code


def store_attr(sw, s, loops):
    value = s.value
    if sw.is_active(value):
        base = s.targets[0].value
        raise UnsupportedSyntaxError(
            "%s: assigning a differentiated value to attribute '%s' of '%s' is not "
            "supported in differentiated code; build and return a new object instead"
            % (located(s, sw.ctx.source), s.targets[0].attr, C.describe(base)))
    return Step([s])


def list_append(sw, s, call):
    lst = call.receiver.id
    item = call.args[0] if call.args else None
    if lst not in sw.active:
        return Step([s])

    def rev():
        code = []
        if sw.state(lst).state != ZERO:
            popped = N.call(N.attribute(sw.b(lst), "pop"))
            if sw.state(lst).state == MAYBE or not sw.state(lst).owned:
                # zero on some path (a branch that never read the list), or
                # a rule's result, which is None for a zero cotangent
                popped = gast.IfExp(test=gast.Compare(
                    left=N.name(sw.b(lst)), ops=[gast.Is()], comparators=[N.const(None)]),
                    body=N.const(None), orelse=popped)
            if item is not None and sw.is_active(item):
                code += sw.accumulate(item.id, popped, False, maybe_none=True, like=s)
            else:
                code.append(N.expr_stmt(popped, s))
        code.append(N.expr_stmt(N.call(N.attribute(lst, "pop")), s))
        return code
    return Step([s], rev)


def list_pop(sw, var, value, call, s, marker):
    lst = call.receiver.id
    if call.args:
        raise UnsupportedSyntaxError("%s: list.pop(i) of a differentiated list is not "
                                     "supported; use list.pop()" % located(s, sw.ctx.source))

    def rev():
        code = []
        if sw.state(var).state != ZERO and lst in sw.active:
            if sw.state(lst).state == ZERO:
                code.append(N.assign(sw.b(lst), N.binop(gast.List(
                    elts=[N.const(None)], ctx=gast.Load()), gast.Mult(),
                    N.call(sw.rt(len, "len"), [lst])), s))
                sw.state(lst).state = SET
            code.append(N.expr_stmt(N.call(N.attribute(sw.b(lst), "append"),
                                           [sw.b(var)]), s))
        code.append(N.expr_stmt(N.call(N.attribute(lst, "append"), [var]), s))
        sw.kill(var)
        return code + [m.restore for m in marker]
    return Step(marker + [N.assign(var, value, s)], rev)
