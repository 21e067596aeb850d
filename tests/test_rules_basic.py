"""Operators, builtins and math: every rule against finite differences."""
import math

import numpy as np
import pytest

import ad_compiler
from ad_compiler import gradient, jvp
from ad_compiler.checks import check_grads
from ad_compiler.runtime.rules import basic as RB

W = np.array([0.3, -1.2, 2.0])
X = np.array([0.4, 0.9, 1.3])
Y = np.array([1.5, 0.2, 0.7])

ARRAY_OPS = [
    ("add", lambda x, y: np.sum((x + y) * W)),
    ("sub", lambda x, y: np.sum((x - y) * W)),
    ("mul", lambda x, y: np.sum(x * y * W)),
    ("div", lambda x, y: np.sum(x / y * W)),
    ("pow", lambda x, y: np.sum(x ** y * W)),
    ("neg", lambda x, y: np.sum(-x * W) + np.sum(+y * W)),
    ("broadcast_scalar", lambda x, y: np.sum(x * 2.0 + 1.0 / y)),
    ("broadcast_row", lambda x, y: np.sum(np.outer(x, y) * x[:, None] + y[None, :])),
]


@pytest.mark.parametrize("name, f", ARRAY_OPS, ids=[n for n, _ in ARRAY_OPS])
def test_operators_on_arrays(name, f):
    check_grads(f, X, Y, order=2)


SCALAR_OPS = [
    ("add", lambda x, y: x + y), ("sub", lambda x, y: x - y), ("mul", lambda x, y: x * y),
    ("div", lambda x, y: x / y), ("pow", lambda x, y: x ** y), ("neg", lambda x, y: -x * y),
    ("abs", lambda x, y: abs(x - y) * x), ("float", lambda x, y: float(x) * y),
    ("sum", lambda x, y: sum([x, y, x * y])), ("sum_start", lambda x, y: sum((x, y), 0.5)),
    # a differentiated start had no gradient (d/dx 1, not 3)
    ("sum_start_differentiated", lambda x, y: sum([x, y], x * 2.0)),
    ("sum_start_keyword", lambda x, y: sum((x, y), start=x * y)),
]


@pytest.mark.parametrize("name, f", SCALAR_OPS, ids=[n for n, _ in SCALAR_OPS])
def test_operators_and_builtins_on_scalars(name, f):
    check_grads(f, 0.7, 1.9, order=2)


@pytest.mark.parametrize("f", [
    lambda x, y: np.sum(sum([x, y * 2.0], x[0] * 3.0)),           # a scalar start
    lambda x, y: np.sum(sum([x, y], start=x[0] * y[1])),
    lambda x, y: np.sum(sum([x, y * 2.0]) * x[0]),                  # times a scalar
], ids=["start", "start_keyword", "times_scalar"])
def test_builtin_sum_of_a_list_of_arrays(f):
    """Its kind was a scalar's, so the optimiser dropped the unbroadcast of an
    array's gradient onto a scalar (a crash, or a wrong shape)."""
    check_grads(f, X, Y, order=2)


def test_sum_over_scalar_broadcast_against_array():
    """Tangent got ``sum(x / y)`` with scalar y wrong; the gradient must be summed."""
    f = lambda x, y: np.sum(x / y)  # noqa: E731
    check_grads(f, X, 2.0)
    gx, gy = gradient(f, X, 2.0)
    assert type(gy) is float
    assert gy == pytest.approx(-np.sum(X) / 4.0)


MATH = [
    (math.sin, 0.5), (math.cos, 0.5), (math.tan, 0.5), (math.asin, 0.3), (math.acos, 0.3),
    (math.atan, 0.5), (math.sinh, 0.5), (math.cosh, 0.5), (math.tanh, 0.5),
    (math.asinh, 0.5), (math.acosh, 1.5), (math.atanh, 0.3), (math.exp, 0.5),
    (math.expm1, 0.5), (math.log, 0.5), (math.log1p, 0.5), (math.log2, 0.5),
    (math.log10, 0.5), (math.sqrt, 0.5), (math.fabs, -0.5), (math.erf, 0.5),
]


@pytest.mark.parametrize("fn, x", MATH, ids=[f.__name__ for f, _ in MATH])
def test_math_functions(fn, x):
    check_grads(lambda x: fn(x) * 1.5, x, order=2)


@pytest.mark.parametrize("fn", [math.pow, math.atan2, math.hypot], ids=lambda f: f.__name__)
def test_math_binary(fn):
    check_grads(lambda x, y: fn(x, y), 0.8, 1.7, order=2)


def test_math_rules_stay_scalar_in_generated_code():
    from ad_compiler import adjoint_source
    text = adjoint_source(lambda x: math.sin(x) * math.exp(x), 1.0)
    assert "math.cos(x)" in text and "np." not in text and "unbroadcast" not in text


def test_builtin_max_min_with_two_arguments():
    check_grads(lambda x, y: max(x, y) * 2.0 + min(x, y), 0.3, 0.9, order=2)


# ---------------------------------------------------------------- formerly "non-differentiable"

def test_mod_is_differentiable():
    check_grads(lambda x, y: (x % y) * x, 5.3, 2.1, order=2)
    check_grads(lambda x, y: (x % y) * x, -5.3, 2.1, order=2)
    assert gradient(lambda x, y: x % y, 5.3, 2.0) == (1.0, -2.0)


def test_copysign():
    check_grads(lambda x, y: math.copysign(x, y) * x, 1.3, -2.1, order=2)
    check_grads(lambda x, y: math.copysign(x, y) * x, -1.3, 2.1, order=2)


def _sorted_loss(a, b, c):
    lo, mid, hi = sorted([a, b, c])
    return lo * 1.0 + mid * 2.0 * a + hi * 3.0


@pytest.mark.parametrize("args", [(2.0, 1.0, 3.0), (0.5, 2.5, -1.0)])
def test_sorted_list_of_scalars(args):
    check_grads(_sorted_loss, *args, order=2)
    check_grads(lambda a, b, c: sorted((a, b, c), reverse=True)[0] * b, *args, order=2)
    check_grads(lambda a, b, c: sorted([a, b, c], key=lambda v: -v)[2] * c, *args, order=2)


def test_sorted_array():
    check_grads(lambda x: sorted(x)[0] * x[1] + sorted(x, reverse=True)[0] * 3.0, X, order=2)
    g, = gradient(lambda x: sorted(x)[0] + 2.0 * sorted(x)[2], X)
    np.testing.assert_array_equal(g, [1.0, 0.0, 2.0])
    _, t = jvp(lambda x: sorted(x)[0] + 2.0 * sorted(x)[2], (X,), (np.array([1., 10., 100.]),))
    assert t == 201.0


def test_sorted_of_what_has_no_gradient_is_none_or_refused():
    d = {"b": 1.0, "a": 2.0}
    assert gradient(lambda x: x * len(sorted(d)) + x * sorted(d)[0].count("a"), 1.5) == (3.0,)
    with pytest.raises(ad_compiler.NoAdjointError, match="iter"):
        gradient(lambda x: sorted(iter([x, 2.0]))[0], 1.0)
    with pytest.raises(ad_compiler.NoAdjointError, match=r"sorted\(\) of a set"):
        RB.sorted_grad([1.0, 0.0], {2.0, 1.0})


def test_str_and_hash_are_refused_when_their_result_is_used():
    with pytest.raises(ad_compiler.NoAdjointError, match="str"):
        gradient(lambda x: float(str(x)) * 2.0, 1.5)
    with pytest.raises(ad_compiler.NoAdjointError, match="hash"):
        gradient(lambda x: hash(x) + x, 1.5)
    assert gradient(lambda x: len(str(x)) * 0.0 + x * 2.0, 1.5) == (2.0,)  # len(): constant


def test_enumerate_still_walks_values():
    def f(x):
        s = 0.0
        for i, v in enumerate(x):
            s = s + v * (i + 1)
        return s + list(enumerate(x))[1][1] * 2.0
    check_grads(f, X, order=2)


def test_abs_of_scalars_keeps_sign_convention():
    assert gradient(abs, 0.0) == (0.0,) and gradient(abs, -2.0) == (-1.0,)
    check_grads(lambda x: abs(x) * x, -0.7, order=2)
