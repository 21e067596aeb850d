"""Stage 5: reverse mode.

Walks an ANF function once forwards, building the primal sweep, and then
backwards, building the adjoint sweep.  Adjoints are tracked statically:

* ``ZERO``: never materialised (no code at all);
* ``SET``: holds a value of the variable's kind;
* ``MAYBE``: may be ``None`` (zero) because it came out of a structure.

so the first contribution to ``bx`` is a plain assignment and later ones
add.  Arrays the generated code allocated itself (``owned``) are updated
in place.  Values the adjoint needs that the primal overwrites are saved
through :mod:`~ad_compiler.tape` markers.
"""
import operator

import gast
import numpy as np

from runtime import helpers as H
from runtime import registry

from . import calls as C
from . import kinds as K
from . import nodes as N
from .errors import ADError, NoAdjointError, UnsupportedSyntaxError, located
from .inline import inlinable, instantiate
from .tape import Save

ZERO, SET, MAYBE = "zero", "set", "maybe"

BINOPS = {gast.Add: operator.add, gast.Sub: operator.sub, gast.Mult: operator.mul,
          gast.Div: operator.truediv, gast.Pow: operator.pow, gast.MatMult: operator.matmul,
          gast.FloorDiv: operator.floordiv, gast.Mod: operator.mod}
UNARYOPS = {gast.USub: operator.neg, gast.UAdd: operator.pos}


class Adj:
    __slots__ = ("state", "owned")

    def __init__(self, state=ZERO, owned=False):
        self.state = state
        self.owned = owned

    def __eq__(self, other):
        return self.state == other.state and self.owned == other.owned

    def __repr__(self):
        return "Adj(%s%s)" % (self.state, ", owned" if self.owned else "")


class Step:
    """One primal statement: its forward code and a maker of its adjoint."""

    __slots__ = ("fwd", "rev")

    def __init__(self, fwd, rev=None):
        self.fwd = fwd
        self.rev = rev or (lambda: [])


class Result:
    """What the reverse transform produced for one function."""

    def __init__(self, fwd, rev, output, seed, grads):
        self.fwd = fwd            # primal statements (markers resolved)
        self.rev = rev            # adjoint statements
        self.output = output      # the atom the function returns
        self.seed = seed          # statements that seed the output's adjoint
        self.grads = grads        # one expression per differentiated input


class Reverse:
    def __init__(self, ctx):
        self.ctx = ctx
        self.namer = ctx.namer
        self.externs = ctx.externs
        self.kinds = ctx.kinds
        self.active = ctx.active
        self.adj = {}
        self.assigned = set(ctx.inputs)
        self.inplace = ctx.options.inplace

    # ------------------------------------------------------------ helpers

    def rt(self, fn, name=None):
        return N.name(self.externs.ref(fn, name or fn.__name__))

    def b(self, var):
        return self.namer.adjoint(var)

    def kind(self, var):
        return self.kinds.get(var, K.OTHER)

    def kind_of_name(self, name):
        """Kinds for names in generated expressions (adjoints share primal kinds)."""
        if name in self.kinds:
            return self.kinds[name]
        return self._adjoint_kinds().get(name)

    def _adjoint_kinds(self):
        return {self.namer.derived[("b", v)]: k for v, k in self.kinds.items()
                if ("b", v) in self.namer.derived}

    def state(self, var):
        return self.adj.setdefault(var, Adj())

    def snapshot(self):
        return {v: Adj(a.state, a.owned) for v, a in self.adj.items()}

    def restore_state(self, snap):
        self.adj = {v: Adj(a.state, a.owned) for v, a in snap.items()}

    def is_active(self, atom):
        return isinstance(atom, gast.Name) and atom.id in self.active

    def zero(self, var):
        """An expression for the zero adjoint of ``var``."""
        k = self.kind(var)
        if k == K.SCALAR:
            return N.const(0.0)
        if K.is_array(k):
            return N.call(self.rt(H.zeros_like), [var])
        return N.const(None)

    def save(self, var, loops, like):
        """A marker that saves ``var`` before it is overwritten, if it may be."""
        if loops == 0 and var not in self.assigned:
            self.assigned.add(var)
            return []
        self.assigned.add(var)
        return [Save(var, loops > 0, like=like)]

    # ------------------------------------------------------------ accumulation

    def accumulate(self, var, expr, fresh, maybe_none=False, like=None):
        """Code adding ``expr`` to the adjoint of ``var``."""
        a = self.state(var)
        name = self.b(var)
        k = self.kind(var)
        if a.state == ZERO:
            a.state = MAYBE if maybe_none else SET
            a.owned = fresh and not maybe_none
            return [N.assign(name, expr, like)]
        if a.state == SET and not maybe_none and K.numeric(k):
            if K.is_array(k) and a.owned and self.inplace:
                return [N.located_as(gast.AugAssign(target=N.name(name, store=True),
                                                    op=gast.Add(), value=expr), like)]
            a.owned = K.is_array(k)
            return [N.assign(name, N.binop(name, gast.Add(), expr), like)]
        a.state = SET if (a.state == SET or not maybe_none) else MAYBE
        a.owned = False
        return [N.assign(name, N.call(self.rt(H.add), [name, expr]), like)]

    def materialize(self, var, like=None):
        """Make ``bvar`` hold a value (not None) before a rule reads it."""
        a = self.state(var)
        if a.state == MAYBE:
            a.state, a.owned = SET, False
            return [N.assign(self.b(var), N.call(self.rt(H.nz), [self.b(var), var]), like)]
        return []

    def own(self, var, like=None):
        """Make ``bvar`` an array we may update in place."""
        a = self.state(var)
        if a.state == ZERO:
            a.state, a.owned = SET, True
            return [N.assign(self.b(var), self.zero(var), like)]
        code = self.materialize(var, like)
        if not a.owned:
            a.owned = True
            code.append(N.assign(self.b(var), N.call(N.attribute(self.b(var), "copy")), like))
        return code

    def index(self, index):
        """An index usable as a call argument (slices become ``slice(...)``)."""
        return N.index_value(index, self.externs.ref(slice, "slice"))

    def kill(self, var):
        self.adj[var] = Adj()

    # ------------------------------------------------------------ statements

    def block(self, stmts, loops):
        return [self.stmt(s, loops) for s in stmts]

    def rev_block(self, steps):
        out = []
        for step in reversed(steps):
            out.extend(step.rev())
        return out

    @staticmethod
    def fwd_block(steps):
        return [s for step in steps for s in step.fwd]

    def stmt(self, s, loops):
        method = getattr(self, "stmt_" + type(s).__name__, None)
        if method is None:
            return Step([s])
        return method(s, loops)

    def stmt_Assign(self, s, loops):
        target = s.targets[0]
        if isinstance(target, gast.Name):
            return self.assign(target.id, s.value, s, loops)
        if isinstance(target, gast.Subscript):
            return self.store_item(s, loops)
        return self.store_attr(s, loops)

    def stmt_Expr(self, s, loops):
        call = self.ctx.classify(s.value)
        if call.kind == "special" and call.special == "list.append":
            return self.list_append(s, call)
        if call.kind == "dynamic" and self.any_active(call, s.value):
            # The result is dropped, so no gradient flows back; the call still
            # goes through call_fwd, which refuses a callee that would change
            # its differentiated arguments behind the adjoint's back.
            from runtime.dispatch import call_fwd
            spec, _ = self.call_spec(s.value, call, s)
            args = [N.copy(s.value.func), N.tuple_([N.const(x) for x in spec])] + \
                [N.copy(a) for a in s.value.args]
            return Step([N.expr_stmt(gast.Call(func=self.rt(call_fwd), args=args,
                                               keywords=N.copy(s.value.keywords)), s)])
        return Step([s])

    def stmt_Return(self, s, loops):
        return Step([], None)

    def stmt_FunctionDef(self, s, loops):
        var = s.name
        marker = self.save(var, loops, s)
        if var not in self.active:
            return Step(marker + [s], lambda: [m.restore for m in marker])

        def rev():
            code = []
            if self.state(var).state != ZERO:
                for free in sorted(self.ctx.free_names(s)):
                    if free in self.active:
                        g = N.call(self.rt(H.field), [self.b(var), N.const(free)])
                        code += self.accumulate(free, g, False, maybe_none=True, like=s)
            self.kill(var)
            return code + [m.restore for m in marker]
        return Step(marker + [s], rev)

    # ------------------------------------------------------------ assignment

    def assign(self, var, value, s, loops):
        marker = self.save(var, loops, s)
        primal = N.assign(var, value, s)
        if var not in self.active:
            return Step(marker + [primal], lambda: [m.restore for m in marker])
        if isinstance(value, gast.Call):
            call = self.ctx.classify(value)
            if call.kind == "dynamic" and (self.any_active(call, value)
                                           or self.ctx.options.params):
                return self.dynamic_call(var, value, call, s, loops, marker)
            if call.kind == "special" and call.special == "list.pop":
                return self.list_pop(var, value, call, s, marker)
            if call.kind == "special" and call.special == "gradient":
                return self.nested_gradient(var, value, call, s, marker)
            if call.kind == "special" and call.special != "list.append":
                return self.special_call(var, value, call, s, marker)

        def rev():
            code = []
            if self.state(var).state != ZERO:
                code = self.adjoint(var, value, s)
            self.kill(var)
            return code + [m.restore for m in marker]
        return Step(marker + [primal], rev)

    def any_active(self, call, value):
        """True if a gradient can flow into any argument or into the callee itself."""
        atoms = [a.value if isinstance(a, gast.Starred) else a for a in call.args]
        atoms += list(call.keywords.values())
        atoms.append(call.receiver if call.receiver is not None else value.func)
        return any(self.is_active(a) for a in atoms if a is not None)

    def adjoint(self, var, value, s):
        """Adjoint code of ``var = value`` given ``bvar`` is not zero."""
        g = N.name(self.b(var))
        if isinstance(value, gast.Name):
            if value.id in self.active and value.id != var:
                maybe = self.state(var).state == MAYBE
                return self.accumulate(value.id, g, False, maybe_none=maybe, like=s)
            return []
        if isinstance(value, gast.Constant):
            return []
        code = []
        if isinstance(value, (gast.BinOp, gast.UnaryOp, gast.Call)):
            code += self.materialize(var, s)
        if isinstance(value, gast.BinOp):
            rule = registry.lookup(BINOPS[type(value.op)])
            return code + self.apply_rule(rule, var, [value.left, value.right], {}, s)
        if isinstance(value, gast.UnaryOp):
            if type(value.op) not in UNARYOPS:
                return code
            rule = registry.lookup(UNARYOPS[type(value.op)])
            return code + self.apply_rule(rule, var, [value.operand], {}, s)
        if isinstance(value, gast.Call):
            return code + self.call_adjoint(var, value, s)
        if isinstance(value, gast.Attribute):
            return self.attr_adjoint(var, value, s)
        if isinstance(value, gast.Subscript):
            return self.item_adjoint(var, value, s)
        if isinstance(value, (gast.Tuple, gast.List)):
            return self.sequence_adjoint(var, value, s)
        if isinstance(value, gast.Dict):
            return self.dict_adjoint(var, value, s)
        return []

    def call_adjoint(self, var, value, s):
        call = self.ctx.classify(value)
        if call.kind == "rule":
            if call.rule.nondiff:
                return []
            return self.apply_rule(call.rule, var, call.args, call.keywords, s, call)
        if call.kind == "dynamic":
            raise ADError("%s: internal error: no adjoint was generated for the call to %s "
                          "although its result is differentiated" %
                          (located(s, self.ctx.source), call.name))
        active = [a for a in call.args + list(call.keywords.values()) if self.is_active(a)]
        if not active:
            return []
        raise NoAdjointError.for_function(call.obj, call.name, str(located(s, self.ctx.source)))

    def apply_rule(self, rule, var, args, keywords, s, call=None):
        call = call or C.Call("rule", rule, args=args, keywords=keywords)
        if rule.vjps is None and rule.vjp_all is None:
            if rule.nondiff:
                return []
            raise NoAdjointError.for_function(rule.primal, rule.name,
                                              str(located(s, self.ctx.source)))
        if rule.vjp_all is not None:
            return self.apply_vjp_all(rule, var, call, s)
        params = C.template_params(rule)
        self.check_arguments(rule, call, params, s)
        g = N.name(self.b(var))
        vjps = self.choose(rule, call)
        contributions = []
        for i in C.diff_args(rule, call):
            atom = call.args[i] if i < len(call.args) else call.keywords[params[i]]
            if not self.is_active(atom) or vjps is None or i >= len(vjps) or vjps[i] is None:
                continue
            t = vjps[i]
            if inlinable(t.fn):
                values = C.bind_template(t, call, g, N.name(var))
                expr = instantiate(t.fn, values, self.externs,
                                   scale=g if t.scale else None, kind_of=self.kind_of_name)
            else:
                expr = self.call_template(t, g, var, call)
            contributions.append((atom.id, expr))
        code = []
        for target, expr in contributions:
            code += self.accumulate(target, expr, _fresh(expr), like=s)
        return code

    def check_arguments(self, rule, call, params, s):
        """A rule must name every argument it is given, or it may ignore one silently."""
        unknown = [k for k in call.keywords if k is None or k not in params]
        extra = len(call.args) > len(params)
        if unknown or extra:
            what = ("keyword '%s'" % unknown[0]) if unknown and unknown[0] else \
                ("%d positional arguments" % len(call.args) if extra else "**kwargs")
            raise NoAdjointError("%s: the rule for %s does not handle %s; pass it in the "
                                 "form the rule names (%s), or register a rule that takes it "
                                 "with @adjoint(%s)" % (located(s, self.ctx.source), rule.name,
                                                        what, ", ".join(params), rule.name))

    def choose(self, rule, call):
        arg_kinds = [self.atom_kind(a) for a in call.args]
        for when, vjps in rule.variants:
            try:
                if when(*arg_kinds):
                    return vjps
            except (TypeError, AttributeError):
                continue
        return rule.vjps

    def atom_kind(self, atom):
        if isinstance(atom, gast.Name):
            return self.kind(atom.id)
        if isinstance(atom, gast.Constant):
            return K.constant_kind(atom.value)
        return K.OTHER

    def call_template(self, t, g, var, call):
        """A rule written as a ``def``: call it instead of inlining."""
        fn = N.name(self.externs.ref(t, _rule_fn_name(t.fn, None)))
        args = [g, N.name(var)] + [N.copy(a) for a in call.args]
        return gast.Call(func=fn, args=args, keywords=[
            gast.keyword(arg=k, value=N.copy(v)) for k, v in call.keywords.items()])

    def apply_vjp_all(self, rule, var, call, s):
        fn = N.name(self.externs.ref(rule.vjp_all, _rule_fn_name(rule.vjp_all, rule)))
        args = [N.name(self.b(var)), N.name(var)] + [N.copy(a) for a in call.args]
        result = self.namer.fresh("_g")
        code = [N.assign(result, gast.Call(func=fn, args=args, keywords=[
            gast.keyword(arg=k, value=N.copy(v)) for k, v in call.keywords.items()]), s)]
        for i, atom in enumerate(call.args):
            if self.is_active(atom):
                code += self.accumulate(atom.id, N.subscript(result, N.const(i)), False,
                                        maybe_none=True, like=s)
        return code

    # ------------------------------------------------------------ structures

    def attr_adjoint(self, var, value, s):
        base = value.value
        if not self.is_active(base):
            return []
        g = N.name(self.b(var))
        if K.array_property(self.kind(base.id), value.attr):
            rule = registry.lookup_attr(np.ndarray, value.attr)
            if rule is not None and rule.nondiff:
                return []
            if rule is None or rule.vjps is None:
                raise NoAdjointError("%s: no adjoint for attribute ndarray.%s; register one "
                                     "with registry.defattr(numpy.ndarray, %r, vjp=...)"
                                     % (located(s, self.ctx.source), value.attr, value.attr))
            code = self.materialize(var, s)
            expr = instantiate(rule.vjps[0].fn, {"g": g, "ans": N.name(var), "x": base},
                               self.externs)
            return code + self.accumulate(base.id, expr, _fresh(expr), like=s)
        expr = N.call(self.rt(H.add_attr), [self.b(base.id) if self.state(base.id).state
                                            != ZERO else N.const(None),
                                            base, N.const(value.attr), g])
        a = self.state(base.id)
        a.state, a.owned = MAYBE, False
        return [N.assign(self.b(base.id), expr, s)]

    def item_adjoint(self, var, value, s):
        base = value.value
        if not self.is_active(base):
            return []
        code = self.materialize(var, s)
        g = N.name(self.b(var))
        k = self.kind(base.id)
        index = value.slice
        if (k.tag == "tuple" and k.token is not None and isinstance(index, gast.Constant)
                and isinstance(index.value, int) and self.state(base.id).state == ZERO
                and -len(k.token) <= index.value < len(k.token)):
            # A tuple of known length: its cotangent is a literal, so the
            # tuple itself need not be kept (or computed) for the adjoint.
            i = index.value % len(k.token)
            elts = [N.const(None)] * len(k.token)
            elts[i] = g
            a = self.state(base.id)
            a.state, a.owned = SET, False
            return code + [N.assign(self.b(base.id), N.tuple_(elts), s)]
        index = N.copy(value.slice)
        if K.is_array(self.kind(base.id)) and self.inplace:
            code += self.own(base.id, s)
            if _basic_index(value.slice, self.kinds):
                target = N.subscript(self.b(base.id), index, store=True)
                code.append(N.located_as(gast.AugAssign(target=target, op=gast.Add(), value=g),
                                         s))
            else:
                code.append(N.expr_stmt(N.call(self.rt(H.scatter_add),
                                               [self.b(base.id), self.index(index), g]), s))
            return code
        prev = self.b(base.id) if self.state(base.id).state != ZERO else N.const(None)
        expr = N.call(self.rt(H.add_item), [prev, base, self.index(index), g])
        a = self.state(base.id)
        a.state, a.owned = SET, False
        return code + [N.assign(self.b(base.id), expr, s)]

    def sequence_adjoint(self, var, value, s):
        code = []
        g = self.b(var)
        for i, elt in enumerate(value.elts):
            if isinstance(elt, gast.Starred):
                if self.is_active(elt.value):
                    raise UnsupportedSyntaxError(
                        "%s: unpacking a differentiated value with * into a tuple or list is "
                        "not supported; build the sequence with + instead"
                        % located(s, self.ctx.source))
                continue
            if self.is_active(elt):
                expr = N.call(self.rt(H.item), [g, N.const(i)])
                code += self.accumulate(elt.id, expr, False, maybe_none=True, like=s)
        return code

    def dict_adjoint(self, var, value, s):
        code = []
        for key, val in zip(value.keys, value.values):
            if key is not None and self.is_active(val):
                expr = N.call(self.rt(H.item), [self.b(var), N.copy(key)])
                code += self.accumulate(val.id, expr, False, maybe_none=True, like=s)
        return code

    # ------------------------------------------------------------ mutation

    def store_item(self, s, loops):
        target = s.targets[0]
        base, value = target.value, s.value
        if not isinstance(base, gast.Name):
            return Step([s])
        marker = [Save(base.id, loops > 0, index=target.slice, like=s)]
        if base.id not in self.active:
            return Step(marker + [s], lambda: [m.restore for m in marker])

        def rev():
            code = []
            if self.state(base.id).state != ZERO:
                code = self.store_item_adjoint(base.id, target.slice, value, s)
            return code + [m.restore for m in marker]
        return Step(marker + [s], rev)

    def store_item_adjoint(self, var, index, value, s):
        bvar = self.b(var)
        code = []
        if K.is_array(self.kind(var)):
            code += self.own(var, s)
            if self.is_active(value):
                g = N.call(N.attribute(N.subscript(bvar, N.copy(index)), "copy"))
                g = N.call(self.rt(H.unbroadcast), [g, value])
                code += self.accumulate(value.id, g, False, like=s)
            code.append(N.assign(N.subscript(bvar, N.copy(index), store=True),
                                 N.const(0.0), s))
            return code
        code += self.materialize(var, s)
        if self.is_active(value):
            g = N.call(self.rt(H.item), [bvar, self.index(index)])
            code += self.accumulate(value.id, g, False, maybe_none=True, like=s)
        cleared = N.call(self.rt(H.clear_item), [bvar, self.index(index)])
        code.append(N.assign(bvar, cleared, s))
        self.state(var).owned = False
        return code

    def store_attr(self, s, loops):
        value = s.value
        if self.is_active(value):
            base = s.targets[0].value
            raise UnsupportedSyntaxError(
                "%s: assigning a differentiated value to attribute '%s' of '%s' is not "
                "supported in differentiated code; build and return a new object instead"
                % (located(s, self.ctx.source), s.targets[0].attr, C.describe(base)))
        return Step([s])

    def list_append(self, s, call):
        lst = call.receiver.id
        item = call.args[0] if call.args else None
        if lst not in self.active:
            return Step([s])

        def rev():
            code = []
            if self.state(lst).state != ZERO:
                popped = N.call(N.attribute(self.b(lst), "pop"))
                if item is not None and self.is_active(item):
                    code += self.accumulate(item.id, popped, False, maybe_none=True, like=s)
                else:
                    code.append(N.expr_stmt(popped, s))
            code.append(N.expr_stmt(N.call(N.attribute(lst, "pop")), s))
            return code
        return Step([s], rev)

    def list_pop(self, var, value, call, s, marker):
        lst = call.receiver.id
        if call.args:
            raise UnsupportedSyntaxError("%s: list.pop(i) of a differentiated list is not "
                                         "supported; use list.pop()" % located(s, self.ctx.source))

        def rev():
            code = []
            if self.state(var).state != ZERO and lst in self.active:
                if self.state(lst).state == ZERO:
                    code.append(N.assign(self.b(lst), N.binop(gast.List(
                        elts=[N.const(None)], ctx=gast.Load()), gast.Mult(),
                        N.call(self.rt(len, "len"), [lst])), s))
                    self.state(lst).state = SET
                code.append(N.expr_stmt(N.call(N.attribute(self.b(lst), "append"),
                                               [self.b(var)]), s))
            code.append(N.expr_stmt(N.call(N.attribute(lst, "append"), [var]), s))
            self.kill(var)
            return code + [m.restore for m in marker]
        return Step(marker + [N.assign(var, value, s)], rev)

    # ------------------------------------------------------------ nested derivatives

    def nested_gradient(self, var, value, call, s, marker):
        """``z = gradient(f, *xs)``: its adjoint is a Hessian-vector product.

        The cotangent of the gradient is the direction of a forward sweep
        over ``f``'s generated gradient code, with respect to ``f``'s inputs
        *and its captured variables* (for closures over outer variables).
        """
        from runtime.dispatch import call_tangent
        from runtime.transforms import FULL_GRAD
        f, xs = value.args[0], value.args[1:]
        starred = len(xs) == 1 and isinstance(xs[0], gast.Starred)
        if (not starred and any(isinstance(x, gast.Starred) for x in xs)) or value.keywords:
            raise UnsupportedSyntaxError(
                "%s: a nested gradient must be called as gradient(f, x, y, ...) or "
                "gradient(f, *xs)" % located(s, self.ctx.source))
        primal = N.assign(var, value, s)

        def rev():
            code = []
            if self.state(var).state != ZERO:
                bz = self.b(var)
                if starred:
                    spec, tans = N.const((("*", 1, 2),)), N.tuple_([bz])
                else:
                    tans = N.tuple_([N.call(self.rt(H.item), [bz, N.const(i)])
                                     for i in range(len(xs))])
                    spec = N.tuple_([N.const(i + 1) for i in range(len(xs))])
                hv = self.namer.fresh("_hv")
                # only the tangent: the gradient's own value is not needed again
                code.append(N.assign(hv, gast.Call(
                    func=self.rt(call_tangent), args=[
                        N.name(self.externs.ref(FULL_GRAD, "full_gradient")), spec, tans,
                        N.copy(f)] + [N.copy(x) for x in xs], keywords=[]), s))

                def part(index):            # None (a zero tangent) has no parts
                    return N.call(self.rt(H.item), [N.name(hv), index])

                targets = [(f, part(N.const(0)))]
                if starred:
                    rest = self.index(gast.Slice(lower=N.const(1), upper=None, step=None))
                    targets.append((xs[0].value, part(rest)))
                else:
                    targets += [(x, part(N.const(i + 1))) for i, x in enumerate(xs)]
                for atom, expr in targets:
                    if self.is_active(atom):
                        code += self.accumulate(atom.id, expr, False, maybe_none=True, like=s)
            self.kill(var)
            return code + [m.restore for m in marker]
        return Step(marker + [primal], rev)

    def special_call(self, var, value, call, s, marker):
        if call.special == "grad" and not self.any_active(call, value):
            return Step(marker + [N.assign(var, value, s)],
                        lambda: [m.restore for m in marker])
        advice = {"grad": "inside differentiated code call gradient(f, x) instead of "
                          "grad(f)(x) when f depends on differentiated values"}.get(
            call.special, "call it outside the differentiated function")
        raise UnsupportedSyntaxError("%s: differentiating through %s() is not supported; %s"
                                     % (located(s, self.ctx.source), call.special, advice))

    # ------------------------------------------------------------ calls into user code

    def call_spec(self, value, call, s):
        """Which atoms of a call want gradients, encoded for ``call_fwd``."""
        spec, targets = [], []
        fn_atom = call.receiver if call.receiver is not None else value.func
        if isinstance(fn_atom, gast.Name) and self.is_active(fn_atom):
            spec.append("fn")
            targets.append(fn_atom)
        stars = [i for i, a in enumerate(value.args) if isinstance(a, gast.Starred)]
        doubles = [k for k in value.keywords if k.arg is None]
        n = len(value.args)
        for i, a in enumerate(value.args):
            atom = a.value if isinstance(a, gast.Starred) else a
            if not self.is_active(atom):
                continue
            if len(stars) > 1:
                raise UnsupportedSyntaxError(
                    "%s: a call with several *sequences and differentiated arguments is not "
                    "supported; build one sequence and pass *it" % located(s, self.ctx.source))
            if isinstance(a, gast.Starred):
                spec.append(("*", i, n))
            else:
                spec.append(i - n if stars and i > stars[0] else i)
            targets.append(atom)
        named = tuple(k.arg for k in value.keywords if k.arg is not None)
        for k in value.keywords:
            if not self.is_active(k.value):
                continue
            if k.arg is None and len(doubles) > 1:
                raise UnsupportedSyntaxError(
                    "%s: a call with several **mappings and differentiated arguments is not "
                    "supported; merge them into one dict" % located(s, self.ctx.source))
            spec.append(k.arg if k.arg is not None else ("**", named))
            targets.append(k.value)
        return spec, targets

    def dynamic_call(self, var, value, call, s, loops, marker):
        from runtime.dispatch import call_bwd, call_fwd
        spec, targets = self.call_spec(value, call, s)
        res = self.namer.fresh("_res")
        args = [N.copy(value.func), N.tuple_([N.const(x) for x in spec])] + \
            [N.copy(a) for a in value.args]
        fwd_call = gast.Call(func=self.rt(call_fwd), args=args,
                             keywords=N.copy(value.keywords))
        res_marker = self.save(res, loops, s)
        target = N.tuple_([N.name(var, store=True), N.name(res, store=True)], store=True)
        fwd = marker + res_marker + [N.assign(target, fwd_call, s)]
        def rev():
            code = []
            if self.state(var).state != ZERO:
                grads = self.namer.fresh("_g")
                code.append(N.assign(grads, N.call(self.rt(call_bwd),
                                                   [res, self.b(var)]), s))
                for i, atom in enumerate(targets):
                    expr = N.subscript(grads, N.const(i))
                    known = K.numeric(self.kind(atom.id))
                    code += self.accumulate(atom.id, expr, False, maybe_none=not known, like=s)
            self.kill(var)
            return code + [m.restore for m in res_marker] + [m.restore for m in marker]
        return Step(fwd, rev)

    # ------------------------------------------------------------ control flow

    def stmt_If(self, s, loops):
        body = self.block(s.body, loops)
        orelse = self.block(s.orelse, loops)
        fwd = [N.if_(N.copy(s.test), self.fwd_block(body), self.fwd_block(orelse), s)]

        def rev():
            start = self.snapshot()
            rb = self.rev_block(body)
            after_body = self.snapshot()
            self.restore_state(start)
            ro = self.rev_block(orelse)
            after_else = self.snapshot()
            merged, fix_b, fix_o = self.merge(after_body, after_else, s)
            self.restore_state(merged)
            if not rb + fix_b and not ro + fix_o:
                return []
            return [N.if_(N.copy(s.test), rb + fix_b, ro + fix_o, s)]
        return Step(fwd, rev)

    def merge(self, left, right, like):
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
                    fix.append(N.assign(self.b(var), N.const(None), like))
                    merged[var] = Adj(MAYBE)
                else:
                    fix.append(N.assign(self.b(var), self.zero(var), like))
                    kind_known = K.numeric(self.kind(var))
                    merged[var] = Adj(SET if kind_known else MAYBE,
                                      other.owned and K.is_array(self.kind(var)))
            else:
                merged[var] = Adj(MAYBE)
        return merged, fix_l, fix_r

    def loop_body_rev(self, body, like):
        """Adjoint of a loop body with adjoint states consistent across iterations."""
        entry = self.snapshot()
        start = entry
        for _ in range(4):
            counters = dict(self.namer.counters)
            taken = set(self.namer.taken)
            self.restore_state(start)
            self.rev_block(body)
            end = self.snapshot()
            self.namer.counters, self.namer.taken = counters, taken
            weaker = self.loop_start(start, end)
            if weaker == start:
                break
            start = weaker
        pre = self.pre_loop(entry, start)
        self.restore_state(start)
        code = self.rev_block(body)
        end = self.snapshot()
        fix = []
        for var, a in start.items():
            e = end.get(var, Adj())
            if a.state != ZERO and e.state == ZERO:
                value = self.zero(var) if a.state == SET else N.const(None)
                fix.append(N.assign(self.b(var), value, like))
        self.restore_state(start)
        return pre, code + fix

    def loop_start(self, start, end):
        """The adjoint states a loop iteration may begin with."""
        out = {v: Adj(a.state, a.owned) for v, a in start.items()}
        for var, e in end.items():
            s = out.setdefault(var, Adj())
            if e.state == ZERO:
                continue
            if s.state == ZERO:
                s.state = SET if (e.state == SET and K.numeric(self.kind(var))) else MAYBE
                s.owned = K.is_array(self.kind(var)) and s.state == SET
                continue
            if e.state == MAYBE:
                s.state = MAYBE
            s.owned = s.owned and e.owned
        return out

    def pre_loop(self, entry, start):
        """Materialise adjoints that the loop accumulates into but are still zero."""
        code = []
        for var, a in sorted(start.items()):
            if entry.get(var, Adj()).state == ZERO and a.state != ZERO:
                value = self.zero(var) if a.state == SET else N.const(None)
                code.append(N.assign(self.b(var), value))
        return code

    def loop_inits(self, body_steps, defined_before, like):
        """``v = None`` for variables first defined inside an outermost loop.

        The first iteration saves their (missing) previous value; the
        assignment is dead, and removed, unless that save is real.
        """
        inits = []
        for save in _saves(self.fwd_block(body_steps)):
            if save.in_loop and save.index is None and save.var not in defined_before \
                    and save.var not in {i.targets[0].id for i in inits}:
                inits.append(N.assign(save.var, N.const(None), like))
        return inits

    def stmt_For(self, s, loops):
        defined_before = set(self.assigned)
        body = self.block(s.body, loops + 1)
        breaks = _has_break(s.body)
        target = s.target.id
        marker = self.save(target, loops, s)
        self.assigned.add(target)
        fwd_body = self.fwd_block(body)
        counter = None
        pre = []
        if breaks:
            counter = self.namer.fresh("_n")
            pre = self.save(counter, loops, s) + [N.assign(counter, N.const(0), s)]
            fwd_body = [N.assign(counter, N.binop(counter, gast.Add(), N.const(1)), s)] + fwd_body
        fwd = marker + pre + [N.for_(N.copy(s.target), N.copy(s.iter),
                                     fwd_body, s)]
        if loops == 0:
            fwd = self.loop_inits(body, defined_before, s) + fwd

        def rev():
            before, code = self.loop_body_rev(body, s)
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

    def stmt_While(self, s, loops):
        defined_before = set(self.assigned)
        body = self.block(s.body, loops + 1)
        counter = self.namer.fresh("_n")
        pre = self.save(counter, loops, s) + [N.assign(counter, N.const(0), s)]
        bump = N.assign(counter, N.binop(counter, gast.Add(), N.const(1)), s)
        fwd = pre + [N.located_as(gast.While(test=N.const(True),
                                             body=[bump] + self.fwd_block(body), orelse=[]), s)]
        if loops == 0:
            fwd = self.loop_inits(body, defined_before, s) + fwd

        def rev():
            before, code = self.loop_body_rev(body, s)
            i = self.namer.fresh("_")
            loop = [N.for_(i, N.call(self.rt(range, "range"), [counter]), code, s)] if code \
                else []
            return before + loop + [m.restore for m in pre if isinstance(m, Save)]
        return Step(fwd, rev)

    # ------------------------------------------------------------ whole function

    def deposits(self):
        """Params mode: hand the gradients of globals and cells to the collector."""
        code = []
        for var in self.ctx.deposits:
            if var in self.active and self.state(var).state != ZERO:
                code.append(N.expr_stmt(N.call(self.rt(_deposit_fn()),
                                               [var, self.b(var)])))
        return code

    def function(self, fn):
        steps = self.block(fn.body, 0)
        ret = fn.body[-1]
        output = ret.value
        seed = []
        if self.is_active(output):
            k = self.kind(output.id)
            if k == K.SCALAR:
                seed = [N.assign(self.b(output.id), N.const(1.0), ret)]
            else:
                where = N.const(str(located(ret, self.ctx.source)))
                args = [output, where]
                if self.ctx.options.mode == "value_and_grad":
                    args.append(N.const(True))
                seed = [N.assign(self.b(output.id), N.call(self.rt(H.seed), args), ret)]
            self.state(output.id).state = SET
        rev = self.rev_block(steps)
        rev += self.deposits()
        grads = []
        for var in self.ctx.wrt:
            a = self.state(var)
            if var not in self.active or a.state == ZERO:
                grads.append(self.zero(var) if K.numeric(self.kind(var)) else N.const(None))
            elif a.state == MAYBE and K.numeric(self.kind(var)):
                grads.append(N.call(self.rt(H.nz), [self.b(var), var]))
            else:
                grads.append(N.name(self.b(var)))
        return Result(self.fwd_block(steps), rev, output, seed, grads)


def _deposit_fn():
    from runtime.implicit import deposit
    return deposit


def _rule_fn_name(fn, rule):
    name = getattr(fn, "__name__", "<lambda>")
    if name != "<lambda>":
        return name
    base = rule.name.split(".")[-1] if rule is not None else "rule"
    return base + "_vjp"


def _fresh(expr):
    """True if ``expr`` always allocates a new value (safe to own)."""
    return isinstance(expr, (gast.BinOp, gast.UnaryOp))


def _basic_index(index, kinds):
    elts = index.elts if isinstance(index, gast.Tuple) else [index]
    for e in elts:
        if isinstance(e, gast.Slice):
            continue
        if isinstance(e, gast.Constant) and (e.value is None or e.value is Ellipsis
                                             or isinstance(e.value, int)):
            continue
        if isinstance(e, gast.Name) and kinds.get(e.id) == K.SCALAR:
            continue
        return False
    return True


def _saves(stmts):
    for s in stmts:
        if isinstance(s, Save):
            yield s
        elif isinstance(s, (gast.If, gast.For, gast.While)):
            yield from _saves(s.body)
            yield from _saves(s.orelse)


def _has_break(stmts):
    for s in stmts:
        if isinstance(s, gast.Break):
            return True
        if isinstance(s, gast.If) and (_has_break(s.body) or _has_break(s.orelse)):
            return True
    return False

