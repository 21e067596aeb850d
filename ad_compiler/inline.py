"""Inline a rule's lambda into generated code as a plain expression.

``defvjp(np.sin, lambda g, ans, x: g * np.cos(x))`` applied to
``y = np.sin(x)`` becomes ``bx = by * np.cos(x)``: readable, and with no
call overhead.  The rule's own global names (``np``, ``unbroadcast``...)
are bound in the generated module through :class:`~naming.Externs`.
"""
import copy
import inspect
import types

import gast

from ad_compiler import nodes as N
from ad_compiler.analysis import kinds as infer
from ad_compiler.front.source import get_source
from ad_compiler.runtime import helpers
from ad_compiler.runtime.core import kinds as K
from ad_compiler.runtime.core.lru import LRU

_PARSED = LRU(4096)     # a rule's code -> its parsed template
_PREFERRED = {"numpy": "np", "math": "math", "cupy": "cp"}


class Parsed:
    __slots__ = ("params", "defaults", "body", "globals", "fn", "free")

    def __init__(self, fn):
        node = get_source(fn).node
        if len(node.body) != 1 or not isinstance(node.body[0], gast.Return):
            raise TypeError("rule %r is not a single expression" % fn)
        code = fn.__code__
        self.fn = fn
        self.params = code.co_varnames[:code.co_argcount]
        defaults = fn.__defaults__ or ()
        self.defaults = dict(zip(self.params[len(self.params) - len(defaults):], defaults))
        self.body = node.body[0].value
        self.globals = fn.__globals__
        # the body's other names (globals, builtins), in the order a walk
        # meets them: every instance binds the same ones
        params, free = set(self.params), {}
        for n in N.walk(self.body):
            if n.__class__ is gast.Name and n.id not in params:
                free.setdefault(n.id, None)
        self.free = tuple(free)


def parsed(fn):
    key = fn.__code__
    got = _PARSED.get(key)
    if got is None:
        got = _PARSED[key] = Parsed(fn)
    # A rule re-bound to another namespace (CuPy) shares code but not globals.
    if got.globals is not fn.__globals__:
        clone = copy.copy(got)
        clone.globals = fn.__globals__
        clone.fn = fn
        return clone
    return got


def inlinable(fn):
    return isinstance(fn, types.FunctionType) and fn.__name__ == "<lambda>"


def preferred_name(obj, name):
    if isinstance(obj, types.ModuleType):
        return _PREFERRED.get(obj.__name__, name)
    return getattr(obj, "__name__", name) if callable(obj) else name


def _literal(value):
    if value is None or isinstance(value, (bool, int, float, str)):
        return True
    return isinstance(value, tuple) and all(_literal(v) for v in value)


def _arguments(p, values, externs):
    """What each parameter of the rule becomes: its value, else its default."""
    subst = {}
    for name in p.params:
        if name in values:
            subst[name] = values[name]
        elif name in p.defaults:
            v = p.defaults[name]
            subst[name] = N.const(v) if _literal(v) else N.name(externs.ref(v, "_" + name))
    return subst


def _globals(p, wrap, externs):
    """The rule's other names (its module's globals, builtins), bound as
    externs, in the order a walk of the (wrapped) body meets them."""
    names = p.free
    if wrap is not None:        # (a walk meets ``helper(body, parameter)``'s last argument first)
        names = (wrap[1],) + names + (wrap[0],)
    params, renames = set(p.params), {}
    for name in names:
        if name not in params and name not in renames:
            obj = p.globals[name] if name in p.globals else _builtin(name)
            renames[name] = (externs.ref(obj, preferred_name(obj, name)), obj)
    return renames


def instantiate(fn, values, externs, scale=None, kind_of=None, wrap=None):
    """The body of rule ``fn`` with parameters replaced by ``values``.

    ``values`` maps parameter names to AST nodes.  ``scale``, if given, is
    the node the local derivative is multiplied by (elementwise rules).
    ``wrap``, if given, is ``(helper, parameter)``: the body becomes
    ``helper(body, parameter)`` as if the rule had been written so
    (:func:`~ad_compiler.runtime.core.registry.def_binary`).
    ``kind_of(name)`` gives kinds of names in ``values`` for simplifying
    ``unbroadcast`` calls whose shapes provably match.
    """
    p = parsed(fn)
    body = N.copy(p.body)
    if wrap is not None:
        body = gast.Call(func=N.name(wrap[0]), args=[body, N.name(wrap[1])], keywords=[])
    subst = _arguments(p, values, externs)
    renames = _globals(p, wrap, externs)

    def substitute(node):
        cls = node.__class__
        if cls is gast.Name:
            if node.id in subst:
                return N.copy(subst[node.id])
            if node.id in renames:
                return N.name(renames[node.id][0])
        elif cls is gast.Call:      # (its callee and keywords are substituted by now)
            return _drop_default_keywords(node, externs)
        return node

    body = N.transform(body, substitute)
    if kind_of is not None:
        body = simplify_unbroadcast(body, externs, kind_of)
    if scale is not None:
        body = gast.BinOp(left=N.copy(scale), op=gast.Mult(), right=body)
    return body


def _callee(func, externs):
    """The object a generated call's target names (an extern or an attribute of one)."""
    path = []
    while func.__class__ is gast.Attribute:
        path.append(func.attr)
        func = func.value
    if func.__class__ is not gast.Name or func.id not in externs.bound:
        return None
    obj = externs.bound[func.id]
    for attr in reversed(path):
        obj = getattr(obj, attr, None)
    return obj


def _defaults(obj):
    # (a hit holds only while the function's defaults are the same objects)
    stamp = (getattr(obj, "__defaults__", None), getattr(obj, "__kwdefaults__", None))
    try:
        hit = _DEFAULTS.get(obj)
    except TypeError:                   # not hashable
        hit = None
    if hit is not None and hit[0] is stamp[0] and hit[1] is stamp[1]:
        return hit[2]
    try:
        params = inspect.signature(obj).parameters.values()
    except (TypeError, ValueError):
        found = {}
    else:
        found = {p.name: p.default for p in params if p.default is not inspect.Parameter.empty}
    try:
        _DEFAULTS[obj] = stamp + (found,)
    except TypeError:
        pass
    return found


# callee -> (its __defaults__, __kwdefaults__, its parameters' defaults):
# inspect.signature was a sixth of inlining
_DEFAULTS = LRU(1024)


def _drop_default_keywords(node, externs):
    """``sum_grad(g, x, axis=None, keepdims=False, where=True)`` reads as
    ``sum_grad(g, x, axis=None, keepdims=False)``: keywords a rule passes on
    with their default value are left out of the generated code."""
    if node.__class__ is not gast.Call or not node.keywords:
        return node
    obj = _callee(node.func, externs)
    defaults = _defaults(obj) if obj is not None else {}
    if defaults:
        node.keywords = [k for k in node.keywords if not (
            k.arg in defaults and k.value.__class__ is gast.Constant
            and type(k.value.value) is type(defaults[k.arg])
            and k.value.value == defaults[k.arg])]
    return node


def _builtin(name):
    import builtins
    return getattr(builtins, name)


def simplify_unbroadcast(expr, externs, kind_of):
    """Drop ``unbroadcast(e, x)`` and ``broadcast_like(e, x)`` where ``e``
    provably has ``x``'s shape already."""
    names = {externs.by_id.get(id(helpers.unbroadcast)),
             externs.by_id.get(id(helpers.broadcast_like))} - {None}
    if not names:
        return expr

    def simplify(node):
        if (node.__class__ is gast.Call and node.func.__class__ is gast.Name
                and node.func.id in names and len(node.args) == 2
                and node.args[1].__class__ is gast.Name):
            if K.same_shape(infer.expr_kind(node.args[0], kind_of, externs),
                            kind_of(node.args[1].id)):
                return node.args[0]
        return node

    return N.transform(expr, simplify)
