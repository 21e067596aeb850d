"""Stage 6: optimise generated functions.

* dead code: pure assignments whose targets are never read;
* copy propagation: ``ba = bz`` followed by uses of ``ba``;
* folding: a temporary used once is substituted into its use, so
  ``_t1 = x ** 2; _t2 = 3 * _t1`` reads ``_t2 = 3 * x ** 2``;
* accumulations: ``a = e1; a = a + e2`` becomes ``a = e1 + e2``;
* constants: ``1.0 * 3`` is ``3.0``, ``e * 1.0`` is ``e``, ``x ** 1`` is ``x``;
* common subexpressions (:mod:`cse`): ``math.cos(x)`` evaluated once.

Only compiler-made names (temporaries and adjoints) are ever renamed or
folded away: user variables keep their names because nested functions
may read them.  Nothing is moved into a loop, across a statement that
writes a name it reads, or across a call that may have side effects.

Each pass reports whether it changed anything; per-statement facts
(names read, written and mutated in place) are computed once per pass.
"""
import gast
import numpy as np

from ad_compiler import nodes as N
from ad_compiler.analysis import kinds as infer
from ad_compiler.optimize.cse import cse
from ad_compiler.optimize.hoist import hoist_products
from ad_compiler.optimize.residuals import shape_residuals
from ad_compiler.optimize.simplify import Simplify
from ad_compiler.optimize.branches import tidy_branches
from ad_compiler.optimize.stack_loops import walk_stacks
from ad_compiler.runtime.core import kinds as K

_PURE_HELPERS = frozenset(["len", "range", "min", "max", "float", "int", "abs", "sum",
                           "isinstance", "list", "tuple", "slice"])
_IMPURE_HELPERS = frozenset(["call_fwd", "call_bwd", "restore_region", "scatter_add", "seed"])
_PURE_METHODS = frozenset(["copy", "sum", "reshape", "transpose", "conj", "astype"])
_MUTATORS = frozenset(["append", "pop", "extend"])
_BLOCKS = ("body", "orelse")
_SIMPLE = (gast.Assign, gast.AugAssign, gast.Expr, gast.Return)   # read before they write
_COMPOUND = (gast.For, gast.While, gast.If)


def optimize(fdef, ctx):
    """Optimise one generated FunctionDef in place and return it."""
    opt = Optimizer(fdef, ctx)
    opt.new_pass()
    cse(fdef, opt)              # once: later passes only remove and fold
    _fixpoint(fdef, opt)
    opt.new_pass()
    if hoist_products(fdef, opt):
        _fixpoint(fdef, opt)
    walk_stacks(fdef, ctx.externs)
    tidy_branches(fdef, ctx.externs)
    for s in N.statements(fdef.body):
        opt.changed(s, deep=False)          # (branches were rewritten in place)
    opt.new_pass()
    shape_residuals(fdef, opt)        # last: it rebinds names the passes assume fixed
    return fdef


def _fixpoint(fdef, opt):
    stale = True                    # the use counts are not those of fdef now
    for _ in range(8):
        changed = opt.constants()
        stale = stale or changed
        for step in (opt.copies, opt.fold, opt.merge_accumulations, opt.round_trips, opt.dce):
            if stale:
                # (recounting after a step that changed nothing would count
                # the same again: a fifth of the optimiser's time)
                opt.new_pass()
            stale = step(fdef.body)
            changed = changed or stale
        if not changed:
            break


class Facts:
    """What one statement (with everything nested in it) reads, writes, mutates."""

    __slots__ = ("loads", "stores", "mutated")

    def __init__(self, stmt):
        self.loads = {}
        self.stores = {}
        self.mutated = set()
        if stmt.__class__ in _COMPOUND:
            # a loop or branch: its header, plus its statements' cached facts
            # (a change deep inside then costs one merge per enclosing level)
            header = [stmt.test] if stmt.__class__ is not gast.For else [stmt.target, stmt.iter]
            self._scan(header)
            for child in stmt.body + stmt.orelse:
                self._merge(Optimizer.facts(child))
        else:
            self._scan(stmt)

    def _merge(self, f):
        for k, v in f.loads.items():
            self.loads[k] = self.loads.get(k, 0) + v
        for k, v in f.stores.items():
            self.stores[k] = self.stores.get(k, 0) + v
        self.mutated |= f.mutated

    def _scan(self, node):
        for n in N.walk(node):
            cls = n.__class__
            if cls is gast.Name:
                if n.ctx.__class__ is gast.Load:
                    self.loads[n.id] = self.loads.get(n.id, 0) + 1
                else:
                    self.stores[n.id] = self.stores.get(n.id, 0) + 1
            elif cls is gast.Subscript and n.ctx.__class__ is gast.Store:
                if n.value.__class__ is gast.Name:
                    self.mutated.add(n.value.id)
            elif cls is gast.FunctionDef:
                # ``def g`` binds g (a lambda in a loop rebinds it every pass)
                self.stores[n.name] = self.stores.get(n.name, 0) + 1
            elif cls is gast.AugAssign and n.target.__class__ is gast.Name:
                self.mutated.add(n.target.id)
                self.stores[n.target.id] = self.stores.get(n.target.id, 0) + 1
            elif (cls is gast.Call and n.func.__class__ is gast.Attribute
                  and n.func.value.__class__ is gast.Name and n.func.attr in _MUTATORS):
                self.mutated.add(n.func.value.id)

    @property
    def touched(self):
        return self.stores.keys() | self.mutated


class Optimizer:
    def __init__(self, fdef, ctx):
        self.fdef = fdef
        self.ctx = ctx
        self.user = set(ctx.inputs) | set(ctx.resolver.locals)
        self.adjoints = {v for (p, _), v in ctx.namer.derived.items() if p in ("b", "d")}
        self.pure_names = {name for name, obj in ctx.externs.bound.items()
                           if _is_pure(obj)}
        self.uses = {}
        self.counts = {}
        self.tangent_only = ctx.options.tangent_only
        self._derived_kinds = None
        self._views = None

    def new_pass(self):
        """Recount uses and assignments from the (cached) facts of each statement."""
        self.uses, self.counts = {}, {p.id: 1 for p in self.fdef.args.args}
        for s in self.fdef.body:
            f = self.facts(s)
            for k, v in f.loads.items():
                self.uses[k] = self.uses.get(k, 0) + v
            for k, v in f.stores.items():
                self.counts[k] = self.counts.get(k, 0) + v

    @staticmethod
    def facts(stmt):
        """Facts of a statement, cached on it until :meth:`changed` is called."""
        f = stmt.__dict__.get("_facts")
        if f is None:
            f = stmt._facts = Facts(stmt)
        return f

    @staticmethod
    def changed(stmt, deep=True):
        """Forget what was cached about ``stmt`` and (``deep``) every statement
        inside it: a rewrite of a loop may reach into its body's statements.
        A pass that recursed into the blocks itself forgets those it changed,
        so it asks for the loop's own summary only (deep invalidation there
        made compile time quadratic in the nesting)."""
        stmt._facts = None
        stmt._simple = False
        if deep and stmt.__class__ in _COMPOUND:
            # (statements only: expressions never cache facts)
            for n in N.statements(stmt.body + stmt.orelse):
                n._facts = None
                n._simple = False

    def nested(self, s, step):
        """Run ``step`` on the blocks of ``s``; stale facts of ``s`` if they change."""
        changed = False
        if s.__class__ is gast.FunctionDef:
            return False
        for field in _BLOCKS:
            block = getattr(s, field, None)
            if block.__class__ is list:
                changed = step(block) | changed
        if changed:
            self.changed(s, deep=False)
        return changed

    def kind_of(self, name):
        """The kind of a user variable, a temporary or a derivative."""
        kinds = self.ctx.kinds
        if name in kinds:
            return kinds[name]
        if self._derived_kinds is None:
            self._derived_kinds = {v: kinds.get(p) for (prefix, p), v in
                                   self.ctx.namer.derived.items() if prefix in ("b", "d")}
        return self._derived_kinds.get(name)

    def numeric(self, e):
        """Whether ``e`` is provably a number or an array, so ``*`` commutes on it."""
        cls = e.__class__
        if cls is gast.Constant:
            return type(e.value) in (int, float)
        if cls is gast.Name:
            return K.numeric(self.kind_of(e.id))
        if cls is gast.UnaryOp:
            return e.op.__class__ is gast.USub and self.numeric(e.operand)
        if cls is gast.BinOp:
            return self.numeric(e.left) and self.numeric(e.right)
        if cls is gast.Call:
            if K.numeric(infer.expr_kind(e, self.kind_of, self.ctx.externs)):
                return True
            fn = self.ctx.resolver.static(e.func)
            return isinstance(fn, np.ufunc) or getattr(fn, "__module__", None) == "math"
        return False

    def ours(self, name):
        """A compiler-made name (safe to rename or fold away)."""
        return name not in self.user and (name.startswith("_") or name in self.adjoints)

    def pure(self, expr):
        for n in N.walk(expr):
            cls = n.__class__
            if cls is gast.Call:
                f = n.func
                if f.__class__ is gast.Name and f.id in self.pure_names:
                    continue
                if f.__class__ is gast.Name and self._is_gradient(f.id):
                    continue                    # a nested gradient computes, nothing more
                if _module_call(f, self.ctx):
                    continue
                if f.__class__ is gast.Attribute and f.attr in _PURE_METHODS:
                    continue
                return False
            if cls is gast.Lambda or cls is gast.NamedExpr:
                return False
        return True

    def _is_gradient(self, name):
        from ad_compiler.analysis.calls import SPECIAL
        obj = self.ctx.externs.bound.get(name)
        if obj is None and name not in self.ctx.resolver.locals:
            obj = self.ctx.resolver.lookup(name)
        try:
            return SPECIAL.get(obj) == "gradient"
        except TypeError:
            return False

    # ------------------------------------------------------------ dead code

    def dce(self, stmts, live_out=frozenset()):
        """Remove pure assignments to dead names; True if anything went."""
        changed = False
        out = []
        live = set(live_out)
        for s in reversed(stmts):
            if self._dead(s, live):
                changed = True
                continue
            if self.tangent_only and self._value_unused(s, live):
                s = self._tangent_call(s)
                changed = True
            inner = False
            if s.__class__ is gast.If:
                inner = self.dce(s.body, live) | self.dce(s.orelse, live)
                if not s.body and not s.orelse:
                    changed = True
                    continue
                s.body = s.body or [gast.Pass()]
            elif s.__class__ in (gast.For, gast.While):
                inner = self.dce(s.body, self._loop_live(s, live))
                if not s.body and s.__class__ is gast.For and self.pure(s.iter):
                    changed = True
                    continue                    # a loop that does nothing
                s.body = s.body or [gast.Pass()]
            if inner:
                self.changed(s, deep=False)
                changed = True
            out.append(s)
            live = self._transfer(s, live)
        out.reverse()
        stmts[:] = out
        return changed

    def _value_unused(self, s, live):
        """``out, dout = call_jvp(...)`` whose ``out`` is never read."""
        if s.__class__ is not gast.Assign or s.targets[0].__class__ is not gast.Tuple:
            return False
        elts, value = s.targets[0].elts, s.value
        return (len(elts) == 2 and all(e.__class__ is gast.Name for e in elts)
                and elts[0].id not in live and value.__class__ is gast.Call
                and value.func.__class__ is gast.Name
                and self.ctx.externs.bound.get(value.func.id) is _call_jvp())

    def _tangent_call(self, s):
        """``dout = call_tangent(...)``: the callee skips what only ``out`` needed."""
        from ad_compiler.runtime.applied import call_tangent
        func = N.name(self.ctx.externs.ref(call_tangent, "call_tangent"))
        call = gast.Call(func=func, args=s.value.args, keywords=s.value.keywords)
        return N.assign(s.targets[0].elts[1].id, call, s)

    def _dead(self, s, live):
        cls = s.__class__
        if cls is gast.Assign and s.targets[0].__class__ is gast.Name:
            return s.targets[0].id not in live and self.pure(s.value)
        if cls is gast.AugAssign and s.target.__class__ is gast.Name:
            return s.target.id not in live and self.ours(s.target.id) and self.pure(s.value)
        return cls is gast.Pass

    def _loop_live(self, s, live):
        """Live at the end of a loop body: after the loop, or in the next iteration."""
        current = set(live) | N.loaded_names(_header(s))
        for _ in range(10):
            new = current | self._live_in(s.body, current)
            if new == current:
                break
            current = new
        return current

    def _live_in(self, stmts, live):
        for s in reversed(stmts):
            live = self._transfer(s, live)
        return live

    def _transfer(self, s, live):
        cls = s.__class__
        if cls is gast.Assign and s.targets[0].__class__ is gast.Name:
            return (live - {s.targets[0].id}) | self.facts(s).loads.keys()
        if cls is gast.If:
            return self._live_in(s.body, live) | self._live_in(s.orelse, live) | \
                N.loaded_names(s.test)
        if cls is gast.For or cls is gast.While:
            return self._loop_live(s, live) | live
        return live | set(self.facts(s).loads)

    # ------------------------------------------------------------ copies

    def copies(self, stmts):
        changed = False
        i = 0
        while i < len(stmts):
            s = stmts[i]
            changed = self.nested(s, self.copies) | changed
            if (s.__class__ is gast.Assign and s.targets[0].__class__ is gast.Name
                    and s.value.__class__ in (gast.Name, gast.Constant)
                    and self.ours(s.targets[0].id) and self.counts.get(s.targets[0].id) == 1
                    and self._propagate(stmts, i, s.targets[0].id, s.value)):
                self.counts[s.targets[0].id] = 0
                changed = True
                continue
            i += 1
        return changed

    def _propagate(self, stmts, i, a, src):
        """Replace uses of ``a`` (defined by ``a = src`` at ``i``) by ``src``.

        Every use must come before anything writes ``src`` or mutates ``a``
        or ``src`` in place; then the copy is deleted.
        """
        want = self.uses.get(a, 0)
        watched = {a} | ({src.id} if src.__class__ is gast.Name else set())
        seen = 0
        last = i
        for j in range(i + 1, len(stmts)):
            if seen == want:
                break
            f = self.facts(stmts[j])
            seen += f.loads.get(a, 0)
            last = j
            if seen < want and f.touched & watched:
                return False
            if seen == want and f.mutated & watched:
                return False
            if seen == want and f.touched & watched and stmts[j].__class__ not in _SIMPLE:
                return False      # a loop or branch may write ``src`` before its use
        if seen != want:
            return False
        for j in range(i + 1, last + 1):
            _replace_name(stmts[j], a, src)
            self.changed(stmts[j])
        if src.__class__ is gast.Name:
            self.uses[src.id] = self.uses.get(src.id, 0) + want - 1
        del stmts[i]
        return True

    # ------------------------------------------------------------ folding

    def fold(self, stmts):
        changed = False
        i = 0
        while i < len(stmts):
            s = stmts[i]
            changed = self.nested(s, self.fold) | changed
            if self._foldable(s):
                name = s.targets[0].id
                j = self._use_site(name, stmts, i, s.value)
                if j is not None:
                    _replace_name(stmts[j], name, s.value, once=True)
                    self.changed(stmts[j])
                    del stmts[i]
                    self.counts[name] = 0
                    changed = True
                    continue
            i += 1
        return changed

    def _foldable(self, s):
        if not (s.__class__ is gast.Assign and s.targets[0].__class__ is gast.Name):
            return False
        name = s.targets[0].id
        return (self.ours(name) and self.counts.get(name) == 1 and self.uses.get(name) == 1
                and s.value.__class__ not in (gast.List, gast.Dict) and self.pure(s.value))

    def viewed(self, names):
        """``names`` with every array they may be a view of: a change made in
        place to ``y`` also changes ``_t = y[1:]`` (an expression reading
        ``_t`` cannot move past it)."""
        if self._views is None:
            self._views = self._view_bases()
        out = set(names)
        for n in names:
            bases = self._views.get(n)
            if bases:
                out |= bases
        return out

    def _view_bases(self):
        """name -> every name it may be a view of, transitively (numbers,
        whose items are copies, are left out)."""
        direct = {}
        for n in N.statements(self.fdef.body):
            if n.__class__ is gast.Assign and n.targets[0].__class__ is gast.Name:
                base = _view_base(n.value)
                if base is not None and not K.is_scalar(self.kind_of(n.targets[0].id)):
                    direct.setdefault(n.targets[0].id, set()).add(base)
        closed = {}
        for name in direct:
            out, todo = set(), [name]
            while todo:
                for base in direct.get(todo.pop(), ()):
                    if base not in out:
                        out.add(base)
                        todo.append(base)
            closed[name] = out
        return closed

    def _use_site(self, name, stmts, i, expr):
        reads = self.viewed(self.facts(stmts[i]).loads)
        for j in range(i + 1, len(stmts)):
            s = stmts[j]
            if name in N.loaded_names(_header(s)):
                return j if s.__class__ not in (gast.For, gast.While) else None
            f = self.facts(s)
            if name in f.loads:
                return None            # used deeper inside a compound statement
            if f.touched & (reads | {name}) or not self._barrier_free(s, reads):
                return None
        return None

    def _barrier_free(self, s, reads):
        cls = s.__class__
        if cls is gast.Assign or cls is gast.AugAssign:
            if _is_stack_call(s.value, "pop"):
                return True
            return self.pure(s.value) and not (self.facts(s).mutated & reads)
        if cls is gast.Pass:
            return True
        # Pushing onto one of our stacks touches nothing an expression reads.
        return cls is gast.Expr and _is_stack_call(s.value, "append") and \
            not (self.facts(s).mutated & reads)

    # ------------------------------------------------------------ accumulations

    def merge_accumulations(self, stmts):
        """``a = e1`` then ``a = a + e2`` becomes ``a = e1 + e2``."""
        changed = False
        i = 0
        while i < len(stmts):
            s = stmts[i]
            changed = self.nested(s, self.merge_accumulations) | changed
            nxt = stmts[i + 1] if i + 1 < len(stmts) else None
            if (_plain_assign(s) and _plain_assign(nxt) and s.targets[0].id == nxt.targets[0].id
                    and self.ours(s.targets[0].id) and nxt.value.__class__ is gast.BinOp
                    and nxt.value.op.__class__ is gast.Add
                    and nxt.value.left.__class__ is gast.Name
                    and nxt.value.left.id == s.targets[0].id
                    and s.targets[0].id not in N.loaded_names(nxt.value.right)):
                nxt.value.left = s.value
                self.changed(nxt)
                del stmts[i]
                changed = True
                continue
            i += 1
        return changed

    def round_trips(self, stmts):
        """Drop ``b = a`` when ``a = b`` was the last thing to touch either."""
        changed = False
        equal = set()
        out = []
        for s in stmts:
            changed = self.nested(s, self.round_trips) | changed
            if _plain_assign(s) and s.value.__class__ is gast.Name:
                pair = (s.targets[0].id, s.value.id)
                if (pair[1], pair[0]) in equal or pair[0] == pair[1]:
                    changed = True
                    continue
                equal = {p for p in equal if not (set(p) & self.facts(s).touched)}
                equal.add(pair)
                out.append(s)
                continue
            if s.__class__ not in (gast.Assign, gast.AugAssign, gast.Expr):
                equal = set()
            touched = self.facts(s).touched
            equal = {p for p in equal if not (set(p) & touched)}
            out.append(s)
        stmts[:] = out
        return changed

    # ------------------------------------------------------------ constants

    def constants(self):
        any_change = False
        for s in self.fdef.body:
            if s.__dict__.get("_simple"):
                continue                        # unchanged since it was simplified
            simplify = Simplify(getattr(s, "adjoint", False), self.numeric)
            simplify.statement(s)
            if simplify.changed:
                self.changed(s)
                any_change = True
            s._simple = True
        return any_change


def _view_base(value):
    """The array ``value`` may share memory with (``y[1:]``, ``y.T``), or None."""
    from ad_compiler.analysis.aliasing import VIEW_METHODS
    if value.__class__ is gast.Subscript and value.value.__class__ is gast.Name:
        return value.value.id
    if value.__class__ is gast.Attribute and value.attr in VIEW_METHODS and \
            value.value.__class__ is gast.Name:
        return value.value.id
    if (value.__class__ is gast.Call and value.func.__class__ is gast.Attribute
            and value.func.attr in VIEW_METHODS and value.func.value.__class__ is gast.Name):
        return value.func.value.id
    return None


def _call_jvp():
    from ad_compiler.runtime.applied import call_jvp
    return call_jvp


def _is_stack_call(call, method):
    return (call.__class__ is gast.Call and call.func.__class__ is gast.Attribute
            and call.func.attr == method and call.func.value.__class__ is gast.Name
            and call.func.value.id.startswith("_stack"))


def _plain_assign(s):
    return s.__class__ is gast.Assign and s.targets[0].__class__ is gast.Name


def _header(s):
    """The part of a statement evaluated before any nested block."""
    if s.__class__ in (gast.If, gast.While):
        return s.test
    if s.__class__ is gast.For:
        return s.iter
    return s


def _replace_name(node, name, value, once=False):
    done = [False]

    def replace(n):
        if (n.__class__ is gast.Name and n.id == name and n.ctx.__class__ is gast.Load
                and not (once and done[0])):
            done[0] = True
            return N.copy(value)
        return n

    N.transform(node, replace)


def _module_call(func, ctx):
    node = func
    while node.__class__ is gast.Attribute:
        node = node.value
    if node.__class__ is not gast.Name:
        return False
    obj = ctx.externs.bound.get(node.id)
    if obj is None and node.id not in ctx.resolver.locals:
        obj = ctx.resolver.lookup(node.id)
    return getattr(obj, "__name__", "") in ("numpy", "math", "cupy") and \
        type(obj).__name__ == "module"


def _is_pure(obj):
    """Modules, builtins we use, and every runtime helper that mutates nothing."""
    if type(obj).__name__ == "module":
        return True
    fname = getattr(obj, "__name__", None)
    module = getattr(obj, "__module__", "") or ""
    if module == "builtins":
        return fname in _PURE_HELPERS
    return module.startswith("ad_compiler.runtime.") and fname not in _IMPURE_HELPERS
