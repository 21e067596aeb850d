"""Stage 4: activity analysis.

A variable is *active* when it depends on a differentiated input (varied)
and the output depends on it (useful).  Only active variables get
adjoints; everything else is plain primal code.
"""
import gast

from ad_compiler import nodes as N
from ad_compiler.analysis import calls as C
from ad_compiler.front.resolve import MISSING

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


def analyse(fn, active_inputs, classify, calls_varied=False, kinds=None):
    """Return the set of active variable names of an ANF function.

    With ``calls_varied`` (implicit parameters), the result of any call into
    user code may depend on parameters the callee reads itself.  ``kinds``
    (name -> kind) tells which arguments a callee could change in place.
    """
    stmts = list(flatten(fn.body))
    table = [effects(s, classify) for s in stmts]
    _unknown_callees_write(fn, stmts, table, classify, kinds or {})
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


def _unknown_callees_write(fn, stmts, table, classify, kinds):
    """A callee known only when the code runs (a function passed in, a
    method) may write into any array or container it receives a value
    derived from any argument: such an argument, read after the call
    (later in the function, or anywhere when the call is in a loop), is
    written by it.  The analysis then sees the derivative it may carry, and
    the call takes the checked path, which refuses a callee that changes
    its arguments (fuzz seed 31000000077: ``r = fn(y, x1)`` wrote ``x1``
    into ``y``, whose gradient was 0).  Only arguments read later: ``m(x)``
    does not make the data ``x`` carry a gradient."""
    calls = _unknown_calls(stmts, classify, kinds)
    if not calls:
        return
    later, in_loop = _reads_after(fn, stmts)
    group = _sharing(stmts, kinds)
    for i, value, names in calls:
        e = table[i]
        # (a write into a view, an item or an alias changes what it shares
        # memory or an object with: fuzz seed 1000005347, a row of y6)
        written = [g for a in names for g in sorted(group(a))
                   if id(stmts[i]) in in_loop or later.get(g, -1) > i]
        if written:
            e.writes = e.writes + [w for w in names + written if w not in e.writes]
            e.reads = e.reads + [r for r in call_reads(value, classify) if r not in e.reads]


# Methods and NumPy functions whose result may be a view of their array.
_VIEWS = frozenset(["reshape", "ravel", "view", "transpose", "swapaxes", "squeeze", "T", "mT",
                    "real", "imag", "diagonal", "asarray", "asanyarray", "ascontiguousarray",
                    "expand_dims", "moveaxis", "broadcast_to", "atleast_1d", "atleast_2d",
                    "atleast_3d", "flip", "fliplr", "flipud", "rot90", "matrix_transpose",
                    "permute_dims", "split", "array_split", "hsplit", "vsplit", "unstack"])


def _sharing(stmts, kinds):
    """``group(name)``: the local names that may share memory or an object
    with ``name`` (a view, an item, an attribute, an alias, a container
    holding it), as far as the assignments show (globals and modules, which
    ``kinds`` does not hold, never join: ``np.reshape(y)`` shares with ``y``
    through its argument, not with ``np``)."""
    parent = {}

    def root(n):
        while parent.get(n, n) != n:
            n = parent[n]
        return n

    for s in stmts:
        if not (isinstance(s, gast.Assign) and isinstance(s.targets[0], gast.Name)):
            continue
        v, shared = s.value, []
        if isinstance(v, gast.Name):
            shared = [v.id]
        elif isinstance(v, (gast.Subscript, gast.Attribute)) and isinstance(v.value, gast.Name):
            shared = [v.value.id]
        elif isinstance(v, gast.Call) and isinstance(v.func, gast.Attribute) and \
                v.func.attr in _VIEWS:
            # x.reshape(...), x.view(); np.reshape(x), np.asarray(x)
            if isinstance(v.func.value, gast.Name) and v.func.value.id in kinds:
                shared.append(v.func.value.id)
            else:
                shared += [a.id for a in v.args[:1] if isinstance(a, gast.Name)]
        elif isinstance(v, (gast.Tuple, gast.List)):
            shared = [e.id for e in v.elts if isinstance(e, gast.Name)]
        elif isinstance(v, gast.Dict):
            shared = [e.id for e in v.values if isinstance(e, gast.Name)]
        for other in shared:
            if other in kinds and s.targets[0].id in kinds:
                parent[root(other)] = root(s.targets[0].id)
    members = {}
    for n in list(parent):
        members.setdefault(root(n), set()).add(n)
    return lambda name: members.get(root(name), {name}) | {name}


def _unknown_calls(stmts, classify, kinds):
    """``(index, call, names of the arrays and containers it receives)`` of
    each call whose callee is known only when the code runs."""
    calls = []
    for i, s in enumerate(stmts):
        value = s.value if isinstance(s, (gast.Assign, gast.Expr)) else None
        if not isinstance(value, gast.Call):
            continue
        c = classify(value)
        if c.kind != "dynamic" or c.obj is not MISSING:
            continue
        atoms = [a.value if isinstance(a, gast.Starred) else a for a in c.args]
        atoms += list(c.keywords.values()) + [c.receiver]
        names = [a.id for a in atoms if isinstance(a, gast.Name) and _mutable(kinds.get(a.id))]
        if names:
            calls.append((i, value, names))
    return calls


def _reads_after(fn, stmts):
    """``(name -> index of the last statement reading it, ids of the
    statements inside a loop)``; a nested function reads its names last."""
    in_loop = {id(s) for loop in N.statements(fn.body) if isinstance(loop, (gast.For, gast.While))
               for s in flatten(loop.body + loop.orelse)}
    later = {}
    for i, s in enumerate(stmts):
        for name in N.loaded_names(s):
            later[name] = i
    # (a nested function reads when it is called, not where it is defined)
    for n in N.walk(fn.body):
        if isinstance(n, (gast.FunctionDef, gast.Lambda)):
            for name in N.loaded_names(n):
                later[name] = len(stmts)
    return later, in_loop


def _mutable(kind):
    return kind is None or kind.tag in ("array", "list", "dict", "other")


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
