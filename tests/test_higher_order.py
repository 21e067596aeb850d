"""Derivatives of any order, forward mode, hessian, jacobian, hvp."""
import math

import numpy as np
import pytest

import test_calls
import test_control_flow as CF
import test_mutation
import ad_compiler
from ad_compiler import adjoint_source, grad, gradient, hessian, hvp, jacobian, jvp
from ad_compiler.checks import check_grads


def f(x):
    return 3 * x ** 2 + 2 * x + 1


def test_seed_second_derivative():
    df = lambda x: gradient(f, x)[0]  # noqa: E731
    d2f = lambda x: gradient(df, x)[0]  # noqa: E731
    assert d2f(2) == 6.0


def test_grad_of_grad_to_fourth_order():
    assert grad(grad(f))(2.0) == 6.0
    assert grad(grad(grad(f)))(2.0) == 0.0

    def g(x):
        return math.exp(2 * x) * math.sin(x)

    x = 0.7
    expected = [
        math.exp(2 * x) * (2 * math.sin(x) + math.cos(x)),
        math.exp(2 * x) * (3 * math.sin(x) + 4 * math.cos(x)),
        math.exp(2 * x) * (2 * math.sin(x) + 11 * math.cos(x)),
        math.exp(2 * x) * (24 * math.cos(x) - 7 * math.sin(x)),
    ]
    d = g
    for k, want in enumerate(expected, 1):
        d = grad(d)
        assert d(x) == pytest.approx(want, rel=1e-12), k


def test_nested_lambdas_and_starred_forms_agree():
    g = lambda x: x ** 5  # noqa: E731
    s1 = lambda *a: gradient(g, *a)[0]  # noqa: E731
    s2 = lambda *a: gradient(s1, *a)[0]  # noqa: E731
    s3 = lambda *a: gradient(s2, *a)[0]  # noqa: E731
    assert gradient(s3, 0.7)[0] == pytest.approx(120 * 0.7)


def test_closure_over_an_outer_differentiated_variable():
    # d/dy [d/dx (x * y)] = 1, through the inner function's closure
    assert gradient(lambda y: gradient(lambda x: x * y, y)[0], 3.0) == (1.0,)
    # d/dx (x^2 y^3) at x = y is 2 y^4, whose derivative is 8 y^3 (64 at y = 2):
    # the inner function's closure over y and its argument both count.
    outer = lambda y: gradient(lambda x: x ** 2 * y ** 3, y)[0]  # noqa: E731
    assert gradient(outer, 2.0)[0] == pytest.approx(8 * 2.0 ** 3)


def test_jvp_examples():
    assert jvp(lambda x, y: x * y, (2.0, 3.0), (1.0, 0.0)) == (6.0, 3.0)
    y, dy = jvp(lambda v: np.sum(np.sin(v) * v), (np.array([1.0, 2.0]),),
                (np.array([1.0, 0.0]),))
    assert dy == pytest.approx(np.cos(1.0) + np.sin(1.0))


def test_jacobian_examples():
    Ja, Jx = jacobian(lambda a, x: a ** 2 * x, np.array([1.0, 2.0, 3.0]), 1.0)
    np.testing.assert_allclose(Ja, np.diag([2.0, 4.0, 6.0]))
    np.testing.assert_allclose(Jx, [1.0, 4.0, 9.0])
    (J,) = jacobian(np.cumsum, np.array([1.0, 2.0, 3.0]))
    np.testing.assert_array_equal(J, np.tril(np.ones((3, 3))))


def test_jacobian_uses_forward_mode_for_small_inputs():
    (J,) = jacobian(lambda x: np.array([x, x ** 2, x ** 3]) * 1.0, 2.0)
    np.testing.assert_allclose(J, [1.0, 4.0, 12.0])


def test_hessian_examples():
    H = hessian(lambda x: np.sum(x ** 3), [1, 2, 3, 4])
    np.testing.assert_array_equal(H, np.diag([6.0, 12.0, 18.0, 24.0]))
    assert hessian(np.sin, math.pi / 2) == -1.0


def test_hvp_matches_hessian():
    A = np.array([[2.0, 1.0, 0.0], [1.0, 3.0, 1.0], [0.0, 1.0, 4.0]])
    fq = lambda x: 0.5 * x @ A @ x + np.sum(np.sin(x))  # noqa: E731
    x = np.array([0.1, -0.2, 0.3])
    v = np.array([1.0, 2.0, -1.0])
    H = hessian(fq, x)
    np.testing.assert_allclose(H, A - np.diag(np.sin(x)), atol=1e-12)
    np.testing.assert_allclose(hvp(fq, x, v), H @ v, atol=1e-12)


SCALAR = [fn for fn in CF.SCALAR_CASES if fn is not CF.assert_statement]


def zeroed_in_loop(x, y):
    z = x
    for i in range(3):
        x = (2.0 * y) * math.sin(2.0)      # x's adjoint is zeroed at each step's end
    return x * y + x * z


def loop_reads_a_copy(x, y):
    z = x * 0.5 + 2.0
    for i in range(3):
        x = math.cos(x) + (z + 0.5)       # dz = d_t1 is copy-propagated into the loop
    return math.tanh(x * 1.3 + 0.5 * x)


def scaled_sine(a, b):
    return a * np.sin(b) + b


def loop_over_a_call_result(v, s):
    v1 = scaled_sine(v * 0.5, v)            # a callee's result: its kind is unknown
    v2 = v * 1.0
    for i in range(3):
        v2 = np.sin(s) * v1                 # bv2 is zeroed at each reverse step's end
    return np.sum(v * np.cos(v2))


FUZZED = [(zeroed_in_loop, (0.37, -0.81)), (loop_reads_a_copy, (0.37, -0.81)),
          (loop_over_a_call_result, (np.array([0.3, -0.7, 0.45]), 0.6))]


@pytest.mark.parametrize("fn, args", FUZZED, ids=[c[0].__name__ for c in FUZZED])
def test_second_order_of_fuzzed_loops(fn, args):
    """Found by a random-program fuzz run.  zeroed_in_loop: an adjoint set
    before the reverse loop and zero after each step needs a None-guarded
    tangent (it was a TypeError).  loop_reads_a_copy: a copy propagated
    into a loop body left stale facts on the body's statements, so dead-code
    elimination dropped the definition it now reads (a NameError).
    loop_over_a_call_result: the same as the first, in reverse mode, for an
    adjoint whose zero is None (a TypeError at first order)."""
    check_grads(fn, *args, order=2)


@pytest.mark.parametrize("fn", SCALAR, ids=lambda fn: fn.__name__)
def test_second_order_control_flow_scalar(fn):
    check_grads(fn, 0.7, order=2)


@pytest.mark.parametrize("fn", CF.VECTOR_CASES, ids=lambda fn: fn.__name__)
def test_second_order_control_flow_vector(fn):
    check_grads(fn, CF.V, order=2)


@pytest.mark.parametrize("fn", CF.MATRIX_CASES, ids=lambda fn: fn.__name__)
def test_second_order_control_flow_matrix(fn):
    check_grads(fn, CF.M, order=2)


@pytest.mark.parametrize("fn", test_calls.CASES, ids=lambda fn: fn.__name__)
def test_second_order_calls(fn):
    check_grads(fn, test_calls.V, order=2)


@pytest.mark.parametrize("fn", test_mutation.CASES, ids=lambda fn: fn.__name__)
def test_second_order_mutation(fn):
    check_grads(fn, test_mutation.V, order=2)


def test_third_order_through_a_loop():
    check_grads(CF.while_with_counter, 0.4, order=3)


def test_adjoint_source_at_higher_orders_is_deterministic():
    poly = lambda x: x ** 4 + 2.0 * x      # noqa: E731
    text = adjoint_source(poly, 1.5, order=3)
    assert text == adjoint_source(poly, 1.5, order=3)
    assert text.count("# generated by ad_compiler") >= 2, text


def test_adjoint_source_of_an_array_function_shows_the_hvp_code():
    f = lambda x: np.sum(np.tanh(x) ** 2)      # noqa: E731
    x = np.array([0.1, 0.2])
    text = adjoint_source(f, x, order=2)
    assert "jvp" in text and text == adjoint_source(f, x, order=2)
    with pytest.raises(ad_compiler.ADError, match="order 3 with an array argument"):
        adjoint_source(f, x, order=3)
