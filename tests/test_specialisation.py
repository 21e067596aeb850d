"""A compiled specialisation is reused only when everything it assumed holds;
the gradient fails where the function fails; Python ints stay ints.

Values are checked against finite differences (``check_grads`` or by hand)
at first and second order, and in forward mode.
"""
import functools
import sys
import types

import numpy as np
import pytest

from ad_compiler import (MissingReturnError, NonScalarOutputError, check_grads, clear_cache,
                         grad, gradient, jvp, withgradient)


def fd(f, x, eps=1e-6):
    """Central difference of a scalar function of one float."""
    return (f(x + eps) - f(x - eps)) / (2 * eps)


# ---------------------------------------------------------------- defaults are inputs

def test_lambda_defaults_are_read_at_call_time():
    fs = [lambda x, k=k: x * k for k in (1.0, 2.0, 3.0)]
    assert [gradient(f, 1.0)[0] for f in fs] == [1.0, 2.0, 3.0]
    assert [withgradient(f, 1.0).grad[0] for f in fs] == [1.0, 2.0, 3.0]
    assert [grad(f)(1.0) for f in fs] == [1.0, 2.0, 3.0]
    assert [jvp(f, (1.0,), (1.0,))[1] for f in fs] == [1.0, 2.0, 3.0]
    # second order: d/dx (x * k * x) = 2 k x
    sq = [lambda x, k=k: x * k * x for k in (1.0, 2.0, 3.0)]
    assert [gradient(lambda x: gradient(f, x)[0], 1.0)[0] for f in sq] == [2.0, 4.0, 6.0]


def make_loss(target):
    def loss(x, t=target):
        return (x - t) ** 2
    return loss


def make_lambda_loss(target):
    scale = 2.0
    return lambda x, t=target: scale * (x - t) ** 2


@pytest.mark.parametrize("factory, scale", [(make_loss, 1.0), (make_lambda_loss, 2.0)])
def test_factories_with_defaults(factory, scale):
    a, b = factory(0.0), factory(10.0)
    assert gradient(a, 1.0) == (scale * 2.0,)
    assert gradient(b, 1.0) == (scale * -18.0,)
    assert withgradient(b, 1.0).grad == (scale * -18.0,)
    assert gradient(a, 1.0) == (scale * 2.0,)
    assert gradient(lambda x: gradient(b, x)[0], 1.0) == (scale * 2.0,)
    for f in (a, b):
        check_grads(f, 1.5, order=2)


def test_keyword_only_defaults_and_their_changes():
    def f(x, *, k=1.0):
        return x * x * k

    assert gradient(f, 2.0) == (4.0,)
    f.__kwdefaults__ = {"k": 5.0}
    assert gradient(f, 2.0) == (20.0,)
    f.__kwdefaults__["k"] = 0.5                 # changed in place
    assert gradient(f, 2.0) == (2.0,)
    assert grad(f)(2.0) == 2.0
    assert jvp(f, (2.0,), (1.0,))[1] == 2.0
    assert gradient(lambda x: gradient(f, x)[0], 2.0) == (1.0,)


def test_positional_defaults_changed_after_compiling():
    def f(x, k=1.0):
        return x * k

    assert gradient(f, 1.0) == (1.0,)
    f.__defaults__ = (7.0,)
    assert gradient(f, 1.0) == (7.0,)
    assert withgradient(f, 1.0) == (7.0, (7.0,))
    f.__defaults__ = (np.array([1.0, 2.0]),)     # another kind: the output is an array now
    with pytest.raises(NonScalarOutputError):
        gradient(f, 1.0)


# ---------------------------------------------------------------- globals and cells

SCALE = 2.0


def scaled_square(x):
    return SCALE * x ** 2


def test_global_rebound_from_number_to_array_is_not_reused():
    global SCALE
    k = grad(scaled_square)
    try:
        assert gradient(scaled_square, 3.0) == (12.0,) and k(3.0) == 12.0
        SCALE = np.array([1.0, 2.0])
        with pytest.raises(NonScalarOutputError):
            gradient(scaled_square, 3.0)
        with pytest.raises(NonScalarOutputError):
            k(3.0)
        with pytest.raises(NonScalarOutputError):
            gradient(lambda x: gradient(scaled_square, x)[0], 3.0)
        SCALE = 3.0
        assert gradient(scaled_square, 3.0) == (18.0,) and k(3.0) == 18.0
        assert gradient(lambda x: gradient(scaled_square, x)[0], 3.0) == (6.0,)
    finally:
        SCALE = 2.0


CONFIG = types.ModuleType("specialisation_config")
CONFIG.scale = 2.0


def reads_module_attribute(x):
    return CONFIG.scale * x ** 2


def test_module_attribute_rebound_to_an_array_is_not_reused():
    sys.modules[CONFIG.__name__] = CONFIG
    try:
        assert gradient(reads_module_attribute, 3.0) == (12.0,)
        CONFIG.scale = np.array([1.0, 2.0])
        with pytest.raises(NonScalarOutputError):
            gradient(reads_module_attribute, 3.0)
        CONFIG.scale = 3.0
        assert gradient(reads_module_attribute, 3.0) == (18.0,)
    finally:
        CONFIG.scale = 2.0
        del sys.modules[CONFIG.__name__]


def helper(x):
    return x * x


def calls_helper(x):
    return helper(x) + x


def test_a_redefined_global_function_is_used():
    global helper
    saved = helper
    try:
        assert gradient(calls_helper, 2.0) == (5.0,)
        helper = lambda x: x ** 3           # noqa: E731
        assert gradient(calls_helper, 2.0) == (13.0,)
        assert jvp(calls_helper, (2.0,), (1.0,)) == (10.0, 13.0)
        assert gradient(lambda x: gradient(calls_helper, x)[0], 2.0) == (12.0,)
    finally:
        helper = saved


def uses_abs(x):
    return abs(x) * 2.0


def test_a_global_that_shadows_a_builtin_later_is_used():
    assert gradient(uses_abs, -3.0) == (-2.0,)
    globals()["abs"] = lambda v: v * v
    try:
        assert gradient(uses_abs, -3.0) == (-12.0,)
    finally:
        del globals()["abs"]
    assert gradient(uses_abs, -3.0) == (-2.0,)


def test_closure_cell_rebound_to_an_array():
    a = 2.0
    k = lambda x: a * x ** 2                 # noqa: E731
    assert gradient(k, 3.0) == (12.0,)
    a = np.array([1.0, 2.0])
    with pytest.raises(NonScalarOutputError):
        gradient(k, 3.0)
    a = 1.0
    assert gradient(k, 3.0) == (6.0,)
    assert jvp(k, (3.0,), (1.0,)) == (9.0, 6.0)


# ---------------------------------------------------------------- C5 and zero gradients

def const():
    return 0.5


def ignores_x(x, y):
    x = const()
    return 0.5 * y


def test_second_call_of_a_function_whose_first_call_worked():
    first = gradient(ignores_x, 1.0, 2.0)
    assert first == (0.0, 0.5)
    assert gradient(ignores_x, 1.0, 2.0) == first
    assert gradient(ignores_x, 3.0, 4.0) == first
    assert all(type(g) is float for g in gradient(ignores_x, 1.0, 2.0))
    g = grad(ignores_x, (0, 1))
    assert g(1.0, 2.0) == first and g(1.0, 2.0) == first
    assert withgradient(ignores_x, 1.0, 2.0) == (1.0, first)
    assert gradient(lambda y: gradient(ignores_x, 1.0, y)[1] * y, 2.0) == (0.5,)


def test_jvp_of_a_constant_output_is_a_zero_of_its_type():
    assert jvp(lambda x: const(), (1.0,), (1.0,)) == (0.5, 0.0)
    y, dy = jvp(lambda x: np.ones(3) * const(), (1.0,), (1.0,))
    np.testing.assert_array_equal(dy, np.zeros(3))
    assert dy.shape == y.shape
    y, dy = jvp(lambda x: (const(), x), (1.0,), (1.0,))
    assert dy == (0.0, 1.0)


def test_clear_cache_empties_every_cache():
    from ad_compiler import compiler
    from ad_compiler.front import source
    from ad_compiler.runtime import plan

    def f(x):
        return x ** 3

    df = grad(f)
    assert df(2.0) == 12.0 and df(2.0) == 12.0 and gradient(f, 2.0) == (12.0,)
    assert gradient(f, 2.0) == (12.0,)
    assert compiler._CACHE and plan.PLANS and plan.FAST and source._SOURCES
    assert any(s.fast is not None for s in plan._SLOTS)
    clear_cache()
    assert not compiler._CACHE and not plan.PLANS and not plan.FAST and not source._SOURCES
    assert all(s.fast is None for s in plan._SLOTS)
    assert df(2.0) == 12.0 and gradient(f, 2.0) == (12.0,)


# ---------------------------------------------------------------- the function's own failure

def square(x):
    return x * x


@pytest.mark.parametrize("bad", ["abc", None])
def test_the_gradient_fails_where_the_function_fails(bad):
    with pytest.raises(TypeError) as expected:
        square(bad)
    for attempt in (lambda: gradient(square, bad), lambda: grad(square)(bad),
                    lambda: withgradient(square, bad)):
        with pytest.raises(type(expected.value)):
            attempt()
    with pytest.raises(TypeError):
        gradient(lambda x: x * x, bad)


def test_a_string_the_function_can_use_is_fine():
    def f(x, mode):
        return x * 2.0 if mode == "double" else x

    assert gradient(f, 3.0, "double") == (2.0, None)
    assert gradient(f, 3.0, "same") == (1.0, None)
    assert gradient(lambda s: 1.0, "abc") == (None,)


def test_a_forgotten_return_is_named():
    def forgot(x):
        y = x * x  # noqa: F841

    with pytest.raises(MissingReturnError) as e:
        gradient(forgot, 1.0)
    assert str(e.value).startswith("test_specialisation.py:%d: forgot returns None"
                                   % forgot.__code__.co_firstlineno)
    with pytest.raises(NonScalarOutputError):      # (a subclass of it)
        grad(forgot)(1.0)


# ---------------------------------------------------------------- Python ints

def power_sum(a, n):
    s = 0.0
    for i in range(n):
        s = s + a ** i
    return s


def power_rec(x, n):
    if n == 0:
        return 1.0
    return x * power_rec(x, n - 1)


INT_CASES = [
    ("range", power_sum, 1.5, 4),
    ("index", lambda x, n: x * np.arange(1.0, 6.0)[n] ** 2, 1.5, 2),
    ("slice", lambda x, n: np.sum(np.arange(1.0, 6.0)[:n] * x ** 2), 1.5, 3),
    ("ones", lambda x, n: np.sum(np.ones(n) * x ** 3), 1.5, 4),
    ("zeros-shape", lambda x, n: np.sum(np.zeros((n, 2)) + x * x), 1.5, 3),
    ("recursion", power_rec, 1.5, 4),
]


@pytest.mark.parametrize("name, f, x, n", INT_CASES, ids=[c[0] for c in INT_CASES])
def test_an_int_that_counts_or_indexes_stays_an_int(name, f, x, n):
    gx, gn = gradient(f, x, n)
    assert gn == 0.0 and type(gn) is float
    assert abs(gx - fd(lambda v: f(v, n), x)) < 1e-6 * max(1.0, abs(gx))
    check_grads(lambda v: f(v, n), x, order=2)
    d2 = gradient(lambda v: gradient(f, v, n)[0], x)[0]
    assert abs(d2 - fd(lambda v: gradient(f, v, n)[0], x)) < 1e-5 * max(1.0, abs(d2))
    value, tangent = jvp(f, (x, n), (1.0, None))
    assert value == f(x, n) and abs(tangent - gx) < 1e-9 * max(1.0, abs(gx))
    _, tangent_n = jvp(f, (x, n), (0.0, 1.0))
    assert tangent_n == 0.0


def test_array_index_and_slice_by_an_int():
    x = np.arange(1.0, 6.0)
    gx, gn = gradient(lambda x, n: x[n] ** 2 + np.sum(x[:n]), x, 2)
    np.testing.assert_allclose(gx, [1.0, 1.0, 6.0, 0.0, 0.0])
    assert gn == 0.0
    check_grads(lambda x: x[2] ** 2 + np.sum(x[:2]), x, order=2)
    y, dy = jvp(lambda x, n: x[n] ** 2, (x, 2), (np.ones(5), None))
    assert (y, dy) == (9.0, 6.0)


def test_an_int_that_is_a_number_is_differentiated_as_a_real():
    assert gradient(lambda x: x ** 2, 3) == (6.0,)
    assert type(gradient(lambda x: x ** 2, 3)[0]) is float
    assert grad(lambda x: x ** 3)(2) == 12.0
    gx, gn = gradient(lambda x, n: n * x, 2.5, 3)
    assert (gx, gn) == (3.0, 2.5) and type(gn) is float
    assert abs(gn - fd(lambda m: m * 2.5, 3.0)) < 1e-6
    assert gradient(lambda n: gradient(lambda m: m * m * m, n)[0], 3) == (18.0,)
    assert jvp(lambda x: x ** 3, (2,), (1,)) == (8, 12.0)     # the value is f(2) itself
    assert withgradient(lambda n: n * 2, 3) == (6, (2.0,))


def test_an_int_argument_runs_the_function_with_the_int():
    def f(x, n):
        return x * np.ones(n).sum()

    with pytest.raises(TypeError):
        f(2.0, 3.0)                      # so a float n would not do
    assert gradient(f, 2.0, 3) == (3.0, 0.0)
    assert jvp(f, (2.0, 3), (1.0, None)) == (6.0, 3.0)
    assert gradient(lambda x: gradient(f, x, 3)[0] * x, 2.0) == (3.0,)


# ---------------------------------------------------------------- wrappers

def scaled(x, y, k=1.0):
    return x * y * k


@functools.lru_cache(maxsize=None)
def cached_cube(x):
    return x ** 3


def test_partial_is_differentiated_with_its_bound_arguments():
    p = functools.partial(scaled, k=3.0)
    assert gradient(p, 1.5, 2.0) == (6.0, 4.5)
    assert grad(p)(1.5, 2.0) == 6.0
    assert jvp(p, (1.5, 2.0), (1.0, 0.0)) == (9.0, 6.0)
    q = functools.partial(scaled, 2.0)
    assert gradient(q, 1.5) == (2.0,)
    assert gradient(lambda x: p(x, 2.0) * x, 1.5) == (18.0,)          # inside code
    assert gradient(lambda x: gradient(lambda v: p(v, v), x)[0], 1.5) == (6.0,)
    check_grads(lambda x: p(x, x) * x, 1.5, order=2)


def test_lru_cache_is_differentiated_through_the_wrapped_function():
    assert gradient(cached_cube, 2.0) == (12.0,)
    assert gradient(lambda x: cached_cube(x) + x, 2.0) == (13.0,)
    assert gradient(lambda x: gradient(lambda v: cached_cube(v), x)[0], 2.0) == (12.0,)
    assert jvp(lambda x: cached_cube(x), (2.0,), (1.0,)) == (8.0, 12.0)
