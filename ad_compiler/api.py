"""The public API: gradient, withgradient, pullback, grad, jvp, adjoint_source.

The run-time machinery (opening callables, guarded plans, fast paths,
argument conversion) lives in :mod:`runtime.plan`.  Exceptions raised
inside generated code get a note naming the generated line and the user's
``file:line`` it came from (:func:`errors.annotate`).
"""
import functools
import types
from collections import namedtuple

import numpy as np

from ad_compiler import compiler
from ad_compiler.analysis import special
from ad_compiler.compiler import RECORDERS as _RECORDERS
from ad_compiler.forward import transpose
from ad_compiler.front.source import unwrap
from ad_compiler.params import Params as _Params, implicit_gradient as _implicit_gradient
from ad_compiler.runtime import applied
from ad_compiler.runtime.core.errors import (ADError, ArgumentError, annotate, function_name,
                                             user_site)
from ad_compiler.runtime.mode import enter as _enter, leave as _leave
from ad_compiler.runtime.plan import (FAST as _FAST, GRAD as _GRAD, PLANS as _PLANS,  # noqa: F401
                                      SPLIT as _SPLIT, VALUE_AND_GRAD as _VALUE_AND_GRAD, FastSlot,
                                      Plan, Target, as_input as _as_input, put_fast as _put_fast,
                                      as_tangent as _as_tangent, differentiable as _differentiable,
                                      plan_for, specialize)

WithGradient = namedtuple("WithGradient", "val grad")


def _deriving(transform):
    """Run ``transform`` with ``differentiating()`` true, for the code that
    derivative code calls plainly (compiled code has it folded already)."""
    @functools.wraps(transform)
    def run(*args, **kwargs):
        token = _enter(True)
        try:
            return transform(*args, **kwargs)
        finally:
            _leave(token)
    return run


def gradient(f, *args):
    """One gradient per argument of the scalar-valued ``f``.

    >>> gradient(lambda x: 3*x**2 + 2*x + 1, 2)
    (14.0,)

    With a single ``Params`` argument, ``f`` takes no arguments and the
    result is a :class:`Grads` indexed by the parameter arrays.
    """
    try:
        try:
            fast = _FAST.get(id(f.__code__))   # (hashing a code object is slow;
            # the entry keeps its code alive, so the id stays unique)
        except AttributeError:
            fast = None
        if fast is not None and f.__globals__ is fast.globals and not _RECORDERS:
            out = fast(f, args)       # (None when its guards fail: a Params among them)
            if out is not None:
                return out
        if len(args) == 1 and isinstance(args[0], _Params):
            return _implicit_gradient(f, args[0])
        token = _enter(True)      # (the fast path sets it itself, where needed)
        try:
            plan, args, inputs = plan_for(f, args, tuple(range(len(args))), _GRAD)
            if type(f) is types.FunctionType and plan.code is f.__code__ and not plan.lead:
                fast = specialize(plan, False)
                if fast is not None:
                    _put_fast(id(plan.code), fast)
            return plan.finish(args, plan.run(*inputs))
        finally:
            _leave(token)
    except Exception as e:
        annotate(e)
        raise


@_deriving
def withgradient(f, *args):
    """The value of ``f`` and its gradients, as ``WithGradient(val, grad)``.

    If ``f`` returns a tuple, its first element is differentiated and
    ``val`` is the whole tuple.

    >>> withgradient(lambda x: x * x, 3.0)
    WithGradient(val=9.0, grad=(6.0,))
    """
    try:
        plan, args, inputs = plan_for(f, args, tuple(range(len(args))), _VALUE_AND_GRAD)
        val, raw = plan.run(*inputs)
        return WithGradient(val, plan.finish(args, raw))
    except Exception as e:
        annotate(e)
        raise


@_deriving
def pullback(f, *args):
    """``(y, back)`` where ``back(dy)`` gives the tuple of gradients.

    >>> y, back = pullback(lambda a, b, c: a * b * c, 2.0, 3.0, 5.0)
    >>> y, back(1.0)
    (30.0, (15.0, 10.0, 6.0))
    """
    try:
        args = tuple(_as_input(a) for a in args)
        plan = Plan(Target(f), args, tuple(range(len(args))), _SPLIT)
        y, res = plan.compiled.fwd(*plan.inputs(f, args, check=False))
    except Exception as e:
        annotate(e)
        raise

    # The backward sweep consumes what the forward sweep saved (loops pop
    # their stacks), so a second call of back runs the forward sweep again:
    # back can be called any number of times, as JAX's vjp can.
    saved = [res]

    @_deriving
    def back(dy):
        try:
            inner = saved.pop() if saved else plan.compiled.fwd(
                *plan.inputs(f, args, check=False))[1]
            return plan.finish(args, plan.compiled.bwd(inner, dy))
        except Exception as e:
            annotate(e)
            raise

    return y, back


def grad(f, wrt=0):
    """The gradient function of ``f``: a transform, or the decorator ``@grad``.

    An int ``wrt`` gives that gradient alone; a tuple gives a tuple.  (The
    point is given to the result: ``grad(f)(3.0)``, not ``grad(f, 3.0)``.)

    >>> df = grad(lambda x: 3*x**2 + 2*x + 1)
    >>> df(2.0)
    14.0
    """
    single, positions = _check_wrt(f, wrt)
    slot = FastSlot()

    def gradient_of_f(*args):
        try:
            fast = slot.fast
            if fast is not None and not _RECORDERS:
                out = fast(f, args)
                if out is not None:
                    return out
            token = _enter(True)      # (the fast path sets it itself, where needed)
            try:
                plan, args, inputs = plan_for(f, args, positions, _GRAD)
                if plan.code is getattr(f, "__code__", None):
                    slot.fast = specialize(plan, single, check_code=True)
                out = plan.finish(args, plan.run(*inputs))
            finally:
                _leave(token)
            return out[0] if single else out
        except Exception as e:
            annotate(e)
            raise

    gradient_of_f.__name__ = "grad_" + getattr(f, "__name__", "f").strip("<>")
    gradient_of_f.__doc__ = "Gradient of %s with respect to argument(s) %s." % (
        getattr(f, "__name__", "f"), wrt)
    gradient_of_f.__wrapped__ = f
    # How to differentiate this function itself (grad(grad(f))): through a
    # plain twin that calls gradient(), never through the fast path's source.
    gradient_of_f.__ad_twin__ = _grad_twin(f, positions, single)
    return gradient_of_f


def _check_wrt(f, wrt):
    """``(single, positions)`` of grad's ``wrt``; a point passed as ``wrt`` (the
    JAX habit ``grad(f, 3.0)``) is an error that says how to call."""
    def index(i):
        return isinstance(i, (int, np.integer)) and not isinstance(i, (bool, np.bool_))

    name = function_name(f) if callable(f) else repr(f)
    site = user_site()
    site = site + ": " if site else ""
    if not callable(f):
        raise ArgumentError("%sgrad(%r, ...): the first argument must be the function to "
                            "differentiate; write grad(f)(x)" % (site, f))
    if not (index(wrt) or (isinstance(wrt, (tuple, list)) and all(index(i) for i in wrt))):
        raise ArgumentError("%sgrad(%s, %r): grad takes the function and `wrt` (the index of "
                            "the argument to differentiate, or a tuple of indices), not the "
                            "point; call the result: grad(%s)(%r)" % (site, name, wrt, name, wrt))
    positions = (int(wrt),) if index(wrt) else tuple(int(i) for i in wrt)
    n = _positional_count(f)
    bad = [i for i in positions if n is not None and not -n <= i < n]
    if bad:
        raise ArgumentError("%sgrad(%s, %r): %s takes %d positional argument%s, so there is no "
                            "argument %d to differentiate; wrt is an index, not the point: to "
                            "evaluate the derivative at %r, call the result: grad(%s)(%r)"
                            % (site, name, wrt, name, n, "" if n == 1 else "s", bad[0], bad[0],
                               name, bad[0]))
    return index(wrt), positions


def _positional_count(f):
    """How many positional arguments ``f`` takes, or None if unknown (``*args``)."""
    opened = unwrap(getattr(f, "__ad_twin__", f))
    if opened is None or opened[2]:
        return None
    code = opened[0].__code__
    if code.co_flags & 0x04:
        return None
    return code.co_argcount - len(opened[1])


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
    try:
        target = Target(f)
        if not args:
            n = target.func.__code__.co_argcount - len(target.lead)
            args = (1.0,) * n
        args = tuple(_as_input(a) for a in args)
        if order == 1:
            return Plan(target, args, tuple(range(len(args))), _GRAD).compiled.text
        if not isinstance(order, int) or order < 1:
            raise ADError("adjoint_source: order must be a positive integer, got %r; use "
                          "order=1 for the gradient's code, 2 for the second derivative's"
                          % (order,))
        with compiler.recording() as used:
            _run_derivative(f, args, order)
    except Exception as e:
        annotate(e)
        raise
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


@_deriving
def jvp(f, primals, tangents):
    """Forward mode: ``(f(*primals), directional derivative along tangents)``.

    >>> jvp(lambda x, y: x * y, (2.0, 3.0), (1.0, 0.0))
    (6.0, 3.0)
    """
    if not isinstance(primals, (tuple, list)) or not isinstance(tangents, (tuple, list)):
        site = user_site()
        raise ArgumentError("%sjvp takes the primals and the tangents as tuples: "
                            "jvp(f, (x, ...), (dx, ...)); got %s and %s"
                            % (site + ": " if site else "", type(primals).__name__,
                               type(tangents).__name__))
    primals = tuple(_as_input(a) for a in primals)
    tangents = tuple(None if t is None else _as_tangent(t) for t in tangents)
    try:
        if len(primals) != len(tangents):
            raise ArgumentError("jvp needs one tangent per primal (None for no tangent); got "
                                "%d primals and %d tangents" % (len(primals), len(tangents)))
        target = Target(f)
        spec = tuple(i for i, t in enumerate(tangents) if t is not None)
        with compiler.top_level(target.func):
            y, dy = applied.call_jvp(f, spec, tuple(tangents[i] for i in spec), *primals)
    except Exception as e:
        annotate(e)
        raise
    return y, _zero_tangent(y, dy)


def _zero_tangent(y, dy):
    """Where no input influences the output its tangent is a zero of the
    output's type (zeros like an array, 0.0 for a number), never None."""
    if dy is not None:
        if type(dy) is tuple and type(y) is tuple and len(dy) == len(y):
            return tuple(_zero_tangent(a, b) for a, b in zip(y, dy))
        return dy
    if isinstance(y, np.ndarray):
        return np.zeros(y.shape, dtype=y.dtype if y.dtype.kind in "fc" else float)
    if isinstance(y, (complex, np.complexfloating)):
        return 0j
    if isinstance(y, (float, int, np.number)) and not isinstance(y, (bool, np.bool_)):
        return 0.0
    if isinstance(y, (tuple, list)):
        items = [_zero_tangent(v, None) for v in y]
        return type(y)._make(items) if hasattr(type(y), "_fields") else type(y)(items)
    if isinstance(y, dict):
        return {k: _zero_tangent(v, None) for k, v in y.items()}
    return None


def _as_array_input(x):
    """hessian/jacobian: lists of numbers are arrays."""
    if isinstance(x, (list, tuple)) and x and all(isinstance(v, (int, float)) for v in x):
        return np.asarray(x, dtype=float)
    return _as_input(x)


def _refuse_complex(values, what):
    """hvp, hessian and jacobian are real: a complex argument or output is refused
    (its derivative is a 2x2 real block per number; gradient and jvp take complex)."""
    for v in values:
        if isinstance(v, (complex, np.complexfloating)) or getattr(v, "dtype", None) is not None \
                and v.dtype.kind == "c":
            raise ADError("%s with a complex %s is not supported; pass the real and imaginary "
                          "parts as real arguments (f(x + 1j * y)) and return real values "
                          "(abs(z), z.real, z.imag)" % (what[0], what[1]))


@_deriving
def hvp(f, x, v):
    """The Hessian of scalar ``f`` at ``x`` times ``v``, without forming the matrix.

    Computed forward-over-reverse: one forward sweep over ``f``'s gradient code.

    >>> float(hvp(lambda x: np.sum(x ** 3), np.array([1.0, 2.0]), np.array([1.0, 0.0]))[0])
    6.0
    """
    from ad_compiler.runtime.transforms import PLAIN_GRAD
    x, v = _as_array_input(x), _as_array_input(v)
    _refuse_complex((x, v), ("hvp and hessian", "argument"))
    dg = applied.call_tangent(PLAIN_GRAD, (1,), (v,), f, x)
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


@_deriving
def jacobian(f, *args):
    """One Jacobian per argument, each of shape ``out.shape + arg.shape``.

    Reverse mode row by row, or forward mode column by column when the
    inputs are smaller than the output.

    >>> J = jacobian(np.cumsum, np.array([1.0, 2.0, 3.0]))[0]
    >>> J.tolist()
    [[1.0, 0.0, 0.0], [1.0, 1.0, 0.0], [1.0, 1.0, 1.0]]
    """
    args = tuple(_as_array_input(a) for a in args)
    _refuse_complex(args, ("jacobian", "argument"))
    sizes = [np.size(a) for a in args]
    y = f(*args)
    _refuse_complex([y], ("jacobian", "output"))
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


# The compiler sits below the API: it learns the API's transforms here.
special.install_api({"gradient": gradient, "grad": grad, "jvp": jvp, "pullback": pullback,
                     "withgradient": withgradient})
transpose.install(gradient)
