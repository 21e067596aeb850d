"""Reverse mode of a call to a function with a registered rule: each
active argument's vector-Jacobian product, inlined from the rule's template
or called, and added to that argument's adjoint; a rule's variant is chosen
by the kinds of the arguments."""
import gast

from ad_compiler import nodes as N
from ad_compiler.analysis import calls as C
from ad_compiler.inline import inlinable, instantiate
from ad_compiler.runtime.core import kinds as K
from ad_compiler.runtime.core.errors import NoAdjointError, located
from ad_compiler.steps import fresh, rule_fn_name



def apply_rule(sw, rule, var, args, keywords, s, call=None):
    call = call or C.Call("rule", rule, args=args, keywords=keywords)
    if rule.vjps is None and rule.vjp_all is None:
        if rule.nondiff:
            return []
        raise NoAdjointError.for_function(rule.primal, rule.name,
                                          str(located(s, sw.ctx.source)))
    if rule.vjp_all is not None:
        return apply_vjp_all(sw, rule, var, call, s)
    params = C.template_params(rule)
    check_arguments(sw, rule, call, params, s)
    g = N.name(sw.b(var))
    vjps = choose(sw, rule, call)
    contributions = []
    for i in C.diff_args(rule, call):
        atom = call.args[i] if i < len(call.args) else call.keywords[params[i]]
        if not sw.is_active(atom) or vjps is None or i >= len(vjps) or vjps[i] is None:
            continue
        t = vjps[i]
        if inlinable(t.fn):
            values = C.bind_template(t, call, g, N.name(var))
            expr = instantiate(t.fn, values, sw.externs,
                               scale=g if t.scale else None, kind_of=sw.kind_of_name,
                               wrap=t.wrap)
        else:
            expr = call_template(sw, t, g, var, call)
        contributions.append((atom.id, expr))
    code = []
    for target, expr in contributions:
        code += sw.accumulate(target, expr, fresh(expr), like=s)
    return code


def check_arguments(sw, rule, call, params, s):
    """A rule must name every argument it is given, or it may ignore one silently."""
    unknown = [k for k in call.keywords if k is None or k not in params]
    extra = len(call.args) > len(params)
    if unknown or extra:
        what = ("keyword '%s'" % unknown[0]) if unknown and unknown[0] else \
            ("%d positional arguments" % len(call.args) if extra else "**kwargs")
        raise NoAdjointError("%s: the rule for %s does not handle %s; pass it in the "
                             "form the rule names (%s), or register a rule that takes it "
                             "with @adjoint(%s)" % (located(s, sw.ctx.source), rule.name,
                                                    what, ", ".join(params), rule.name))


def choose(sw, rule, call):
    arg_kinds = [atom_kind(sw, a) for a in call.args]
    for when, vjps in rule.variants:
        try:
            if when(*arg_kinds):
                return vjps
        except (TypeError, AttributeError):
            continue
    return rule.vjps


def atom_kind(sw, atom):
    if isinstance(atom, gast.Name):
        return sw.kind(atom.id)
    if isinstance(atom, gast.Constant):
        return K.constant_kind(atom.value)
    return K.OTHER


def call_template(sw, t, g, var, call):
    """A rule written as a ``def``: call it instead of inlining."""
    fn = N.name(sw.externs.ref(t, rule_fn_name(t.fn, None)))
    args = [g, N.name(var)] + [N.copy(a) for a in call.args]
    return gast.Call(func=fn, args=args, keywords=[
        gast.keyword(arg=k, value=N.copy(v)) for k, v in call.keywords.items()])


def apply_vjp_all(sw, rule, var, call, s):
    fn = N.name(sw.externs.ref(rule.vjp_all, rule_fn_name(rule.vjp_all, rule)))
    args = [N.name(sw.b(var)), N.name(var)] + [N.copy(a) for a in call.args]
    result = sw.namer.fresh("_g")
    code = [N.assign(result, gast.Call(func=fn, args=args, keywords=[
        gast.keyword(arg=k, value=N.copy(v)) for k, v in call.keywords.items()]), s)]
    for i, atom in enumerate(call.args):
        if sw.is_active(atom):
            code += sw.accumulate(atom.id, N.subscript(result, N.const(i)), False,
                                    maybe_none=True, like=s)
    return code
