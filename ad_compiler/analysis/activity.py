"""Stage 4: activity analysis.

A variable is *active* when it depends on a differentiated input (varied)
and the output depends on it (useful).  Only active variables get
adjoints; everything else is plain primal code.
"""
import gast

from ad_compiler import nodes as N
from ad_compiler.analysis import calls as C

# Attributes of arrays that never carry a gradient.
NONDIFF_ATTRS = frozenset(["shape", "ndim", "size", "dtype", "strides", "itemsize",
                           "nbytes", "__class__", "__name__"])


class Effects:
    """Names one ANF statement writes, and names a gradient can flow from."""

    __slots__ = ("writes", "reads")

    def __init__(self, writes=(), reads=()):
        self.writes = [w for w in writes]
        self.reads = [r for r in reads]


_FILLING = frozenset(["append", "extend", "insert"])


def _names(atoms):
    """Names of ANF operands; a non-atom (which ANF should never leave) counts
    every name in it, so a slip can cost speed but never a silent zero."""
    out = []
    for a in atoms:
        if isinstance(a, gast.Name):
            out.append(a.id)
        elif a is not None and not isinstance(a, gast.Constant):
            out.extend(sorted(N.loaded_names(a)))
    return out


def value_reads(value, classify):
    """Names in an ANF right-hand side that a gradient can flow back into."""
    if isinstance(value, gast.Name):
        return [value.id]
    if isinstance(value, gast.BinOp):
        return _names([value.left, value.right])
    if isinstance(value, gast.UnaryOp):
        return [] if isinstance(value.op, (gast.Not, gast.Invert)) else _names([value.operand])
    if isinstance(value, gast.Attribute):
        if value.attr in NONDIFF_ATTRS:
            return []
        return _names([value.value])
    if isinstance(value, gast.Subscript):
        return _names([value.value])
    if isinstance(value, (gast.Tuple, gast.List, gast.Set)):
        return _names([e.value if isinstance(e, gast.Starred) else e for e in value.elts])
    if isinstance(value, gast.Dict):
        return _names(value.values)
    if isinstance(value, gast.Call):
        return call_reads(value, classify)
    return []


def call_reads(node, classify):
    c = classify(node)
    if c.kind == "rule":
        return _names(C.diff_atoms(c.rule, c))
    if c.kind == "special":
        return _names([a.value if isinstance(a, gast.Starred) else a for a in c.args] +
                      list(c.keywords.values()) +
                      ([c.receiver] if c.receiver is not None else []))
    plain = [a.value if isinstance(a, gast.Starred) else a for a in c.args]
    atoms = plain + list(c.keywords.values())
    if c.receiver is not None:
        atoms.append(c.receiver)
    elif isinstance(node.func, gast.Name):
        atoms.append(node.func)
    return _names(atoms)


def effects(stmt, classify):
    if isinstance(stmt, gast.Assign):
        target = stmt.targets[0]
        reads = value_reads(stmt.value, classify)
        if isinstance(target, gast.Name):
            return Effects([target.id], reads)
        base = target.value
        if isinstance(base, gast.Name):             # x[i] = v, x.a = v: x now holds v
            return Effects([base.id], reads + [base.id])
        return Effects([], reads)
    if isinstance(stmt, gast.Expr) and isinstance(stmt.value, gast.Call):
        c = classify(stmt.value)
        if c.kind == "special" and c.receiver is not None:
            return Effects([c.receiver.id], _names(c.args) + [c.receiver.id])
        func = stmt.value.func
        if (c.kind == "dynamic" and isinstance(func, gast.Attribute)
                and isinstance(func.value, gast.Name) and func.attr in _FILLING):
            # obj.append(v) where obj was not known to be a list: obj now holds v
            return Effects([func.value.id], _names(c.args) + [func.value.id])
        if c.kind == "rule" and c.rule.mutates is not None and \
                c.rule.mutates < len(c.args):
            # scatter_add(bx, i, g), restore_region(x, i, saved): bx now holds g too
            target = _names([c.args[c.rule.mutates]])
            return Effects(target, _names(C.diff_atoms(c.rule, c)) + target)
        return Effects([], [])
    if isinstance(stmt, gast.FunctionDef):
        return Effects([stmt.name], sorted(free_names(stmt)))
    return Effects()


def free_names(fdef):
    """Names a nested function reads from its enclosing scope."""
    from ad_compiler.front.anf import local_names
    own = local_names(fdef)
    loaded = set()
    for node in fdef.body:
        loaded |= N.loaded_names(node)
    for d in fdef.args.defaults + [d for d in fdef.args.kw_defaults if d is not None]:
        loaded |= N.loaded_names(d)
    return loaded - own


def flatten(stmts):
    """Every simple statement under ``stmts`` (bodies of if/for/while too)."""
    for s in stmts:
        if isinstance(s, (gast.If, gast.For, gast.While)):
            yield from flatten(s.body)
            yield from flatten(s.orelse)
        else:
            yield s


def analyse(fn, active_inputs, classify, calls_varied=False):
    """Return the set of active variable names of an ANF function.

    With ``calls_varied`` (implicit parameters), the result of any call into
    user code may depend on parameters the callee reads itself.
    """
    stmts = list(flatten(fn.body))
    table = [effects(s, classify) for s in stmts]
    varied = set(active_inputs)
    if calls_varied:
        for s, e in zip(stmts, table):
            if isinstance(s, gast.Assign) and isinstance(s.value, gast.Call) and \
                    classify(s.value).kind == "dynamic":
                varied.update(e.writes)
    changed = True
    while changed:
        changed = False
        for e in table:
            if any(r in varied for r in e.reads):
                for w in e.writes:
                    if w not in varied:
                        varied.add(w)
                        changed = True
    useful = set()
    for s in stmts:
        if isinstance(s, gast.Return) and isinstance(s.value, gast.Name):
            useful.add(s.value.id)
    changed = True
    while changed:
        changed = False
        for e in table:
            if any(w in useful for w in e.writes):
                for r in e.reads:
                    if r not in useful:
                        useful.add(r)
                        changed = True
    return varied & useful


def refuse_sets(fn, active, source):
    """A set of differentiated numbers has no order, and equal values merge,
    so which element a gradient belongs to is unknowable: refused (it was a
    silent zero)."""
    from ad_compiler.runtime.core.errors import UnsupportedSyntaxError, located
    for s in flatten(fn.body):
        if isinstance(s, gast.Assign) and isinstance(s.value, gast.Set) and \
                any(isinstance(e, gast.Name) and e.id in active for e in s.value.elts):
            raise UnsupportedSyntaxError(
                "%s: a set of differentiated values is not supported (it has no order, and "
                "equal values merge); use a list or a tuple" % located(s, source))
