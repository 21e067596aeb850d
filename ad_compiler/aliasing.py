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

from . import kinds as K
from . import nodes as N
from .errors import UnsupportedSyntaxError, located

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


def _mutations(stmts, is_module):
    """Every statement that changes each name in place, in program order."""
    out = {}
    for s in N.statements(stmts):
        if isinstance(s, gast.Assign) and isinstance(s.targets[0], gast.Subscript):
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


def _mutable(kind):
    return kind is None or kind.tag in ("array", "list", "dict", "other", "tuple")


def _is_view(value, kinds):
    """The base name if ``value`` may share memory with it, else None."""
    if isinstance(value, gast.Subscript) and isinstance(value.value, gast.Name):
        return value.value.id
    if isinstance(value, gast.Attribute) and isinstance(value.value, gast.Name) and \
            value.attr in VIEW_METHODS:
        return value.value.id
    if (isinstance(value, gast.Call) and isinstance(value.func, gast.Attribute)
            and isinstance(value.func.value, gast.Name) and value.func.attr in VIEW_METHODS):
        return value.func.value.id
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


def check(fn, source, kinds, user_names, params, callee, is_module):
    """Reject aliasing of mutated values; returns the parameters to copy on entry."""
    mutations = _mutations(fn.body, is_module)
    mutated = {name: where[0] for name, where in mutations.items()}
    local = _locals(fn)
    if not mutated:
        return []
    places = _places(fn.body)
    for s in N.statements(fn.body):
        if not isinstance(s, (gast.Assign, gast.Expr)):
            continue
        for name in _stored(s):
            if name in mutated and _mutable(kinds.get(name)):
                raise _error(s, source, "'%s' is stored in a container and is also changed in "
                             "place at line %d; store a copy (%s.copy())"
                             % (name, mutated[name].lineno, name))
        if not (isinstance(s, gast.Assign) and isinstance(s.targets[0], gast.Name)):
            continue
        z, value = s.targets[0].id, s.value
        # (a compiler temporary handed to a user name, as a comprehension's
        # result is, has no other name left)
        if isinstance(value, gast.Name) and _mutable(kinds.get(value.id)) \
                and z != value.id and value.id in user_names \
                and _change_after((z, value.id), s, mutations, places) is not None:
            m = _change_after((z, value.id), s, mutations, places)
            raise _error(s, source, "'%s = %s' makes '%s' another name for a value that is "
                         "changed in place at line %d; write '%s = %s.copy()'"
                         % (z, value.id, z, m.lineno, z, value.id))
        base = _is_view(value, kinds)
        if base is not None and z in user_names and K.is_array(kinds.get(z)) \
                and _change_after((base, z), s, mutations, places) is not None:
            m = _change_after((base, z), s, mutations, places)
            raise _error(s, source, "'%s' is a view of '%s', which is changed in place at line "
                         "%d; take a copy ('.copy()') so the gradient stays correct"
                         % (z, base, m.lineno))
    for name, where in mutated.items():
        if name not in local:
            raise _error(where, source, "'%s' is not a local variable of '%s' (it is a global "
                         "or captured from an enclosing function), and changing it in place "
                         "would change the caller's data; work on a copy (%s.copy())"
                         % (name, source.name, name))
    changed_params = [p for p in params if p in mutated]
    if changed_params and callee:
        p = changed_params[0]
        raise _error(mutated[p], source, "function '%s' changes its argument '%s' in place, "
                     "and its caller would see the change; return the new value instead"
                     % (source.name, p))
    return changed_params


def _locals(fn):
    from .anf import local_names
    return local_names(fn)


def _error(node, source, message):
    err = UnsupportedSyntaxError("%s: %s" % (located(node, source), message))
    err.location = located(node, source)
    return err


def copy_on_entry(fn, names, externs, namer):
    """Prepend ``_t = copy_input(x); x = _t`` for parameters the function mutates."""
    from runtime.helpers import copy_input
    ref = externs.ref(copy_input, "copy_input")
    entry = []
    for p in names:
        t = namer.fresh("_" + p + "_in")
        entry += [N.assign(t, N.call(N.name(ref), [p]), fn), N.assign(p, N.name(t), fn)]
    fn.body = entry + fn.body
    return fn
