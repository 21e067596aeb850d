"""Stage 5c: proofs that in-place changes keep Python's meaning, inserted
into the function where the syntax alone cannot give them.

* ``ownership_checks``: after a definition that may not be a fresh object,
  ``check_owned`` (run time: nobody else holds it);
* ``insert_guards``: an alias of a value of unknown kind, ``check_immutable``;
* ``augmented_items``: ``c[i] += v`` on an item that ``+=`` would change in
  place, refused, or ``check_augmented_item`` where the kinds cannot tell;
* ``drop_proven_part_checks``: the chained-store checks proven statically;
* ``snapshot_views``: a compiler temporary viewing an array changed later
  becomes a copy (derivative code reads it after the change).
"""
import builtins

import gast
import numpy as np

from ad_compiler import nodes as N
from ad_compiler.analysis.aliasing import _change_after, _is_view, _mutations, _places
from ad_compiler.runtime.core import kinds as K
from ad_compiler.runtime.core.errors import UnsupportedSyntaxError, located


_OPS = {gast.Add: "+", gast.Sub: "-", gast.Mult: "*", gast.Div: "/", gast.FloorDiv: "//",
        gast.Mod: "%", gast.Pow: "**", gast.MatMult: "@", gast.BitAnd: "&", gast.BitOr: "|",
        gast.BitXor: "^", gast.LShift: "<<", gast.RShift: ">>"}


def augmented_items(fn, source, kinds, externs):
    """``c[i] op= v`` (and ``o.a op= v``) runs ``op=`` on the item's own object,
    in place when it is an array or a list, so every other name for that
    object changes too; the ANF's ``t = c[i] op v; c[i] = t`` changes only
    the container.  The two agree when the container is an array (its item
    is a view the store writes through, or a number) or the item is
    immutable; a container that surely holds a mutable item here is refused,
    and where the kinds cannot tell, ``check_augmented_item`` decides when
    the code runs.  True if any check was inserted."""
    from ad_compiler.runtime.ownership import check_augmented_item
    checks = {}
    for s in N.statements(fn.body):
        mark = getattr(s, "item_augmented", None)
        if mark is None:
            continue
        old, container, where = mark
        ck, ik = kinds.get(container.id), kinds.get(old.id)
        if K.is_array(ck) or (ik is not None and ik.tag in ("scalar", "const", "tuple")):
            continue
        text = "'%s%s %s= ...'" % (container.id, where, _OPS.get(type(s.value.op), "op"))
        message = ("%s: %s changes in place the object stored there (Python's augmented "
                   "assignment on an array or a list), which every other name for it would "
                   "see too; write it out: '%s%s = %s%s %s ...'" % (
                       located(s, source), text, container.id, where, container.id, where,
                       _OPS.get(type(s.value.op), "op")))
        if ck is not None and ck.tag in ("list", "dict", "tuple") and \
                (K.is_array(ik) or (ik is not None and ik.tag in ("list", "dict"))):
            err = UnsupportedSyntaxError(message)
            err.location = located(s, source)
            raise err
        checks[id(s)] = N.expr_stmt(N.call(
            N.name(externs.ref(check_augmented_item, "check_augmented_item")),
            [N.name(container.id), N.name(old.id), N.const(message)]), s)
    if checks:
        fn.body = N.rewrite_blocks(
            fn.body, lambda s: [s, checks[id(s)]] if id(s) in checks else [s])
    return bool(checks)


def insert_guards(fn, guards, externs):
    """After each guarded alias, ``check_immutable(z, message)``."""
    from ad_compiler.runtime.ownership import check_immutable
    if not guards:
        return False
    by_stmt = {id(s): (z, message) for s, z, message in guards}
    ref = externs.ref(check_immutable, "check_immutable")

    def guarded(s):
        if id(s) not in by_stmt:
            return [s]
        z, message = by_stmt[id(s)]
        return [s, N.expr_stmt(N.call(N.name(ref), [z, N.const(message)]), s)]

    fn.body = N.rewrite_blocks(fn.body, guarded)
    return True


# NumPy functions whose result may be (a view of) their argument.
_VIEW_FUNCTIONS = frozenset([
    "asarray", "asanyarray", "ascontiguousarray", "asfortranarray", "asarray_chkfinite",
    "require", "reshape", "ravel", "transpose", "matrix_transpose", "permute_dims",
    "squeeze", "expand_dims", "swapaxes", "moveaxis", "rollaxis", "broadcast_to",
    "broadcast_arrays", "diagonal", "diag", "real", "imag", "atleast_1d", "atleast_2d",
    "atleast_3d", "flip", "fliplr", "flipud", "rot90", "split", "array_split", "hsplit",
    "vsplit", "dsplit", "unstack", "frombuffer", "asmatrix", "as_strided", "view"])
# Builtins and methods that always build a new object.
_FRESH_BUILTINS = frozenset(["list", "dict", "set", "sorted", "tuple", "len", "range",
                             "abs", "float", "int", "sum", "round", "pow", "divmod"])
_FRESH_METHODS = frozenset(["copy", "astype", "tolist", "sum", "mean", "prod", "cumsum",
                            "cumprod", "dot", "clip", "round", "flatten", "std", "var",
                            "max", "min", "argmax", "argmin", "any", "all", "conj",
                            "conjugate", "repeat", "take", "nonzero", "outer", "__add__",
                            "__mul__", "__sub__", "__truediv__", "__neg__", "__pow__",
                            "__matmul__"])
_FRESH_VALUES = (gast.BinOp, gast.UnaryOp, gast.Compare, gast.List, gast.Dict, gast.Set,
                 gast.Constant, gast.Tuple)


def _fresh(value, resolve, is_module):
    """True if ``value`` (an ANF right-hand side) surely builds a new object."""
    if isinstance(value, _FRESH_VALUES):
        return True
    if not isinstance(value, gast.Call):
        return False
    if any(k.arg in ("out", "copy") for k in value.keywords):
        return False
    func = value.func
    if isinstance(func, gast.Attribute) and not _rooted_at_module(func, is_module):
        return func.attr in _FRESH_METHODS
    obj = resolve(func)
    if obj is None:
        return False
    from ad_compiler.runtime.helpers import copy_input
    if obj is copy_input or isinstance(obj, np.ufunc):
        return True
    name = getattr(obj, "__name__", "")
    module = getattr(obj, "__module__", None) or ""
    if module.startswith("numpy"):
        return name not in _VIEW_FUNCTIONS
    return obj in _FRESH_OBJECTS


def _rooted_at_module(node, is_module):
    while isinstance(node, gast.Attribute):
        node = node.value
    return isinstance(node, gast.Name) and is_module(node.id)


_FRESH_OBJECTS = [getattr(builtins, n) for n in _FRESH_BUILTINS]


def ownership_checks(fn, source, kinds, resolver, externs, exempt):
    """After each definition of a name changed in place that is not surely a
    new object (``a = helper(x)``, ``a = x[0]``), insert ``check_owned(a)``:
    at run time it refuses an object someone else can see.  Returns True if
    any check was inserted."""
    from ad_compiler.runtime.ownership import check_owned
    mutated = set(_mutations(fn.body, resolver.is_module, kinds)) - set(exempt)
    if not mutated:
        return False
    ref = externs.ref(check_owned, "check_owned")
    inserted = []

    def checked(s):
        if (isinstance(s, gast.Assign) and isinstance(s.targets[0], gast.Name)
                and s.targets[0].id in mutated
                and not getattr(s, "augmented", False)      # the change itself
                and not isinstance(s.value, gast.Name)
                and not _fresh(s.value, resolver.static_or_none, resolver.is_module)):
            name = s.targets[0].id
            where = str(located(s, source))
            inserted.append(s)
            return [s, N.expr_stmt(N.call(N.name(ref), [name, N.const(where), N.const(name)]),
                                   s)]
        return [s]

    fn.body = N.rewrite_blocks(fn.body, checked)
    return bool(inserted)


def drop_proven_part_checks(fn, kinds, user_names, is_module):
    """Remove ``check_part(c, i, p)`` where ``c`` is provably built here from
    literals whose inner containers nothing else holds (``grid = [[a, b],
    [c, d]]``): the run-time count would see the compiler's own temporaries
    and refuse a store Python allows."""
    defs, loads = {}, {}
    for s in N.statements(fn.body):
        if isinstance(s, gast.Assign) and isinstance(s.targets[0], gast.Name):
            defs.setdefault(s.targets[0].id, []).append(s.value)
        for n in _own_loads(s):
            loads[n] = loads.get(n, 0) + 1
    mutations = _mutations(fn.body, is_module, kinds)

    def private(e):
        if isinstance(e, gast.Constant):
            return True
        if not isinstance(e, gast.Name):
            return False
        if e.id in user_names:
            return kinds.get(e.id) is not None and kinds.get(e.id).tag == "scalar"
        values = defs.get(e.id, [])
        return (len(values) == 1 and isinstance(values[0], (gast.List, gast.Dict))
                and loads.get(e.id) == 1 and e.id not in mutations)

    def proven(container):
        values = defs.get(container)
        if not values or any(not isinstance(v, (gast.List, gast.Dict)) for v in values):
            return False
        for m in mutations.get(container, ()):
            # only the write-backs of chained stores may change it
            if not (isinstance(m, gast.Assign) and isinstance(m.value, gast.Name)
                    and getattr(m, "writeback", False)):
                return False
        return all(private(e) for v in values
                   for e in (v.elts if isinstance(v, gast.List) else v.values))

    def keep(s):
        return not (getattr(s, "part_check", False) and isinstance(s.value.args[0], gast.Name)
                    and proven(s.value.args[0].id))
    _filter_statements(fn, keep)


def _own_loads(s):
    """Names ``s`` itself loads (a compound statement: its header only)."""
    part = {gast.If: "test", gast.While: "test", gast.For: "iter"}.get(type(s))
    node = getattr(s, part) if part else s
    return [n.id for n in N.walk(node) if isinstance(n, gast.Name)
            and isinstance(n.ctx, gast.Load)]


def _filter_statements(node, keep):
    for field in ("body", "orelse"):
        block = getattr(node, field, None)
        if isinstance(block, list):
            setattr(node, field, [s for s in block if keep(s)])
            for s in getattr(node, field):
                if isinstance(s, (gast.If, gast.For, gast.While)):
                    _filter_statements(s, keep)


def snapshot_views(fn, kinds, user_names, is_module, externs, namer):
    """``_t = y[1:]`` (a compiler temporary) read before ``y`` changes in place:
    Python reads it at once, but derivative code reads it later, when the
    view shows the new values.  Such a view becomes a copy,
    ``_v = y[1:]; _t = copy_input(_v)``: for the primal, the same value."""
    from ad_compiler.runtime.helpers import copy_input
    mutations = _mutations(fn.body, is_module, kinds)
    if not mutations:
        return False
    places = _places(fn.body)
    copied = []

    def snapshot(s):
        if not (isinstance(s, gast.Assign) and isinstance(s.targets[0], gast.Name)) or \
                getattr(s, "chain_part", False):
            return [s]
        z = s.targets[0].id
        base = _is_view(s.value, kinds)
        if base is None or z in user_names or not K.is_array(kinds.get(base)) or \
                _change_after((base,), s, mutations, places) is None:
            return [s]
        view = namer.fresh("_view")
        copied.append(z)
        return [N.assign(view, s.value, s),
                N.assign(z, N.call(N.name(externs.ref(copy_input, "copy_input")), [view]), s)]

    fn.body = N.rewrite_blocks(fn.body, snapshot)
    return bool(copied)
