"""The optimiser: common subexpressions, and the cases it must leave alone."""
import math

import numpy as np
import pytest

from ad_compiler import adjoint_source, check_grads, grad, gradient
from test_custom import rnn      # the plain RNN loss, also checkpointed there


def loop(x):
    for i in range(10):
        x = math.sin(x) * 1.01 + 0.1 * x
    return x


def repeated(x):
    return math.sin(x) * math.cos(x) + math.sin(x) ** 2


def reassigned(x):
    a = math.exp(x)
    x = x * 2.0
    b = math.exp(x)          # a different value: x changed
    return a + b


def mutated(x):
    a = np.exp(x)
    b = np.exp(x)
    b[0] = 0.0               # a and b must stay separate arrays
    return np.sum(a * b)


def guarded(x):
    y = x if x < 0.0 else math.log(x)
    return y + math.log(abs(x) + 1.0)


def randomised(x):
    rng = np.random.default_rng(0)
    return x * rng.normal() + x * rng.normal()


def count(text, call):
    """Occurrences of ``call`` in code lines (comments quote the source)."""
    code = [line for line in text.splitlines() if not line.strip().startswith("#")]
    return sum(line.count(call) for line in code)


def test_second_derivative_evaluates_each_function_once_per_step():
    text = adjoint_source(loop, 0.5, order=2)
    body = text[text.index("def loop_jvp_jvp"):]
    assert count(body, "math.cos(x)") == 1 and count(body, "math.sin(x)") == 1, body
    assert grad(grad(loop))(0.5) == pytest.approx(
        check_second(loop, 0.5), rel=1e-6)


def check_second(f, x, h=1e-4):
    return (f(x + h) - 2 * f(x) + f(x - h)) / h ** 2


def test_repeated_calls_share_one_evaluation():
    text = adjoint_source(repeated, 0.3)
    assert count(text, "math.sin(x)") == 1 and count(text, "math.cos(x)") == 1, text
    check_grads(repeated, 0.3, order=2)


@pytest.mark.parametrize("fn, x", [(reassigned, 0.4), (guarded, 0.7), (guarded, -0.7)])
def test_reuse_respects_assignments_and_conditions(fn, x):
    check_grads(fn, x, order=2)


def test_guarded_call_is_not_hoisted_out_of_the_condition():
    text = adjoint_source(guarded, 0.7)
    assert "math.log(x)" in text
    # never evaluated unconditionally: the log only runs in the else branch
    for line in text.splitlines():
        if "math.log(x)" in line and "#" not in line:
            assert " if " in line or line.strip().startswith("y =") or "else" in line


def test_arrays_changed_in_place_are_not_shared():
    x = np.array([0.1, 0.2, 0.3])
    (g,) = gradient(mutated, x)
    expected = 2 * np.exp(2 * x)
    expected[0] = 0.0
    np.testing.assert_allclose(g, expected)


def test_random_draws_are_not_merged():
    (g,) = gradient(randomised, 1.0)
    rng = np.random.default_rng(0)
    assert g == pytest.approx(rng.normal() + rng.normal())


def cube_sum(x):
    y = np.exp(x)               # needed by the tangent
    z = np.sum(x ** 3)          # needed by the value only
    return z + np.sum(y)


def test_tangent_only_code_drops_what_only_the_value_needs():
    from ad_compiler import compiler
    x = np.array([0.1, 0.2])
    full = compiler.jvp_function(cube_sum, (0,), [x]).text
    tangent = compiler.jvp_function(cube_sum, (0,), [x], tangent_only=True).text
    assert count(tangent, "np.exp(x)") == 1 and count(tangent, "return (") == 0
    assert count(full, "np.sum(x ** 3)") == 1 and count(tangent, "np.sum(x ** 3)") == 0
    assert count(tangent, " sum(") == 0           # np.sum reads as np.sum, not sum


def test_hvp_of_a_closure_does_not_differentiate_captured_data():
    from ad_compiler import hvp
    data = np.array([1.0, 2.0, 3.0])
    h = hvp(lambda w: np.sum((data * w) ** 2), np.ones(3), np.array([1.0, 0.0, 0.0]))
    np.testing.assert_allclose(h, [2.0, 0.0, 0.0])


# ---------------------------------------------------------------- hoisted weight products

def rnn_in_place(Wx, Wh, xs, h0):
    h = h0.copy()
    for t in range(xs.shape[0]):
        h = np.tanh(xs[t] @ Wx + h @ Wh)
        h[0] = h[0] * 0.5              # an array written in place: no hoisting
    return np.sum(h * h)


def rnn_nested(Wx, Wh, xs, h0):
    h = h0
    for k in range(2):
        for t in range(xs.shape[0]):
            h = np.tanh(xs[t] @ Wx + h @ Wh)
    return np.sum(h)


def rnn_reads_gradient(Wx, Wh, xs, h0):
    h = h0
    for t in range(xs.shape[0]):
        h = np.tanh(xs[t] @ Wx + h @ Wh) + np.sum(Wh) * 0.1
    return np.sum(h * h)


_rng = np.random.RandomState(3)
RNN_ARGS = (_rng.randn(3, 4) * 0.5, _rng.randn(4, 4) * 0.5, _rng.randn(5, 2, 3),
            _rng.randn(2, 4))


def loop_lines(text):
    """Code lines inside the adjoint sweep's loop."""
    lines = text.splitlines()
    start = [i for i, line in enumerate(lines) if "[::-1]" in line][-1]
    depth = len(lines[start]) - len(lines[start].lstrip())
    body = []
    for line in lines[start + 1:]:
        if len(line) - len(line.lstrip()) <= depth:
            break
        body.append(line)
    return [line for line in body if not line.strip().startswith("#")]


def test_weight_products_leave_the_reverse_loop():
    text = adjoint_source(rnn, *RNN_ARGS)
    assert not any(".T @" in line for line in loop_lines(text)), text
    assert count(text, "np.concatenate(") == 4, text
    check_grads(rnn, *RNN_ARGS, order=2)


@pytest.mark.parametrize("fn", [rnn, rnn_in_place, rnn_nested, rnn_reads_gradient])
@pytest.mark.parametrize("h0", [RNN_ARGS[3], RNN_ARGS[3][0]], ids=["batch", "broadcast-h0"])
def test_hoisted_products_are_the_same_sum(fn, h0):
    check_grads(fn, *RNN_ARGS[:3], h0, order=2)


def test_an_empty_loop_adds_nothing():
    args = RNN_ARGS[:2] + (RNN_ARGS[2][:0], RNN_ARGS[3])
    gWx, gWh, _, gh0 = gradient(rnn, *args)
    assert not gWx.any() and not gWh.any()
    np.testing.assert_allclose(gh0, 2 * RNN_ARGS[3])


def test_no_hoisting_past_in_place_writes():
    text = adjoint_source(rnn_in_place, *RNN_ARGS)
    assert count(text, "np.concatenate(") == 0, text


# ---------------------------------------------------------------- shape-only residuals

def wide_layer(W, b, x):
    a = x @ W                        # big, and the adjoint needs only its shape
    return np.sum(np.tanh(a + b) ** 2)


def test_values_needed_only_for_their_shape_are_freed_early():
    rng = np.random.RandomState(0)
    args = (rng.randn(70, 80) * 0.1, rng.randn(80), rng.randn(64, 70))
    text = adjoint_source(wide_layer, *args)
    assert count(text, "a = shape_only(a)") == 1, text
    check_grads(wide_layer, *args, order=2)
    b_row = rng.randn(1, 80)                 # a broadcast the other way round
    check_grads(wide_layer, args[0], b_row, args[2][:1], order=2)


def wide_closure(W, b, x):
    a = x @ W
    act = lambda: np.tanh(a + b)     # noqa: E731  (reads a when called)
    return np.sum(act() ** 2)


def test_closures_keep_the_values_they_read():
    rng = np.random.RandomState(1)
    args = (rng.randn(70, 80) * 0.1, rng.randn(80), rng.randn(64, 70))
    assert count(adjoint_source(wide_closure, *args), "shape_only(a)") == 0
    check_grads(wide_closure, *args)


def test_shape_only_keeps_shape_and_dtype_without_the_buffer():
    from ad_compiler.runtime.helpers import shape_only
    big = np.ones((100, 50), np.float32)
    stub = shape_only(big)
    assert stub.shape == big.shape and stub.dtype == big.dtype and stub.base is not big
    assert stub.strides == (0, 0)
    small = np.ones(3)
    assert not stub.flags.writeable
    assert shape_only(small) is small and shape_only(2.0) == 2.0


# ---------------------------------------------------------------- common factors

def shared_scalar(x):
    y = math.exp(x) * 3.0 + 0.5 * x      # by * 3.0 * e + 0.5 * by is by * (3.0 * e + 0.5)
    return math.sin(y)


FACTORED = [(shared_scalar, (0.7,)), (loop, (0.5,))]


@pytest.mark.parametrize("fn, args", FACTORED, ids=[c[0].__name__ for c in FACTORED])
def test_a_common_factor_is_multiplied_once(fn, args):
    text = adjoint_source(fn, *args)
    assert count(text, " * (") == 1, text
    check_grads(fn, *args, order=2)


def test_no_factoring_unless_every_factor_is_a_number_or_an_array():
    import gast

    from ad_compiler.optimize.simplify import _factor_out
    expr = gast.parse("g * a + b * g").body[0].value
    untouched = _factor_out(expr, lambda e: getattr(e, "id", None) != "b")   # b: a list?
    assert untouched is expr
    factored = _factor_out(expr, lambda e: True)
    import astunparse
    assert astunparse.unparse(gast.gast_to_ast(factored)).strip() == "(g * (a + b))"
