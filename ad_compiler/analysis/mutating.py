"""Stage 3c': helpers that change their arguments in place.

``def bump(p): p += 0.3`` called as ``bump(y)`` changes ``y``'s object.
Adjoints follow names, not memory, so the call is rewritten into the
functional form it stands for::

    _m = bump(y)                # the *mutating form* of bump: returns (result, p)
    y = _m[1]                   # counted as an in-place change of y

The mutating form is ``bump``'s own syntax tree with every ``return e``
turned into ``return (e, p)``; its parameter ``p`` is owned (copied on
entry when compiled), so its caller's aliasing checks (``y`` has no other
name, view or container holding it) carry the proof.  Errors inside it name
``bump``'s file and lines.

Only helpers resolved statically (module-level functions) whose changed
parameters are never rebound are rewritten; any other callee that changes
its argument is refused when compiled, as before.
"""
import types
import weakref

import gast

from ad_compiler import nodes as N
from ad_compiler.analysis import calls
from ad_compiler.front.source import Source, get_source, remember
from ad_compiler.runtime.core import registry

_MUTATORS = frozenset(["append", "pop", "extend", "insert", "remove", "clear", "sort",
                       "reverse", "update", "setdefault", "popitem", "fill", "resize",
                       "itemset", "put"])
_MUTABLE_KINDS = ("array", "list", "dict")
_FORMS = weakref.WeakKeyDictionary()        # helper -> (its mutating form, positions)


_POSITIONS = weakref.WeakKeyDictionary()    # helper -> (its code, changed_positions)


def changed_positions_of(func):
    """:func:`changed_positions`, with the helper's names resolved in its own
    module, cached per helper while its code stays the same (a stale answer
    cannot be wrong: a callee that changes its argument after all is refused
    when it is compiled)."""
    hit = _POSITIONS.get(func)
    if hit is not None and hit[0] is func.__code__:
        return hit[1]
    from ad_compiler.front.anf import local_names
    from ad_compiler.front.resolve import Resolver
    resolve = Resolver(func, local_names(get_source(func).node)).static_or_none
    positions = changed_positions(func, resolve)
    _POSITIONS[func] = (func.__code__, positions)
    return positions


def changed_positions(func, resolve, seen=()):
    """Positions of ``func``'s parameters whose objects it changes in place,
    or None if some are also rebound (then no functional form is proven)."""
    node = get_source(func).node
    params = [a.id for a in node.args.posonlyargs + node.args.args]
    changed, rebound, augmented = set(), set(), set()
    for s in _own_nodes(node.body):
        changed |= _changes(s, params, resolve, seen + (func,))
        if isinstance(s, gast.AugAssign):
            augmented.add(id(s.target))        # p += v changes p, it does not rebind it
        elif isinstance(s, gast.Name) and isinstance(s.ctx, gast.Store) and \
                id(s) not in augmented:
            rebound.add(s.id)
    if changed & rebound:
        return None
    return tuple(i for i, p in enumerate(params) if p in changed)


def _own_nodes(stmts):
    """Every node of a body, not entering nested functions and lambdas."""
    stack = list(stmts)
    while stack:
        n = stack.pop()
        yield n
        if isinstance(n, (gast.FunctionDef, gast.Lambda)):
            continue
        stack.extend(gast.iter_child_nodes(n))


def _root(node):
    """``p`` for ``p``, ``p[0]`` and ``p[0][1]``."""
    while isinstance(node, gast.Subscript):
        node = node.value
    return node.id if isinstance(node, gast.Name) else None


def _changes(n, params, resolve, seen):
    """Parameters node ``n`` changes in place (directly or through a helper)."""
    if isinstance(n, gast.AugAssign):
        root = _root(n.target)
        return {root} if root in params else set()
    if isinstance(n, (gast.Assign, gast.AnnAssign)):
        targets = n.targets if isinstance(n, gast.Assign) else [n.target]
        return {_root(t.value) for t in targets if isinstance(t, gast.Subscript)} & set(params)
    if not isinstance(n, gast.Call):
        return set()
    f = n.func
    if isinstance(f, gast.Attribute) and isinstance(f.value, gast.Name) and \
            f.value.id in params and f.attr in _MUTATORS:
        return {f.value.id}
    out = {k.value.id for k in n.keywords if k.arg == "out" and isinstance(k.value, gast.Name)}
    callee = resolve(f)
    if _has_source_to_read(callee) and callee not in seen:
        try:
            positions = changed_positions(callee, resolve, seen) or ()
        except Exception:        # no source: the callee is refused when compiled
            positions = ()
        out |= {n.args[i].id for i in positions if i < len(n.args)
                and isinstance(n.args[i], gast.Name)}
    return out & set(params)


def readable_helper(func):
    """A plain Python function whose own source the analysis may read."""
    return _has_source_to_read(func)


def _has_source_to_read(func):
    """A plain function whose own code is compiled when called: not generated
    code, not one of the transforms the compiler knows (``gradient`` inside
    ``grad(grad(f))``: reading the API's and runtime's sources was 40% of a
    first second derivative's compile time), and not one with a rule (the
    rule is used, never the code), unless that rule changes an argument in
    place (``mutates``)."""
    if not isinstance(func, types.FunctionType) or getattr(func, "__ad_generated__", False):
        return False
    if func in calls.SPECIAL:
        return False
    rule = registry.lookup(func)
    return rule is None or rule.mutates is not None


def mutating_form(func, positions):
    """``func`` returning ``(result, *changed parameters)``, cached per helper."""
    hit = _FORMS.get(func)
    if hit is not None and hit[1] == positions:
        return hit[0]
    src = get_source(func)
    node = N.copy(src.node)
    names = [a.id for a in node.args.posonlyargs + node.args.args]
    changed = [N.name(names[i]) for i in positions]
    for n in list(_own_nodes(node.body)):
        if isinstance(n, gast.Return):
            n.value = N.tuple_([n.value or N.const(None)] + [N.copy(c) for c in changed])
    node.body.append(N.located_as(gast.Return(value=N.tuple_([N.const(None)] + changed)),
                                  node.body[-1]))
    form = _build(func, node)
    form.__ad_owned_params__ = frozenset(names[i] for i in positions)
    remember(form.__code__, Source(node, src.filename, src.name, src.lineno, form.__code__,
                                    src.origin))
    _FORMS[func] = (form, positions)
    return form


def _build(func, node):
    """A function object running ``node``, with ``func``'s globals, defaults and cells."""
    free = list(func.__code__.co_freevars)
    wrapper = gast.FunctionDef(name="_outer", args=_args(free), body=[
        node, gast.Return(value=N.name(node.name))], decorator_list=[], returns=None,
        type_comment=None, type_params=[])
    module = gast.gast_to_ast(gast.Module(body=[wrapper], type_ignores=[]))
    import ast
    ast.fix_missing_locations(module)
    code = compile(module, "<mutating form of %s>" % func.__qualname__, "exec")
    outer = next(c for c in code.co_consts if isinstance(c, types.CodeType))
    inner = next(c for c in outer.co_consts if isinstance(c, types.CodeType))
    cells = dict(zip(func.__code__.co_freevars, func.__closure__ or ()))
    closure = tuple(cells[name] for name in inner.co_freevars) or None
    form = types.FunctionType(inner, func.__globals__, func.__name__, func.__defaults__,
                              closure)
    form.__kwdefaults__ = func.__kwdefaults__
    return form


def _args(names):
    return gast.arguments(args=[gast.Name(id=n, ctx=gast.Param(), annotation=None,
                                          type_comment=None) for n in names],
                          posonlyargs=[], vararg=None, kwonlyargs=[], kw_defaults=[],
                          kwarg=None, defaults=[])


def rewrite_calls(fn, ctx):
    """Rewrite calls of statically known helpers that change arguments the
    caller owns (arrays, lists, dicts); True if any was rewritten."""
    defs = {}
    for s in N.statements(fn.body):
        if isinstance(s, gast.Assign) and isinstance(s.targets[0], gast.Name):
            defs.setdefault(s.targets[0].id, []).append(s.value)

    changed = []

    def rewrite(s):
        new = _rewrite(s, ctx, ctx.resolver.static_or_none, defs)
        changed.extend(new[1:])
        return new

    fn.body = N.rewrite_blocks(fn.body, rewrite)
    return bool(changed)


def _rewrite(s, ctx, resolve, defs):
    call = s.value if isinstance(s, (gast.Expr, gast.Assign)) else None
    if not isinstance(call, gast.Call) or call.keywords or any(
            isinstance(a, gast.Starred) for a in call.args):
        return [s]
    if isinstance(s, gast.Assign) and not isinstance(s.targets[0], gast.Name):
        return [s]
    func = resolve(call.func)
    if not _has_source_to_read(func):
        return [s]
    try:
        positions = changed_positions_of(func)
    except Exception:            # no source: refused (or ruled) when called
        return [s]
    if not positions:
        return [s]
    args = [call.args[i] if i < len(call.args) else None for i in positions]
    kinds = [ctx.kinds.get(a.id) if isinstance(a, gast.Name) else None for a in args]
    if any(isinstance(a, gast.Name) and (k is None or k.tag not in _MUTABLE_KINDS + (
            "scalar", "const", "tuple")) for a, k in zip(args, kinds)):
        return [s]               # unknown kind: the compiled callee refuses
    form = mutating_form(func, positions)
    name = ctx.externs.ref(form, func.__name__ + "_mutating")
    m = ctx.namer.fresh("_m")
    out = [N.assign(m, gast.Call(func=N.name(name), args=call.args, keywords=[]), s)]
    if isinstance(s, gast.Assign):
        out.append(N.assign(s.targets[0].id, N.subscript(m, N.const(0)), s))
    for k, (a, kind) in enumerate(zip(args, kinds)):
        if not isinstance(a, gast.Name) or kind.tag not in _MUTABLE_KINDS:
            continue             # a number, a tuple, a literal: nothing of the caller's
        back = N.assign(a.id, N.subscript(m, N.const(k + 1)), s)
        through = _write_back(a.id, defs, s)
        # the aliasing checks see a change of a's object (of the viewed
        # array's, through the store that writes a view back)
        back.augmented = not through
        back.keeps_kind = True
        out.append(back)
        out.extend(through)
    return out


def _write_back(name, defs, s):
    """``bump(x[1:])`` changes ``x`` through the view: ``x[1:] = _t`` after."""
    values = defs.get(name, [])
    if not name.startswith("_") or len(values) != 1 or not isinstance(values[0], gast.Subscript) \
            or not isinstance(values[0].value, gast.Name):
        return []
    view = values[0]
    return [N.assign(N.subscript(N.copy(view.value), N.copy(view.slice), store=True),
                     N.name(name), s)]
