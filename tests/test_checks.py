"""The checker itself: it must catch wrong rules, not just pass right ones."""
import numpy as np
import pytest

from ad_compiler import ADError
from ad_compiler.checks import check_grads, numerical_gradient
from ad_compiler.runtime.core.registry import defvjp


def wrong_sin(x):
    return np.sin(x)


def wrong_scale(x, y):
    return x * y


def wrong_shape(x):
    return x * 2.0


defvjp(wrong_sin, lambda g, ans, x: g * np.sin(x))                 # should be cos
defvjp(wrong_scale, lambda g, ans, x, y: g * y,
       lambda g, ans, x, y: g * x * 1.0001)                        # 0.01% off in y
defvjp(wrong_shape, lambda g, ans, x: np.sum(g) * 2.0)             # loses the shape


def test_catches_a_wrong_derivative():
    with pytest.raises(AssertionError, match="argument 0 at \\(0,\\): analytic"):
        check_grads(lambda x: np.sum(wrong_sin(x)), np.array([0.3, 0.7]))


def test_catches_a_small_error_in_one_argument_only():
    f = lambda x, y: np.sum(wrong_scale(x, y))  # noqa: E731
    with pytest.raises(AssertionError, match="argument 1"):
        check_grads(f, np.array([1.0, 2.0]), np.array([3.0, 4.0]))


def test_catches_a_wrong_shape():
    with pytest.raises((AssertionError, ADError), match="shape"):
        check_grads(lambda x: np.sum(wrong_shape(x)), np.array([1.0, 2.0]))


def test_catches_errors_in_large_arrays_by_random_directions():
    with pytest.raises(AssertionError, match="random direction"):
        check_grads(lambda x: np.sum(wrong_sin(x)), np.linspace(0.1, 1.0, 100))


def test_passes_correct_rules_on_scalars_arrays_and_structures():
    check_grads(lambda x: x ** 3, 1.5)
    check_grads(lambda x: np.sum(np.sin(x) ** 2), np.linspace(0.1, 1.0, 100))
    check_grads(lambda p: p[0] * np.sum(p[1]), (2.0, np.array([1.0, 2.0])))


def test_numerical_gradient_is_accurate():
    g = numerical_gradient(lambda x: np.sum(x ** 3), (np.array([1.0, 2.0]),), 0, ())
    np.testing.assert_allclose(g, [3.0, 12.0], rtol=1e-8)


def right_vjp_wrong_jvp(x):
    return np.sin(x)


defvjp(right_vjp_wrong_jvp, lambda g, ans, x: g * np.cos(x))


def test_catches_a_wrong_forward_rule_at_second_order():
    """The reverse gradient uses only the reverse rule; order 2 runs the
    forward rule over the adjoint, so a wrong tangent rule must fail there,
    and the first-order forward check (jvp against the gradient) catches it."""
    from ad_compiler.runtime.core.registry import defjvp
    defjvp(right_vjp_wrong_jvp, lambda d, ans, x: d * np.cos(x) * 1.01)
    f = lambda x: np.sum(right_vjp_wrong_jvp(x) ** 2)  # noqa: E731
    check_grads(f, np.array([0.3, 0.7]), modes=("rev",))
    with pytest.raises(AssertionError, match="analytic"):
        check_grads(f, np.array([0.3, 0.7]), order=2, modes=("rev",))
    with pytest.raises(AssertionError, match="forward mode"):
        check_grads(f, np.array([0.3, 0.7]))
