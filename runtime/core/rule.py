"""What is known about differentiating one primal: :class:`Rule`, a record
built by the registration verbs of :mod:`.registry`, and :class:`Template`,
one derivative expression that the compiler inlines.
"""
import dataclasses

# Kinds of output a rule produces, for the compiler's kind inference.
ELEMENTWISE = "elementwise"   # broadcast of the array arguments
SAME = "same"                 # same kind as the first argument
SCALAR = "scalar"             # a Python or NumPy scalar
ARRAY = "array"               # an array of unknown rank
REDUCE = "reduce"             # scalar unless axis= is given


@dataclasses.dataclass(frozen=True, eq=False)
class Template:
    """One derivative expression: ``scale * fn(*args)``, ``fn(*args)`` or
    ``wrap(fn(*args), target)``.

    ``scale`` names the leading parameter (``"g"`` or ``"d"``) that an
    elementwise rule multiplies by its local derivative; it lets one
    derivative lambda serve as both the reverse and the forward rule
    (:func:`~.registry.def_unary`).  ``wrap`` is ``(helper, target)``: the
    result is ``helper(fn(...), target)`` with ``helper`` a global name of
    ``fn``'s module and ``target`` one of ``fn``'s parameters; it lets one
    linear map serve a binary operation in both modes, ``unbroadcast(.., x)``
    in reverse and ``broadcast_like(.., ans)`` forward
    (:func:`~.registry.def_binary`).
    """

    fn: object
    scale: str = None
    wrap: tuple = None

    def __call__(self, first, ans, *args, **kwargs):
        if self.scale is not None:
            return first * self.fn(ans, *args, **kwargs)
        out = self.fn(first, ans, *args, **kwargs)
        if self.wrap is None:
            return out
        helper, target = self.wrap
        code = self.fn.__code__
        bound = dict(zip(code.co_varnames[:code.co_argcount], (first, ans) + args), **kwargs)
        return self.fn.__globals__[helper](out, bound[target])


@dataclasses.dataclass(frozen=True, eq=False)
class Rule:
    """Everything known about differentiating one primal function.

    A record: the registration verbs build a new one with
    :func:`dataclasses.replace` and put it in the registry, so a rule is
    never changed in place and a copy (``like=``, another array namespace)
    carries every field.
    """

    primal: object = None
    """The function differentiated (None for an attribute rule)."""
    name: str = ""
    """The name users know (``numpy.sin``), used in messages."""
    vjps: tuple = None
    """Reverse rules: a :class:`Template` (or None: no gradient) per positional argument."""
    vjp_all: object = None
    """One reverse rule ``fn(g, ans, *args) -> tuple of cotangents`` (``@adjoint``)."""
    jvps: tuple = None
    """Forward rules: a :class:`Template` (or None: no tangent) per positional argument;
    the contributions of the active arguments are summed."""
    jvp_all: object = None
    """One forward rule ``fn(tangents, ans, *args) -> tangent`` (``@tangent``)."""
    jvp_joint: object = None
    """``fn(*args, tangents=...) -> (ans, tangent)``: value and tangent in one pass."""
    linear: tuple = None
    """Argument positions in which the primal is jointly linear: its tangent is the
    primal applied to the tangents."""
    nondiff: bool = False
    """The output carries no derivative (argmax, shape, floor...)."""
    out: object = None
    """The output kind for kind inference: a tag above, or ``fn(arg_kinds, keywords)``."""
    namespace: object = None
    """The module bound to ``xp`` inside the templates (None: as written, NumPy)."""
    copy_of: object = None
    """The primal whose rule this one copies (``cupy.sin``'s copies ``numpy.sin``'s),
    or None for a rule written for its own primal."""
    variants: tuple = ()
    """``(when(*arg_kinds) -> bool, vjps)`` pairs tried in order before ``vjps``."""
    mutates: int = None
    """The position of an argument the primal changes in place (``scatter_add``)."""
    may_be_none: bool = False
    """The tangent rule may give None (zero) for a tangent that is not (``item``)."""
    none_ok: bool = False
    """A linear helper that takes None for a zero tangent (none is materialised for it)."""

    def __repr__(self):
        return "<rule for %s>" % self.name

    @property
    def has_vjp(self):
        return self.nondiff or self.vjps is not None or self.vjp_all is not None

    @property
    def has_jvp(self):
        return (self.nondiff or self.jvps is not None or self.jvp_all is not None
                or self.linear is not None or self.jvp_joint is not None)
