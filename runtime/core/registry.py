"""Rule tables: how to differentiate functions that have no Python source.

A rule is plain Python, written as a lambda in a table, so that

* the compiler can *inline* it into generated code (readable, no call
  overhead), and
* the compiler can differentiate it again for higher orders, because the
  rule is itself ordinary NumPy code.

Reverse rules follow HIPS autograd: one lambda per positional argument,
``vjp(g, ans, *args, **kwargs) -> cotangent of that argument``::

    defvjp(np.sin, lambda g, ans, x: g * np.cos(x))

Forward rules mirror them: ``jvp(d, ans, *args, **kwargs) -> tangent
contribution of that argument``; the contributions of all active
arguments are summed.  One lambda serves both modes where it can: the
local derivative of an elementwise function (:func:`def_unary`), the
linear map of a binary operation (:func:`def_binary`).

The verbs: :func:`defvjp`, :func:`defjvp`, :func:`def_linear`,
:func:`def_unary`, :func:`def_binary` and :func:`nondifferentiable`, with
:func:`defattr` for attributes (``ndarray.T``).  Each builds the primal's
:class:`~.rule.Rule` in one place, :func:`_register`.

Rules are written against the name ``xp`` (NumPy).  NumPy's functions pass
CuPy's arrays on to CuPy, so the same rules serve both; code that calls
``cupy.sin`` itself gets NumPy's rules copied with ``xp`` bound to CuPy
(:func:`instantiate_namespace`, through :func:`.namespace.register_namespace`).
"""
import dataclasses
import types

from .rule import ARRAY, ELEMENTWISE, REDUCE, SAME, SCALAR, Rule, Template

__all__ = ["ARRAY", "ELEMENTWISE", "REDUCE", "SAME", "SCALAR", "Rule", "Template", "defattr",
           "copy_rule", "def_binary", "def_linear", "def_unary", "defjvp", "defvjp",
           "instantiate_namespace",
           "lookup", "lookup_attr", "nondifferentiable", "qualified_name"]

_RULES = {}          # primal object -> Rule
_ATTR_RULES = {}     # (type, attribute name) -> Rule


def qualified_name(fn):
    """``numpy.sin``, ``math.cos``, ``ndarray.sum``: the name users know."""
    mod = getattr(fn, "__module__", None) or ""
    if not mod and type(fn).__name__ == "ufunc":
        mod = "numpy"             # NumPy before 2.1 gives ufuncs no __module__
    name = getattr(fn, "__qualname__", None) or getattr(fn, "__name__", None) or repr(fn)
    if isinstance(fn, types.BuiltinFunctionType) and mod == "builtins":
        return name
    if mod.startswith("numpy") and not name.startswith("ndarray"):
        mod = "numpy" if mod in ("numpy", "numpy._core.fromnumeric",
                                 "numpy.core.fromnumeric") else mod
    if mod in ("", "builtins", "_operator", "operator"):
        return ("operator." + name) if mod in ("_operator", "operator") else name
    return "%s.%s" % (mod, name)


def _key(fn):
    # Bound methods of builtin types compare by identity of the function.
    return fn


def lookup(fn):
    """The rule registered for ``fn``, or None."""
    try:
        return _RULES.get(_key(fn))
    except TypeError:   # unhashable callables never have rules
        return None


def lookup_attr(tp, attr):
    for klass in getattr(tp, "__mro__", (tp,)):
        rule = _ATTR_RULES.get((klass, attr))
        if rule is not None:
            return rule
    return None


def _register(fn, name=None, **fields):
    """The one place a rule is built: ``fn``'s rule (a new one, named ``name``, if
    it has none) with ``fields`` replaced."""
    rule = lookup(fn)
    if rule is None:
        rule = Rule(fn, name or qualified_name(fn))
    rule = dataclasses.replace(rule, **fields)
    _RULES[_key(fn)] = rule
    return rule


def _given(out):
    """``out=`` as a field where it is given (a verb's None keeps the kind known)."""
    return {} if out is None else {"out": out}


def _templates(fns, scale=None):
    return tuple(None if f is None else (f if isinstance(f, Template) else Template(f, scale))
                 for f in fns)


def defvjp(fn, *vjps, out=None, name=None, when=None, vjp_all=None):
    """Register reverse rules, one per positional argument (None: no gradient).

    ``when(*arg_kinds)``, if given, makes this a specialised variant used
    only when the compiler knows the argument kinds satisfy it (for
    example 2-D operands of ``@``); the plain registration is the fallback.
    ``vjp_all(g, ans, *args) -> tuple``, instead of ``vjps``, is one rule
    for all the arguments (``@adjoint``).

    >>> import numpy as np
    >>> defvjp(np.sin, lambda g, ans, x: g * np.cos(x))  # doctest: +SKIP
    """
    if when is not None:
        rule = lookup(fn)
        variants = () if rule is None else rule.variants
        return _register(fn, name, variants=variants + ((when, _templates(vjps)),))
    if vjp_all is not None:
        return _register(fn, name, vjp_all=vjp_all, vjps=None, nondiff=False, **_given(out))
    return _register(fn, name, vjps=_templates(vjps), vjp_all=None, nondiff=False, **_given(out))


def defjvp(fn, *jvps, out=None, name=None, may_be_none=False, jvp_all=None, joint=None):
    """Register forward rules, one per positional argument (None: no tangent).
    ``may_be_none``: a rule that may give None (zero) for a tangent that is not.

    Instead of ``jvps``: ``jvp_all(tangents, ans, *args) -> tangent``, one rule
    for all the arguments (``@tangent``), or ``joint(*args, tangents=(...),
    **kwargs) -> (ans, tangent)`` for primitives whose tangent is best computed
    together with the value (running a callee's forward-mode code instead of
    the callee twice)."""
    if joint is not None:
        return _register(fn, name, jvp_joint=joint, **_given(out))
    if jvp_all is not None:
        return _register(fn, name, jvp_all=jvp_all, jvps=None, **_given(out))
    return _register(fn, name, jvps=_templates(jvps), may_be_none=may_be_none, **_given(out))


def def_linear(fn, argnums=(0,), out=None, name=None, mutates=None, may_be_none=False,
               none_ok=False):
    """Declare ``fn`` jointly linear in ``argnums``: its tangent is ``fn`` of the
    tangents.  ``mutates`` names an argument ``fn`` changes in place (the
    tangent call then changes that argument's tangent in place);
    ``may_be_none`` marks structural helpers whose result stands for zero as
    None, and ``none_ok`` those that take None for a zero tangent (so none is
    materialised for them)."""
    return _register(fn, name, linear=tuple(argnums), mutates=mutates,
                     may_be_none=may_be_none, none_ok=none_ok, **_given(out))


def def_unary(fn, deriv, out=ELEMENTWISE, name=None):
    """Elementwise ``y = fn(x)`` with local derivative ``deriv(ans, x)``.

    One lambda gives both rules: ``g * deriv`` in reverse and ``d * deriv``
    forward.
    """
    return _register(fn, name, vjps=(Template(deriv, "g"),), jvps=(Template(deriv, "d"),), out=out)


def def_binary(fn, *maps, out=ELEMENTWISE, name=None, like=None):
    """A binary operation ``ans = fn(x, y)``, one lambda per argument for both modes.

    Each lambda ``(g, ans, x, y)`` is the argument's local derivative applied
    to ``g``, linear in ``g`` (``g * y`` for ``x * y``; None: no derivative).
    Reverse, it is ``unbroadcast(map(g, ...), x)``; forward, with the tangent
    for ``g``, ``broadcast_like(map(d, ...), ans)``: the names ``unbroadcast``
    and ``broadcast_like`` are looked up in the lambda's module.  With
    ``out=SCALAR`` (``math``) nothing broadcasts and the map is the rule.

    ``like=other`` gives ``fn`` every rule of ``other`` instead
    (``def_binary(numpy.add, like=operator.add)``).

    >>> import operator
    >>> def_binary(operator.mul, lambda g, ans, x, y: g * y,
    ...            lambda g, ans, x, y: x * g)  # doctest: +SKIP
    """
    if like is not None:
        src = lookup(like)
        return _register(fn, name, **{f.name: getattr(src, f.name) for f in
                                      dataclasses.fields(Rule) if f.name not in ("primal", "name")})
    if len(maps) != 2:
        raise TypeError("def_binary(%s) takes one lambda per argument, two in all"
                        % qualified_name(fn))
    vjps, jvps = [], []
    for m in maps:
        params = None if m is None else m.__code__.co_varnames[:m.__code__.co_argcount]
        wrapped = out != SCALAR and m is not None
        vjps.append(None if m is None else Template(
            m, wrap=("unbroadcast", params[2 + len(vjps)]) if wrapped else None))
        jvps.append(None if m is None else Template(
            m, wrap=("broadcast_like", params[1]) if wrapped else None))
    return _register(fn, name, vjps=tuple(vjps), jvps=tuple(jvps), vjp_all=None, nondiff=False,
                     out=out)


def nondifferentiable(*fns, out=None):
    """Functions whose output carries no derivative (argmax, shape, floor...)."""
    for fn in fns:
        _register(fn, nondiff=True, out=out)


def defattr(tp, attr, vjp=None, jvp=None, nondiff=False, out=None):
    """Rules for a property such as ``ndarray.T``: ``vjp(g, ans, x)``.  Attributes are
    not callables, so they have their own table (:func:`lookup_attr`)."""
    rule = Rule(None, "%s.%s" % (tp.__name__, attr), nondiff=nondiff, out=out,
                vjps=None if vjp is None else _templates([vjp]),
                jvps=None if jvp is None else _templates([jvp]))
    _ATTR_RULES[(tp, attr)] = rule
    return rule


def instantiate_namespace(module, names, source_module):
    """Copy the ``xp``-generic rules of ``source_module`` onto ``module``.

    The rule tables are written once against ``xp``; this registers the
    same rules for another array library (CuPy) whose functions have the
    same names, with ``xp`` bound to that library.  The copy keeps every
    field; only the primal, the name, the namespace and the functions in
    the rule (re-bound to see ``xp`` as ``module``) differ.
    """
    for name in names:
        src = getattr(source_module, name, None)
        dst = getattr(module, name, None)
        if lookup(src) is not None and dst is not None and lookup(dst) is None:
            copy_rule(dst, src, "%s.%s" % (module.__name__, name), namespace=module)


def copy_rule(dst, src, name, namespace=None):
    """Register ``src``'s rule for ``dst`` too, every field kept; with a
    ``namespace``, the rule's functions see ``xp`` as that module."""
    rule = lookup(src)
    if namespace is None:
        _RULES[_key(dst)] = dataclasses.replace(rule, primal=dst, name=name, copy_of=src)
        return
    _RULES[_key(dst)] = dataclasses.replace(
        rule, primal=dst, name=name, namespace=namespace, copy_of=src,
        vjps=_rebind(rule.vjps, namespace), jvps=_rebind(rule.jvps, namespace),
        variants=tuple((when, _rebind(vjps, namespace)) for when, vjps in rule.variants),
        vjp_all=_rebound(rule.vjp_all, namespace), jvp_all=_rebound(rule.jvp_all, namespace),
        jvp_joint=_rebound(rule.jvp_joint, namespace))


def _rebind(templates, module):
    if templates is None:
        return None
    return tuple(None if t is None else dataclasses.replace(t, fn=_rebound(t.fn, module))
                 for t in templates)


def _rebound(fn, module):
    """``fn`` with the global ``xp`` bound to ``module`` (other functions as they are)."""
    if not isinstance(fn, types.FunctionType):
        return fn
    glb = dict(fn.__globals__)
    glb["xp"] = module
    clone = types.FunctionType(fn.__code__, glb, fn.__name__, fn.__defaults__, fn.__closure__)
    clone.__kwdefaults__ = fn.__kwdefaults__
    clone.__qualname__ = fn.__qualname__
    clone.__dict__.update(fn.__dict__)
    return clone
