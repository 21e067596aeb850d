"""Rules for Python operators, builtins and the ``math`` module.

Scalar code stays scalar: ``math.sin`` differentiates to ``math.cos``,
never to ``np.cos``, which is five times slower on a Python float.
"""
import builtins
import math
import operator

import numpy

from ..helpers import (broadcast_like, copy_input, items_grad, items_tangent,
                      iter_sequence, log, sequence_grad, sequence_jvp, sequence_vjp, spread,
                      stop_gradient, sum_jvp, sum_vjp, unbroadcast, values_grad, values_tangent)
from ..core.registry import (ELEMENTWISE, SAME, SCALAR, def_binary, def_linear, def_unary,
                              defjvp, defvjp, nondifferentiable)
from .complex import abs_jvp, abs_vjp, sign
from ..core.errors import NoAdjointError

# ---------------------------------------------------------------- operators

# def_binary: each lambda is the argument's derivative applied to g, for both modes
# (unbroadcast(.., x) in reverse, broadcast_like(.., ans) forward).
def_binary(operator.add, lambda g, ans, x, y: g, lambda g, ans, x, y: g)
# (-'s y is written out: it negates after unbroadcast, on the smaller array)
defvjp(operator.sub, lambda g, ans, x, y: unbroadcast(g, x),
       lambda g, ans, x, y: -unbroadcast(g, y), out=ELEMENTWISE)
defjvp(operator.sub, lambda d, ans, x, y: broadcast_like(d, ans),
       lambda d, ans, x, y: broadcast_like(-d, ans))
def_binary(operator.mul, lambda g, ans, x, y: g * y, lambda g, ans, x, y: x * g)
def_binary(operator.truediv, lambda g, ans, x, y: g / y, lambda g, ans, x, y: -g * ans / y)
# x ** y: the exponent y - 1 + 0 ** (y * y) is y - 1 except at y == 0, where x ** 0 is
# constant and its slope 0 (even at x == 0); it folds to a number for a constant y.
# log(x + 0 ** abs(x)) is 0 at x == 0, where the slope in y is 0 for y > 0 (JAX's
# convention, and the finite difference's).  Where the slope is infinite (x ** 0.5 at 0)
# NumPy gives inf and Python floats raise ZeroDivisionError.  (A complex exponent that is
# not real fails in 0 ** (y * y): use numpy.power, whose rule takes abs(y).)
def_binary(operator.pow, lambda g, ans, x, y: g * y * x ** (y - 1 + 0 ** (y * y)),
           lambda g, ans, x, y: g * ans * log(x + 0 ** abs(x)))
# x % y == x - y * (x // y): slope 1 in x and -(x // y) in y (Python's floor division).
def_binary(operator.mod, lambda g, ans, x, y: g, lambda g, ans, x, y: -g * (x // y))
defvjp(operator.neg, lambda g, ans, x: -g, out=SAME)
def_linear(operator.neg)
defvjp(operator.pos, lambda g, ans, x: g, out=SAME)
def_linear(operator.pos)
nondifferentiable(operator.floordiv, out=ELEMENTWISE)
nondifferentiable(operator.lt, operator.le, operator.gt, operator.ge, operator.eq,
                  operator.ne, operator.not_, operator.truth, operator.invert)

# ---------------------------------------------------------------- builtins

defvjp(builtins.abs, lambda g, ans, x: abs_vjp(g, x), out=SAME)      # complex too
defjvp(builtins.abs, lambda d, ans, x: abs_jvp(d, x))
defvjp(builtins.float, lambda g, ans, x: g, out=SCALAR)
def_linear(builtins.float, out=SCALAR)
def _sum_kind(args, keywords):
    """``sum(xs, start)``: the join of its items' kinds and ``start``'s, where
    they are known (a tuple's); a list's items are not, and an array among
    them makes the sum an array, so the sum of a list is a number of
    unknown shape (claiming a scalar let the optimiser drop the
    ``unbroadcast`` of an array's gradient onto a scalar)."""
    from ..core import kinds
    seq = args[0] if args else None
    start = args[1] if len(args) > 1 else keywords.get("start", kinds.SCALAR)
    if seq is not None and seq.tag == "tuple" and isinstance(seq.token, tuple):
        out = start
        for k in seq.token:
            out = kinds.join(out, k)
        return out
    return kinds.OTHER


defvjp(builtins.sum, lambda g, ans, x, start=0: sum_vjp(g, x),
       lambda g, ans, x, start=0: unbroadcast(g, start), out=_sum_kind)
defjvp(builtins.sum, lambda d, ans, x, start=0: sum_jvp(d, x),
       lambda d, ans, x, start=0: broadcast_like(d, ans))
def _container_kind(tag):
    def kind(args, keywords):
        from ..core import kinds
        return getattr(kinds, tag)
    return kind


defvjp(builtins.tuple, lambda g, ans, iterable=(): sequence_vjp(g, iterable),
       out=_container_kind("TUPLE"))
defjvp(builtins.tuple, lambda d, ans, iterable=(): sequence_jvp(d, ans))
defvjp(builtins.list, lambda g, ans, iterable=(): sequence_vjp(g, iterable),
       out=_container_kind("LIST"))
defjvp(builtins.list, lambda d, ans, iterable=(): sequence_jvp(d, ans))
nondifferentiable(builtins.len, builtins.range, builtins.isinstance, builtins.int,
                  builtins.bool, builtins.round, builtins.print, builtins.type, builtins.id,
                  builtins.callable, builtins.hasattr, builtins.any, builtins.all, out="const")
# str, repr, hash, enumerate and sorted are not piecewise constant (float(str(x)) is x):
# str, repr and hash have no rule, so a result that reaches the output is refused.


def extreme_vjp(g, ans, *args, **kwargs):
    """Gradients of ``max``/``min``: the winner gets ``g``, ties share it."""
    items = list(args[0]) if len(args) == 1 else list(args)
    winners = [v == ans for v in items]
    share = g / sum(winners)
    grads = [share if w else 0.0 for w in winners]
    if len(args) == 1:
        return (type(args[0])(grads) if isinstance(args[0], (list, tuple)) else grads,)
    return tuple(grads)


def extreme_jvp(tangents, ans, *args, **kwargs):
    """Tangent of ``max``/``min``: the (mean) tangent of the winners."""
    items = list(args[0]) if len(args) == 1 else list(args)
    ds = list(tangents[0]) if len(args) == 1 else list(tangents)
    chosen = [0.0 if d is None else d for v, d in zip(items, ds) if v == ans]
    return sum(chosen) / len(chosen)


defvjp(builtins.max, vjp_all=extreme_vjp, out=SCALAR)
defjvp(builtins.max, jvp_all=extreme_jvp)
defvjp(builtins.min, vjp_all=extreme_vjp, out=SCALAR)
defjvp(builtins.min, jvp_all=extreme_jvp)


_KEYS_ONLY = (dict, str, bytes, range)     # sorted() of these sorts keys or characters


def sorted_order(items, key=None, reverse=False):
    """The permutation ``sorted`` applies: ``sorted(x)[i]`` is ``list(x)[order[i]]``
    (the same stable sort, on positions)."""
    if not isinstance(items, (list, tuple)) and not (
            isinstance(items, numpy.ndarray) and items.ndim == 1):
        raise NoAdjointError("the derivative of sorted() of a %s is not supported; sort a "
                             "list, a tuple or a 1-D array (sorted(list(...)))"
                             % type(items).__name__)
    at = items.__getitem__ if key is None else (lambda i: key(items[i]))
    return sorted(range(len(items)), key=at, reverse=reverse)


def sorted_grad(g, x, key=None, reverse=False):
    """The cotangent of ``x`` from that of ``sorted(x)``: each item's put back where it
    came from (None stands for zero)."""
    if g is None or isinstance(x, _KEYS_ONLY):
        return None
    out = [None] * len(g)
    for i, j in enumerate(sorted_order(x, key, reverse)):
        out[j] = g[i]
    if isinstance(x, numpy.ndarray):
        return numpy.asarray([0.0 if v is None else v for v in out])
    return tuple(out) if isinstance(x, tuple) else out


def sorted_tangent(d, x, key=None, reverse=False):
    """The tangent of ``sorted(x)`` from the tangent ``d`` of ``x``: ``d`` sorted alike."""
    if d is None or isinstance(x, _KEYS_ONLY):
        return None
    return [d[j] for j in sorted_order(x, key, reverse)]


nondifferentiable(sorted_order, out="const")
def_linear(sorted_grad, none_ok=True, may_be_none=True)
defvjp(sorted_grad, lambda h, ans, g, x, key=None, reverse=False:
       sorted_tangent(h, x, key=key, reverse=reverse))
def_linear(sorted_tangent, none_ok=True, may_be_none=True)
defvjp(sorted_tangent, lambda h, ans, d, x, key=None, reverse=False:
       sorted_grad(h, x, key=key, reverse=reverse))
defvjp(builtins.sorted, lambda g, ans, iterable, key=None, reverse=False:
       sorted_grad(g, iterable, key=key, reverse=reverse), out=_container_kind("LIST"))
defjvp(builtins.sorted, lambda d, ans, iterable, key=None, reverse=False:
       sorted_tangent(d, iterable, key=key, reverse=reverse))


# ---------------------------------------------------------------- math

def_unary(math.sin, lambda ans, x: math.cos(x), out=SCALAR)
def_unary(math.cos, lambda ans, x: -math.sin(x), out=SCALAR)
def_unary(math.tan, lambda ans, x: 1.0 + ans * ans, out=SCALAR)
def_unary(math.asin, lambda ans, x: 1.0 / math.sqrt(1.0 - x * x), out=SCALAR)
def_unary(math.acos, lambda ans, x: -1.0 / math.sqrt(1.0 - x * x), out=SCALAR)
def_unary(math.atan, lambda ans, x: 1.0 / (1.0 + x * x), out=SCALAR)
def_unary(math.sinh, lambda ans, x: math.cosh(x), out=SCALAR)
def_unary(math.cosh, lambda ans, x: math.sinh(x), out=SCALAR)
def_unary(math.tanh, lambda ans, x: 1.0 - ans * ans, out=SCALAR)
def_unary(math.asinh, lambda ans, x: 1.0 / math.sqrt(x * x + 1.0), out=SCALAR)
def_unary(math.acosh, lambda ans, x: 1.0 / math.sqrt(x * x - 1.0), out=SCALAR)
def_unary(math.atanh, lambda ans, x: 1.0 / (1.0 - x * x), out=SCALAR)
def_unary(math.exp, lambda ans, x: ans, out=SCALAR)
def_unary(math.expm1, lambda ans, x: ans + 1.0, out=SCALAR)
def_unary(math.log, lambda ans, x: 1.0 / x, out=SCALAR)
def_unary(math.log1p, lambda ans, x: 1.0 / (1.0 + x), out=SCALAR)
def_unary(math.log2, lambda ans, x: 1.0 / (x * math.log(2.0)), out=SCALAR)
def_unary(math.log10, lambda ans, x: 1.0 / (x * math.log(10.0)), out=SCALAR)
def_unary(math.sqrt, lambda ans, x: 0.5 / ans, out=SCALAR)
def_unary(math.fabs, lambda ans, x: sign(x), out=SCALAR)
def_unary(math.erf, lambda ans, x: 2.0 / math.sqrt(math.pi) * math.exp(-x * x), out=SCALAR)
def_binary(math.pow, lambda g, ans, x, y: g * y * x ** (y - 1 + 0 ** (y * y)),   # as for **
           lambda g, ans, x, y: g * ans * log(x + 0 ** abs(x)), out=SCALAR)
def_binary(math.atan2, lambda g, ans, y, x: g * x / (x * x + y * y),
           lambda g, ans, y, x: -g * y / (x * x + y * y), out=SCALAR)
def_binary(math.hypot, lambda g, ans, x, y: g * x / ans, lambda g, ans, x, y: g * y / ans,
           out=SCALAR)
nondifferentiable(math.floor, math.ceil, math.trunc, math.isnan, math.isinf, math.isfinite,
                  out=SCALAR)
# copysign(x, y) == |x| * (+-1 by y's sign): abs's slope in x, piecewise constant in y.
def_binary(math.copysign, lambda g, ans, x, y: g * sign(x) * math.copysign(1.0, y), None,
           out=SCALAR)

# ---------------------------------------------------------------- runtime helpers

nondifferentiable(stop_gradient, out=SAME)
defvjp(copy_input, lambda g, ans, x: g, out=SAME)
def_linear(copy_input, out=SAME)
defvjp(iter_sequence, lambda g, ans, x: sequence_grad(g, x), out=SAME)
defjvp(iter_sequence, lambda d, ans, x: sequence_grad(d, x), may_be_none=True)
# dict views: walked by position, their gradients are dicts by key
defvjp(dict.values, lambda g, ans, d: values_grad(g, d))
defjvp(dict.values, lambda t, ans, d: values_tangent(t, d), may_be_none=True)
defvjp(dict.items, lambda g, ans, d: items_grad(g, d))
defjvp(dict.items, lambda t, ans, d: items_tangent(t, d), may_be_none=True)
nondifferentiable(dict.keys)
defvjp(spread, lambda h, ans, g, x: unbroadcast(h, g), out=SAME)
def_linear(spread, out=SAME)
