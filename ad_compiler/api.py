"""The public API: gradient, withgradient, pullback, grad (jvp, hvp, hessian,
jacobian and adjoint_source, built on these, are in :mod:`transforms`).

The run-time machinery (opening callables, guarded plans, fast paths,
argument conversion) lives in :mod:`runtime.plan`.  Exceptions raised
inside generated code get a note naming the generated line and the user's
``file:line`` it came from (:func:`errors.annotate`).
"""
import functools
import sys
import types
from collections import namedtuple

import numpy as np

from ad_compiler.compiler import RECORDERS as _RECORDERS
from ad_compiler.front.source import origin_key, unwrap
from ad_compiler.params import Params as _Params, implicit_gradient as _implicit_gradient
from ad_compiler.runtime.core.errors import (ArgumentError, annotate, function_name, user_location,
                                             user_site)
from ad_compiler.runtime.core.lru import LRU
from ad_compiler.runtime.mode import enter as _enter, leave as _leave
from ad_compiler.runtime.plan import (FAST as _FAST, GRAD as _GRAD, PLANS as _PLANS,  # noqa: F401
                                      SPLIT as _SPLIT, VALUE_AND_GRAD as _VALUE_AND_GRAD, FastSlot,
                                      Plan, Target, as_input as _as_input, put_fast as _put_fast,
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
def withgradient(f, *args, wrt=None):
    """The value of ``f`` and its gradients, as ``WithGradient(val, grad)``.

    If ``f`` returns a tuple, its first element is differentiated and
    ``val`` is the whole tuple.  ``wrt``, a tuple of argument positions,
    differentiates those arguments only (``grad`` holds theirs, in that
    order): the others' gradients are never formed.

    >>> withgradient(lambda x: x * x, 3.0)
    WithGradient(val=9.0, grad=(6.0,))
    >>> withgradient(lambda x, y: x * y, 3.0, 4.0, wrt=(1,))
    WithGradient(val=12.0, grad=(3.0,))
    """
    try:
        positions = tuple(range(len(args))) if wrt is None else _positions(wrt, len(args))
        plan, args, inputs = plan_for(f, args, positions, _VALUE_AND_GRAD)
        val, raw = plan.run(*inputs)
        return WithGradient(val, plan.finish(args, raw))
    except Exception as e:
        annotate(e)
        raise


def _positions(wrt, n):
    """``withgradient``'s ``wrt`` checked: a tuple of positions of the ``n`` arguments."""
    ok = isinstance(wrt, tuple) and all(
        isinstance(i, (int, np.integer)) and not isinstance(i, bool) and -n <= i < n
        for i in wrt)
    if not ok:
        site = user_site()
        raise ArgumentError("%swithgradient(f, *args, wrt=%r): wrt is a tuple of the positions "
                            "of the arguments to differentiate, each less than the %d given; "
                            "for example wrt=(0,)" % (site + ": " if site else "", wrt, n))
    return tuple(int(i) % n for i in wrt)


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
    site = user_location(sys._getframe(1))     # cited for an f with no source (np.sin)
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

    return _grad_of(gradient_of_f, f, wrt, positions, single, site)


def _grad_of(g, f, wrt, positions, single, site=None):
    """``g``, named and documented as the gradient of ``f``."""
    g.__name__ = "grad_" + getattr(f, "__name__", "f").strip("<>")
    g.__doc__ = "Gradient of %s with respect to argument(s) %s." % (
        getattr(f, "__name__", "f"), wrt)
    g.__wrapped__ = f
    # How to differentiate this function itself (grad(grad(f))): through a
    # plain twin that calls gradient(), never through the fast path's source.
    g.__ad_twin__ = _grad_twin(f, positions, single, site)
    return g


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


def _grad_twin(f, positions, single, site=None):
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
    grad_of.__ad_origin__ = f       # its generated code cites f's file and line, not ours
    grad_of.__ad_site__ = site      # ... or, for an f with no source, where grad was called
    key = origin_key(grad_of)
    if key is not None:
        # a code object of its own per user function and depth: a plan is
        # reused for any function with the same code object, and this code's
        # compiled form cites the user's function
        code = grad_of.__code__
        grad_of.__code__ = _TWIN_CODES.setdefault((code,) + key, code.replace())
    return grad_of


_TWIN_CODES = LRU(1024)     # (twin's code, user's code, depth) -> the twin's own copy
