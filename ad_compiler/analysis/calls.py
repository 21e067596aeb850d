"""What a call in ANF code is, decided once at compile time.

* ``rule``: a function with a registered rule (``np.sin``, ``x.sum``);
  the rule is inlined into generated code.
* ``dynamic``: user code, a closure, a method or a callable object; it is
  differentiated through ``call_fwd``/``call_bwd`` at run time, which reads
  closures at call time and caches the callee's own generated code.
* ``special``: forms the compiler handles itself (``stop_gradient``, list
  mutation, nested ``gradient``).
* ``opaque``: a builtin with no rule; an error if a gradient must flow
  through it.
"""
import functools
import types

import gast
import numpy as np

from ad_compiler.front.resolve import MISSING
from ad_compiler.runtime.core import kinds as K, registry

LIST_METHODS = ("append", "pop")
SPECIAL = {}      # object -> name, filled by ad_compiler.analysis.special


class Call:
    __slots__ = ("kind", "rule", "obj", "args", "keywords", "special", "receiver", "name")

    def __init__(self, kind, rule=None, obj=MISSING, args=(), keywords=None, special=None,
                 receiver=None, name=""):
        self.kind = kind
        self.rule = rule
        self.obj = obj
        self.args = list(args)          # positional atoms (receiver first for methods)
        self.keywords = dict(keywords or {})
        self.special = special
        self.receiver = receiver        # the object atom of a method call
        self.name = name


def describe(func):
    """``np.linalg.inv`` / ``x.sum`` as written, for messages."""
    if isinstance(func, gast.Name):
        return func.id
    if isinstance(func, gast.Attribute):
        return describe(func.value) + "." + func.attr
    return "<expression>"


def classify(node, env, resolver):
    """Classify an ANF Call node given the current kinds ``env``."""
    func = node.func
    args = list(node.args)
    keywords = {k.arg: k.value for k in node.keywords}
    name = describe(func)
    starred = any(isinstance(a, gast.Starred) for a in args) or None in keywords
    if isinstance(func, gast.Attribute) and not _module_chain(func, env, resolver):
        recv = func.value
        rk = env.get(recv.id) if isinstance(recv, gast.Name) else K.OTHER
        if (K.is_array(rk) or K.is_scalar(rk)) and not starred:
            rule = registry.lookup(getattr(np.ndarray, func.attr, None))
            if rule is not None:
                return Call("rule", rule, args=[recv] + args, keywords=keywords,
                            receiver=recv, name="ndarray." + func.attr)
        if rk is not None and rk.tag == "list" and func.attr in LIST_METHODS:
            return Call("special", special="list." + func.attr, args=args,
                        receiver=recv, name=name)
        return Call("dynamic", args=args, keywords=keywords, receiver=recv, name=name)
    if isinstance(func, gast.Name) and (func.id in env or func.id in resolver.locals):
        return Call("dynamic", args=args, keywords=keywords, name=name)
    obj = resolver.static(func)
    if obj is MISSING:
        return Call("dynamic", args=args, keywords=keywords, name=name)
    special = SPECIAL.get(_hashable(obj))
    if special is not None:
        return Call("special", obj=obj, special=special, args=args, keywords=keywords,
                    name=name)
    rule = registry.lookup(obj)
    if rule is not None and not starred:
        return Call("rule", rule, obj=obj, args=args, keywords=keywords, name=rule.name)
    if isinstance(obj, (types.FunctionType, types.MethodType, type, functools.partial)) or \
            isinstance(getattr(type(obj), "__call__", None), types.FunctionType) or \
            type(obj).__name__ == "_lru_cache_wrapper":   # opened at run time (dispatch)
        return Call("dynamic", obj=obj, args=args, keywords=keywords, name=name)
    return Call("opaque", obj=obj, args=args, keywords=keywords,
                name=registry.qualified_name(obj) if callable(obj) else name)


def _hashable(obj):
    try:
        hash(obj)
        return obj
    except TypeError:
        return None


def _module_chain(func, env, resolver):
    node = func
    while isinstance(node, gast.Attribute):
        node = node.value
    return isinstance(node, gast.Name) and node.id not in env and \
        node.id not in resolver.locals and resolver.is_module(node.id)


def template_params(rule):
    """The primal parameter names of a rule: off its first template, or else off
    the primal itself (rules that are only ``def_linear`` have no template)."""
    for t in (rule.vjps or ()) + (rule.jvps or ()):
        if t is not None:
            code = t.fn.__code__
            names = code.co_varnames[:code.co_argcount]
            return names[1:] if t.scale else names[2:]
    code = getattr(rule.primal, "__code__", None)
    if code is not None:
        return code.co_varnames[:code.co_argcount]
    try:
        import inspect
        return tuple(inspect.signature(rule.primal).parameters)
    except (TypeError, ValueError):
        n = max(rule.linear or (0,)) + 1
        return tuple("arg%d" % i for i in range(n))


def bind_template(t, call, first, ans):
    """Values for the parameters of template ``t`` applied to ``call``.

    ``first`` is the cotangent (or tangent) node and ``ans`` the result
    node.  Positional arguments bind by position, keywords by name;
    arguments the template does not name never carry gradients.
    """
    code = t.fn.__code__
    names = code.co_varnames[:code.co_argcount]
    lead = 1 if t.scale else 2
    values = {names[0]: ans} if t.scale else {names[0]: first, names[1]: ans}
    params = names[lead:]
    for i, a in enumerate(call.args):
        if i < len(params):
            values[params[i]] = a
    for k, v in call.keywords.items():
        if k in params:
            values[k] = v
    return values


def diff_args(rule, call):
    """Positions of the arguments that a gradient can flow into."""
    if rule.nondiff:
        return []
    if rule.vjp_all is not None or rule.jvp_all is not None:
        return list(range(len(call.args)))
    params = template_params(rule)
    out = []
    templates = rule.vjps or rule.jvps or ()
    # (past the named parameters, a primal's *args: linear rules may cover them)
    for i in range(max(len(params), len(call.args))):
        p = params[i] if i < len(params) else None
        has = i < len(templates) and templates[i] is not None
        if rule.linear is not None and i in rule.linear:
            has = True
        if has and (i < len(call.args) or p in call.keywords):
            out.append(i)
    return out


def diff_atoms(rule, call):
    """The atoms of a rule call that a gradient can flow into."""
    out, params = [], None
    for i in diff_args(rule, call):
        if i < len(call.args):
            out.append(call.args[i])
            continue
        if params is None:
            # (only when a keyword is: a builtin's signature costs a tokenizer
            # whose first use compiles its regular expressions, 5 ms)
            params = template_params(rule)
        if i < len(params) and params[i] in call.keywords:
            out.append(call.keywords[params[i]])
    return out
