"""What every optimiser pass asks: use and assignment counts, the kind of
a name, whether an expression is numeric or pure, which names are ours to
fold away, and which arrays a name may be a view of.

:class:`OptimizerBase` holds that state; the passes are mixins over it
(:mod:`dce`, :mod:`folding`) put together in :mod:`driver`.
"""
import gast
import numpy as np

from ad_compiler import nodes as N
from ad_compiler.analysis import kinds as infer
from ad_compiler.optimize.facts import _BLOCKS, changed, facts
from ad_compiler.runtime.core import kinds as K

_PURE_HELPERS = frozenset(["len", "range", "min", "max", "float", "int", "abs", "sum",
                           "isinstance", "list", "tuple", "slice"])
_IMPURE_HELPERS = frozenset(["call_fwd", "call_bwd", "call_jvp", "call_tangent", "restore_region",
                             "scatter_add", "seed"])
_PURE_METHODS = frozenset(["copy", "sum", "reshape", "transpose", "conj", "astype"])


class OptimizerBase:
    """The state the passes share: counts of uses and assignments, and the
    questions they ask about names and expressions."""

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

    facts = staticmethod(facts)
    changed = staticmethod(changed)

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
