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
arguments are summed.

Rules that need the array's own namespace (NumPy today, CuPy on a GPU)
are written against the name ``xp``; see :func:`instantiate_namespace`.
"""
import types

# Kinds of output a rule produces, for the compiler's kind inference.
ELEMENTWISE = "elementwise"   # broadcast of the array arguments
SAME = "same"                 # same kind as the first argument
SCALAR = "scalar"             # a Python or NumPy scalar
ARRAY = "array"               # an array of unknown rank
REDUCE = "reduce"             # scalar unless axis= is given


class Template:
    """One derivative expression: ``scale * fn(*args)`` or ``fn(*args)``.

    ``scale`` names the leading parameter (``"g"`` or ``"d"``) that an
    elementwise rule multiplies by its local derivative; it lets one
    derivative lambda serve as both the reverse and the forward rule.
    """

    __slots__ = ("fn", "scale")

    def __init__(self, fn, scale=None):
        self.fn = fn
        self.scale = scale

    def __call__(self, first, ans, *args, **kwargs):
        if self.scale is None:
            return self.fn(first, ans, *args, **kwargs)
        return first * self.fn(ans, *args, **kwargs)


class Rule:
    """Everything known about differentiating one primal function."""

    def __init__(self, primal, name):
        self.primal = primal
        self.name = name
        self.vjps = None        # tuple of Template/None, one per positional arg
        self.vjp_all = None     # fn(g, ans, *args) -> tuple of cotangents
        self.jvps = None        # tuple of Template/None
        self.jvp_all = None     # fn(tangents, ans, *args) -> tangent
        self.linear = None      # argnums in which the primal is linear
        self.nondiff = False
        self.out = None         # output kind for kind inference
        self.namespace = None   # module bound to ``xp`` inside the templates
        self.variants = []      # (when(*arg_kinds) -> bool, vjps) tried in order
        self.mutates = None     # index of an argument changed in place (scatter_add)
        self.jvp_joint = None   # fn(*args, tangents=...) -> (ans, tangent), one pass
        self.may_be_none = False  # a linear helper whose result may be None (item)
        self.none_ok = False      # a linear helper taking None for a zero tangent

    def __repr__(self):
        return "<rule for %s>" % self.name

    @property
    def has_vjp(self):
        return self.nondiff or self.vjps is not None or self.vjp_all is not None

    @property
    def has_jvp(self):
        return (self.nondiff or self.jvps is not None or self.jvp_all is not None
                or self.linear is not None or self.jvp_joint is not None)


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


def _rule(fn, name=None):
    rule = lookup(fn)
    if rule is None:
        rule = Rule(fn, name or qualified_name(fn))
        _RULES[_key(fn)] = rule
    return rule


def _templates(fns, scale=None):
    return tuple(None if f is None else (f if isinstance(f, Template) else Template(f, scale))
                 for f in fns)


def defvjp(fn, *vjps, out=None, name=None, when=None):
    """Register reverse rules, one per positional argument (None: no gradient).

    ``when(*arg_kinds)``, if given, makes this a specialised variant used
    only when the compiler knows the argument kinds satisfy it (for
    example 2-D operands of ``@``); the plain registration is the fallback.

    >>> import numpy as np
    >>> defvjp(np.sin, lambda g, ans, x: g * np.cos(x))  # doctest: +SKIP
    """
    rule = _rule(fn, name)
    if when is not None:
        rule.variants.append((when, _templates(vjps)))
        return rule
    rule.vjps = _templates(vjps)
    rule.vjp_all = None
    rule.nondiff = False
    if out is not None:
        rule.out = out
    return rule


def def_same(fn, like, name=None):
    """Give ``fn`` the rules of ``like``: ``numpy.add`` differentiates as ``+``.

    >>> import numpy as np, operator
    >>> def_same(np.add, operator.add)  # doctest: +SKIP
    """
    rule, src = _rule(fn, name), lookup(like)
    for field in ("vjps", "jvps", "vjp_all", "jvp_all", "linear", "nondiff", "out",
                  "namespace"):
        setattr(rule, field, getattr(src, field))
    rule.variants = list(src.variants)
    return rule


def defjvp(fn, *jvps, out=None, name=None, may_be_none=False):
    """Register forward rules, one per positional argument (None: no tangent).
    ``may_be_none``: a rule that may give None (zero) for a tangent that is not."""
    rule = _rule(fn, name)
    rule.jvps = _templates(jvps)
    rule.may_be_none = may_be_none
    if out is not None:
        rule.out = out
    return rule


def defvjp_all(fn, vjp, out=None, name=None):
    """Register one reverse rule ``vjp(g, ans, *args) -> tuple``."""
    rule = _rule(fn, name)
    rule.vjp_all = vjp
    rule.vjps = None
    rule.nondiff = False
    if out is not None:
        rule.out = out
    return rule


def defjvp_all(fn, jvp, name=None):
    """Register one forward rule ``jvp(tangents, ans, *args) -> tangent``."""
    rule = _rule(fn, name)
    rule.jvp_all = jvp
    rule.jvps = None
    return rule


def def_linear(fn, argnums=(0,), out=None, name=None, mutates=None, may_be_none=False,
               none_ok=False):
    """Declare ``fn`` jointly linear in ``argnums``: its tangent is ``fn`` of the
    tangents.  ``mutates`` names an argument ``fn`` changes in place (the
    tangent call then changes that argument's tangent in place);
    ``may_be_none`` marks structural helpers whose result stands for zero as
    None, and ``none_ok`` those that take None for a zero tangent (so none is
    materialised for them)."""
    rule = _rule(fn, name)
    rule.linear = tuple(argnums)
    rule.mutates = mutates
    rule.may_be_none = may_be_none
    rule.none_ok = none_ok
    if out is not None:
        rule.out = out
    return rule


def defjvp_joint(fn, rule_fn, out=None, name=None):
    """Register ``rule_fn(*args, tangents=(...), **kwargs) -> (ans, tangent)``.

    For primitives whose tangent is best computed together with the value
    (running a callee's forward-mode code instead of the callee twice).
    """
    rule = _rule(fn, name)
    rule.jvp_joint = rule_fn
    if out is not None:
        rule.out = out
    return rule


def def_unary(fn, deriv, out=ELEMENTWISE, name=None):
    """Elementwise ``y = fn(x)`` with local derivative ``deriv(ans, x)``.

    One lambda gives both rules: ``g * deriv`` in reverse and ``d * deriv``
    forward.
    """
    rule = _rule(fn, name)
    rule.vjps = (Template(deriv, "g"),)
    rule.jvps = (Template(deriv, "d"),)
    rule.out = out
    return rule


def nondifferentiable(*fns, out=None):
    """Functions whose output carries no derivative (argmax, shape, floor...)."""
    for fn in fns:
        rule = _rule(fn)
        rule.nondiff = True
        rule.out = out


def defattr(tp, attr, vjp=None, jvp=None, nondiff=False, out=None):
    """Rules for a property such as ``ndarray.T``: ``vjp(g, ans, x)``."""
    rule = Rule(None, "%s.%s" % (tp.__name__, attr))
    rule.nondiff = nondiff
    rule.vjps = None if vjp is None else _templates([vjp])
    rule.jvps = None if jvp is None else _templates([jvp])
    rule.out = out
    _ATTR_RULES[(tp, attr)] = rule
    return rule


def instantiate_namespace(module, names, source_module):
    """Copy the ``xp``-generic rules of ``source_module`` onto ``module``.

    The rule tables are written once against ``xp``; this registers the
    same rules for another array library (CuPy) whose functions have the
    same names, with ``xp`` bound to that library.
    """
    for name in names:
        src = getattr(source_module, name, None)
        dst = getattr(module, name, None)
        rule = lookup(src)
        if rule is None or dst is None or lookup(dst) is not None:
            continue
        new = _rule(dst, "%s.%s" % (module.__name__, name))
        for field in ("nondiff", "linear", "out"):
            setattr(new, field, getattr(rule, field))
        new.vjps = _rebind(rule.vjps, module)
        new.jvps = _rebind(rule.jvps, module)
        new.vjp_all, new.jvp_all = rule.vjp_all, rule.jvp_all
        new.namespace = module


def _rebind(templates, module):
    if templates is None:
        return None
    out = []
    for t in templates:
        if t is None:
            out.append(None)
            continue
        fn = t.fn
        glb = dict(fn.__globals__)
        glb["xp"] = module
        clone = types.FunctionType(fn.__code__, glb, fn.__name__, fn.__defaults__,
                                   fn.__closure__)
        out.append(Template(clone, t.scale))
    return tuple(out)
