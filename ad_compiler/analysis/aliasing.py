"""Stage 3c: in-place mutation and aliasing, checked at compile time.

Adjoints follow values, not memory: ``z = y; y[0] = 1.0`` changes ``z``
too, but ``bz`` and ``by`` are separate accumulators, so the store cannot
clear ``z``'s share.  Rather than ever return such a wrong gradient, the
compiler rejects the patterns that create it:

* another name for something mutated in place (``z = y``);
* a view of it kept in a variable (``row = y[i]``, ``y.T``, ``y.reshape``);
* storing it in a container (``out.append(y)``) when it is mutated too.

Parameters that the function mutates are copied on entry when it is the
function being differentiated (the caller's arrays are never changed);
a function called from differentiated code may not mutate its arguments,
since its caller would see the change.
"""

import gast

from ad_compiler import nodes as N
from ad_compiler.analysis.aliases import sliced
from ad_compiler.runtime.core import kinds as K
from ad_compiler.runtime.core.errors import UnsupportedSyntaxError, located

VIEW_METHODS = frozenset(["reshape", "ravel", "view", "transpose", "swapaxes", "squeeze",
                          "flatten_view", "T", "mT", "real", "imag", "diagonal"])
MUTATING_METHODS = frozenset(["append", "pop", "extend", "insert", "remove", "clear",
                              "sort", "reverse", "update", "setdefault", "popitem", "fill",
                              "resize", "itemset", "put"])


def mutated_names(stmts, is_module=lambda name: False):
    """Names changed in place (``x[i] = v``, ``x.append(v)``...), with where.

    ``np.sort(x)`` is a module function, not ``x.sort()``: receivers that are
    modules are skipped.
    """
    return {name: where[0] for name, where in _mutations(stmts, is_module).items()}


def _mutations(stmts, is_module, kinds=None):
    """Every statement that changes each name in place, in program order.

    ``x += v`` counts when ``x`` may be a list or an array (``kinds``
    known); on numbers, strings and tuples it rebinds ``x``.
    """
    out = {}
    for s in N.statements(stmts):
        if getattr(s, "augmented", False) and kinds is not None and \
                _changes_in_place(kinds.get(s.targets[0].id)):
            out.setdefault(s.targets[0].id, []).append(s)
        elif isinstance(s, gast.Assign) and isinstance(s.targets[0], gast.Subscript):
            base = s.targets[0].value
            if isinstance(base, gast.Name):
                out.setdefault(base.id, []).append(s)
        elif isinstance(s, (gast.Expr, gast.Assign)) and isinstance(s.value, gast.Call):
            f = s.value.func
            if (isinstance(f, gast.Attribute) and isinstance(f.value, gast.Name)
                    and f.attr in MUTATING_METHODS and not is_module(f.value.id)):
                out.setdefault(f.value.id, []).append(s)
    return out


def _places(stmts, loops=frozenset(), out=None):
    """id(statement) -> (its index in program order, the loops around it)."""
    out = {} if out is None else out
    for s in stmts:
        out[id(s)] = (len(out), loops)
        if isinstance(s, (gast.If, gast.For, gast.While)):
            inner = loops | {id(s)} if not isinstance(s, gast.If) else loops
            _places(s.body, inner, out)
            _places(s.orelse, inner, out)
    return out


def _change_after(names, s, mutations, places):
    """The first in-place change of ``names`` that can run after ``s``: later
    in the code, or earlier in a loop around both.  An alias made after the
    last change is harmless: the adjoints of its two names never need to
    share a cleared entry."""
    at, loops = places[id(s)]
    for name in names:
        for m in mutations.get(name, ()):
            where, around = places[id(m)]
            if where > at or around & loops:
                return m
    return None


def _changes_in_place(kind):
    return kind is None or kind.tag in ("array", "list", "dict", "other")


def _surely_mutable(kind):
    """A list, a dict, or an array of known rank >= 1 (``a[1]`` of an array of
    unknown rank may be a NumPy scalar)."""
    return kind is not None and (kind.tag in ("list", "dict") or (
        kind.tag == "array" and kind.ndim is not None and kind.ndim >= 1))


def _mutable(kind):
    return kind is None or kind.tag in ("array", "list", "dict", "other", "tuple")


def _is_view(value, kinds):
    """The base name if ``value`` may share memory with it, else None."""
    if isinstance(value, gast.Subscript) and isinstance(value.value, gast.Name):
        # an array or list index (fancy indexing, a mask) selects a copy
        copies = any(k is not None and k.tag in ("array", "list")
                     for k in (kinds.get(n) for n in N.loaded_names(value.slice)))
        return None if copies and K.is_array(kinds.get(value.value.id)) else value.value.id
    if isinstance(value, gast.Attribute) and isinstance(value.value, gast.Name) and \
            value.attr in VIEW_METHODS:
        return value.value.id
    if (isinstance(value, gast.Call) and isinstance(value.func, gast.Attribute)
            and isinstance(value.func.value, gast.Name) and value.func.attr in VIEW_METHODS):
        return value.func.value.id
    return None


def _walked(s, is_module):
    """The name a ``for`` loop walks, for ``_seq = iter_sequence(x)``."""
    v = s.value if isinstance(s, gast.Assign) else None
    if (isinstance(v, gast.Call) and isinstance(v.func, gast.Name)
            and v.func.id.startswith("iter_sequence") and v.args
            and isinstance(v.args[0], gast.Name)):
        return v.args[0].id
    return None


def _stored(s):
    """Names stored by reference into a container by statement ``s``."""
    v = s.value if isinstance(s, (gast.Assign, gast.Expr)) else None
    if isinstance(s, gast.Assign) and isinstance(s.targets[0], gast.Subscript) and \
            isinstance(v, gast.Name):
        return [v.id]
    if isinstance(v, (gast.Tuple, gast.List)):
        return [e.id for e in v.elts if isinstance(e, gast.Name)]
    if isinstance(v, gast.Dict):
        return [e.id for e in v.values if isinstance(e, gast.Name)]
    if (isinstance(v, gast.Call) and isinstance(v.func, gast.Attribute)
            and v.func.attr in ("append", "insert", "extend")):
        return [a.id for a in v.args if isinstance(a, gast.Name)]
    return []


def check(fn, source, kinds, user_names, params, callee, is_module, owned=(), guards=None):
    """Reject aliasing of mutated values; returns the parameters to copy on entry.

    Where a value's kind leaves open whether it is a number (which ``+=``
    rebinds, so an alias is harmless) or an array, ``(statement, name,
    message)`` goes to ``guards``: checked when the code runs."""
    mutations = _mutations(fn.body, is_module, kinds)
    mutated = {name: where[0] for name, where in mutations.items()}
    local = _locals(fn)
    if not mutated:
        return []
    aliases = _Aliases(source, kinds, user_names, is_module, guards, mutations,
                       _places(fn.body))
    for s in N.statements(fn.body):
        if isinstance(s, (gast.Assign, gast.Expr)):
            aliases.statement(s)
    for name, where in mutated.items():
        if name not in local:
            raise _error(where, source, "'%s' is not a local variable of '%s' (it is a global "
                         "or captured from an enclosing function), and changing it in place "
                         "would change the caller's data; work on a copy (%s.copy())"
                         % (name, source.name, name))
    changed_params = [p for p in params if p in mutated]
    refused = [p for p in changed_params if p not in owned]
    if refused and callee:
        p = refused[0]
        raise _error(mutated[p], source, "function '%s' changes its argument '%s' in place, "
                     "and its caller would see the change; return the new value instead"
                     % (source.name, p))
    return changed_params


class _Aliases:
    """The checks :func:`check` makes of each assignment or expression
    statement, against the function's mutations: an error, or a guard in
    ``guards`` where only the run decides whether a value is mutable."""

    def __init__(self, source, kinds, user_names, is_module, guards, mutations, places):
        self.source, self.kinds, self.user_names = source, kinds, user_names
        self.is_module, self.guards = is_module, guards
        self.mutations, self.places = mutations, places
        self.bases = {}         # a name bound to a view -> the names whose data it shows

    def later(self, names, s):
        """The first in-place change of ``names`` after ``s``, or None."""
        return _change_after(names, s, self.mutations, self.places)

    def in_a_loop(self, names, s):
        """The first in-place change of ``names`` inside a loop that runs after
        ``s`` (a change after the loop has ended leaves what it read alone)."""
        at, loops = self.places[id(s)]
        for name in names:
            for m in self.mutations.get(name, ()):
                where, around = self.places[id(m)]
                if (where > at and around - loops) or around & loops:
                    return m
        return None

    def statement(self, s):
        self.stored(s)
        self.walked(s)
        if isinstance(s, gast.Assign) and isinstance(s.targets[0], gast.Name):
            self.another_name(s)
            self.view(s)
            base = _is_view(s.value, self.kinds)
            if base is not None:
                self.bases[s.targets[0].id] = {base} | self.bases.get(base, set())

    def stored(self, s):
        for name in _stored(s):
            later = self.later((name,), s)
            if later is not None and _mutable(self.kinds.get(name)):
                raise _error(s, self.source, "'%s' is stored in a container and is changed in "
                             "place later, at line %d; store a copy (%s.copy())"
                             % (name, later.lineno, name))

    def walked(self, s):
        """A loop over ``x`` (or over a view of ``x``: ``zip(y[1], ...)``, the row read
        as it is iterated) where ``x`` changes in place while the loop runs."""
        walked = _walked(s, self.is_module)
        if walked is None:
            return
        bases = sorted(self.bases.get(walked, ()))
        m = self.later((walked,), s) or self.in_a_loop(bases, s)
        if m is None:
            return
        users = [b for b in bases if b in self.user_names]
        what = "'%s'" % walked if walked in self.user_names or not users else \
            "a view of '%s'" % users[0]
        raise _error(s, self.source, "the loop walks %s, which line %d changes in place while "
                     "it runs; loop over a copy ('for ... in %s.copy()')"
                     % (what, m.lineno, walked if what[0] == "'" else users[0] + "[...]"))

    def another_name(self, s):
        """``z = y`` where ``y`` is changed in place later."""
        z, value = s.targets[0].id, s.value
        # (a compiler temporary handed to a user name, as a comprehension's
        # result is, has no other name left)
        if not (isinstance(value, gast.Name) and _mutable(self.kinds.get(value.id))
                and z != value.id and value.id in self.user_names):
            return
        m = self.later((z, value.id), s)
        if m is None:
            return
        err = _error(s, self.source, "'%s = %s' makes '%s' another name for a value that is "
                     "changed in place at line %d; write '%s = %s.copy()'"
                     % (z, value.id, z, m.lineno, z, value.id))
        if self.guards is None or _surely_mutable(self.kinds.get(value.id)):
            raise err
        self.guards.append((s, z, str(err)))

    def view(self, s):
        """``z = y[1:]`` (or ``y.T``...) where ``y`` or ``z`` is changed in place later."""
        z, value = s.targets[0].id, s.value
        # (a helper's changed argument coming back out of its private tuple)
        base = None if getattr(s, "keeps_kind", False) else _is_view(value, self.kinds)
        if not (base is not None and z in self.user_names and K.is_array(self.kinds.get(z))):
            return
        m = self.later((base, z), s)
        if m is None:
            return
        err = _error(s, self.source, "'%s' is a view of '%s', which is changed in place at "
                     "line %d; take a copy ('.copy()') so the gradient stays correct"
                     % (z, base, m.lineno))
        if self.guards is None or _surely_mutable(self.kinds.get(z)) or (
                isinstance(value, gast.Subscript) and sliced(value.slice)):
            raise err
        self.guards.append((s, z, str(err)))


def _locals(fn):
    from ad_compiler.front.anf import local_names
    return local_names(fn)


def _error(node, source, message):
    err = UnsupportedSyntaxError("%s: %s" % (located(node, source), message))
    err.location = located(node, source)
    return err


def copy_on_entry(fn, names, externs, namer):
    """Prepend ``_t = copy_input(x); x = _t`` for parameters the function mutates."""
    from ad_compiler.runtime.helpers import copy_input
    ref = externs.ref(copy_input, "copy_input")
    entry = []
    for p in names:
        t = namer.fresh("_" + p + "_in")
        entry += [N.assign(t, N.call(N.name(ref), [p]), fn), N.assign(p, N.name(t), fn)]
    fn.body = entry + fn.body
    return fn
