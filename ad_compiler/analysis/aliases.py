"""Stage 3c'': another name for a changed value, read as that value.

``a = y`` (an alias) and ``v = y[1:]`` (a view) share ``y``'s memory, so
an in-place change through either name is seen through the other.  Adjoints
follow names, not memory, so where the aliasing checks would refuse such a
pair, the function is rewritten at the source level, before A-normal form:
every later use of ``v`` becomes the expression it stands for::

    v = y[1:]                  # removed
    v *= -1.0          ->      y[1:] *= -1.0
    return np.sum(v * x)       return np.sum(y[1:] * x)

which is exactly Python's meaning while neither ``y`` nor the names in the
index are rebound.  It applies only when that is proven from the syntax and
from the kinds of a first analysis: ``v`` is bound once, every use follows
its binding in the same block, ``y`` is an array (a list or dict for a plain
alias), the index is basic (numbers, slices, ``None``, ``...``, int names),
and no nested function reads ``v``.  Anything else stays refused.
"""
import gast

from ad_compiler import nodes as N

_MUTATORS = frozenset(["append", "pop", "extend", "insert", "remove", "clear", "sort",
                       "reverse", "update", "setdefault", "popitem", "fill"])


def substitute(fn, kinds):
    """Rewrite the aliases and views of ``fn`` (a gast FunctionDef, changed in
    place) that an in-place change makes matter; True if any was."""
    done = []
    _block(fn.body, fn, kinds, done, loop=None)
    return bool(done)


def _block(stmts, fn, kinds, done, loop):
    i = 0
    while i < len(stmts):
        s = stmts[i]
        for field, inner_loop in (("body", s if isinstance(s, (gast.For, gast.While)) else loop),
                                  ("orelse", loop)):
            block = getattr(s, field, None)
            if isinstance(block, list) and not isinstance(s, gast.FunctionDef):
                _block(block, fn, kinds, done, inner_loop)
        rest = stmts[i + 1:]
        if _candidate(s, rest, fn, kinds, loop):
            name, value = s.targets[0].id, s.value
            for r in rest:
                _replace(r, name, value)
            del stmts[i]
            done.append(name)
            continue
        i += 1


def _candidate(s, rest, fn, kinds, loop):
    if not (isinstance(s, gast.Assign) and len(s.targets) == 1
            and isinstance(s.targets[0], gast.Name)):
        return False
    name, value = s.targets[0].id, s.value
    if isinstance(value, gast.Name):
        base, ok = value.id, _mutable(kinds, name) and _mutable(kinds, value.id)
    elif isinstance(value, gast.Subscript) and isinstance(value.value, gast.Name):
        base = value.value.id
        ok = _tag(kinds, base) == "array" and _basic(value.slice, kinds) and (
            _mutable(kinds, name) or sliced(value.slice))
    else:
        return False
    if not ok or base == name:
        return False
    fixed = {base} | ({n for n in N.loaded_names(value.slice)}
                      if isinstance(value, gast.Subscript) else set())
    scope = rest if loop is None else rest + list(loop.body)
    return (_rebinds(fn.body, name) == 1 and not (_rebound_names(scope) & fixed)
            and _uses_only_in(fn, name, rest) and not _in_nested_function(rest, name)
            and _changed(rest, {name, base}))


def _mutable(kinds, name):
    """Surely a list, a dict or an array of known rank >= 1: an array of
    unknown rank may be a NumPy scalar (``a[1]``), which ``+=`` rebinds."""
    k = kinds.get(name)
    if k is None:
        return False
    return k.tag in ("list", "dict") or (k.tag == "array" and k.ndim is not None
                                          and k.ndim >= 1)


def sliced(index):
    """An index with a slice, ``None`` or ``...``: of an array, always an array."""
    parts = index.elts if isinstance(index, gast.Tuple) else [index]
    return any(isinstance(p, gast.Slice) or isinstance(p, gast.Constant) and (
        p.value is None or p.value is Ellipsis) for p in parts)


def _tag(kinds, name):
    k = kinds.get(name)
    return None if k is None else k.tag


def _basic(index, kinds):
    """Numbers, slices, None, ``...`` and int-valued names: a view, never a copy."""
    if isinstance(index, gast.Tuple):
        return all(_basic(e, kinds) for e in index.elts)
    if isinstance(index, gast.Slice):
        return all(p is None or _basic(p, kinds) for p in (index.lower, index.upper, index.step))
    if isinstance(index, gast.Constant):
        return index.value is None or index.value is Ellipsis or type(index.value) is int
    if isinstance(index, gast.UnaryOp) and isinstance(index.op, gast.USub):
        return _basic(index.operand, kinds)
    if isinstance(index, gast.Name):
        return _tag(kinds, index.id) == "scalar"
    return False


def _stores(node):
    """Names bound (not changed in place) anywhere under ``node``."""
    augmented = {id(n.target) for n in N.walk(node) if isinstance(n, gast.AugAssign)}
    return [n.id for n in N.walk(node) if isinstance(n, gast.Name)
            and isinstance(n.ctx, gast.Store) and id(n) not in augmented]


def _rebinds(stmts, name):
    return sum(_stores(s).count(name) for s in stmts)


def _rebound_names(stmts):
    out = set()
    for s in stmts:
        out.update(_stores(s))
    return out


def _uses_only_in(fn, name, rest):
    inside = {id(n) for r in rest for n in N.walk(r)}
    return all(id(n) in inside for n in N.walk(fn.body)
               if isinstance(n, gast.Name) and n.id == name and isinstance(n.ctx, gast.Load))


def _in_nested_function(stmts, name):
    for s in stmts:
        for n in N.walk(s):
            if isinstance(n, (gast.FunctionDef, gast.Lambda)) and name in N.loaded_names(n):
                return True
    return False


def _changed(stmts, names):
    """Whether ``stmts`` may change one of ``names`` in place (a store into
    it, ``x += v``, a mutating method, or passing it to a call)."""
    for s in stmts:
        for n in N.walk(s):
            if isinstance(n, gast.AugAssign) and _root(n.target) in names:
                return True
            if isinstance(n, (gast.Assign,)) and any(
                    isinstance(t, gast.Subscript) and _root(t) in names for t in n.targets):
                return True
            if isinstance(n, gast.Call) and (
                    any(isinstance(a, gast.Name) and a.id in names for a in n.args)
                    or isinstance(n.func, gast.Attribute) and n.func.attr in _MUTATORS
                    and _root(n.func.value) in names):
                return True
    return False


def _root(node):
    while isinstance(node, gast.Subscript):
        node = node.value
    return node.id if isinstance(node, gast.Name) else None


def _replace(node, name, value):
    """Every ``name`` under ``node`` becomes a copy of ``value`` (same context)."""
    def swap(n):
        if isinstance(n, gast.Name) and n.id == name:
            new = N.copy(value)
            new.ctx = n.ctx
            return N.located_as(new, n)
        return n
    N.transform(node, swap)
