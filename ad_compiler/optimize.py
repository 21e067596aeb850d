"""Stage 6: optimise generated functions.

* dead code: pure assignments whose targets are never read;
* copy propagation: ``ba = bz`` followed by uses of ``ba``;
* folding: a temporary used once is substituted into its use, so
  ``_t1 = x ** 2; _t2 = 3 * _t1`` reads ``_t2 = 3 * x ** 2``;
* constants: ``1.0 * 3`` is ``3.0``, ``e * 1.0`` is ``e``, ``x ** 1`` is ``x``.

Only compiler-made names (temporaries and adjoints) are ever renamed or
folded away: user variables keep their names because nested functions
may read them.  Nothing is moved into a loop, across a statement that
writes a name it reads, or across a call that may have side effects.
"""
import copy
import operator

import gast

from runtime import helpers as H

from . import nodes as N

_PURE_HELPERS = frozenset(["len", "range", "min", "max", "float", "int", "abs", "sum",
                           "isinstance", "list", "tuple"])
_IMPURE_HELPERS = frozenset(["call_fwd", "call_bwd", "restore_region", "scatter_add", "seed"])
_FOLD = {gast.Add: operator.add, gast.Sub: operator.sub, gast.Mult: operator.mul,
         gast.Div: operator.truediv, gast.Pow: operator.pow}


def optimize(fdef, ctx):
    """Optimise one generated FunctionDef in place and return it."""
    opt = Optimizer(fdef, ctx)
    for _ in range(6):
        before = N.names_in(fdef), _count(fdef)
        opt.constants()
        opt.copies(fdef.body)
        opt.fold(fdef.body)
        opt.merge_accumulations(fdef.body)
        opt.round_trips(fdef.body)
        fdef.body = opt.dce(fdef.body, set())
        if (N.names_in(fdef), _count(fdef)) == before:
            break
    return fdef


def _count(node):
    return sum(1 for _ in gast.walk(node))


class Optimizer:
    def __init__(self, fdef, ctx):
        self.fdef = fdef
        self.ctx = ctx
        self.user = set(ctx.inputs) | set(ctx.resolver.locals)
        self.pure_names = {name for name, obj in ctx.externs.bound.items()
                           if _is_pure(obj, name)}

    # ------------------------------------------------------------ facts

    def ours(self, name):
        """A compiler-made name (safe to rename or fold away)."""
        return name not in self.user and (name.startswith("_") or self._is_adjoint(name))

    def _is_adjoint(self, name):
        return any(v == name for (p, _), v in self.ctx.namer.derived.items() if p == "b")

    def pure(self, expr):
        for n in gast.walk(expr):
            if isinstance(n, gast.Call):
                f = n.func
                if isinstance(f, gast.Name) and f.id in self.pure_names:
                    continue
                if _module_call(f, self.ctx):
                    continue
                if isinstance(f, gast.Attribute) and f.attr in ("copy", "sum", "reshape",
                                                                "transpose", "conj"):
                    continue
                return False
            if isinstance(n, (gast.Lambda, gast.NamedExpr)):
                return False
        return True

    # ------------------------------------------------------------ dead code

    def dce(self, stmts, live_out):
        out = []
        live = set(live_out)
        for s in reversed(stmts):
            if self._dead(s, live):
                continue
            s = self._dce_inside(s, live)
            out.append(s)
            live = self._transfer(s, live)
        out.reverse()
        return out

    def _dead(self, s, live):
        if isinstance(s, gast.Assign) and isinstance(s.targets[0], gast.Name):
            return s.targets[0].id not in live and self.pure(s.value)
        if isinstance(s, gast.AugAssign) and isinstance(s.target, gast.Name):
            return s.target.id not in live and self.ours(s.target.id) and self.pure(s.value)
        return False

    def _dce_inside(self, s, live):
        if isinstance(s, gast.If):
            s.body = self.dce(s.body, live) or []
            s.orelse = self.dce(s.orelse, live) or []
            if not s.body and not s.orelse:
                return gast.Pass()
        elif isinstance(s, (gast.For, gast.While)):
            loop_live = self._loop_live(s, live)
            s.body = self.dce(s.body, loop_live) or [gast.Pass()]
        return s

    def _loop_live(self, s, live):
        current = set(live)
        for _ in range(10):
            inner = self._live(s.body, current)
            new = current | inner
            if new == current:
                break
            current = new
        return current

    def _live(self, stmts, live):
        live = set(live)
        for s in reversed(stmts):
            live = self._transfer(s, live)
        return live

    def _transfer(self, s, live):
        if isinstance(s, gast.If):
            return self._live(s.body, live) | self._live(s.orelse, live) | \
                N.loaded_names(s.test)
        if isinstance(s, (gast.For, gast.While)):
            loop_live = self._loop_live(s, live)
            reads = N.loaded_names(s.iter) if isinstance(s, gast.For) else set()
            return loop_live | reads | live
        if isinstance(s, gast.Assign) and isinstance(s.targets[0], gast.Name):
            return (live - {s.targets[0].id}) | N.loaded_names(s.value)
        if isinstance(s, gast.Pass):
            return live
        return live | N.loaded_names(s)

    # ------------------------------------------------------------ copies

    def copies(self, stmts):
        counts = _assign_counts(self.fdef)
        uses = _use_counts(self.fdef)
        self._copies(stmts, counts, uses)

    def _copies(self, stmts, counts, uses):
        i = 0
        while i < len(stmts):
            s = stmts[i]
            for field in ("body", "orelse"):
                if isinstance(getattr(s, field, None), list):
                    self._copies(getattr(s, field), counts, uses)
            if (isinstance(s, gast.Assign) and isinstance(s.targets[0], gast.Name)
                    and isinstance(s.value, (gast.Name, gast.Constant))
                    and self.ours(s.targets[0].id) and counts.get(s.targets[0].id, 0) == 1):
                if self._propagate(stmts, i, s.targets[0].id, s.value, uses):
                    counts[s.targets[0].id] = 0
                    continue
            i += 1

    def _propagate(self, stmts, i, a, src, uses):
        """Replace uses of ``a`` (defined by ``a = src`` at ``i``) by ``src``.

        Every use must come before anything writes ``src`` or mutates ``a``
        or ``src`` in place; then the copy is deleted.
        """
        rest = stmts[i + 1:]
        watched = {a} | ({src.id} if isinstance(src, gast.Name) else set())
        seen = 0
        for s in rest:
            seen += _count_loads(s, a)
            if seen == uses.get(a, 0):
                break
            if _writes(s) & watched or _stored_base(s) & watched:
                return False
        if seen != uses.get(a, 0):
            return False
        for s in rest:
            _replace_name(s, a, src)
        del stmts[i]
        return True

    def _source_stable(self, src, counts):
        if isinstance(src, gast.Constant):
            return True
        return counts.get(src.id, 0) <= 1

    # ------------------------------------------------------------ folding

    def fold(self, stmts):
        uses = _use_counts(self.fdef)
        counts = _assign_counts(self.fdef)
        self._fold(stmts, uses, counts)

    def _fold(self, stmts, uses, counts):
        i = 0
        while i < len(stmts):
            s = stmts[i]
            for field in ("body", "orelse"):
                if isinstance(getattr(s, field, None), list):
                    self._fold(getattr(s, field), uses, counts)
            if self._foldable(s, uses, counts):
                name = s.targets[0].id
                j = self._use_site(name, stmts, i, s.value)
                if j is not None:
                    _replace_name(stmts[j], name, s.value, once=True)
                    del stmts[i]
                    counts[name] = 0
                    continue
            i += 1

    def _foldable(self, s, uses, counts):
        if not (isinstance(s, gast.Assign) and isinstance(s.targets[0], gast.Name)):
            return False
        name = s.targets[0].id
        return (self.ours(name) and counts.get(name, 0) == 1 and uses.get(name, 0) == 1
                and self.pure(s.value) and not isinstance(s.value, (gast.List, gast.Dict)))

    def _use_site(self, name, stmts, i, expr):
        reads = N.loaded_names(expr)
        for j in range(i + 1, len(stmts)):
            s = stmts[j]
            if name in N.loaded_names(_header(s)):
                return j if not isinstance(s, (gast.For, gast.While)) else None
            if name in N.names_in(s):
                return None            # used deeper inside a compound statement
            if _writes(s) & (reads | {name}) or not self._barrier_free(s, reads):
                return None
        return None

    def _barrier_free(self, s, reads):
        if isinstance(s, (gast.Assign, gast.AugAssign)):
            value = s.value
            if _is_pop(value):
                return True
            return self.pure(value) and not (_stored_base(s) & reads)
        if isinstance(s, gast.Pass):
            return True
        # Pushing onto one of our stacks touches nothing an expression reads.
        return (isinstance(s, gast.Expr) and _is_push(s.value)
                and not (_stored_base(s) & reads))

    # ------------------------------------------------------------ accumulations

    def merge_accumulations(self, stmts):
        """``a = e1`` then ``a = a + e2`` becomes ``a = e1 + e2``."""
        i = 0
        while i < len(stmts):
            s = stmts[i]
            for field in ("body", "orelse"):
                if isinstance(getattr(s, field, None), list):
                    self.merge_accumulations(getattr(s, field))
            nxt = stmts[i + 1] if i + 1 < len(stmts) else None
            if (_plain_assign(s) and _plain_assign(nxt) and s.targets[0].id == nxt.targets[0].id
                    and self.ours(s.targets[0].id) and isinstance(nxt.value, gast.BinOp)
                    and isinstance(nxt.value.op, gast.Add)
                    and isinstance(nxt.value.left, gast.Name)
                    and nxt.value.left.id == s.targets[0].id
                    and s.targets[0].id not in N.loaded_names(nxt.value.right)):
                nxt.value.left = s.value
                del stmts[i]
                continue
            i += 1

    # ------------------------------------------------------------ copies back

    def round_trips(self, stmts):
        """Drop ``b = a`` when ``a = b`` was the last thing to touch either."""
        equal = set()
        out = []
        for s in stmts:
            for field in ("body", "orelse"):
                if isinstance(getattr(s, field, None), list):
                    self.round_trips(getattr(s, field))
            if _plain_assign(s) and isinstance(s.value, gast.Name):
                pair = (s.targets[0].id, s.value.id)
                if (pair[1], pair[0]) in equal or pair[0] == pair[1]:
                    continue
                written = _writes(s) | _stored_base(s)
                equal = {p for p in equal if not (set(p) & written)}
                equal.add(pair)
                out.append(s)
                continue
            written = _writes(s) | _stored_base(s)
            if not isinstance(s, (gast.Assign, gast.AugAssign, gast.Expr)):
                equal = set()
            equal = {p for p in equal if not (set(p) & written)}
            out.append(s)
        stmts[:] = out

    # ------------------------------------------------------------ constants

    def constants(self):
        simplify = Simplify()
        for s in self.fdef.body:
            simplify.identities = getattr(s, "adjoint", False)
            simplify.visit(s)


def _is_push(call):
    return (isinstance(call, gast.Call) and isinstance(call.func, gast.Attribute)
            and call.func.attr == "append" and isinstance(call.func.value, gast.Name)
            and call.func.value.id.startswith("_stack"))


def _is_pop(call):
    return (isinstance(call, gast.Call) and isinstance(call.func, gast.Attribute)
            and call.func.attr == "pop" and isinstance(call.func.value, gast.Name)
            and call.func.value.id.startswith("_stack"))


def _count_loads(node, name):
    return sum(1 for n in gast.walk(node)
               if isinstance(n, gast.Name) and n.id == name and isinstance(n.ctx, gast.Load))


def _plain_assign(s):
    return isinstance(s, gast.Assign) and isinstance(s.targets[0], gast.Name)


def _header(s):
    """The part of a statement evaluated before any nested block."""
    if isinstance(s, gast.If):
        return s.test
    if isinstance(s, gast.For):
        return s.iter
    if isinstance(s, gast.While):
        return s.test
    return s


def _writes(s):
    out = set()
    for n in gast.walk(s):
        if isinstance(n, gast.Name) and isinstance(n.ctx, gast.Store):
            out.add(n.id)
    return out | _stored_base(s)


def _stored_base(s):
    """Names mutated in place by ``s`` (``x[i] = v``, ``x += v``, ``x.append(v)``)."""
    out = set()
    for n in gast.walk(s):
        if isinstance(n, gast.Subscript) and isinstance(n.ctx, gast.Store):
            base = n.value
            if isinstance(base, gast.Name):
                out.add(base.id)
        if isinstance(n, gast.AugAssign) and isinstance(n.target, gast.Name):
            out.add(n.target.id)
        if (isinstance(n, gast.Call) and isinstance(n.func, gast.Attribute)
                and isinstance(n.func.value, gast.Name)
                and n.func.attr in ("append", "pop", "extend")):
            out.add(n.func.value.id)
    return out


def _mutated_in(name, stmts):
    return any(name in _stored_base(s) for s in stmts)


def _assign_counts(fdef):
    counts = {}
    for n in gast.walk(fdef):
        if isinstance(n, gast.Name) and isinstance(n.ctx, (gast.Store, gast.Param)):
            counts[n.id] = counts.get(n.id, 0) + 1
        elif isinstance(n, gast.AugAssign) and isinstance(n.target, gast.Name):
            counts[n.target.id] = counts.get(n.target.id, 0) + 1
    return counts


def _use_counts(fdef):
    uses = {}
    for n in gast.walk(fdef):
        if isinstance(n, gast.Name) and isinstance(n.ctx, gast.Load):
            uses[n.id] = uses.get(n.id, 0) + 1
    return uses


def _uses_within(name, stmts, uses):
    found = 0
    for s in stmts:
        for n in gast.walk(s):
            if isinstance(n, gast.Name) and n.id == name and isinstance(n.ctx, gast.Load):
                found += 1
    return found == uses.get(name, 0)


def _replace_name(node, name, value, once=False):
    done = [False]

    class R(gast.NodeTransformer):
        def visit_Name(self, n):
            if n.id == name and isinstance(n.ctx, gast.Load) and not (once and done[0]):
                done[0] = True
                return copy.deepcopy(value)
            return n

    R().visit(node)


def _module_call(func, ctx):
    node = func
    while isinstance(node, gast.Attribute):
        node = node.value
    if not isinstance(node, gast.Name):
        return False
    obj = ctx.externs.bound.get(node.id)
    if obj is None and node.id not in ctx.resolver.locals:
        obj = ctx.resolver.lookup(node.id)
    return getattr(obj, "__name__", "") in ("numpy", "math", "cupy") and \
        type(obj).__name__ == "module"


def _is_pure(obj, name):
    """Modules, builtins we use, and every runtime helper that mutates nothing."""
    if type(obj).__name__ == "module":
        return True
    fname = getattr(obj, "__name__", None)
    module = getattr(obj, "__module__", "") or ""
    if module == "builtins":
        return fname in _PURE_HELPERS
    return module.startswith("runtime.") and fname not in _IMPURE_HELPERS


def _num(node):
    return isinstance(node, gast.Constant) and type(node.value) in (int, float)


class Simplify(gast.NodeTransformer):
    """Constant folding and multiplicative identities inside expressions.

    An identity never turns the whole right-hand side of an assignment
    into a bare name or call: the target may be updated in place later,
    so it must stay a freshly allocated value.  Identities are only used in
    adjoint code, where every value is a float: ``1.0 * n`` must stay a
    float when ``n`` is a user's int.
    """

    identities = False

    def visit_Assign(self, node):
        value = node.value
        if isinstance(value, (gast.BinOp, gast.UnaryOp)):
            self.generic_visit(value)
            node.value = self.rules(value, top=True, identities=self.identities)
        else:
            node.value = self.visit(value)
        return node

    def visit_BinOp(self, node):
        self.generic_visit(node)
        return self.rules(node, top=False, identities=self.identities)

    visit_UnaryOp = visit_BinOp

    @staticmethod
    def rules(node, top, identities):
        def ok(result):
            return identities and (not top or isinstance(result, (gast.BinOp, gast.UnaryOp)))

        if isinstance(node, gast.UnaryOp):
            if isinstance(node.op, gast.USub) and _num(node.operand):
                return N.const(-node.operand.value)
            inner = node.operand
            if (isinstance(node.op, gast.USub) and isinstance(inner, gast.UnaryOp)
                    and isinstance(inner.op, gast.USub) and ok(inner.operand)):
                return inner.operand
            return node
        op = type(node.op)
        if _num(node.left) and _num(node.right) and op in _FOLD:
            try:
                return N.const(_FOLD[op](node.left.value, node.right.value))
            except (ZeroDivisionError, OverflowError):
                return node
        if op is gast.Mult:
            for one, other in ((node.left, node.right), (node.right, node.left)):
                if _num(one) and one.value == 1 and type(one.value) is float and ok(other):
                    return other
        if op is gast.Pow and _num(node.right) and node.right.value == 1 and ok(node.left):
            return node.left
        return node
