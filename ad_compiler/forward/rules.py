"""Forward mode for calls with registered rules: forward templates summed
over the live arguments, a joint rule, a linear rule applied to the
tangents, or a reverse rule transposed (see :mod:`transpose`)."""
import sys

import gast

from ad_compiler import nodes as N
from ad_compiler.analysis import calls as C
from ad_compiler.runtime import helpers as H
from ad_compiler.inline import inlinable, instantiate, preferred_name
from ad_compiler.runtime.core import kinds as K
from ad_compiler.runtime.core.errors import ADError, NoAdjointError, located
from ad_compiler.steps import MAYBE, SET, ZERO, fresh, keywords, rule_fn_name


def call_tangent(sw, var, value, code, s):
    call = sw.ctx.classify(value)
    if call.kind == "rule":
        if call.rule.nondiff:
            return None, ZERO, False
        return apply_rule(sw, var, call, code, s)
    if call.kind == "special" and call.special == "list.pop":
        lst = call.receiver.id
        if not sw.live(call.receiver):
            return None, ZERO, False
        state = SET if lst in sw.full_lists else MAYBE
        return N.call(N.attribute(sw.d(lst), "pop")), state, False
    if call.kind == "special":
        return None, ZERO, False
    live = [a for a in call.args + list(call.keywords.values()) if sw.live(a)]
    if not live:
        return None, ZERO, False
    raise NoAdjointError("%s: no forward rule for %s; register one with "
                         "@tangent(%s)" % (located(s, sw.ctx.source), call.name,
                                           call.name))


def apply_rule(sw, var, call, code, s):
    rule = call.rule
    params = C.template_params(rule)
    positions = [i for i in C.diff_args(rule, call)]
    atoms = [call.args[i] if i < len(call.args) else call.keywords[params[i]]
             for i in positions]
    live = [(i, a) for i, a in zip(positions, atoms) if sw.live(a)]
    if not live:
        return None, ZERO, False
    if rule.jvps is not None:
        terms = jvp_terms(sw, var, call, live)
        if not terms:
            return None, ZERO, False
        expr, any_maybe = sum_terms(sw, terms)
        return expr, (MAYBE if any_maybe or rule.may_be_none else SET), fresh(expr)
    if rule.jvp_all is not None:
        fn = N.name(sw.externs.ref(rule.jvp_all, rule_fn_name(rule.jvp_all, rule, "_jvp")))
        tangents = N.tuple_([sw.maybe(a) if isinstance(a, gast.Name) else N.const(None)
                             for a in call.args])
        return gast.Call(func=fn, args=[tangents, N.name(var)] + [
            N.copy(a) for a in call.args], keywords=keywords(call)), MAYBE, False
    if rule.linear is not None:
        numeric = K.numeric(sw.kind(var))
        state = MAYBE if rule.may_be_none or (rule.none_ok and not numeric) else SET
        return linear(sw, var, call, code, s), state, False
    if rule.vjps is not None or rule.vjp_all is not None:
        return transposed(sw, var, call, live), SET, False
    raise NoAdjointError("%s: no forward rule for %s; register one with @tangent(%s)"
                         % (located(s, sw.ctx.source), rule.name, rule.name))


def jvp_terms(sw, var, call, live):
    """``(term, may it be None?)`` for each live argument the rule has a
    tangent for: its jvp, inlined from the template or called."""
    rule = call.rule
    terms = []
    for i, atom in live:
        t = rule.jvps[i] if i < len(rule.jvps) else None
        if t is None:
            continue
        maybe = sw.state(atom.id).state == MAYBE
        d = N.name(sw.d(atom.id))
        if inlinable(t.fn):
            values = C.bind_template(t, call, d, N.name(var))
            term = instantiate(t.fn, values, sw.externs,
                               scale=d if t.scale else None,
                               kind_of=sw.kind_of_name, wrap=t.wrap)
        else:
            fn = N.name(sw.externs.ref(t, "jvp_rule"))
            term = gast.Call(func=fn, args=[d, N.name(var)] + [
                N.copy(a) for a in call.args], keywords=keywords(call))
        if maybe:
            # A None tangent is an exact zero: skip the term rather than
            # multiply 0 by something that may be inf or nan (log(x) at x<0).
            term = gast.IfExp(test=gast.Compare(left=N.copy(d), ops=[gast.Is()],
                                                comparators=[N.const(None)]),
                              body=N.const(None), orelse=term)
        terms.append((term, maybe))
    return terms


def sum_terms(sw, terms):
    """The sum of the terms (``add``, which reads None as zero, where one
    may be None) and whether the sum may be None."""
    expr, any_maybe = terms[0]
    for term, maybe in terms[1:]:
        if any_maybe or maybe:
            expr = N.call(sw.rt(H.add), [expr, term])
        else:
            expr = N.binop(expr, gast.Add(), term)
        any_maybe = any_maybe and maybe
    return expr, any_maybe


def transposed(sw, var, call, live):
    """A rule with only a reverse rule: its tangent is found by transposing
    the reverse rule (see :mod:`transpose`)."""
    from ad_compiler.forward.transpose import transposed_jvp
    rule = call.rule
    helper = N.name(sw.externs.ref(transposed_jvp, "transposed_jvp"))
    expr = None
    for i, atom in live:
        if rule.vjp_all is not None:
            vjp, index = rule.vjp_all, N.const(i)
        elif i < len(rule.vjps) and rule.vjps[i] is not None:
            vjp, index = rule.vjps[i].fn, N.const(None)
        else:
            continue
        fn = N.name(sw.externs.ref(vjp, rule_fn_name(vjp, rule)))
        term = gast.Call(func=helper, args=[fn, index, N.name(sw.d(atom.id)),
                                            N.name(var)] + [N.copy(a) for a in call.args],
                         keywords=keywords(call))
        if sw.state(atom.id).state == MAYBE:
            term = gast.IfExp(test=gast.Compare(left=N.name(sw.d(atom.id)),
                                                ops=[gast.Is()],
                                                comparators=[N.const(None)]),
                              body=N.const(0.0), orelse=term)
        expr = term if expr is None else N.binop(expr, gast.Add(), term)
    return expr if expr is not None else N.const(0.0)


def linear(sw, var, call, code, s):
    """``f`` applied to the tangents of the arguments it is linear in."""
    params = C.template_params(call.rule)
    linear = set(call.rule.linear)
    # helpers that read None as zero get the tangent as it is, never materialised
    tangent = (lambda a, code, s: sw.maybe(a) if isinstance(a, gast.Name)
               else N.const(None)) if call.rule.none_ok else sw.tangent
    args = []
    for i, a in enumerate(call.args):
        args.append(tangent(a, code, s) if i in linear else N.copy(a))
    keywords = []
    for k, v in call.keywords.items():
        i = params.index(k) if k in params else -1
        keywords.append(gast.keyword(arg=k, value=tangent(v, code, s)
                                     if i in linear else N.copy(v)))
    if call.receiver is not None:
        # x.reshape(...) -> dx.reshape(...): a method of the tangent itself
        attr = call.name.split(".")[-1]
        return gast.Call(func=N.attribute(args[0], attr), args=args[1:],
                         keywords=keywords)
    return gast.Call(func=rule_callee(sw, call), args=args, keywords=keywords)


def rule_callee(sw, call):
    """The callable of a rule call, as an expression: ``np.sum`` through the
    module (never a bare ``sum`` that reads like the builtin)."""
    primal = call.rule.primal
    parts = call.rule.name.split(".")
    if parts[0] in ("numpy", "math", "cupy") and len(parts) > 1:
        module = sys.modules.get(parts[0])
        obj = module
        for part in parts[1:]:
            obj = getattr(obj, part, None)
        if obj is primal and module is not None:
            node = N.name(sw.externs.ref(module, preferred_name(module, parts[0])))
            for part in parts[1:]:
                node = N.attribute(node, part)
            return node
    if primal is not None:
        return N.name(sw.externs.ref(primal, parts[-1]))
    raise ADError("internal error: no callable for rule %s" % call.rule.name)
