"""Stage 5: reverse mode.

Walks an ANF function once forwards, building the primal sweep, and then
backwards, building the adjoint sweep.  Adjoints are tracked statically:

* ``ZERO``: never materialised (no code at all);
* ``SET``: holds a value of the variable's kind;
* ``MAYBE``: may be ``None`` (zero) because it came out of a structure.

so the first contribution to ``bx`` is a plain assignment and later ones
add.  Arrays the generated code allocated itself (``owned``) are updated
in place.  Values the adjoint needs that the primal overwrites are saved
through :mod:`~ad_compiler.reverse.tape` markers.

Each construct has a handler, a function of the sweep's state ``sw``, in
one of two tables at the end of this module: :data:`STATEMENTS` (a
statement's forward code and the closure giving its adjoint) and
:data:`VALUES` (the adjoint of ``var = value`` for each kind of value).
The handlers for structures and mutation, calls, control flow and calls
with registered rules live in :mod:`~ad_compiler.reverse.data`,
:mod:`~ad_compiler.reverse.calls`, :mod:`~ad_compiler.reverse.flow` and
:mod:`~ad_compiler.reverse.rules`; :class:`Reverse` holds the state and
the helpers they share.
"""
import gast

from ad_compiler import nodes as N
from ad_compiler.reverse import calls, data, flow, rules
from ad_compiler.runtime import helpers as H
from ad_compiler.runtime.core import kinds as K, registry
from ad_compiler.runtime.core.errors import ADError, NoAdjointError, located
from ad_compiler.steps import (BINOPS, MAYBE, SET, UNARYOPS, ZERO, Adj, Result, Save, Step, Sweep,
                               deposit_fn, runs_checked)


def _real(k):
    """A real number, or a tuple of real numbers (``gradient(f, x)``'s result)."""
    return k == K.SCALAR or (k is not None and k.tag == "tuple" and bool(k.token)
                             and all(_real(t) for t in k.token))


def _complex_power(node):
    """``a ** b`` with an exponent that is not a whole-number constant: a
    negative float base then gives a complex number in Python."""
    if not (isinstance(node, gast.BinOp) and isinstance(node.op, gast.Pow)):
        return False
    b = node.right
    return not (isinstance(b, gast.Constant) and isinstance(b.value, (int, float))
                and not isinstance(b.value, bool) and float(b.value).is_integer())


class Reverse(Sweep):
    """The state of one reverse sweep (adjoint names and states, what is saved)
    and the helpers every construct's handler uses; the handlers are in the
    tables at the end of this module."""
    prefix = "b"

    def __init__(self, ctx):
        super().__init__(ctx)
        self.assigned = set(ctx.inputs)
        self.inplace = ctx.options.inplace

    # ------------------------------------------------------------ helpers

    def b(self, var):
        return self.namer.adjoint(var)

    def is_active(self, atom):
        return isinstance(atom, gast.Name) and atom.id in self.active

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
        self.states[var] = Adj()

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
        """The :class:`Step` of statement ``s``: its construct's handler in
        :data:`STATEMENTS` (a statement with no derivative is kept as it is)."""
        handler = STATEMENTS.get(type(s))
        return Step([s]) if handler is None else handler(self, s, loops)

    def any_active(self, call, value):
        """True if a gradient can flow into any argument or into the callee itself."""
        atoms = [a.value if isinstance(a, gast.Starred) else a for a in call.args]
        atoms += list(call.keywords.values())
        atoms.append(call.receiver if call.receiver is not None else value.func)
        return any(self.is_active(a) for a in atoms if a is not None)

    def adjoint(self, var, value, s):
        """Adjoint code of ``var = value`` given ``bvar`` is not zero: the
        handler of ``value``'s construct in :data:`VALUES`."""
        handler = VALUES.get(type(value))
        return [] if handler is None else handler(self, var, value, s)

    # ------------------------------------------------------------ whole function

    def deposits(self):
        """Params mode: hand the gradients of globals and cells to the collector."""
        code = []
        for var in self.ctx.deposits:
            if var in self.active and self.state(var).state != ZERO:
                code.append(N.expr_stmt(N.call(self.rt(deposit_fn()),
                                               [var, self.b(var)])))
        return code

    def provably_real(self, fn):
        """Only real numbers are differentiated (no array, whose dtype kinds
        do not track, no complex number, nothing unknown), and nothing turns
        a real into a complex: the output needs no run-time check before it
        is seeded with 1.0.  (Inactive values, such as a function held in a
        closure cell, cannot make the output complex without making some
        active value's kind unknown or complex.)"""
        import cmath
        return all(_real(self.kind(v)) for v in self.active) and \
            not any(v is cmath for v in self.ctx.externs.bound.values()) and \
            all(self.ctx.resolver.lookup(n) is not cmath for n in self.ctx.resolver.assumptions) \
            and not any(_complex_power(node) for node in N.walk(fn))

    def function(self, fn):
        steps = self.block(fn.body, 0)
        ret = fn.body[-1]
        output = ret.value
        seed = []
        if self.is_active(output):
            k = self.kind(output.id)
            if k == K.SCALAR and self.provably_real(fn):
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


# ---------------------------------------------------------------- statements

def assign_statement(sw, s, loops):
    target = s.targets[0]
    if isinstance(target, gast.Name):
        return assign(sw, target.id, s.value, s, loops)
    if isinstance(target, gast.Subscript):
        return data.store_item(sw, s, loops)
    return data.store_attr(sw, s, loops)


def expr_statement(sw, s, loops):
    call = sw.ctx.classify(s.value)
    if call.kind == "special" and call.special == "list.append":
        return data.list_append(sw, s, call)
    if _for_effect(sw, call, s.value):
        return Step([N.expr_stmt(_checked_call(sw, call, s.value, s), s)])
    return Step([s])


def _for_effect(sw, call, value):
    """A call into user code whose result carries no gradient but that receives
    differentiated or mutable values: what it does to them still matters."""
    return call.kind == "dynamic" and (sw.any_active(call, value) or sw.passes_mutable(call))


def _checked_call(sw, call, value, s):
    """``call_fwd(f, spec, *args)`` for such a call: it compiles the callee,
    which refuses to change its differentiated arguments behind the
    adjoint's back (there is no adjoint to carry the change)."""
    from ad_compiler.runtime.dispatch import call_fwd
    spec, _ = calls.active_spec(sw, value, call, s)
    args = [N.copy(value.func), N.tuple_([N.const(x) for x in spec])] + \
        [N.copy(a) for a in value.args]
    return gast.Call(func=sw.rt(call_fwd), args=args, keywords=N.copy(value.keywords))


def return_statement(sw, s, loops):
    return Step([], None)


def def_statement(sw, s, loops):
    var = s.name
    marker = sw.save(var, loops, s)
    if var not in sw.active:
        return Step(marker + [s], lambda: [m.restore for m in marker])

    def rev():
        code = []
        if sw.state(var).state != ZERO:
            for free in sorted(sw.ctx.free_names(s)):
                if free in sw.active:
                    g = N.call(sw.rt(H.field), [sw.b(var), N.const(free)])
                    code += sw.accumulate(free, g, False, maybe_none=True, like=s)
        sw.kill(var)
        return code + [m.restore for m in marker]
    return Step(marker + [s], rev)


def assign(sw, var, value, s, loops):
    """``var = value``: a call into user code, a special call, or a value
    whose adjoint :meth:`Reverse.adjoint` writes."""
    marker = sw.save(var, loops, s)
    primal = N.assign(var, value, s)
    if var not in sw.active:
        call = sw.ctx.classify(value) if isinstance(value, gast.Call) else None
        if runs_checked(sw, value, call, sw.is_active):
            # (fuzz seed 12000000840: a helper writing into an array, its
            # None result bound to a name, ran unchecked: a wrong gradient)
            primal = N.assign(var, N.subscript(_checked_call(sw, call, value, s), N.const(0)), s)
        return Step(marker + [primal], lambda: [m.restore for m in marker])
    if isinstance(value, gast.Call):
        call = sw.ctx.classify(value)
        if call.kind == "dynamic" and (sw.any_active(call, value) or sw.ctx.options.params):
            return calls.dynamic_call(sw, var, value, call, s, loops, marker)
        if call.kind == "special" and call.special == "list.pop":
            return data.list_pop(sw, var, value, call, s, marker)
        if call.kind == "special" and call.special == "gradient":
            return calls.nested_gradient(sw, var, value, call, s, marker)
        if call.kind == "special" and call.special != "list.append":
            return calls.special_call(sw, var, value, call, s, marker)
    if isinstance(value, gast.Name) and value.id == var:
        # ``x = x``: its adjoint passes through unchanged (killing it after
        # "accumulating into itself" would zero the gradient)
        return Step(marker + [primal], lambda: [m.restore for m in marker])

    def rev():
        code = []
        if sw.state(var).state != ZERO:
            code = sw.adjoint(var, value, s)
        sw.kill(var)
        return code + [m.restore for m in marker]
    return Step(marker + [primal], rev)


# ---------------------------------------------------------------- values

def name_adjoint(sw, var, value, s):
    if value.id not in sw.active:
        return []
    maybe = sw.state(var).state == MAYBE
    return sw.accumulate(value.id, N.name(sw.b(var)), False, maybe_none=maybe, like=s)


def binop_adjoint(sw, var, value, s):
    rule = registry.lookup(BINOPS[type(value.op)])
    return sw.materialize(var, s) + rules.apply_rule(sw, rule, var, [value.left, value.right],
                                                     {}, s)


def unary_adjoint(sw, var, value, s):
    code = sw.materialize(var, s)
    if type(value.op) not in UNARYOPS:
        return code
    rule = registry.lookup(UNARYOPS[type(value.op)])
    return code + rules.apply_rule(sw, rule, var, [value.operand], {}, s)


def call_adjoint(sw, var, value, s):
    code = sw.materialize(var, s)
    call = sw.ctx.classify(value)
    if call.kind == "rule":
        if call.rule.nondiff:
            return code
        return code + rules.apply_rule(sw, call.rule, var, call.args, call.keywords, s, call)
    if call.kind == "dynamic" and not sw.any_active(call, value) and \
            not sw.ctx.options.params:
        return code         # y = helper(): a constant, whatever y held before
    if call.kind == "dynamic":
        raise ADError("%s: internal error: no adjoint was generated for the call to %s "
                      "although its result is differentiated" %
                      (located(s, sw.ctx.source), call.name))
    if not [a for a in call.args + list(call.keywords.values()) if sw.is_active(a)]:
        return code
    raise NoAdjointError.for_function(call.obj, call.name, str(located(s, sw.ctx.source)))


# The handler of each construct (Tangent's per-construct templates): a
# statement's gives its Step, a value's the adjoint code of ``var = value``.
STATEMENTS = {gast.Assign: assign_statement, gast.Expr: expr_statement,
              gast.Return: return_statement, gast.FunctionDef: def_statement,
              gast.If: flow.if_statement, gast.For: flow.for_statement,
              gast.While: flow.while_statement}
VALUES = {gast.Name: name_adjoint, gast.BinOp: binop_adjoint, gast.UnaryOp: unary_adjoint,
          gast.Call: call_adjoint, gast.Attribute: data.attr_adjoint,
          gast.Subscript: data.item_adjoint, gast.Tuple: data.sequence_adjoint,
          gast.List: data.sequence_adjoint, gast.Dict: data.dict_adjoint}
