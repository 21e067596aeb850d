"""Implicit parameters: gradients collected by identity during one call.

``gradient(f, Params([W, b]))`` sets a collector for the duration of the
call (a context variable, so threads and nested calls do not mix);
generated code in params mode ends its adjoint with ``deposit(W, bW)`` for
every array or object it read from a global or a closure.
"""
import contextvars

import numpy as np

from .helpers import Struct

_CURRENT = contextvars.ContextVar("ad_compiler_params", default=None)


def current():
    """The active collector, or None outside ``gradient(f, Params(...))``."""
    return _CURRENT.get()


class Collector:
    """Sums gradients of the tracked arrays, keyed by identity."""

    def __init__(self, arrays):
        self.tracked = {id(a): a for a in arrays}
        self.grads = {}

    def activate(self):
        return _CURRENT.set(self)

    @staticmethod
    def deactivate(token):
        _CURRENT.reset(token)

    def add(self, value, g, depth=0):
        if g is None or depth > 64:
            return
        tracked = self.tracked.get(id(value))
        if tracked is not None and tracked is value:
            key = id(value)
            old = self.grads.get(key)
            self.grads[key] = g if old is None else old + g
            return
        if isinstance(g, Struct):
            for name, gv in g.fields.items():
                child = _child(value, name)
                if child is not _MISSING:
                    self.add(child, gv, depth + 1)
        elif isinstance(g, dict) and isinstance(value, dict):
            for k, gv in g.items():
                if k in value:
                    self.add(value[k], gv, depth + 1)
        elif isinstance(g, (tuple, list)) and isinstance(value, (tuple, list)):
            for v, gv in zip(value, g):
                self.add(v, gv, depth + 1)


_MISSING = object()


def _child(value, name):
    """Attribute ``name`` of an object, or captured variable ``name`` of a closure."""
    code = getattr(value, "__code__", None)
    if code is not None and name in code.co_freevars and value.__closure__:
        return value.__closure__[code.co_freevars.index(name)].cell_contents
    return getattr(value, name, _MISSING)


def deposit(value, g):
    """Add the gradient ``g`` of a global or captured ``value`` to the collector."""
    collector = _CURRENT.get()
    if collector is not None and g is not None and not isinstance(value, np.generic):
        collector.add(value, g)
