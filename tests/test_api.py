"""The public API on the seed documents' examples, with exact values."""
import numpy as np
import pytest

from ad_compiler import (ADError, ArgumentError, NonScalarOutputError, grad, gradient, pullback,
                         withgradient)


def f(x):
    return 3 * x ** 2 + 2 * x + 1


def test_seed_polynomial_first_derivative():
    df = lambda x: gradient(f, x)[0]  # noqa: E731
    assert df(2) == 14.0
    assert type(df(2)) is float


def test_seed_two_arrays_int_inputs_treated_as_reals():
    gx, gy = gradient(lambda x, y: np.sum((x - y) ** 2), np.array([2, 1]), np.array([2, 0]))
    np.testing.assert_array_equal(gx, [0.0, 2.0])
    np.testing.assert_array_equal(gy, [-0.0, -2.0])
    assert gx.dtype == np.float64 and np.signbit(gy[0])


def test_seed_linear_regression_step_decreases_loss():
    rng = np.random.RandomState(0)
    x, y = rng.rand(5), rng.rand(2)
    W, b = rng.rand(2, 5), rng.rand(2)

    def loss(W, b):
        y_hat = W @ x + b
        return np.sum((y - y_hat) ** 2)

    dW, db = gradient(loss, W, b)
    assert dW.shape == W.shape and db.shape == b.shape
    before = loss(W, b)
    W = W - 0.1 * dW
    assert loss(W, b) < before


def test_gradient_types_per_argument():
    out = gradient(lambda x, a, flag, fn: x * np.sum(a) if flag else fn(x), 2.0, np.ones(2),
                   True, abs)
    assert out[0] == 2.0 and type(out[0]) is float
    np.testing.assert_array_equal(out[1], [2.0, 2.0])
    assert out[2] is None and out[3] is None


def test_unused_argument_gets_zero_of_its_kind():
    gx, gy = gradient(lambda x, y: x * 2.0, 1.0, np.ones(3))
    assert gx == 2.0 and type(gx) is float
    np.testing.assert_array_equal(gy, np.zeros(3))


def test_withgradient_value_and_gradient():
    r = withgradient(lambda x: x * x, 3.0)
    assert r.val == 9.0 and r.grad == (6.0,)
    assert r == (9.0, (6.0,))


def test_withgradient_tuple_output_differentiates_first_element():
    r = withgradient(lambda x: (x * x, "aux", x + 1), 3.0)
    assert r.val == (9.0, "aux", 4.0)
    assert r.grad == (6.0,)


def test_pullback_seed_example():
    y, back = pullback(lambda a, b, c: a * b * c, 2.0, 3.0, 5.0)
    assert y == 30.0
    assert back(1.0) == (15.0, 10.0, 6.0)
    assert back(2.0) == (30.0, 20.0, 12.0)


def test_pullback_array_output():
    y, back = pullback(lambda x: np.sin(x) * 2.0, np.array([0.0, 1.0]))
    (gx,) = back(np.array([1.0, 0.5]))
    np.testing.assert_allclose(gx, [2.0, np.cos(1.0)])


def _loop_with_branch(x, n):
    s = 0.0
    for i in range(n):
        if x[i % 2] > 0:
            s = s + np.sum(x * x) * i
        else:
            s = s - x[0]
    return s


def test_pullback_back_called_many_times():
    # loops save stacks that the backward sweep pops: a second call of back
    # once failed inside generated code (pop from an empty list)
    x = np.array([0.5, -1.5])
    y, back = pullback(_loop_with_branch, x, 4)
    first = back(1.0)
    again, doubled = back(1.0), back(2.0)
    np.testing.assert_allclose(again[0], first[0])
    np.testing.assert_allclose(doubled[0], 2 * first[0])
    np.testing.assert_allclose(first[0], gradient(_loop_with_branch, x, 4)[0])
    assert y == _loop_with_branch(x, 4) and list(x) == [0.5, -1.5]


def test_grad_transform_and_decorator():
    df = grad(f)
    assert df(2.0) == 14.0 and df(2) == 14.0

    @grad
    def g(x):
        return x ** 3

    assert g(2.0) == 12.0


def test_grad_wrt_int_and_tuple():
    h = lambda x, y: x * y * y  # noqa: E731
    assert grad(h, wrt=1)(2.0, 3.0) == 12.0
    assert grad(h, wrt=(0, 1))(2.0, 3.0) == (9.0, 12.0)


def test_gradient_nested_in_plain_python():
    df = lambda x: gradient(f, x)[0]  # noqa: E731
    assert [df(x) for x in (0.0, 1.0, 2.0)] == [2.0, 8.0, 14.0]


def test_non_scalar_output_is_an_error_naming_jacobian():
    with pytest.raises(NonScalarOutputError, match="use jacobian") as e:
        gradient(lambda x: x * 2.0, np.ones(3))
    assert "test_api.py:" in str(e.value)
    assert isinstance(e.value, ADError)


def test_zero_d_array_output_is_a_scalar():
    (g,) = gradient(lambda x: np.array(2.0) * x, 3.0)
    assert g == 2.0


def test_closure_values_are_read_at_call_time():
    c = [2.0]

    def make():
        k = c[0]
        return lambda x: k * x

    h = make()
    assert gradient(h, 1.0) == (2.0,)
    c[0] = 7.0
    assert gradient(make(), 1.0) == (7.0,)


def test_closure_cell_kind_change_takes_the_general_path():
    def make(c):
        return lambda x: np.sum(c * x)

    assert gradient(make(2.0), 3.0) == (2.0,)
    assert gradient(make(np.array([1.0, 2.0])), 3.0) == (3.0,)


DATA = np.array([[1.0, 2.0], [3.0, 4.0]])


def uses_global_data(w):
    return (DATA * w).sum() * SCALE


SCALE = 2.0


def test_global_arrays_are_specialised_and_may_be_rebound():
    global DATA, SCALE
    from ad_compiler import adjoint_source, compiler
    saved = DATA, SCALE
    try:
        text = adjoint_source(uses_global_data, np.ones(2))
        assert "call_fwd" not in text       # DATA's kind is known: .sum is inlined
        np.testing.assert_allclose(gradient(uses_global_data, np.ones(2))[0], [8.0, 12.0])
        before = len(compiler._CACHE)
        DATA = DATA * 10.0                   # same kind: the same code serves
        np.testing.assert_allclose(gradient(uses_global_data, np.ones(2))[0], [80.0, 120.0])
        assert len(compiler._CACHE) == before
        DATA, SCALE = np.array([1.0, 2.0]), np.float64(3.0)   # another ndim: rebuilt
        np.testing.assert_allclose(gradient(uses_global_data, np.ones(2))[0], [3.0, 6.0])
        DATA = 5.0                           # not an array at all
        np.testing.assert_allclose(gradient(uses_global_data, np.ones(2))[0], [15.0, 15.0])
    finally:
        DATA, SCALE = saved


def test_method_and_callable_object():
    class Affine:
        def __init__(self, W, b):
            self.W, self.b = W, b

        def __call__(self, x):
            return self.W @ x + self.b

        def scaled(self, x, k):
            return k * np.sum(self.W @ x)

    a = Affine(np.eye(2) * 2.0, np.zeros(2))
    x = np.array([1.0, 2.0])
    (gx,) = gradient(lambda x: np.sum(a(x)), x)
    np.testing.assert_allclose(gx, [2.0, 2.0])
    gx, gk = gradient(a.scaled, x, 3.0)
    np.testing.assert_allclose(gx, [6.0, 6.0])
    assert gk == 6.0


def test_withgradient_wrt_differentiates_the_positions_given_only():
    f = lambda x, y, z: x * y + np.sum(z) * y          # noqa: E731
    z = np.array([1.0, 2.0])
    assert withgradient(f, 3.0, 4.0, z, wrt=(1,)) == (24.0, (6.0,))
    val, (gz, gx) = withgradient(f, 3.0, 4.0, z, wrt=(-1, 0))
    assert val == 24.0 and gx == 4.0 and np.allclose(gz, [4.0, 4.0])
    for bad in (0, (3,), ("x",), [0]):
        with pytest.raises(ArgumentError, match="wrt is a tuple of the positions"):
            withgradient(f, 3.0, 4.0, z, wrt=bad)
