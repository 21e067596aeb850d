"""Forward mode for structures and mutation: attributes, items, tuples,
item assignment and in-place linear calls."""
import gast
import numpy as np

from ad_compiler import nodes as N
from ad_compiler.forward import flow, rules
from ad_compiler.inline import instantiate
from ad_compiler.runtime import helpers as H
from ad_compiler.runtime.core import kinds as K, registry
from ad_compiler.runtime.core.errors import NoAdjointError, UnsupportedSyntaxError, located
from ad_compiler.steps import MAYBE, SET, ZERO, Tan



# ------------------------------------------------------------ structures

def attr_tangent(sw, var, value, code, s):
    base = value.value
    if not sw.live(base):
        return None, ZERO, False
    if K.array_property(sw.kind(base.id), value.attr):
        rule = registry.lookup_attr(np.ndarray, value.attr)
        if rule is not None and rule.nondiff:
            return None, ZERO, False
        if rule is None or rule.jvps is None:
            raise NoAdjointError("%s: no forward rule for attribute ndarray.%s; register "
                                 "one with registry.defattr(numpy.ndarray, %r, jvp=...)"
                                 % (located(s, sw.ctx.source), value.attr, value.attr))
        d = sw.tangent(base, code, s)
        return instantiate(rule.jvps[0].fn, {"d": d, "ans": N.name(var), "x": base},
                           sw.externs), SET, False
    return N.call(sw.rt(H.attr_tangent), [sw.d(base.id), N.copy(base),
                                             N.const(value.attr)]), MAYBE, False


def item_tangent(sw, var, value, code, s):
    base = value.value
    if not sw.live(base):
        return None, ZERO, False
    index = index_value(sw, value.slice)
    if K.is_array(sw.kind(base.id)) and sw.state(base.id).state == SET:
        return N.subscript(sw.d(base.id), N.copy(value.slice)), SET, False
    return N.call(sw.rt(H.item), [sw.d(base.id), index]), MAYBE, False


def sequence_tangent(sw, value, s):
    if any(isinstance(e, gast.Starred) and sw.live(e.value) for e in value.elts):
        raise UnsupportedSyntaxError("%s: unpacking a differentiated value with * into a "
                                     "tuple or list is not supported"
                                     % located(s, sw.ctx.source))
    elts = [N.const(None) if isinstance(e, gast.Starred) else sw.maybe(e)
            for e in value.elts]
    node = gast.Tuple if isinstance(value, gast.Tuple) else gast.List
    return node(elts=elts, ctx=gast.Load()), SET, True


def index_value(sw, index):
    return N.index_value(index, sw.externs.ref(slice, "slice"))


# ------------------------------------------------------------ mutation

def store_item(sw, s):
    target = s.targets[0]
    base, value = target.value, s.value
    if not isinstance(base, gast.Name) or base.id not in sw.active:
        return [s]
    if not sw.live(value) and not sw.live(base):
        return [s]
    code = [s] + sw.own(base.id, s)
    d = sw.tangent(value, code, s) if sw.live(value) else zero_entry(sw, base.id)
    code.append(N.assign(N.subscript(sw.d(base.id), N.copy(target.slice), store=True),
                         d, s))
    return code


def zero_entry(sw, var):
    """What a constant stored into ``var`` puts into its tangent."""
    kind = sw.kind(var)
    if K.is_array(kind):
        return N.const(0.0)
    if kind.tag in ("list", "dict", "tuple"):
        return N.const(None)
    # not known statically: an array needs 0.0 (None would become NaN)
    return N.call(sw.rt(H.zero_entry), [N.name(sw.d(var))])


def expr_statement(sw, s):
    call = sw.ctx.classify(s.value)
    if call.kind == "special" and call.special == "list.append":
        lst = call.receiver.id
        if lst not in sw.active:
            return [s]
        # (the zero tangent is sized by the list before this append)
        code = sw.own(lst, s) + [s] if sw.state(lst).state != SET else [s]
        item = call.args[0]
        if not (isinstance(item, gast.Name) and sw.state(item.id).state == SET):
            # an item whose tangent may be None: pops of this list may give None
            sw.full_lists.discard(lst)
        code.append(N.expr_stmt(N.call(N.attribute(sw.d(lst), "append"), [
            sw.maybe(item) if isinstance(item, gast.Name) else N.const(None)]), s))
        return code
    if call.kind == "rule" and call.rule.mutates is not None and call.rule.linear:
        return mutating_linear(sw, call, s)
    recv = call.receiver
    if (call.kind == "dynamic" and recv is not None and s.value.func.attr == "append"
            and len(s.value.args) == 1 and recv.id in sw.active
            and not isinstance(s.value.args[0], gast.Starred)):
        # obj.append(v) where obj was not known to be a list
        item = s.value.args[0]
        before = N.const(None) if sw.state(recv.id).state == ZERO else sw.maybe(recv)
        sw.states[recv.id] = Tan(SET, True)
        return [N.assign(sw.d(recv.id), N.call(sw.rt(H.append_tangent), [
            N.copy(recv), before, N.copy(item),
            sw.maybe(item) if isinstance(item, gast.Name) else N.const(None)]), s)]
    if for_effect(sw, call):
        # The result is dropped, but the call still goes through
        # call_jvp, which refuses a callee that would change its
        # differentiated arguments behind the tangents' back.
        return [N.expr_stmt(flow.joint_call(sw, "_", s.value, call, s)[0].value, s)]
    return [s]


def for_effect(sw, call):
    """A call into user code whose result carries no tangent but that receives
    live or mutable values: what it does to them still matters."""
    return call.kind == "dynamic" and (any(sw.live(a) for a in call.args)
                                       or sw.passes_mutable(call))


def mutating_linear(sw, call, s):
    """``scatter_add(bx, i, g)``: the same change, made to the tangents."""
    target = call.args[call.rule.mutates]
    if not isinstance(target, gast.Name) or target.id not in sw.active:
        return [s]
    live = [a for i, a in enumerate(call.args) if i in call.rule.linear and sw.live(a)]
    if not live:
        return [s]
    code = [s] + sw.own(target.id, s)
    code.append(N.expr_stmt(rules.linear(sw, None, call, code, s), s))
    return code
