"""The public API: gradient, withgradient, pullback, grad, adjoint_source."""
import types
from collections import namedtuple

import numpy as np

from runtime import dispatch

from . import compiler, tree
from . import kinds as K
from .errors import ADError
from .source import unwrap

WithGradient = namedtuple("WithGradient", "val grad")

_GRAD = compiler.Options(mode="grad")
_VALUE_AND_GRAD = compiler.Options(mode="value_and_grad")
_SPLIT = compiler.Options(mode="split")


def _as_input(x):
    """Top-level arguments: ints and int arrays are treated as reals."""
    tp = type(x)
    if tp is int:
        return float(x)
    if tp is np.ndarray and x.dtype.kind in "biu":
        return x.astype(float) if x.dtype.kind != "b" else x
    return x


def _differentiable(x):
    k = K.kind_of(x)
    if K.is_array(k):
        return x.dtype.kind in "fc"
    return k.tag in ("scalar", "other")


class Target:
    """A function to differentiate, opened into code + leading inputs."""

    __slots__ = ("fn", "func", "lead")

    def __init__(self, fn):
        fn = getattr(fn, "__ad_twin__", fn)
        func, bound = unwrap(fn)
        if func is None:
            if not callable(fn):
                raise ADError("cannot differentiate %r: it is not callable" % (fn,))
            func, bound = _apply, None
            self.fn = fn
            self.func = func
            self.lead = (fn,)
            return
        self.fn = fn
        self.func = func
        self.lead = () if bound is None else (bound,)

    def inputs(self, args):
        func = self.func
        return dispatch.cell_values(func), list(self.lead) + list(args)


def _apply(f, *args):
    return f(*args)


def _guard(x):
    """What a later call must match to reuse a plan: type, and rank/dtype for arrays."""
    if type(x) is np.ndarray:
        return (np.ndarray, x.ndim, x.dtype.char)
    return type(x)


class Plan:
    """One compiled specialisation of ``f`` for a call signature.

    The guards are exact types (and rank and dtype for arrays), so a call
    that matches skips argument conversion, binding and the cache key.
    """

    __slots__ = ("compiled", "fn", "code", "globals", "lead", "n", "guards", "wrt",
                 "slots", "posts", "cell_guards", "bind", "items", "assumes")

    def __init__(self, target, args, wrt, options):
        cells, values = target.inputs(args)
        values = dispatch._bind(target.func, tuple(values), {})
        lead = len(target.lead)
        # Argument i is parameter ``index`` (or item ``item`` of ``*args``).
        where = [dispatch._param_of(target.func, lead + i) for i in range(len(args))]
        for i in wrt:
            tree.check_walkable(args[i], "argument %d" % i)
        active = tuple(sorted({len(cells) + where[i][0] for i in wrt
                               if _differentiable(args[i])}))
        self.compiled = compiler.grad_function(target.func, active, cells + values, options)
        self.fn = target.fn
        self.code = getattr(target.func, "__code__", None)
        self.globals = target.func.__globals__
        self.lead = target.lead
        self.n = len(args)
        self.guards = tuple(_guard(a) for a in args)
        self.cell_guards = tuple(_guard(c) for c in cells)
        self.wrt = tuple(wrt)
        position = {a: j for j, a in enumerate(active)}
        self.slots = tuple(position.get(len(cells) + where[i][0])
                           if _differentiable(args[i]) else None for i in wrt)
        self.items = tuple(where[i][1] for i in wrt)
        self.posts = tuple(_post(args[i]) for i in wrt)
        simple = len(values) == len(args) + len(target.lead) and \
            not (target.func.__code__.co_flags & 0x0C)
        self.bind = None if simple else target.func
        self.assumes = bool(self.compiled.assumptions)

    def matches(self, fn, args):
        fn = getattr(fn, "__ad_twin__", fn)
        if len(args) != self.n or (self.assumes and not self.compiled.valid()):
            return False
        if fn is not self.fn and not (type(fn) is types.FunctionType
                                      and fn.__code__ is self.code
                                      and fn.__globals__ is self.globals):
            return False
        cells = dispatch.cell_values(fn) if self.cell_guards else []
        return all(_guard(v) == g for v, g in zip(list(args) + cells,
                                                   self.guards + self.cell_guards))

    def inputs(self, fn, args):
        """The generated function's inputs for this call: cells, then parameters."""
        fn = getattr(fn, "__ad_twin__", fn)
        values = self.lead + tuple(args)
        if self.bind is not None:
            values = dispatch._bind(self.bind, values, {})
        if type(fn) is types.FunctionType and self.cell_guards:
            return dispatch.cell_values(fn) + list(values)
        return values

    def raw(self, fn, args):
        return self.compiled.grad(*self.inputs(fn, args))

    def finish(self, args, raw):
        out = []
        for i, slot, item, post in zip(self.wrt, self.slots, self.items, self.posts):
            if slot is None:
                out.append(None)
                continue
            g = raw[slot]
            if item is not None:
                g = None if g is None else g[item]
            out.append(post(args[i], g))
        return tuple(out)


def _specialize(plan, single):
    """A dispatcher for ``plan`` with its guards unrolled, as Python source.

    ``fast(f, args)`` returns the gradients, or None when the call does not
    match the plan (then the general path runs).  It re-reads closure cells
    on every call.
    """
    if plan.bind is not None:
        return None
    names = ["a%d" % i for i in range(plan.n)]
    env = {"_g": plan.compiled.grad, "_float": float, "_nd": np.ndarray, "_G": plan.globals,
           "_code": plan.code, "_lead": plan.lead, "_valid": plan.compiled.valid}
    tests = ["_valid()"] if plan.assumes else []
    cells = len(plan.cell_guards)
    values = names + ["_cl[%d].cell_contents" % j for j in range(cells)]
    for i, (v, g) in enumerate(zip(values, plan.guards + plan.cell_guards)):
        if type(g) is tuple:
            tests.append("type(%s) is _nd and %s.ndim == %d and %s.dtype.char == %r"
                         % (v, v, g[1], v, g[2]))
        else:
            env["_T%d" % i] = g
            tests.append("type(%s) is _T%d" % (v, i))
    call_args = ["_cl[%d].cell_contents" % j for j in range(cells)]
    call_args += ["_lead[%d]" % j for j in range(len(plan.lead))] + names
    outs = []
    for i, slot, post in zip(plan.wrt, plan.slots, plan.posts):
        if slot is None:
            outs.append("None")
        elif post is _to_float:
            outs.append("_float(_r[%d])" % slot)
        else:
            env["_post%d" % i] = post
            outs.append("_post%d(%s, _r[%d])" % (i, names[i], slot))
    result = outs[0] if single else "(%s,)" % ", ".join(outs)
    lines = ["def fast(f, args):",
             "    if len(args) != %d:" % plan.n,
             "        return None",
             "    %s = args" % (", ".join(names) + ("," if plan.n == 1 else "")) if names else "",
             "    _cl = f.__closure__" if cells else "",
             "    if not (%s):" % " and ".join(tests or ["True"]),
             "        return None",
             "    _r = _g(%s)" % ", ".join(call_args),
             "    return %s" % result]
    namespace = {}
    exec("\n".join(l for l in lines if l), env, namespace)
    return namespace["fast"]


def _post(x):
    """How to turn the raw gradient of an argument like ``x`` into the user's form."""
    tp = type(x)
    if tp is float:
        return _to_float
    return tree.finish


def _to_float(x, g):
    return 0.0 if g is None else float(g)


_PLANS = {}
_FAST = {}     # code object -> specialised dispatcher of gradient(f, *args)


def _plan(f, args, wrt, options):
    """A matching plan for ``f(*args)``: reused when the signature repeats."""
    key = (getattr(f, "__code__", f) if type(f) is types.FunctionType else id(f), wrt, options)
    plan = _PLANS.get(key)
    if plan is not None and plan.matches(f, args):
        return plan, args
    args = tuple(_as_input(a) for a in args)
    plan = Plan(Target(f), args, wrt, options)
    if type(f) is types.FunctionType:
        _PLANS[key] = plan
    return plan, args


def gradient(f, *args):
    """One gradient per argument of the scalar-valued ``f``.

    >>> gradient(lambda x: 3*x**2 + 2*x + 1, 2)
    (14.0,)

    With a single ``Params`` argument, ``f`` takes no arguments and the
    result is a :class:`Grads` indexed by the parameter arrays.
    """
    if len(args) == 1 and type(args[0]).__name__ == "Params":
        from .params import Params, implicit_gradient
        if isinstance(args[0], Params):
            return implicit_gradient(f, args[0])
    try:
        fast = _FAST.get(f.__code__)
    except AttributeError:
        fast = None
    if fast is not None and f.__globals__ is fast.globals:
        out = fast(f, args)
        if out is not None:
            return out
    plan, args = _plan(f, args, tuple(range(len(args))), _GRAD)
    if type(f) is types.FunctionType and plan.code is f.__code__ and not plan.lead:
        fast = _specialize(plan, False)
        if fast is not None:
            fast.globals = plan.globals
            _FAST[plan.code] = fast
    return plan.finish(args, plan.raw(f, args))


def withgradient(f, *args):
    """The value of ``f`` and its gradients, as ``WithGradient(val, grad)``.

    If ``f`` returns a tuple, its first element is differentiated and
    ``val`` is the whole tuple.

    >>> withgradient(lambda x: x * x, 3.0)
    WithGradient(val=9.0, grad=(6.0,))
    """
    plan, args = _plan(f, args, tuple(range(len(args))), _VALUE_AND_GRAD)
    val, raw = plan.raw(f, args)
    return WithGradient(val, plan.finish(args, raw))


def pullback(f, *args):
    """``(y, back)`` where ``back(dy)`` gives the tuple of gradients.

    >>> y, back = pullback(lambda a, b, c: a * b * c, 2.0, 3.0, 5.0)
    >>> y, back(1.0)
    (30.0, (15.0, 10.0, 6.0))
    """
    args = tuple(_as_input(a) for a in args)
    plan = Plan(Target(f), args, tuple(range(len(args))), _SPLIT)
    y, res = plan.compiled.fwd(*plan.inputs(f, args))

    def back(dy):
        return plan.finish(args, plan.compiled.bwd(res, dy))

    return y, back


def grad(f, wrt=0):
    """The gradient function of ``f``: a transform, or the decorator ``@grad``.

    An int ``wrt`` gives that gradient alone; a tuple gives a tuple.

    >>> df = grad(lambda x: 3*x**2 + 2*x + 1)
    >>> df(2.0)
    14.0
    """
    single = isinstance(wrt, int)
    positions = (wrt,) if single else tuple(wrt)
    fast = [None]

    def gradient_of_f(*args):
        if fast[0] is not None:
            out = fast[0](f, args)
            if out is not None:
                return out
        plan, args = _plan(f, args, positions, _GRAD)
        if plan.code is getattr(f, "__code__", None):
            fast[0] = _specialize(plan, single)
        out = plan.finish(args, plan.raw(f, args))
        return out[0] if single else out

    gradient_of_f.__name__ = "grad_" + getattr(f, "__name__", "f").strip("<>")
    gradient_of_f.__doc__ = "Gradient of %s with respect to argument(s) %s." % (
        getattr(f, "__name__", "f"), wrt)
    gradient_of_f.__wrapped__ = f
    # How to differentiate this function itself (grad(grad(f))): through a
    # plain twin that calls gradient(), never through the fast path's source.
    gradient_of_f.__ad_twin__ = _grad_twin(f, positions, single)
    return gradient_of_f


def _grad_twin(f, positions, single):
    """``grad(f, wrt)`` as plain Python the compiler differentiates like any code."""
    code = getattr(getattr(f, "__ad_twin__", f), "__code__", None)
    unary = code is not None and code.co_argcount == 1 and not code.co_flags & 0x0C
    if single and positions == (0,) and unary:
        def grad_of(x):                 # explicit, so its kinds are known
            return gradient(f, x)[0]
    elif single:
        p = positions[0]

        def grad_of(*args):
            return gradient(f, *args)[p]
    else:
        def grad_of(*args):
            g = gradient(f, *args)
            return tuple([g[i] for i in positions])
    grad_of.__qualname__ = "grad(%s)" % getattr(f, "__name__", "f")
    return grad_of


def adjoint_source(f, *args, order=1):
    """The generated gradient code of ``f`` for arguments like ``args``.

    With no ``args``, each parameter is taken to be a float.  ``order=n``
    shows every generated function that ``grad`` applied ``n`` times runs
    (derivatives with respect to the first argument), outermost first; it
    evaluates that derivative once at ``args`` to find them.  For an array
    argument, ``order=2`` shows the Hessian-vector product code.

    >>> print(adjoint_source(lambda x: x ** 3, 2.0, order=2))  # doctest: +ELLIPSIS
    # generated by ad_compiler ...
    """
    target = Target(f)
    if not args:
        n = target.func.__code__.co_argcount - len(target.lead)
        args = (1.0,) * n
    args = tuple(_as_input(a) for a in args)
    if order == 1:
        return Plan(target, args, tuple(range(len(args))), _GRAD).compiled.text
    if not isinstance(order, int) or order < 1:
        raise ADError("adjoint_source: order must be a positive integer, got %r" % (order,))
    with compiler.recording() as used:
        _run_derivative(f, args, order)
    texts = []
    for c in used:
        if c.text not in texts:
            texts.append(c.text)
    return "\n".join(texts)


def _run_derivative(f, args, order):
    """Evaluate the ``order``-th derivative once (for :func:`adjoint_source`)."""
    if np.ndim(args[0]) == 0:
        derivative = f
        for _ in range(order):
            derivative = grad(derivative)
        return derivative(*args)
    if order == 2 and len(args) == 1:     # an array's second derivative: the HVP code
        return hvp(f, args[0], np.ones_like(args[0]))
    raise ADError("adjoint_source: order %d with an array argument is not defined (its "
                  "gradient is an array); use order=2 of a one-argument function for the "
                  "Hessian-vector product code, or scalar arguments" % order)


def jvp(f, primals, tangents):
    """Forward mode: ``(f(*primals), directional derivative along tangents)``.

    >>> jvp(lambda x, y: x * y, (2.0, 3.0), (1.0, 0.0))
    (6.0, 3.0)
    """
    primals = tuple(_as_input(a) for a in primals)
    tangents = tuple(None if t is None else _as_input(t) for t in tangents)
    if len(primals) != len(tangents):
        raise ADError("jvp needs one tangent per primal (None for no tangent); got %d "
                      "primals and %d tangents" % (len(primals), len(tangents)))
    target = Target(f)
    spec = tuple(i for i, t in enumerate(tangents) if t is not None)
    fn = f if target.lead == () or target.func is not _apply else f
    with compiler.top_level(target.func):
        return dispatch.call_jvp(fn, spec, tuple(tangents[i] for i in spec), *primals)


def _as_array_input(x):
    """hessian/jacobian: lists of numbers are arrays."""
    if isinstance(x, (list, tuple)) and x and all(isinstance(v, (int, float)) for v in x):
        return np.asarray(x, dtype=float)
    return _as_input(x)


def hvp(f, x, v):
    """The Hessian of scalar ``f`` at ``x`` times ``v``, without forming the matrix.

    Computed forward-over-reverse: one forward sweep over ``f``'s gradient code.

    >>> float(hvp(lambda x: np.sum(x ** 3), np.array([1.0, 2.0]), np.array([1.0, 0.0]))[0])
    6.0
    """
    from runtime.transforms import PLAIN_GRAD
    x, v = _as_array_input(x), _as_array_input(v)
    dg = dispatch.call_tangent(PLAIN_GRAD, (1,), (v,), f, x)
    return dg[0]


def hessian(f, x):
    """The Hessian of scalar ``f`` at ``x``, shape ``x.shape + x.shape``.

    Forward-over-reverse, one Hessian-vector product per element of ``x``.

    >>> float(hessian(lambda x: np.sum(x ** 3), [1, 2, 3, 4])[1, 1])
    12.0
    """
    x = _as_array_input(x)
    if not isinstance(x, np.ndarray):
        return float(hvp(f, x, 1.0))
    columns = []
    for i in range(x.size):
        e = np.zeros(x.size, dtype=x.dtype)
        e[i] = 1.0
        columns.append(np.asarray(hvp(f, x, e.reshape(x.shape))).reshape(-1))
    return np.stack(columns, axis=1).reshape(x.shape + x.shape)


def jacobian(f, *args):
    """One Jacobian per argument, each of shape ``out.shape + arg.shape``.

    Reverse mode row by row, or forward mode column by column when the
    inputs are smaller than the output.

    >>> J = jacobian(np.cumsum, np.array([1.0, 2.0, 3.0]))[0]
    >>> J.tolist()
    [[1.0, 0.0, 0.0], [1.0, 1.0, 0.0], [1.0, 1.0, 1.0]]
    """
    args = tuple(_as_array_input(a) for a in args)
    sizes = [np.size(a) for a in args]
    y = f(*args)
    out_shape = np.shape(y)
    n_out = int(np.prod(out_shape)) if out_shape else 1
    if sum(sizes) < n_out:
        return _jacobian_forward(f, args, out_shape)
    y, back = pullback(f, *args)
    rows = [[] for _ in args]
    for j in range(n_out):
        e = np.zeros(n_out)
        e[j] = 1.0
        cot = e.reshape(out_shape) if out_shape else 1.0
        for k, g in enumerate(back(cot)):
            rows[k].append(np.reshape(np.asarray(g, dtype=float), -1))
    return tuple(_shape_jacobian(r, out_shape, np.shape(a)) for r, a in zip(rows, args))


def _jacobian_forward(f, args, out_shape):
    out = []
    for k, a in enumerate(args):
        cols = []
        for i in range(max(1, np.size(a))):
            t = [None] * len(args)
            if isinstance(a, np.ndarray):
                e = np.zeros(a.size)
                e[i] = 1.0
                t[k] = e.reshape(a.shape)
            else:
                t[k] = 1.0
            _, dy = jvp(f, args, t)
            cols.append(np.reshape(np.asarray(dy, dtype=float), -1))
        J = np.stack(cols, axis=1).reshape(out_shape + np.shape(a))
        out.append(J)
    return tuple(out)


def _shape_jacobian(rows, out_shape, arg_shape):
    J = np.stack(rows, axis=0).reshape(out_shape + arg_shape)
    return J if J.shape else float(J)
