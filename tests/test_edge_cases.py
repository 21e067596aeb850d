"""Edge cases: every reduction over one element, every power and division at 0.

The conventions (runtime/rules/numpy.py, basic.py):

* a reduction over one element is exact: ``std``/``var`` of one element
  (``ddof=0``) are identically 0, so is their gradient; with ``ddof=1`` the
  value is NaN and so is the gradient;
* ``x ** y`` has slope 0 in ``x`` where ``y == 0`` (``x ** 0`` is constant,
  even at ``x == 0``) and slope 0 in ``y`` where ``x == 0`` (JAX's choice, and
  the finite difference's for ``y > 0``);
* where the slope is infinite (``x ** 0.5``, ``sqrt`` at 0) NumPy values give
  inf and Python floats raise ``ZeroDivisionError``, as the same arithmetic does;
  where the function itself fails (``0.0 / x`` at 0) the gradient fails too.
"""
import math
import warnings

import numpy as np
import pytest

import ad_compiler
from ad_compiler import gradient
from ad_compiler.checks import check_grads

W3 = np.array([0.7, -1.3, 2.0])
X31 = np.array([[0.7], [0.2], [-1.1]])

REDUCTIONS = [             # (name, f(a), f(a) over axis 1)
    ("sum", np.sum, lambda a: np.sum(a, axis=1)), ("mean", np.mean, lambda a: np.mean(a, 1)),
    ("prod", np.prod, lambda a: np.prod(a, axis=1)), ("max", np.max, lambda a: np.max(a, 1)),
    ("min", np.min, lambda a: np.min(a, axis=1)), ("amax", np.amax, lambda a: np.amax(a, 1)),
    ("amin", np.amin, lambda a: np.amin(a, 1)), ("std", np.std, lambda a: np.std(a, axis=1)),
    ("var", np.var, lambda a: np.var(a, axis=1)),
    ("norm", np.linalg.norm, lambda a: np.linalg.norm(a, axis=1)),
    ("cumsum", lambda a: np.sum(np.cumsum(a) * 1.5), lambda a: np.cumsum(a, axis=1)[:, 0]),
    ("method-sum", lambda a: a.sum(), lambda a: a.sum(1)),
    ("method-prod", lambda a: a.prod(), lambda a: a.prod(axis=1)),
    ("method-max", lambda a: a.max(), lambda a: a.max(axis=1)),
    ("method-std", lambda a: a.std(), lambda a: a.std(axis=1)),
    ("method-var", lambda a: a.var(), lambda a: a.var(axis=1)),
    ("method-mean", lambda a: a.mean(), lambda a: a.mean(axis=1)),
    ("method-cumsum", lambda a: np.sum(a.cumsum() * 1.5), lambda a: a.cumsum(1)[:, 0]),
]
SINGLE = [("float", 0.7), ("1", np.array([0.7])), ("0-d", np.array(0.7)),
          ("1x1", np.array([[0.7]]))]
EXPECTED = {"std": 0.0, "var": 0.0, "method-std": 0.0, "method-var": 0.0, "cumsum": 1.5,
            "method-cumsum": 1.5}


@pytest.mark.parametrize("name, fn, _", REDUCTIONS, ids=[c[0] for c in REDUCTIONS])
@pytest.mark.parametrize("label, x", SINGLE, ids=[n for n, _ in SINGLE])
def test_reduction_of_one_element(name, fn, _, label, x):
    if name.startswith("method") and label == "float":
        x = np.float64(x)                 # a Python float has no .sum()
    check_grads(lambda a: fn(a) * 1.5, x, order=2)
    g, = gradient(fn, x)
    assert np.all(g == EXPECTED.get(name, 1.0)), g


@pytest.mark.parametrize("name, _, fn", REDUCTIONS, ids=[c[0] for c in REDUCTIONS])
def test_reduction_over_an_axis_of_length_one(name, _, fn):
    check_grads(lambda a: np.sum(fn(a) * W3), X31, order=2)


def test_std_of_one_element_is_zero_not_nan():
    g, = gradient(lambda a: np.sum(np.std(a, axis=1)), np.ones((3, 1)))
    np.testing.assert_array_equal(g, np.zeros((3, 1)))
    g, = gradient(lambda a: np.sum(np.std(a, axis=1, keepdims=True) * W3[:, None]), X31)
    np.testing.assert_array_equal(g, np.zeros((3, 1)))
    mask = np.array([[True, True], [True, False]])    # one element left in the second row
    x = np.array([[0.3, 1.2], [0.5, 9.0]])
    check_grads(lambda a: np.sum(np.std(a, axis=1, where=mask) * W3[:2]), x, order=2)


def test_one_element_with_ddof_1_is_nan_like_the_value():
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)     # "Degrees of freedom <= 0"
        assert np.isnan(np.var(np.array([0.7]), ddof=1))
        g, = gradient(lambda a: np.var(a, ddof=1), np.array([0.7]))
    assert np.isnan(g).all()


def test_builtin_reductions_of_one_item():
    check_grads(lambda x: sum([x]) * 2.0 + max([x]) + min([x, ]), 0.7, order=2)


def test_cumprod_is_refused_at_any_size():
    with pytest.raises(ad_compiler.NoAdjointError, match="cumprod"):
        gradient(lambda a: np.sum(np.cumprod(a)), np.array([0.7]))


# ---------------------------------------------------------------- powers and divisions at 0

FINITE_AT_ZERO = [          # (name, f, slope at 0)
    ("x**0", lambda x: x ** 0, 0.0), ("x**0.0", lambda x: x ** 0.0, 0.0),
    ("x**1", lambda x: x ** 1, 1.0), ("x**2", lambda x: x ** 2, 0.0),
    ("x**3", lambda x: x ** 3, 0.0), ("x**2.0", lambda x: x ** 2.0, 0.0),
    ("power-0", lambda x: np.power(x, 0.0), 0.0), ("power-2", lambda x: np.power(x, 2), 0.0),
    ("float_power-0", lambda x: np.float_power(x, 0), 0.0),
    ("square", lambda x: np.square(x), 0.0), ("x/2", lambda x: x / 2.0, 0.5),
    ("divide", lambda x: np.divide(x, 4.0), 0.25), ("x*x/(1+x)", lambda x: x * x / (1 + x), 0.0),
]


@pytest.mark.parametrize("name, f, slope", FINITE_AT_ZERO, ids=[c[0] for c in FINITE_AT_ZERO])
def test_finite_slope_at_zero(name, f, slope):
    assert gradient(f, 0.0) == (slope,)
    g, = gradient(lambda a: np.sum(f(a)), np.zeros(2))
    np.testing.assert_array_equal(g, [slope, slope])
    check_grads(lambda a: f(a) * 1.5 + a, 0.0, order=2)
    check_grads(lambda a: np.sum(f(a) * W3[:2]), np.zeros(2), order=2)


@pytest.mark.parametrize("fn", [math.pow, np.power, np.float_power, lambda x, y: x ** y],
                         ids=["math.pow", "power", "float_power", "**"])
def test_power_at_zero_base(fn):
    assert gradient(fn, 0.0, 0.0) == (0.0, 0.0)       # x ** 0 is constant, 0 ** y too (y>0)
    assert gradient(fn, 0.0, 2.0) == (0.0, 0.0)
    assert gradient(fn, 0.0, 1.0) == (1.0, 0.0)
    # Finite differences step to x < 0, where the slope in y (log x) is undefined: the
    # second order is checked in x alone.
    for y in (1.0, 2.0, 3.0):
        check_grads(lambda a, b: fn(a, b) * 2.0, 0.0, y)
        check_grads(lambda a: fn(a, y) * 2.0, 0.0, order=2)


INFINITE_AT_ZERO = [("x**0.5", lambda x: x ** 0.5), ("power-0.5", lambda x: np.power(x, 0.5)),
                    ("sqrt", lambda x: np.sqrt(x)), ("cbrt", lambda x: np.cbrt(x))]


@pytest.mark.parametrize("name, f", INFINITE_AT_ZERO, ids=[c[0] for c in INFINITE_AT_ZERO])
def test_infinite_slope_at_zero_is_inf_for_arrays(name, f):
    with np.errstate(divide="ignore"):
        g, = gradient(lambda a: np.sum(f(a)), np.zeros(2))
    np.testing.assert_array_equal(g, [np.inf, np.inf])


def test_infinite_slope_at_zero_raises_for_python_floats():
    for f in (lambda x: x ** 0.5, lambda x: math.sqrt(x), lambda x: math.pow(x, 0.5)):
        with pytest.raises(ZeroDivisionError):
            gradient(f, 0.0)


def test_division_by_zero_fails_like_the_function():
    with pytest.raises(ZeroDivisionError):
        (lambda x: 0.0 / x)(0.0)
    with pytest.raises(ZeroDivisionError):
        gradient(lambda x: 0.0 / x, 0.0)
    with pytest.raises(ZeroDivisionError):
        gradient(lambda x: x ** -1.0, 0.0)
    with np.errstate(all="ignore"):
        g, = gradient(lambda a: np.sum(0.0 / a), np.zeros(2))
        assert np.isnan(g).all()                     # 0 / 0 is NaN, and so is its slope
        g, = gradient(lambda a: np.sum(np.reciprocal(a)), np.zeros(2))
        assert np.isinf(g).all()


def test_zero_numerator_is_exact():
    assert gradient(lambda x, y: x / y, 0.0, 2.0) == (0.5, -0.0)
    check_grads(lambda x, y: x / y, 0.0, 2.0, order=2)
    check_grads(lambda x, y: np.sum(np.divide(x, y)), np.zeros(2), np.array([2.0, -3.0]),
                order=2)
