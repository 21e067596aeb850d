"""Per-statement facts for the optimiser: the names a statement (with
everything nested in it) reads, writes and mutates in place, cached on the
statement until a pass rewrites it, and the statement shapes the passes
tell apart."""
import gast

from ad_compiler import nodes as N

_MUTATORS = frozenset(["append", "pop", "extend"])
_BLOCKS = ("body", "orelse")
_SIMPLE = (gast.Assign, gast.AugAssign, gast.Expr, gast.Return)   # read before they write
_COMPOUND = (gast.For, gast.While, gast.If)


class Facts:
    """What one statement (with everything nested in it) reads, writes, mutates."""

    __slots__ = ("loads", "stores", "mutated", "ops")

    def __init__(self, stmt):
        self.loads = {}
        self.stores = {}
        self.mutated = set()
        self.ops = False            # any BinOp or UnaryOp (what constant folding rewrites)
        if stmt.__class__ in _COMPOUND:
            # a loop or branch: its header, plus its statements' cached facts
            # (a change deep inside then costs one merge per enclosing level)
            header = [stmt.test] if stmt.__class__ is not gast.For else [stmt.target, stmt.iter]
            self._scan(header)
            for child in stmt.body + stmt.orelse:
                self._merge(facts(child))
        else:
            self._scan(stmt)

    def _merge(self, f):
        for k, v in f.loads.items():
            self.loads[k] = self.loads.get(k, 0) + v
        for k, v in f.stores.items():
            self.stores[k] = self.stores.get(k, 0) + v
        self.mutated |= f.mutated
        self.ops = self.ops or f.ops

    def _scan(self, node):
        for n in N.walk(node):
            cls = n.__class__
            if cls is gast.Name:
                if n.ctx.__class__ is gast.Load:
                    self.loads[n.id] = self.loads.get(n.id, 0) + 1
                else:
                    self.stores[n.id] = self.stores.get(n.id, 0) + 1
            elif cls is gast.BinOp or cls is gast.UnaryOp:
                self.ops = True
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


def facts(stmt):
    """Facts of a statement, cached on it until :meth:`changed` is called."""
    f = stmt.__dict__.get("_facts")
    if f is None:
        f = stmt._facts = Facts(stmt)
    return f


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


def _header(s):
    """The part of a statement evaluated before any nested block."""
    if s.__class__ in (gast.If, gast.While):
        return s.test
    if s.__class__ is gast.For:
        return s.iter
    return s

