"""Run-time proofs that an in-place change is invisible to everyone else.

Generated code changes a value in place (``a[0] = v``, ``a += 1``,
``a.append(v)``) only when nothing else can see that object: the adjoint
follows names, not memory.  Where the compiler cannot prove it statically
(``a = helper(x)`` may return ``x`` itself), it calls :func:`check_owned`
right after the definition.  A fresh object is referenced by the generated
frame alone, so its reference count tells: anything more is another owner
(an argument, a global, a list, a view's base) and the change is refused.

>>> import numpy as np
>>> a = np.zeros(3)
>>> check_owned(a, "example.py:1", "a")
>>> b = a                   # a second reference: ``a`` is shared now
>>> try:
...     check_owned(a, "example.py:2", "a")
... except Exception as e:
...     print(type(e).__name__)
UnsupportedSyntaxError
"""
import numbers
import sys

import numpy as np

from .core.errors import UnsupportedSyntaxError
from .core.registry import nondifferentiable

_MUTABLE = (np.ndarray, list, dict, set, bytearray)


def _refs(value):
    return sys.getrefcount(value)


def _probe_check(value):
    return _probe_shared(value)


def _probe_shared(value):
    return _refs(value)


def _probe():
    # The frame shape of a generated function calling check_owned (or
    # check_part) on one of its locals, which calls _shared, which calls
    # _refs: the count when that local is the only owner.
    a = np.zeros(2)
    return _probe_check(a)


def _base_refs():
    # A view's base held by the view alone: the view's reference, the
    # local name in _shared, and getrefcount's argument.
    view = np.zeros(2)[:1]
    base = view.base
    return sys.getrefcount(base)


_BASE = _probe()
_VIEW_BASE = _base_refs()


def _shared(value, extra):
    if _refs(value) > _BASE + extra:
        return True
    base = getattr(value, "base", None)
    # A view is owned only when its base has no other owner than the view.
    while isinstance(base, np.ndarray):
        if sys.getrefcount(base) > _VIEW_BASE:
            return True
        base = base.base
    return isinstance(value, np.ndarray) and base is not None


def check_owned(value, where, name):
    """Raise unless ``value`` (about to be changed in place) has no other owner."""
    if isinstance(value, _MUTABLE) and _shared(value, 0):
        _refuse(where, name)


def _refuse(where, name):
    raise UnsupportedSyntaxError(
        "%s: '%s' is changed in place, but its object is shared with another value (an "
        "argument, a global, a container or a view's base), which Python would change too; "
        "work on a copy: '%s = %s.copy()' before changing it" % (where, name, name, name))


def check_part(container, index, part, where):
    """``c[i][j] = v`` is compiled as ``p = copy(c[i]); p[j] = v; c[i] = p``.

    That is Python's meaning when ``c[i]`` is a view of an array (a basic
    index) or an element of a list or dict that nothing else holds.
    """
    if isinstance(container, np.ndarray):
        if isinstance(part, np.ndarray) and not np.may_share_memory(part, container):
            raise UnsupportedSyntaxError(
                "%s: the inner index of a chained store selects a copy (an array index), so "
                "the store would not reach the array; index once: 'y[i, j] = v'" % where)
        return
    # (one more owner is known: the container it was just read from)
    if isinstance(part, _MUTABLE) and _shared(part, 1):
        _refuse(where, "the element at %r" % (index,))


_IMMUTABLE = (numbers.Number, np.generic, str, bytes, tuple, frozenset, range, type(None))


def check_immutable(value, message):
    """An alias of a value whose kind the compiler could not tell: harmless
    for a number (``+=`` rebinds it), refused for anything that ``+=`` or a
    store could change in place."""
    if not isinstance(value, _IMMUTABLE):
        raise UnsupportedSyntaxError(message)


def check_augmented_item(container, value, message):
    """``c[i] += v`` read as ``c[i] = c[i] + v``: the same when ``c`` is an
    array (its item is a view the store writes through, or a number) or
    the item is immutable; refused when ``+=`` would change the item's own
    object, which other names may hold."""
    if not isinstance(value, _IMMUTABLE) and not isinstance(container, np.ndarray) and \
            not hasattr(type(container), "__array_namespace__"):
        raise UnsupportedSyntaxError(message)


nondifferentiable(check_owned, check_part, check_immutable, check_augmented_item)
