"""The run-time side of ``gradient``/``grad``: opened callables, guarded plans,
fast paths.

A :class:`Plan` is one compiled specialisation of ``gradient(f, *args)``
together with everything it assumed, re-checked on every reuse:

* the callable: the same function object, or one with the same code and
  globals (closures differ in their cells, which are read on each call);
* every input of the generated code (closure cells, arguments, and the
  defaults the call falls back on, read from the function *now*) has the
  same guard: its exact type and kind (rank and dtype for arrays);
* the globals the code relied on still hold (``Compiled.valid``).

``specialize`` writes a plan's guards out as a small Python function, the
fast path of repeated calls.  ``clear`` forgets every plan and fast path.
"""
import types
import weakref

import numpy as np

from . import dispatch, entry
from .callee import unwrap
from .core import kinds as K, registry, tree
from .core.errors import (ADError, ArgumentError, MissingReturnError, NonScalarOutputError,
                          function_name, user_site)
from .core.lru import LRU
from .core.namespace import is_foreign_array, namespace_of, register_namespace
from .core.options import MISSING, Options
from .mode import enter as _enter, leave as _leave

GRAD = Options(mode="grad")
VALUE_AND_GRAD = Options(mode="value_and_grad")
SPLIT = Options(mode="split")

# Arguments that the function can hardly use as numbers: with one of these
# (or nothing differentiated) the value is computed too, so that the gradient
# fails where the function fails (in plain gradient code it is dead).
_SUSPECT = (str, type(None))


def as_input(x):
    """Top-level arguments: integer arrays are treated as real arrays.  A
    Python ``int`` stays an int (the function runs with the caller's value: it
    may count, index or shape); its gradient is a float.  A CuPy array's
    library gets NumPy's rules for its own functions (``cupy.sin``)."""
    tp = type(x)
    if tp is np.ndarray:
        return x.astype(float) if x.dtype.kind in "iu" else x
    if tp is not float and tp is not int and is_foreign_array(x):
        register_namespace(namespace_of(x))
        return x.astype(float) if x.dtype.kind in "iu" else x
    return x


def as_tangent(t):
    """A tangent is real: ints and integer arrays become floats."""
    if type(t) is int:
        return float(t)
    return as_input(t)


def differentiable(x):
    k = K.kind_of(x)
    if K.is_array(k):
        return x.dtype.kind in "fc"
    return k.tag in ("scalar", "other")


def guard(x):
    """What a value must match for a plan to be reused: exact type and kind
    (the compiled code is specialised on the kind), dtype for arrays."""
    tp = type(x)
    if tp is float or tp is int:
        return tp
    if tp is np.ndarray:
        return (np.ndarray, x.ndim, x.dtype.char)
    k = K.kind_of(x)
    return (tp, k, x.dtype.char) if K.is_array(k) else (tp, k)     # CuPy's arrays: dtype too


class Target:
    """A function to differentiate, opened into code + leading inputs + keywords."""

    __slots__ = ("fn", "func", "lead", "keywords")

    def __init__(self, fn):
        fn = getattr(fn, "__ad_twin__", fn)
        opened = unwrap(fn)
        if opened is None:
            if not callable(fn):
                raise ArgumentError("%scannot differentiate %r: it is not callable; pass the "
                                    "function first, then its arguments: gradient(f, x)"
                                    % (_site(), fn))
            opened = _apply, (fn,), {}      # a builtin or ufunc: through its rule
        self.fn = fn
        self.func, self.lead, self.keywords = opened

    def inputs(self, args):
        """``(cells, values)``: the closure cells, and the leading inputs then ``args``."""
        return dispatch.cell_values(self.func), list(self.lead) + list(args)


def _apply(f, *args):
    return f(*args)


def _site():
    site = user_site()
    return site + ": " if site else ""


def check_value(y, plan):
    """The value computed alongside the gradient must be a scalar."""
    if y is None:
        raise MissingReturnError(
            "%s%s returned None, so there is nothing to differentiate; make it return a "
            "scalar on every path (a forgotten 'return'?)" % (_site(), function_name(plan.fn)))
    if isinstance(y, (float, int, np.number)) and not isinstance(y, (bool, np.bool_)):
        return
    if getattr(y, "shape", None) != ():
        raise NonScalarOutputError.for_value(y, user_site() or "")


def _check_wrt(func, args, wrt):
    """Each differentiated argument exists and can carry a gradient."""
    for i in wrt:
        if not -len(args) <= i < len(args):
            raise ArgumentError("%sthe gradient with respect to argument %d was asked for, but "
                                "%s was called with %d argument%s; pass it, or choose wrt "
                                "among them" % (_site(), i, function_name(func), len(args),
                                                "" if len(args) == 1 else "s"))
        tree.check_walkable(args[i], "argument %d" % i)


class Plan:
    """One compiled specialisation of ``f`` for a call signature, and its guards."""

    __slots__ = ("compiled", "fn", "func", "code", "globals", "lead", "keywords", "n", "guards",
                 "wrt", "slots", "items", "posts", "bind", "checks", "value", "run", "arg_guards",
                 "calls_out")

    def __init__(self, target, args, wrt, options):
        func = self.func = target.func
        cells = dispatch.cell_values(func)
        values = dispatch._bind(func, target.lead + tuple(args), target.keywords)
        lead = len(target.lead)
        # Argument i is parameter ``index`` (or item ``item`` of ``*args``).
        where = [dispatch._param_of(func, lead + i) for i in range(len(args))]
        _check_wrt(func, args, wrt)
        active = tuple(sorted({len(cells) + where[i][0] for i in wrt if differentiable(args[i])}))
        self.value = options.mode == "grad" and (
            not active or any(type(a) in _SUSPECT for a in args))
        self.compiled = entry.compiler.grad_function(func, active, cells + values,
                                               VALUE_AND_GRAD if self.value else options)
        if func is not _apply:
            entry.compiler.check_returns(func)
        self.fn, self.code, self.globals = target.fn, func.__code__, func.__globals__
        self.lead, self.keywords, self.n = target.lead, target.keywords, len(args)
        self.guards = tuple(guard(v) for v in cells + values)
        self.wrt = tuple(wrt)
        position = {a: j for j, a in enumerate(active)}
        self.slots = tuple(position.get(len(cells) + where[i][0])
                           if differentiable(args[i]) else None for i in wrt)
        self.items = tuple(where[i][1] for i in wrt)
        self.posts = tuple(post(args[i]) for i in wrt)
        simple = len(values) == len(args) + lead and not target.keywords and \
            not (func.__code__.co_flags & 0x0C)
        self.bind = not simple
        # With *args, **kwargs or defaults, the arguments are guarded too: what
        # each gradient looks like depends on them, not only on the code's inputs.
        self.arg_guards = tuple(guard(a) for a in args) if self.bind else ()
        self.checks = self.compiled.checks
        self.run = self._valued if self.value else self.compiled.grad
        self.calls_out = calls_user_code(self.compiled, cells + values)

    def inputs(self, fn, args, check=True):
        """The generated code's inputs for ``fn(*args)`` (cells, then parameters),
        or None when this plan does not fit the call (``check``)."""
        fn = getattr(fn, "__ad_twin__", fn)
        if len(args) != self.n:
            return None
        func = self.func
        if fn is not self.fn:
            if type(fn) is not types.FunctionType or fn.__code__ is not self.code or \
                    fn.__globals__ is not self.globals:
                return None
            func = fn
        if check and self.checks and not self.compiled.valid():
            return None
        values = self.lead + tuple(args)
        if self.bind:
            values = dispatch._bind(func, values, self.keywords)
        inputs = dispatch.cell_values(func) + list(values)
        if not check:
            return inputs
        for v, g in zip(inputs, self.guards):
            if guard(v) != g:
                return None
        for v, g in zip(args, self.arg_guards):
            if guard(v) != g:
                return None
        return inputs

    def _valued(self, *inputs):
        y, raw = self.compiled.grad(*inputs)
        check_value(y, self)
        return raw

    def finish(self, args, raw):
        out = []
        for i, slot, item, post_ in zip(self.wrt, self.slots, self.items, self.posts):
            if slot is None:
                out.append(None)
                continue
            g = raw[slot]
            if item is not None:
                g = None if g is None else g[item]
            out.append(post_(args[i], g))
        return tuple(out)


def _is_library(obj):
    return isinstance(obj, types.ModuleType) or registry.lookup(obj) is not None


def calls_user_code(compiled, values):
    """Whether the generated code may call the user's Python code plainly,
    which may ask ``differentiating()``.  Only then does a fast path pay
    for setting the context variable that answers it; plain numbers and
    arrays, modules and functions with rules cannot reach user code."""
    if any(obj is not MISSING and not _is_library(obj)
           for obj in compiled.assumptions.values()):
        return True
    if any(not is_kind and not _is_library(expected)
           for _, (is_kind, expected) in compiled.attributes):
        return True
    return not all(type(v) in (float, int, complex, np.ndarray) for v in values)


def post(x):
    """How to turn the raw gradient of an argument like ``x`` into the user's form:
    a float for a Python number (an int's gradient is real), else its structure."""
    tp = type(x)
    if tp is float or tp is int:
        return to_float
    return tree.finish


def to_float(x, g):
    if g is None:
        return 0.0
    if getattr(g, "ndim", 0):
        raise ADError("internal error: the gradient of the number %r is an array of shape %s; "
                      "please report this with the function" % (x, g.shape))
    return float(g.real)        # the real part of a complex cotangent (see tree.finish)


# ---------------------------------------------------------------- plans and fast paths

# Both bounded.  FAST is read on every gradient(f, x) call, so it is a plain
# dict, trimmed oldest-first when it grows (put_fast): an evicted entry only
# costs the next call the plan lookup.  (Its entries keep their code objects
# alive, so an id in it is never reused by another function's code.)
PLANS = LRU(1024)   # (code or id, wrt, options) -> the last plan
FAST = {}           # id(code object) -> specialised dispatcher of gradient(f, *args)
FAST_LIMIT = 1024


def put_fast(key, fast):
    """``FAST[key] = fast``, dropping the oldest entries beyond ``FAST_LIMIT``."""
    FAST[key] = fast
    while len(FAST) > FAST_LIMIT:
        FAST.pop(next(iter(FAST)), None)


class FastSlot:
    """Where ``grad(f)`` keeps its fast path; emptied by ``clear_cache``."""

    __slots__ = ("fast", "__weakref__")

    def __init__(self):
        self.fast = None
        _SLOTS.add(self)


_SLOTS = weakref.WeakSet()


@entry.on_clear
def clear():
    PLANS.clear()
    FAST.clear()
    for slot in list(_SLOTS):
        slot.fast = None


def plan_for(f, args, wrt, options):
    """A plan that fits ``f(*args)`` and the inputs of its code: reused while the
    call signature and everything the code assumed repeat."""
    key = (getattr(f, "__code__", f) if type(f) is types.FunctionType else id(f), wrt, options)
    plan = PLANS.get(key)
    if plan is not None:
        inputs = plan.inputs(f, args)
        if inputs is not None:
            entry.compiler.note_used(plan.compiled)
            return plan, args, inputs
    args = tuple(as_input(a) for a in args)
    plan = Plan(Target(f), args, wrt, options)
    if type(f) is types.FunctionType:
        PLANS[key] = plan
    return plan, args, plan.inputs(f, args, check=False)


def _guard_tests(values, guards, env):
    """Each input's guard as a Python test (exact type, and rank and dtype for
    arrays); the leading inputs (a bound ``self``) are fixed with the callable."""
    tests = []
    for i, (v, g) in enumerate(zip(values, guards)):
        if v.startswith("_lead"):
            continue
        if g is float or g is int:
            env["_T%d" % i] = g
            tests.append("type(%s) is _T%d" % (v, i))
        elif g[0] is np.ndarray:
            tests.append("type(%s) is _nd and %s.ndim == %d and %s.dtype.char == %r"
                         % (v, v, g[1], v, g[2]))
        else:
            env["_G%d" % i] = g
            tests.append("_guard(%s) == _G%d" % (v, i))
    return tests


def specialize(plan, single, check_code=False):
    """A dispatcher for ``plan`` with its guards unrolled, as Python source.

    ``fast(f, args)`` returns the gradients, or None when the call does not
    match the plan (then the general path runs).  It re-reads closure cells
    and re-checks the globals the code relied on, on every call.
    """
    if plan.bind or plan.value:
        return None
    names = ["a%d" % i for i in range(plan.n)]
    env = {"_g": plan.compiled.grad, "_float": float, "_nd": np.ndarray, "_code": plan.code,
           "_lead": plan.lead, "_valid": plan.compiled.valid, "_guard": guard,
           "_enter": _enter, "_leave": _leave}
    tests = ["f.__code__ is _code"] if check_code else []
    tests += ["_valid()"] if plan.checks else []
    cells = len(plan.guards) - len(plan.lead) - plan.n
    values = ["_cl[%d].cell_contents" % j for j in range(cells)]
    values += ["_lead[%d]" % j for j in range(len(plan.lead))] + names
    tests += _guard_tests(values, plan.guards, env)
    outs, finish = _outputs(plan, names, env)
    result = outs[0] if single else "(%s,)" % ", ".join(outs)
    lines = _fast_head(plan, names, cells, tests, values) + finish + ["    return %s" % result]
    namespace = {}
    exec("\n".join(line for line in lines if line), env, namespace)
    fast = namespace["fast"]
    fast.globals = plan.globals
    return fast


def _outputs(plan, names, env):
    """Each gradient's expression in ``fast``'s result, and the lines that
    finish the floats first; the other conversions go into ``env``."""
    outs, finish = [], []
    for i, slot, post_ in zip(plan.wrt, plan.slots, plan.posts):
        if slot is None:
            outs.append("None")
        elif post_ is to_float:
            # (a float needs no conversion: the common case costs one test)
            finish += ["    _o%d = _r[%d]" % (i, slot),
                       "    if type(_o%d) is not _float:" % i,
                       "        _o%d = 0.0 if _o%d is None else _float(_o%d.real)" % (i, i, i)]
            outs.append("_o%d" % i)
        else:
            env["_post%d" % i] = post_
            outs.append("_post%d(%s, _r[%d])" % (i, names[i], slot))
    return outs, finish


def _fast_head(plan, names, cells, tests, values):
    """``fast``'s lines up to the call of the gradient: the arguments
    unpacked, the guards tested, ``_r`` the compiled gradient's result."""
    unpack = ["    try:",                 # (a wrong count fails the unpacking)
              "        %s = args" % (", ".join(names) + ("," if plan.n == 1 else "")),
              "    except ValueError:",
              "        return None"] if names else ["    if args:", "        return None"]
    return ["def fast(f, args):"] + unpack + [
            "    _cl = f.__closure__" if cells else "",
            "    if not (%s):" % " and ".join(tests or ["True"]),
            "        return None",
            ("    _t = _enter(True)\n    try:\n        _r = _g(%s)\n    finally:\n"
             "        _leave(_t)" if plan.calls_out else "    _r = _g(%s)") % ", ".join(values)]
