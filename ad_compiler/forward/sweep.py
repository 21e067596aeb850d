"""Stage 5 (forward mode): a tangent statement beside every primal statement.

``y = np.sin(x)`` gains ``dy = dx * np.cos(x)``, from the same rule tables
as reverse mode (forward templates, linear rules, joint rules).  Control
flow is mirrored as it is, so no values need saving; a list's tangent is a
list of tangents, so the stacks of generated reverse code get tangent
stacks, and forward-over-reverse (Hessian-vector products) falls out.

Tangents are tracked statically as in reverse mode: ``ZERO`` (no code),
``SET`` (a value of the variable's kind) or ``MAYBE`` (possibly ``None``).
Each construct has a handler, a function of the sweep's state ``sw``, in the
tables :data:`STATEMENTS` and :data:`VALUES` at the end of this module; the
handlers for structures and mutation, for calls and control flow, and for
calls with rules live in :mod:`~ad_compiler.forward.data`,
:mod:`~ad_compiler.forward.flow` and :mod:`~ad_compiler.forward.rules`.
"""
import gast

from ad_compiler import nodes as N
from ad_compiler.analysis import calls as C
from ad_compiler.forward import data, flow, rules
from ad_compiler.runtime import helpers as H
from ad_compiler.runtime.core import kinds as K, registry
from ad_compiler.runtime.core.errors import UnsupportedSyntaxError, located
from ad_compiler.steps import BINOPS, MAYBE, SET, UNARYOPS, ZERO, Sweep, Tan, runs_checked


class Forward(Sweep):
    """The state of one forward sweep (tangent names and states) and the
    helpers and rule machinery every construct's handler uses; the handlers
    are in the tables at the end of this module."""
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
        """Statement ``s`` with its tangent code: its construct's handler in
        :data:`STATEMENTS` (a statement with no derivative is kept as it is)."""
        handler = STATEMENTS.get(type(s))
        return [s] if handler is None else handler(self, s)

    def any_live(self, call, value):
        atoms = [a.value if isinstance(a, gast.Starred) else a for a in call.args]
        atoms += list(call.keywords.values())
        atoms.append(call.receiver if call.receiver is not None else value.func)
        return any(self.live(a) for a in atoms if a is not None)

    def tangent_of(self, var, value, code, s):
        """(expression, state, owned) of the tangent of ``var = value``; expr None:
        zero.  The handler of ``value``'s construct in :data:`VALUES`."""
        handler = VALUES.get(type(value))
        return (None, ZERO, False) if handler is None else handler(self, var, value, code, s)

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


# ---------------------------------------------------------------- statements

def assign_statement(sw, s):
    target = s.targets[0]
    if isinstance(target, gast.Name):
        return assign(sw, target.id, s.value, s)
    if isinstance(target, gast.Subscript):
        return data.store_item(sw, s)
    if sw.live(s.value):
        raise UnsupportedSyntaxError(
            "%s: assigning a differentiated value to attribute '%s' is not supported in "
            "differentiated code; build and return a new object instead"
            % (located(s, sw.ctx.source), target.attr))
    return [s]


def assign(sw, var, value, s):
    """``var = value`` and its tangent: a call into user code or a special
    call by its own handler, any other value through :meth:`Forward.tangent_of`."""
    sw.defined.add(var)
    if var not in sw.active:
        sw.states[var] = Tan()
        call = sw.ctx.classify(value) if isinstance(value, gast.Call) else None
        if runs_checked(sw, value, call, sw.live):
            # the result carries no tangent, but what the call does to its
            # arguments does: through call_jvp, which checks the callee
            checked = flow.joint_call(sw, "_", value, call, s)[0].value
            return [N.assign(var, N.subscript(checked, N.const(0)), s)]
        return [s]
    if isinstance(value, gast.Call):
        call = sw.ctx.classify(value)
        if call.kind == "special" and call.special not in ("list.pop", "list.append"):
            return flow.special_call(sw, var, value, call, s)
        joint = call.kind == "rule" and call.rule.jvp_joint is not None
        if (call.kind == "dynamic" or joint) and sw.any_live(call, value):
            return flow.joint_call(sw, var, value, call, s)
    code = [s]
    expr, state, owned = sw.tangent_of(var, value, code, s)
    if expr is None:
        sw.states[var] = Tan()
        return code
    return code + sw.set(var, expr, s, state, owned)


# ---------------------------------------------------------------- values

def name_tangent(sw, var, value, code, s):
    if not sw.live(value):
        return None, ZERO, False
    return N.name(sw.d(value.id)), sw.state(value.id).state, False


def binop_tangent(sw, var, value, code, s):
    call = C.Call("rule", registry.lookup(BINOPS[type(value.op)]), args=[value.left, value.right])
    return rules.apply_rule(sw, var, call, code, s)


def unary_tangent(sw, var, value, code, s):
    if type(value.op) not in UNARYOPS:
        return None, ZERO, False
    call = C.Call("rule", registry.lookup(UNARYOPS[type(value.op)]), args=[value.operand])
    return rules.apply_rule(sw, var, call, code, s)


def sequence_tangent(sw, var, value, code, s):
    return data.sequence_tangent(sw, value, s)


def dict_tangent(sw, var, value, code, s):
    """The same display of the tangents; an unpacked ``**d`` gives one entry
    per key of ``d``, so it overrides exactly what ``d`` overrides."""
    if not any(sw.live(v) for v in value.values):
        return None, ZERO, False
    values = [sw.maybe(v) if k is not None else
              N.call(sw.rt(H.display_tangent), [N.copy(v), sw.maybe(v)])
              for k, v in zip(value.keys, value.values)]
    return gast.Dict(keys=[N.copy(k) for k in value.keys], values=values), SET, True


# The handler of each construct: a statement's gives the statement with its
# tangent code, a value's the (expression, state, owned) of ``var = value``'s
# tangent.
STATEMENTS = {gast.Assign: assign_statement, gast.Expr: data.expr_statement,
              gast.FunctionDef: flow.def_statement, gast.If: flow.if_statement,
              gast.For: flow.for_statement, gast.While: flow.while_statement}
VALUES = {gast.Name: name_tangent, gast.BinOp: binop_tangent, gast.UnaryOp: unary_tangent,
          gast.Call: rules.call_tangent, gast.Attribute: data.attr_tangent,
          gast.Subscript: data.item_tangent, gast.Tuple: sequence_tangent,
          gast.List: sequence_tangent, gast.Dict: dict_tangent}
