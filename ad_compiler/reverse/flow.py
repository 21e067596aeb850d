"""Reverse mode for control flow: branches merge adjoint states; loops
replay their body backwards, restoring what they overwrote from stacks."""
import gast

from ad_compiler import nodes as N
from ad_compiler.runtime.core import kinds as K
from ad_compiler.steps import MAYBE, SET, ZERO, Adj, Save, Step, has_break, saves



# ------------------------------------------------------------ control flow

def if_statement(sw, s, loops):
    body = sw.block(s.body, loops)
    orelse = sw.block(s.orelse, loops)
    fwd = [N.if_(N.copy(s.test), sw.fwd_block(body), sw.fwd_block(orelse), s)]

    def rev():
        start = sw.snapshot()
        rb = sw.rev_block(body)
        after_body = sw.snapshot()
        sw.restore_state(start)
        ro = sw.rev_block(orelse)
        after_else = sw.snapshot()
        merged, fix_b, fix_o = merge(sw, after_body, after_else, s)
        sw.restore_state(merged)
        if not rb + fix_b and not ro + fix_o:
            return []
        return [N.if_(N.copy(s.test), rb + fix_b, ro + fix_o, s)]
    return Step(fwd, rev)


def merge(sw, left, right, like):
    merged, fix_l, fix_r = {}, [], []
    for var in sorted(set(left) | set(right)):
        a, b = left.get(var, Adj()), right.get(var, Adj())
        if a.state == b.state:
            merged[var] = Adj(a.state, a.owned and b.owned)
            continue
        if ZERO in (a.state, b.state):
            fix = fix_l if a.state == ZERO else fix_r
            other = b if a.state == ZERO else a
            if other.state == MAYBE:
                fix.append(N.assign(sw.b(var), N.const(None), like))
                merged[var] = Adj(MAYBE)
            else:
                fix.append(N.assign(sw.b(var), sw.zero(var), like))
                kind_known = K.numeric(sw.kind(var))
                merged[var] = Adj(SET if kind_known else MAYBE,
                                  other.owned and K.is_array(sw.kind(var)))
        else:
            merged[var] = Adj(MAYBE)
    return merged, fix_l, fix_r


def loop_body_rev(sw, body, like):
    """Adjoint of a loop body with adjoint states consistent across iterations."""
    entry = sw.snapshot()
    start = entry
    for _ in range(4):
        counters = dict(sw.namer.counters)
        taken = set(sw.namer.taken)
        sw.restore_state(start)
        sw.rev_block(body)
        end = sw.snapshot()
        sw.namer.counters, sw.namer.taken = counters, taken
        weaker = loop_start(sw, start, end)
        if weaker == start:
            break
        start = weaker
    pre = pre_loop(sw, entry, start)
    sw.restore_state(start)
    code = sw.rev_block(body)
    end = sw.snapshot()
    fix = []
    for var, a in start.items():
        e = end.get(var, Adj())
        if a.state != ZERO and e.state == ZERO:
            value = sw.zero(var) if a.state == SET else N.const(None)
            fix.append(N.assign(sw.b(var), value, like))
    sw.restore_state(start)
    return pre, code + fix


def loop_start(sw, start, end):
    """The adjoint states a loop iteration may begin with."""
    out = {v: Adj(a.state, a.owned) for v, a in start.items()}
    for var, e in end.items():
        s = out.setdefault(var, Adj())
        if e.state == ZERO:
            # SET at the head, zero at the end: the next iteration starts
            # from an explicit zero, which only numbers and arrays have
            if s.state == SET and not K.numeric(sw.kind(var)):
                s.state, s.owned = MAYBE, False
            continue
        if s.state == ZERO:
            s.state = SET if (e.state == SET and K.numeric(sw.kind(var))) else MAYBE
            s.owned = K.is_array(sw.kind(var)) and s.state == SET
            continue
        if e.state == MAYBE:
            s.state = MAYBE
        s.owned = s.owned and e.owned
    return out


def pre_loop(sw, entry, start):
    """Materialise adjoints that the loop accumulates into but are still zero."""
    code = []
    for var, a in sorted(start.items()):
        if entry.get(var, Adj()).state == ZERO and a.state != ZERO:
            value = sw.zero(var) if a.state == SET else N.const(None)
            code.append(N.assign(sw.b(var), value))
    return code


def loop_inits(sw, body_steps, defined_before, like):
    """``v = None`` for variables first defined inside an outermost loop.

    The first iteration saves their (missing) previous value; the
    assignment is dead, and removed, unless that save is real.
    """
    inits = []
    for save in saves(sw.fwd_block(body_steps)):
        if save.in_loop and save.index is None and save.var not in defined_before \
                and save.var not in {i.targets[0].id for i in inits}:
            inits.append(N.assign(save.var, N.const(None), like))
    return inits


def for_statement(sw, s, loops):
    defined_before = set(sw.assigned)
    body = sw.block(s.body, loops + 1)
    breaks = has_break(s.body)
    target = s.target.id
    marker = sw.save(target, loops, s)
    sw.assigned.add(target)
    fwd_body = sw.fwd_block(body)
    counter = None
    pre = []
    if breaks:
        counter = sw.namer.fresh("_n")
        pre = sw.save(counter, loops, s) + [N.assign(counter, N.const(0), s)]
        fwd_body = [N.assign(counter, N.binop(counter, gast.Add(), N.const(1)), s)] + fwd_body
    fwd = marker + pre + [N.for_(N.copy(s.target), N.copy(s.iter),
                                 fwd_body, s)]
    if loops == 0:
        fwd = loop_inits(sw, body, defined_before, s) + fwd

    def rev():
        before, code = loop_body_rev(sw, body, s)
        walked = N.copy(s.iter)
        if counter is not None:
            walked = N.subscript(walked, gast.Slice(lower=None, upper=N.name(counter),
                                                    step=None))
        walked = N.subscript(walked, gast.Slice(lower=None, upper=None, step=N.const(-1)))
        loop = [N.for_(N.copy(s.target), walked, code, s)] if code else []
        restores = [m.restore for m in marker]
        if counter is not None:
            restores += [m.restore for m in pre if isinstance(m, Save)]
        return before + loop + restores
    return Step(fwd, rev)


def while_statement(sw, s, loops):
    defined_before = set(sw.assigned)
    body = sw.block(s.body, loops + 1)
    counter = sw.namer.fresh("_n")
    pre = sw.save(counter, loops, s) + [N.assign(counter, N.const(0), s)]
    bump = N.assign(counter, N.binop(counter, gast.Add(), N.const(1)), s)
    fwd = pre + [N.located_as(gast.While(test=N.const(True),
                                         body=[bump] + sw.fwd_block(body), orelse=[]), s)]
    if loops == 0:
        fwd = loop_inits(sw, body, defined_before, s) + fwd

    def rev():
        before, code = loop_body_rev(sw, body, s)
        i = sw.namer.fresh("_")
        loop = [N.for_(i, N.call(sw.rt(range, "range"), [counter]), code, s)] if code \
            else []
        return before + loop + [m.restore for m in pre if isinstance(m, Save)]
    return Step(fwd, rev)
