"""Compile-time name resolution: what a non-local name refers to.

Globals come from ``f.__globals__``, then builtins.  Closure cells are
*inputs* of the generated code (read at call time), so they are never
resolved statically.  Every static decision is recorded in
``assumptions`` so a cache entry can check that the globals it relied on
still hold the same objects.
"""
import builtins
import types

MISSING = object()


class Resolver:
    def __init__(self, func, local_names):
        self.globals = func.__globals__
        self.builtins = self.globals.get("__builtins__", builtins)
        if isinstance(self.builtins, types.ModuleType):
            self.builtins = self.builtins.__dict__
        self.locals = set(local_names) | set(func.__code__.co_freevars)
        self.assumptions = {}
        self.global_kinds = {}    # global name -> the kind specialised on
        self.externs = {}         # names the compiler bound itself (helpers it inserts)

    def lookup(self, name):
        """The object a global or builtin name refers to now (MISSING if none)."""
        if name in self.locals:
            return MISSING
        if name in self.externs:
            return self.externs[name]
        if name in self.globals:
            return self.globals[name]
        return self.builtins.get(name, MISSING)

    def is_module(self, name):
        return isinstance(self.lookup(name), types.ModuleType)

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
        if node.id in self.globals and node.id not in self.externs:
            self.assumptions[node.id] = obj
        for attr in reversed(path):
            obj = getattr(obj, attr, MISSING)
            if obj is MISSING:
                return MISSING
        return obj
