"""What the reverse transform tracks: adjoint states, steps, and small
helpers shared by :mod:`reverse` and its parts."""
import operator

import gast

from ad_compiler import nodes as N
from ad_compiler.reverse.tape import Save
from ad_compiler.runtime import helpers as H
from ad_compiler.runtime.core import kinds as K

ZERO, SET, MAYBE = "zero", "set", "maybe"

BINOPS = {gast.Add: operator.add, gast.Sub: operator.sub, gast.Mult: operator.mul,
          gast.Div: operator.truediv, gast.Pow: operator.pow, gast.MatMult: operator.matmul,
          gast.FloorDiv: operator.floordiv, gast.Mod: operator.mod}
UNARYOPS = {gast.USub: operator.neg, gast.UAdd: operator.pos}


class Sweep:
    """What the reverse and forward transforms share: the compilation
    context, and kinds for generated names (a derivative has its primal's)."""

    prefix = None               # "b" for adjoints, "d" for tangents

    def __init__(self, ctx):
        self.ctx = ctx
        self.namer = ctx.namer
        self.externs = ctx.externs
        self.kinds = ctx.kinds
        self.active = ctx.active

        self.states = {}        # variable -> Adj: is its derivative zero, set, maybe None

    def rt(self, fn, name=None):
        return N.name(self.externs.ref(fn, name or fn.__name__))

    def state(self, var):
        return self.states.setdefault(var, Adj())

    def snapshot(self):
        return {v: Adj(a.state, a.owned) for v, a in self.states.items()}

    def restore_state(self, snap):
        self.states = {v: Adj(a.state, a.owned) for v, a in snap.items()}

    def passes_mutable(self, call):
        """A call made for its effect that receives an array or a container
        (positionally, through ``*``, or by keyword) could change it: the
        checked path (call_fwd, call_jvp) compiles the callee, which refuses
        that."""
        atoms = [a.value if a.__class__ is gast.Starred else a for a in call.args]
        return not getattr(self.ctx.func, "__ad_generated__", False) and any(
            self.mutable(a) for a in atoms + list(call.keywords.values()))

    def mutable(self, atom):
        """``atom`` is a name that may hold an array or a container (a value a
        call could change in place)."""
        return isinstance(atom, gast.Name) and (self.kind(atom.id) is None or self.kind(
            atom.id).tag in ("array", "list", "dict", "other"))

    def kind(self, var):
        return self.kinds.get(var, K.OTHER)

    def zero(self, var):
        """An expression for the zero derivative of ``var``."""
        k = self.kind(var)
        if K.is_scalar(k):
            return N.const(0.0)
        if K.is_array(k):
            return N.call(self.rt(H.zeros_like), [var])
        return N.const(None)

    def kind_of_name(self, name):
        if name in self.kinds:
            return self.kinds[name]
        for (p, v), n in self.namer.derived.items():
            if p == self.prefix and n == name:
                return self.kinds.get(v)
        return None


class Adj:
    """The static state of one adjoint (or, in forward mode, tangent)."""

    __slots__ = ("state", "owned")

    def __init__(self, state=ZERO, owned=False):
        self.state = state
        self.owned = owned

    def __eq__(self, other):
        return self.state == other.state and self.owned == other.owned

    def __repr__(self):
        return "Adj(%s%s)" % (self.state, ", owned" if self.owned else "")


Tan = Adj                 # a tangent's state, in forward mode


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


def deposit_fn():
    from ad_compiler.runtime.implicit import deposit
    return deposit


def rule_fn_name(fn, rule, suffix="_vjp"):
    """A readable name for a rule function bound into generated code."""
    name = getattr(fn, "__name__", "<lambda>")
    if name != "<lambda>":
        return name
    base = rule.name.split(".")[-1] if rule is not None else "rule"
    return base + suffix


def keywords(call):
    """A classified call's keywords as gast keywords (copied)."""
    return [gast.keyword(arg=k, value=N.copy(v)) for k, v in call.keywords.items()]


def fresh(expr):
    """True if ``expr`` always allocates a new value (safe to own)."""
    return isinstance(expr, (gast.BinOp, gast.UnaryOp))


def basic_index(index, kinds):
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


def saves(stmts):
    for s in stmts:
        if isinstance(s, Save):
            yield s
        elif isinstance(s, (gast.If, gast.For, gast.While)):
            yield from saves(s.body)
            yield from saves(s.orelse)


def has_break(stmts):
    for s in stmts:
        if isinstance(s, gast.Break):
            return True
        if isinstance(s, gast.If) and (has_break(s.body) or has_break(s.orelse)):
            return True
    return False


def runs_checked(sw, value, call, differentiated):
    """Whether ``var = value``, whose ``var`` carries no derivative, must still
    call through the checked path: a callee that may write a derivative
    into an argument (:func:`writes_differentiated`)."""
    return call is not None and call.kind == "dynamic" and \
        writes_differentiated(sw, value, differentiated)


def writes_differentiated(sw, value, differentiated):
    """A call that may change in place an argument that carries a derivative
    (``differentiated(atom)``): even when its result carries none, the
    change does, so the call must take the checked path (which refuses it)
    instead of running unseen.  A Python helper known statically is read
    to see; a callee known only when the code runs (a function passed in)
    may, whenever such an argument reaches it."""
    from ad_compiler.analysis import mutating
    func = sw.ctx.resolver.static_or_none(value.func)
    if func is None:
        atoms = [a.value if a.__class__ is gast.Starred else a for a in value.args]
        return any(differentiated(a) for a in atoms + [k.value for k in value.keywords])
    if not mutating.readable_helper(func):
        return False
    try:
        positions = mutating.changed_positions_of(func)
    except Exception:               # no source: refused (or ruled) when called
        return False
    if positions is None:           # changed and rebound: no proof either way
        positions = range(len(value.args))
    return any(i < len(value.args) and differentiated(value.args[i]) for i in positions)
