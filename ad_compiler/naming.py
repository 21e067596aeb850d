"""Deterministic names for temporaries, adjoints and tangents.

Counters, never random suffixes: the same source always gives the same
generated code.  ``bx`` is the adjoint of ``x`` and ``dx`` its tangent.
"""


class Namer:
    def __init__(self, taken=()):
        self.taken = set(taken)
        self.counters = {}
        self.derived = {}

    def reserve(self, *names):
        self.taken.update(names)

    def fresh(self, base="_t"):
        n = self.counters.get(base, 0)
        while True:
            n += 1
            candidate = "%s%d" % (base, n)
            if candidate not in self.taken:
                break
        self.counters[base] = n
        self.taken.add(candidate)
        return candidate

    def _derive(self, prefix, var):
        key = (prefix, var)
        got = self.derived.get(key)
        if got is None:
            got = prefix + var
            if got in self.taken:
                got = self.fresh(got + "_")
            self.taken.add(got)
            self.derived[key] = got
        return got

    def adjoint(self, var):
        """``bx`` for ``x`` (unique within the function)."""
        return self._derive("b", var)

    def tangent(self, var):
        """``dx`` for ``x``."""
        return self._derive("d", var)

    def stack(self, var):
        return self._derive("_stack_", var.lstrip("_"))


class Externs:
    """Objects that generated code refers to by name, and those names.

    Generated functions share the user's globals, so a user's ``np`` stays
    live; everything else we need (runtime helpers, rule modules) is bound
    through the factory closure under a name that collides with nothing the
    user's function mentions.
    """

    def __init__(self, namer, resolve):
        self.namer = namer
        self.resolve = resolve          # name -> the user's object, or a sentinel
        self.bound = {}                 # name -> object bound by the factory
        self.by_id = {}

    def ref(self, obj, preferred):
        key = id(obj)
        got = self.by_id.get(key)
        if got is not None:
            return got
        name = preferred
        if name in self.namer.taken or name in self.bound:
            if name not in self.bound and self.resolve(name) is obj:
                self.by_id[key] = name         # the user's own name for it
                return name
            name = self.namer.fresh(preferred + "_")
        self.namer.reserve(name)
        self.bound[name] = obj
        self.by_id[key] = name
        return name
