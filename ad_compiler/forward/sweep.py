"""Stage 5 (forward mode): a tangent statement beside every primal statement.

``y = np.sin(x)`` gains ``dy = dx * np.cos(x)``, from the same rule tables
as reverse mode (forward templates, linear rules, joint rules).  Control
flow is mirrored as it is, so no values need saving; a list's tangent is a
list of tangents, so the stacks of generated reverse code get tangent
stacks, and forward-over-reverse (Hessian-vector products) falls out.

Tangents are tracked statically as in reverse mode: ``ZERO`` (no code),
``SET`` (a value of the variable's kind) or ``MAYBE`` (possibly ``None``).
Structures and mutation, and calls and control flow, live in
:mod:`forward_data` and :mod:`forward_flow`.
"""
import sys

import gast

from ad_compiler import nodes as N
from ad_compiler.analysis import calls as C
from ad_compiler.forward.data import DataTangents
from ad_compiler.forward.flow import FlowTangents
from ad_compiler.inline import inlinable, instantiate, preferred_name
from ad_compiler.runtime import helpers as H
from ad_compiler.runtime.core import kinds as K, registry
from ad_compiler.runtime.core.errors import ADError, NoAdjointError, UnsupportedSyntaxError, located
from ad_compiler.steps import (BINOPS, MAYBE, SET, UNARYOPS, ZERO, Sweep, Tan, fresh, keywords,
                               rule_fn_name)


class Forward(Sweep, DataTangents, FlowTangents):
    prefix = "d"

    def __init__(self, ctx, fn):
        super().__init__(ctx)
        self.full_lists = _lists_of_tangents(ctx, fn.body)
        self.defined = set(ctx.inputs)      # variables assigned so far, in program order

    # ------------------------------------------------------------ helpers

    def d(self, var):
        return self.namer.tangent(var)

    def live(self, atom):
        """True if ``atom`` has a (possibly) nonzero tangent."""
        return isinstance(atom, gast.Name) and atom.id in self.active and \
            self.state(atom.id).state != ZERO

    def tangent(self, atom, code, like):
        """An expression for ``atom``'s tangent, never None (materialised if needed)."""
        if not self.live(atom):
            return self.zero_expr(atom)
        t = self.state(atom.id)
        if t.state == MAYBE:
            code.append(N.assign(self.d(atom.id), N.call(self.rt(H.nz),
                                                          [self.d(atom.id), atom]), like))
            t.state, t.owned = SET, False
        return N.name(self.d(atom.id))

    def zero_expr(self, atom):
        if isinstance(atom, gast.Name):
            return self.zero(atom.id)
        if isinstance(atom, gast.Constant) and not isinstance(atom.value, (int, float)):
            return N.const(None)           # the zero of a structure (None, a string...)
        return N.const(0.0)

    def maybe(self, atom):
        """``atom``'s tangent where None is acceptable (structures)."""
        return N.name(self.d(atom.id)) if self.live(atom) else N.const(None)

    def set(self, var, expr, like, state=SET, owned=False):
        self.states[var] = Tan(state, owned)
        return [N.assign(self.d(var), expr, like)]

    def own(self, var, like):
        """Make ``dvar`` a buffer this code may change in place."""
        t = self.state(var)
        if self.kind(var).tag in ("list", "dict", "other"):
            # containers: a fresh list/dict of item tangents (None for zero)
            self.states[var] = Tan(SET, True)
            if t.state == SET and t.owned:
                return []
            d = self.d(var) if t.state != ZERO else None
            return [N.assign(self.d(var), N.call(self.rt(H.own_tangent), [
                N.name(d) if d else N.const(None), N.name(var)]), like)]
        if t.state == ZERO:
            k = self.kind(var)
            value = N.call(self.rt(H.zeros_like), [var]) if K.is_array(k) else \
                N.call(N.name(self.externs.ref(list, "list")), [
                    N.binop(gast.List(elts=[N.const(None)], ctx=gast.Load()), gast.Mult(),
                            N.call(self.rt(len, "len"), [var]))]) if k == K.LIST else \
                N.call(self.rt(H.zeros_like), [var])
            self.states[var] = Tan(SET, True)
            return [N.assign(self.d(var), value, like)]
        code = []
        if t.state == MAYBE:
            code.append(N.assign(self.d(var), N.call(self.rt(H.nz), [self.d(var), var]), like))
        if not t.owned:
            copier = N.attribute(self.d(var), "copy") if self.kind(var).tag != "list" else None
            value = N.call(copier) if copier is not None else \
                N.call(N.name(self.externs.ref(list, "list")), [self.d(var)])
            code.append(N.assign(self.d(var), value, like))
        self.states[var] = Tan(SET, True)
        return code

    # ------------------------------------------------------------ statements

    def block(self, stmts):
        out = []
        for s in stmts:
            out.extend(self.stmt(s))
        return out

    def stmt(self, s):
        method = getattr(self, "stmt_" + type(s).__name__, None)
        return [s] if method is None else method(s)

    def stmt_Assign(self, s):
        target = s.targets[0]
        if isinstance(target, gast.Name):
            return self.assign(target.id, s.value, s)
        if isinstance(target, gast.Subscript):
            return self.store_item(s)
        if self.live(s.value):
            raise UnsupportedSyntaxError(
                "%s: assigning a differentiated value to attribute '%s' is not supported in "
                "differentiated code; build and return a new object instead"
                % (located(s, self.ctx.source), target.attr))
        return [s]

    def assign(self, var, value, s):
        self.defined.add(var)
        if var not in self.active:
            self.states[var] = Tan()
            return [s]
        if isinstance(value, gast.Call):
            call = self.ctx.classify(value)
            if call.kind == "special" and call.special not in ("list.pop", "list.append"):
                return self.special_call(var, value, call, s)
            joint = call.kind == "rule" and call.rule.jvp_joint is not None
            if (call.kind == "dynamic" or joint) and self.any_live(call, value):
                return self.joint_call(var, value, call, s)
        code = [s]
        expr, state, owned = self.tangent_of(var, value, code, s)
        if expr is None:
            self.states[var] = Tan()
            return code
        return code + self.set(var, expr, s, state, owned)

    def any_live(self, call, value):
        atoms = [a.value if isinstance(a, gast.Starred) else a for a in call.args]
        atoms += list(call.keywords.values())
        atoms.append(call.receiver if call.receiver is not None else value.func)
        return any(self.live(a) for a in atoms if a is not None)

    def tangent_of(self, var, value, code, s):
        """(expression, state, owned) of the tangent of ``var = value``; expr None: zero."""
        if isinstance(value, gast.Name):
            if not self.live(value):
                return None, ZERO, False
            return N.name(self.d(value.id)), self.state(value.id).state, False
        if isinstance(value, gast.Constant):
            return None, ZERO, False
        if isinstance(value, gast.BinOp):
            rule = registry.lookup(BINOPS[type(value.op)])
            call = C.Call("rule", rule, args=[value.left, value.right])
            return self.apply_rule(var, call, code, s)
        if isinstance(value, gast.UnaryOp):
            if type(value.op) not in UNARYOPS:
                return None, ZERO, False
            call = C.Call("rule", registry.lookup(UNARYOPS[type(value.op)]),
                          args=[value.operand])
            return self.apply_rule(var, call, code, s)
        if isinstance(value, gast.Call):
            return self.call_tangent(var, value, code, s)
        if isinstance(value, gast.Attribute):
            return self.attr_tangent(var, value, code, s)
        if isinstance(value, gast.Subscript):
            return self.item_tangent(var, value, code, s)
        if isinstance(value, (gast.Tuple, gast.List)):
            return self.sequence_tangent(value, s)
        if isinstance(value, gast.Dict):
            if not any(self.live(v) for v in value.values):
                return None, ZERO, False
            return gast.Dict(keys=[N.copy(k) for k in value.keys],
                             values=[self.maybe(v) for v in value.values]), SET, True
        return None, ZERO, False

    # ------------------------------------------------------------ rules

    def call_tangent(self, var, value, code, s):
        call = self.ctx.classify(value)
        if call.kind == "rule":
            if call.rule.nondiff:
                return None, ZERO, False
            return self.apply_rule(var, call, code, s)
        if call.kind == "special" and call.special == "list.pop":
            lst = call.receiver.id
            if not self.live(call.receiver):
                return None, ZERO, False
            state = SET if lst in self.full_lists else MAYBE
            return N.call(N.attribute(self.d(lst), "pop")), state, False
        if call.kind == "special":
            return None, ZERO, False
        live = [a for a in call.args + list(call.keywords.values()) if self.live(a)]
        if not live:
            return None, ZERO, False
        raise NoAdjointError("%s: no forward rule for %s; register one with "
                             "@tangent(%s)" % (located(s, self.ctx.source), call.name,
                                               call.name))

    def apply_rule(self, var, call, code, s):
        rule = call.rule
        params = C.template_params(rule)
        positions = [i for i in C.diff_args(rule, call)]
        atoms = [call.args[i] if i < len(call.args) else call.keywords[params[i]]
                 for i in positions]
        live = [(i, a) for i, a in zip(positions, atoms) if self.live(a)]
        if not live:
            return None, ZERO, False
        if rule.jvps is not None:
            terms = self.jvp_terms(var, call, live)
            if not terms:
                return None, ZERO, False
            expr, any_maybe = self.sum_terms(terms)
            return expr, (MAYBE if any_maybe or rule.may_be_none else SET), fresh(expr)
        if rule.jvp_all is not None:
            fn = N.name(self.externs.ref(rule.jvp_all, rule_fn_name(rule.jvp_all, rule, "_jvp")))
            tangents = N.tuple_([self.maybe(a) if isinstance(a, gast.Name) else N.const(None)
                                 for a in call.args])
            return gast.Call(func=fn, args=[tangents, N.name(var)] + [
                N.copy(a) for a in call.args], keywords=keywords(call)), MAYBE, False
        if rule.linear is not None:
            numeric = K.numeric(self.kind(var))
            state = MAYBE if rule.may_be_none or (rule.none_ok and not numeric) else SET
            return self.linear(var, call, code, s), state, False
        if rule.vjps is not None or rule.vjp_all is not None:
            return self.transposed(var, call, live), SET, False
        raise NoAdjointError("%s: no forward rule for %s; register one with @tangent(%s)"
                             % (located(s, self.ctx.source), rule.name, rule.name))

    def jvp_terms(self, var, call, live):
        """``(term, may it be None?)`` for each live argument the rule has a
        tangent for: its jvp, inlined from the template or called."""
        rule = call.rule
        terms = []
        for i, atom in live:
            t = rule.jvps[i] if i < len(rule.jvps) else None
            if t is None:
                continue
            maybe = self.state(atom.id).state == MAYBE
            d = N.name(self.d(atom.id))
            if inlinable(t.fn):
                values = C.bind_template(t, call, d, N.name(var))
                term = instantiate(t.fn, values, self.externs,
                                   scale=d if t.scale else None,
                                   kind_of=self.kind_of_name, wrap=t.wrap)
            else:
                fn = N.name(self.externs.ref(t, "jvp_rule"))
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

    def sum_terms(self, terms):
        """The sum of the terms (``add``, which reads None as zero, where one
        may be None) and whether the sum may be None."""
        expr, any_maybe = terms[0]
        for term, maybe in terms[1:]:
            if any_maybe or maybe:
                expr = N.call(self.rt(H.add), [expr, term])
            else:
                expr = N.binop(expr, gast.Add(), term)
            any_maybe = any_maybe and maybe
        return expr, any_maybe

    def transposed(self, var, call, live):
        """A rule with only a reverse rule: its tangent is found by transposing
        the reverse rule (see :mod:`transpose`)."""
        from ad_compiler.forward.transpose import transposed_jvp
        rule = call.rule
        helper = N.name(self.externs.ref(transposed_jvp, "transposed_jvp"))
        expr = None
        for i, atom in live:
            if rule.vjp_all is not None:
                vjp, index = rule.vjp_all, N.const(i)
            elif i < len(rule.vjps) and rule.vjps[i] is not None:
                vjp, index = rule.vjps[i].fn, N.const(None)
            else:
                continue
            fn = N.name(self.externs.ref(vjp, rule_fn_name(vjp, rule)))
            term = gast.Call(func=helper, args=[fn, index, N.name(self.d(atom.id)),
                                                N.name(var)] + [N.copy(a) for a in call.args],
                             keywords=keywords(call))
            if self.state(atom.id).state == MAYBE:
                term = gast.IfExp(test=gast.Compare(left=N.name(self.d(atom.id)),
                                                    ops=[gast.Is()],
                                                    comparators=[N.const(None)]),
                                  body=N.const(0.0), orelse=term)
            expr = term if expr is None else N.binop(expr, gast.Add(), term)
        return expr if expr is not None else N.const(0.0)

    def linear(self, var, call, code, s):
        """``f`` applied to the tangents of the arguments it is linear in."""
        params = C.template_params(call.rule)
        linear = set(call.rule.linear)
        # helpers that read None as zero get the tangent as it is, never materialised
        tangent = (lambda a, code, s: self.maybe(a) if isinstance(a, gast.Name)
                   else N.const(None)) if call.rule.none_ok else self.tangent
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
        return gast.Call(func=self.rule_callee(call), args=args, keywords=keywords)

    def rule_callee(self, call):
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
                node = N.name(self.externs.ref(module, preferred_name(module, parts[0])))
                for part in parts[1:]:
                    node = N.attribute(node, part)
                return node
        if primal is not None:
            return N.name(self.externs.ref(primal, parts[-1]))
        raise ADError("internal error: no callable for rule %s" % call.rule.name)

    # ------------------------------------------------------------ whole function

    def function(self, fn):
        """The body of the forward-mode function: primal and tangents, then
        ``return out, dout``."""
        for var in self.ctx.wrt:
            numeric = K.numeric(self.kind(var))
            self.states[var] = Tan(SET if numeric else MAYBE, False)
        body = self.block(fn.body[:-1])
        ret = fn.body[-1]
        out = ret.value
        if self.live(out):
            dout = self.tangent(out, body, ret) if K.numeric(self.kind(out.id)) else \
                N.name(self.d(out.id))
        else:
            dout = self.zero_expr(out) if isinstance(out, gast.Name) else N.const(0.0)
        value = dout if self.ctx.options.tangent_only else N.tuple_([out, dout])
        body.append(N.located_as(gast.Return(value=value), ret))
        return body


def _lists_of_tangents(ctx, body):
    """Lists whose every appended item carries a tangent (pops are then never None)."""
    appended = {}
    for s in N.statements(body):
        if (isinstance(s, gast.Expr) and isinstance(s.value, gast.Call)
                and isinstance(s.value.func, gast.Attribute) and s.value.func.attr == "append"
                and isinstance(s.value.func.value, gast.Name)):
            lst = s.value.func.value.id
            item = s.value.args[0] if s.value.args else None
            ok = isinstance(item, gast.Name) and item.id in ctx.active and \
                K.numeric(ctx.kinds.get(item.id))
            appended[lst] = appended.get(lst, True) and ok
    return {lst for lst, ok in appended.items() if ok}
