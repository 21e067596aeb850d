"""Kind inference: what sort of value each variable holds.

Generated code is specialised on the *kinds* of its inputs, so scalar code
never pays for array machinery:

* ``SCALAR``: a Python or NumPy number (``math`` rules, no unbroadcast);
* ``array(ndim, token)``: an ndarray; equal non-None ``token`` values mean
  provably equal shapes, which lets the optimiser drop ``unbroadcast``;
* ``OTHER``: anything else that may carry gradients (tuples, objects...);
* ``CONST``: values that never carry gradients (None, str, bool, ranges).

The analysis is flow-insensitive: a variable's kind is the join over all
its assignments, iterated to a fixpoint.
"""
import types
from collections import namedtuple

import numpy as np

from . import registry

Kind = namedtuple("Kind", "tag ndim token")
SCALAR = Kind("scalar", 0, None)
# A complex number: a scalar whose output needs the run-time check that it is
# real before it is seeded (a gradient is defined for a real output only).
COMPLEX = Kind("scalar", 0, "complex")
OTHER = Kind("other", None, None)
CONST = Kind("const", None, None)
LIST = Kind("list", None, None)       # a list built in the function: append/pop
TUPLE = Kind("tuple", None, None)
DICT = Kind("dict", None, None)


def array(ndim=None, token=None):
    return Kind("array", ndim, token)


def is_array(k):
    return k is not None and k.tag == "array"


def is_scalar(k):
    """A real or complex number."""
    return k is not None and k.tag == "scalar"


def numeric(k):
    return k is not None and k.tag in ("scalar", "array")


def join(a, b):
    if a is None:
        return b
    if b is None or a == b:
        return a
    if a.tag == b.tag == "array":
        return array(a.ndim if a.ndim == b.ndim else None,
                     a.token if a.token == b.token else None)
    if a.tag == b.tag and a.tag in ("tuple", "list", "dict"):
        return Kind(a.tag, None, None)
    if {a.tag, b.tag} == {"scalar", "array"}:
        return array(None)
    return OTHER


def kind_of(value):
    """The kind of a runtime value (used for the specialisation key)."""
    tp = type(value)
    if tp is float or tp is int:
        return SCALAR
    if tp is np.ndarray:
        return array(value.ndim)
    if tp is bool or value is None or tp is str or tp is range:
        return CONST
    if isinstance(value, (complex, np.complexfloating)):
        return COMPLEX
    if isinstance(value, (np.floating, np.integer, float, int)):
        return CONST if isinstance(value, (bool, np.bool_)) else SCALAR
    if isinstance(value, (types.FunctionType, types.BuiltinFunctionType, type,
                          types.ModuleType, np.ufunc)):
        return CONST if getattr(value, "__closure__", None) is None else OTHER
    if hasattr(value, "__array_namespace__") or hasattr(value, "__cuda_array_interface__"):
        return array(getattr(value, "ndim", None))     # CuPy's and other libraries' arrays
    return OTHER


def array_property(kind, attr):
    """``x.attr`` of a known array that is not a method, so it needs an
    attribute rule.  (A bound method's derivative is its array's own, which
    the runtime helpers pass through.)"""
    if not (is_array(kind) or is_scalar(kind)):
        return False
    return registry.lookup_attr(np.ndarray, attr) is not None or \
        not callable(getattr(np.ndarray, attr, None))


def tuple_of(kinds):
    """A tuple whose element kinds are known."""
    return Kind("tuple", None, tuple(OTHER if k is None else k for k in kinds))


def constant_kind(v):
    if isinstance(v, bool) or v is None or isinstance(v, str) or v is Ellipsis:
        return CONST
    if isinstance(v, complex):
        return COMPLEX
    return SCALAR if isinstance(v, (int, float)) else CONST


def _broadcast(kinds):
    kinds = [k for k in kinds if k is not None]
    # Constants (shape entries, lengths, flags) combine like scalars.
    if kinds and all(k == CONST for k in kinds):
        return CONST
    kinds = [k for k in kinds if k != CONST] or [SCALAR]
    if any(k.tag == "other" for k in kinds):
        return OTHER
    arrays = [k for k in kinds if k.tag == "array"]
    if not arrays:
        if not all(k.tag == "scalar" for k in kinds):
            return OTHER
        return COMPLEX if COMPLEX in kinds else SCALAR
    ndims = [k.ndim for k in arrays]
    tokens = {k.token for k in arrays}
    ndim = max(ndims) if None not in ndims else None
    return array(ndim, tokens.pop() if len(tokens) == 1 else None)


def _matmul(a, b):
    if not (is_array(a) and is_array(b)) or a.ndim is None or b.ndim is None:
        return array(None) if numeric(a) and numeric(b) else OTHER
    if a.ndim == 1 and b.ndim == 1:
        return SCALAR
    if a.ndim == 1 or b.ndim == 1:
        return array(max(a.ndim, b.ndim) - 1)
    return array(max(a.ndim, b.ndim))


def rule_output(rule, args, keywords):
    """Kind of a rule call's result from the kinds of its arguments."""
    out = rule.out
    if callable(out):
        return out(args, keywords)
    if out == registry.ELEMENTWISE:
        kinds = [k for k in args if k is not None and k.tag != "const"]
        k = _broadcast(kinds) if kinds else SCALAR
        return array(None) if k.tag == "other" else k
    if out == registry.SAME:
        return args[0] if args else OTHER
    if out == registry.SCALAR:
        return SCALAR
    if out == registry.ARRAY:
        return array(None)
    if out == registry.REDUCE:
        axis = keywords.get("axis", args[1] if len(args) > 1 else None)
        keep = "keepdims" in keywords or len(args) > 3
        if (axis is None or axis == CONST) and not keep:   # no axis, or axis=None
            return SCALAR
        return array(None)
    if out == "const":
        return CONST
    if any(is_array(k) for k in args):
        return array(None)
    return OTHER


def same_shape(a, b):
    """True when kinds ``a`` and ``b`` provably have equal shapes."""
    if a == SCALAR and b == SCALAR:
        return True
    return (is_array(a) and is_array(b) and a.token is not None and a.token == b.token
            and a.ndim == b.ndim)
