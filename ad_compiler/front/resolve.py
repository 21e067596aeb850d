"""Compile-time name resolution: what a non-local name refers to.

Globals come from ``f.__globals__``, then builtins.  Closure cells are
*inputs* of the generated code (read at call time), so they are never
resolved statically.  Every global the compiler looks at is recorded, so a
cache entry can check that what it relied on still holds:

* ``assumptions``: name -> the object (functions, classes, modules and other
  callables: what a call resolves to), or ``MISSING`` for a builtin or an
  absent name (a global defined later would shadow it);
* ``global_kinds``: name -> the kind of a number, array or any other value
  (rebinding a global array to another of the same rank keeps the code);
* ``attributes``: ``(name, attr, ...)`` -> ``(is_kind, expected)`` for
  attributes read through modules (``np.sum``, ``config.scale``).
"""
import builtins
import types

from ad_compiler.runtime.core.options import MISSING  # noqa: F401  (re-exported)


def _recorded(obj):
    """How a looked-up value is checked later: ``(is_kind, expected)``."""
    if callable(obj) or isinstance(obj, types.ModuleType):
        return False, obj
    from ad_compiler.runtime.core.kinds import kind_of
    return True, kind_of(obj)


class Resolver:
    def __init__(self, func, local_names):
        self.globals = func.__globals__
        self.builtins = self.globals.get("__builtins__", builtins)
        if isinstance(self.builtins, types.ModuleType):
            self.builtins = self.builtins.__dict__
        self.locals = set(local_names) | set(func.__code__.co_freevars)
        self.assumptions = {}
        self.global_kinds = {}    # global name -> the kind specialised on
        self.attributes = {}      # (name, attr, ...) through modules -> (is_kind, expected)
        self.externs = {}         # names the compiler bound itself (helpers it inserts)

    def lookup(self, name):
        """The object a global or builtin name refers to now (MISSING if none)."""
        if name in self.locals:
            return MISSING
        if name in self.externs:
            return self.externs[name]
        if name in self.globals:
            obj = self.globals[name]
            is_kind, expected = _recorded(obj)
            if is_kind:
                self.global_kinds.setdefault(name, expected)
            else:
                self.assumptions[name] = obj
            return obj
        self.assumptions.setdefault(name, MISSING)
        return self.builtins.get(name, MISSING)

    def is_module(self, name):
        return isinstance(self.lookup(name), types.ModuleType)

    def static_or_none(self, node):
        """:meth:`static` for a name or a module path, None if it resolves to nothing."""
        import gast
        if not isinstance(node, (gast.Name, gast.Attribute)):
            return None
        obj = self.static(node)
        return None if obj is MISSING else obj

    def static(self, node):
        """Resolve a Name or a ``module.attr.attr`` chain, recording it."""
        import gast
        path = []
        while isinstance(node, gast.Attribute):
            path.append(node.attr)
            node = node.value
        if not isinstance(node, gast.Name):
            return MISSING
        obj = self.lookup(node.id)
        if obj is MISSING:
            return MISSING
        through_modules = node.id in self.globals and node.id not in self.externs
        walked = [node.id]
        for attr in reversed(path):
            through_modules = through_modules and isinstance(obj, types.ModuleType)
            obj = getattr(obj, attr, MISSING)
            if obj is MISSING:
                return MISSING
            walked.append(attr)
            if through_modules:
                self.attributes[tuple(walked)] = _recorded(obj)
        return obj
