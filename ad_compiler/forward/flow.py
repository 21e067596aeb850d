"""Forward mode for calls into user code (one ``call_jvp`` each, or a joint
rule), special forms, nested functions, branches and loops."""
import gast

from ad_compiler import nodes as N
from ad_compiler.reverse.calls import call_spec
from ad_compiler.runtime import applied, helpers as H
from ad_compiler.runtime.core import kinds as K
from ad_compiler.runtime.core.errors import UnsupportedSyntaxError, located
from ad_compiler.steps import MAYBE, SET, ZERO, Tan, keywords, rule_fn_name



# ------------------------------------------------------------ calls into user code

def joint_call(sw, var, value, call, s):
    """``z, dz = call_jvp(f, spec, tangents, *args)``, or a joint rule."""
    from ad_compiler.runtime.applied import call_jvp
    recv = call.receiver
    if (recv is not None and value.func.attr == "pop" and not value.keywords
            and not any(isinstance(a, gast.Starred) for a in value.args)):
        # obj.pop() where obj was not known to be a list
        target = N.tuple_([N.name(var, store=True), N.name(sw.d(var), store=True)],
                          store=True)
        sw.states[var] = Tan(MAYBE)
        return [N.assign(target, N.call(sw.rt(applied.pop_tangent), [
            N.copy(recv), sw.maybe(recv)] + [N.copy(a) for a in value.args]), s)]
    if call.kind == "rule":
        fn = N.name(sw.externs.ref(call.rule.jvp_joint, rule_fn_name(
            call.rule.jvp_joint, call.rule, "_jvp")))
        tangents = N.tuple_([sw.maybe(a) if isinstance(a, gast.Name) else N.const(None)
                             for a in call.args])
        new = gast.Call(func=fn, args=[tangents] + [N.copy(a) for a in call.args],
                        keywords=keywords(call))
    else:
        spec, targets = reverse_spec(sw, value, call, s)
        tangents = N.tuple_([
            # obj.f(x): the tangent of the callable obj.f (see add_attr)
            N.call(sw.rt(H.attr_tangent), [sw.maybe(t), N.copy(t), N.const(
                value.func.attr)]) if entry == "fn" and recv is not None else
            sw.maybe(t) for entry, t in zip(spec, targets)])
        new = gast.Call(func=sw.rt(call_jvp), args=[
            N.copy(value.func), N.tuple_([N.const(x) for x in spec]), tangents] + [
            N.copy(a) for a in value.args], keywords=N.copy(value.keywords))
    target = N.tuple_([N.name(var, store=True), N.name(sw.d(var), store=True)],
                      store=True)
    sw.states[var] = Tan(MAYBE if not K.numeric(sw.kind(var)) else SET, False)
    return [N.assign(target, new, s)]


def special_call(sw, var, value, call, s):
    """A primitive of generated code, or a nested gradient: one more
    ``call_jvp``, of the wrapper that stands for the primitive."""
    from ad_compiler.analysis.special import FORWARD
    from ad_compiler.runtime.applied import call_jvp
    if not sw.any_live(call, value):
        sw.states[var] = Tan()
        return [N.assign(var, value, s)]
    if call.special not in FORWARD:
        raise UnsupportedSyntaxError(
            "%s: forward-mode differentiation of %s() is not supported; call it outside "
            "the differentiated function" % (located(s, sw.ctx.source), call.special))
    wrapper, static = FORWARD[call.special]
    static_args = [N.copy(a) for i, a in enumerate(value.args) if i in static]
    dyn = [a for i, a in enumerate(value.args) if i not in static]
    spec, tangents = [], []
    for i, a in enumerate(dyn):
        if isinstance(a, gast.Starred):
            spec.append(("*", i, len(dyn)))
            tangents.append(sw.maybe(a.value))
        else:
            spec.append(i)
            tangents.append(sw.maybe(a) if isinstance(a, gast.Name) else N.const(None))
    named = tuple(k.arg for k in value.keywords if k.arg is not None)
    for k in value.keywords:
        spec.append(k.arg if k.arg is not None else ("**", named))
        tangents.append(sw.maybe(k.value))
    made = N.call(N.name(sw.externs.ref(wrapper, wrapper.__name__)), static_args)
    new = gast.Call(func=sw.rt(call_jvp), args=[
        made, N.tuple_([N.const(x) for x in spec]), N.tuple_(tangents)] + [
        N.copy(a) for a in dyn], keywords=N.copy(value.keywords))
    target = N.tuple_([N.name(var, store=True), N.name(sw.d(var), store=True)],
                      store=True)
    sw.states[var] = Tan(MAYBE)
    return [N.assign(target, new, s)]


def def_statement(sw, s):
    free = sorted(n for n in sw.ctx.free_names(s) if sw.live(N.name(n)))
    if s.name not in sw.active or not free:
        sw.states[s.name] = Tan()
        return [s]
    names = N.tuple_([N.const(n) for n in free])
    tangents = [sw.maybe(N.name(n)) for n in free]
    value = N.call(sw.rt(H.make_struct), [names] + tangents)
    return [s] + sw.set(s.name, value, s, SET)


# ------------------------------------------------------------ control flow

def if_statement(sw, s):
    start = sw.snapshot()
    body = sw.block(s.body)
    after_body = sw.snapshot()
    sw.restore_state(start)
    orelse = sw.block(s.orelse)
    after_else = sw.snapshot()
    merged = {}
    for var in sorted(set(after_body) | set(after_else)):
        a, b = after_body.get(var, Tan()), after_else.get(var, Tan())
        if a.state == b.state:
            merged[var] = Tan(a.state, a.owned and b.owned)
            continue
        for branch, t in ((body, a), (orelse, b)):
            if t.state == ZERO:
                branch.append(N.assign(sw.d(var), N.const(None), s))
        merged[var] = Tan(MAYBE)
    sw.restore_state(merged)
    return [N.if_(N.copy(s.test), body, orelse, s)]


def material(sw, var, defined=None):
    """Whether ``var``'s zero tangent can be a value here (0.0 or zeros_like)."""
    k = sw.kind(var)
    return K.is_scalar(k) or (K.is_array(k) and var in (
        sw.defined if defined is None else defined))


def loop_body(sw, body, like):
    """Tangent code of a loop body whose tangent states agree across iterations."""
    entry = sw.snapshot()
    start = loop_states(sw, body, entry)
    pre = []
    for var, t in sorted(start.items()):
        if entry.get(var, Tan()).state == ZERO and t.state != ZERO:
            pre.append(N.assign(sw.d(var), sw.zero(var) if t.state == SET
                                else N.const(None), like))
    sw.restore_state(start)
    code = sw.block(body)
    end = sw.snapshot()
    for var, t in start.items():
        if t.state != ZERO and end.get(var, Tan()).state == ZERO:
            code.append(N.assign(sw.d(var), sw.zero(var) if t.state == SET
                                 else N.const(None), like))
    sw.restore_state(start)
    return pre, code


def loop_states(sw, body, entry):
    """The tangent states at the loop's head: ``entry`` weakened until a
    pass over (a copy of) the body ends in them again, at most 4 passes.
    The trial passes' fresh names are given back to the namer."""
    start = entry
    # (the zero made before the loop can only use what exists there)
    before = set(sw.defined)
    for _ in range(4):
        counters, taken = dict(sw.namer.counters), set(sw.namer.taken)
        sw.restore_state(start)
        sw.block(N.copy(body))
        end = sw.snapshot()
        sw.namer.counters, sw.namer.taken = counters, taken
        weaker = weaken(sw, start, end, before)
        if weaker == start:
            break
        start = weaker
    return start


def weaken(sw, start, end, before):
    """The head's states ``start`` merged with the states ``end`` one pass
    ended in."""
    weaker = dict(start)
    for var in sorted(set(start) | set(end)):
        st, e = weaker.get(var, Tan()), end.get(var, Tan())
        if e.state == ZERO:
            # SET at the head, zero at the end: the next iteration starts
            # from an explicit zero, which only numbers and arrays have
            if st.state == SET and not material(sw, var, before):
                weaker[var] = Tan(MAYBE)
            continue
        if e == st:
            continue
        if st.state == ZERO:
            weaker[var] = Tan(SET if material(sw, var, before) and e.state == SET
                              else MAYBE,
                              K.is_array(sw.kind(var)))
        elif e.state == MAYBE or st.state == MAYBE:
            weaker[var] = Tan(MAYBE)
        else:
            weaker[var] = Tan(SET, st.owned and e.owned)
    return weaker


def for_statement(sw, s):
    pre, body = loop_body(sw, s.body, s)
    return pre + [N.for_(N.copy(s.target), N.copy(s.iter), body, s)]


def while_statement(sw, s):
    pre, body = loop_body(sw, s.body, s)
    return pre + [N.located_as(gast.While(test=N.copy(s.test), body=body, orelse=[]), s)]


def reverse_spec(fwd, value, call, s):
    """The call spec of reverse mode, with liveness in place of activity."""
    live = {n for n in fwd.active if fwd.state(n).state != ZERO}
    return call_spec(value, call, s, live, fwd.ctx.source)
