"""In-place mutation: correct gradients, and the caller's arguments untouched."""
import numpy as np
import pytest

from ad_compiler import UnsupportedSyntaxError, gradient, jvp
from ad_compiler.checks import check_grads

V = np.array([0.5, -1.2, 2.0, 0.3])


def fill_in_loop(x):
    y = np.zeros(4)
    for i in range(4):
        y[i] = x[i] * x[(i + 1) % 4]
    return np.sum(y * y)


def slice_store(x):
    y = np.ones(4)
    y[1:] = x[:3] * 2.0
    y[0] = x[3]
    return np.sum(np.sin(y) * y)


def item_add_in_place(x):
    y = np.zeros(3)
    for i in range(4):
        y[i % 3] += x[i] * x[i]
    return np.sum(y * np.arange(1.0, 4.0))


def augmented_on_array(x):
    y = x * 1.0
    y *= 2.0
    y += x
    y -= 0.5 * x * x
    y /= 3.0
    return np.sum(y ** 2)


def augmented_on_argument(x):
    x *= 2.0
    x += 1.0
    return np.sum(x * x)


def copy_then_mutate(x):
    y = x.copy()
    y[0] = y[1] * y[2]
    y[2] = 0.0
    return np.sum(y * x)


def overwrite_after_read(x):
    y = x * 2.0
    z = y * y
    y[1] = 5.0
    return np.sum(z) + np.sum(y)


def list_append(x):
    out = []
    for i in range(4):
        out.append(x[i] * (i + 1.0))
    return sum(out) * out[0]


def list_setitem(x):
    items = [x[0], x[1], x[2]]
    items[1] = items[0] * items[2]
    return items[0] + items[1] * 2.0 + items[2]


def dict_setitem(x):
    d = {"a": x[0], "b": x[1]}
    d["a"] = d["a"] * d["b"]
    d["c"] = x[2] * 3.0
    return d["a"] + d["c"] - d["b"]


def list_pop(x):
    stack = [x[0], x[1] * 2.0, x[2]]
    top = stack.pop()
    return top * stack[0] + stack[1]


def matrix_row_updates(x):
    m = np.zeros((2, 4))
    m[0] = x
    m[1, :] = x * x
    m[:, 0] = m[:, 0] + 1.0
    return np.sum(m ** 2)


def rebind_then_store_in_loop(x):
    h = x.copy()
    for t in range(2):
        h = np.tanh(h)
        h[0] = h[0] * 0.5       # its adjoint stores a constant into an array
    return np.sum(h * h)


def mutate_then_alias(x):
    y = x.copy()
    y[0] = y[0] * 3.0
    z = y                   # after the last change: two names, one value, no harm
    w = y[1:]               # a view, likewise
    return np.sum(z * x) + np.sum(w * w)


def mutate_in_loop_then_alias(x):
    y = x * 1.0
    for t in range(2):
        y[t] = y[t] * y[2]
    z = y
    return np.sum(z * y)


CASES = [fill_in_loop, slice_store, item_add_in_place, augmented_on_array,
         augmented_on_argument, copy_then_mutate, overwrite_after_read, list_append,
         list_setitem, dict_setitem, list_pop, matrix_row_updates, rebind_then_store_in_loop,
         mutate_then_alias, mutate_in_loop_then_alias]


@pytest.mark.parametrize("fn", CASES, ids=lambda f: f.__name__)
def test_mutation_gradients(fn):
    check_grads(fn, V)


@pytest.mark.parametrize("fn", CASES, ids=lambda f: f.__name__)
def test_caller_arguments_are_never_mutated(fn):
    x = V.copy()
    gradient(fn, x)
    np.testing.assert_array_equal(x, V)


def mutate_parameter(x):
    x[0] = x[1] * 2.0
    return np.sum(x * x)


def rows_recurrence(x):
    h = np.zeros((4, 2))
    h[0] = x[:2]
    W = np.array([[0.5, -0.3], [0.8, 0.2]])
    for t in range(1, 4):
        h[t] = np.tanh(h[t - 1] @ W + x[2:])
    return np.sum(h * h)


@pytest.mark.parametrize("fn", [mutate_parameter, rows_recurrence], ids=lambda f: f.__name__)
def test_parameter_mutation_and_row_views(fn):
    x = V.copy()
    check_grads(fn, x, modes=("rev", "fwd"))
    np.testing.assert_array_equal(x, V)


def test_forward_mode_of_a_function_that_changes_its_argument():
    """The caller's function gets its arguments copied on entry in forward
    mode too; neither the primal nor the tangent the caller passed changes."""
    x, dx = V.copy(), V.copy()
    y, dy = jvp(mutate_parameter, (x,), (dx,))
    np.testing.assert_array_equal(x, V)
    np.testing.assert_array_equal(dx, V)
    assert np.isclose(y, mutate_parameter(V.copy()))
    assert np.isclose(dy, np.dot(gradient(mutate_parameter, V.copy())[0], V))


def test_a_helper_that_changes_its_argument_in_forward_mode():
    """Called from differentiated code, the helper's change is seen by its
    caller: the call runs the helper's mutating form in both modes."""
    def outer(x):
        y = x * 1.0
        change_first(y)
        return np.sum(y * x)
    check_grads(outer, V.copy(), order=2)


def change_first(p):
    p[0] = 3.0


def alias_then_mutate(x):
    y = x.copy()
    z = y
    y[0] = 10.0
    return np.sum(z * x)


def view_then_mutate(x):
    y = x.copy()
    z = y[1:]
    y[1] = 5.0
    return np.sum(z * x[1:])


def alias_in_loop_before_mutation(x):
    y = x.copy()
    for t in range(2):
        y[0] = y[0] * 2.0       # runs again after the alias of the first pass
        z = y
    return np.sum(z * x)


def store_then_mutate(x):
    y = x.copy()
    keep = [y]
    y[0] = 3.0
    return np.sum(keep[0] * x)


def fill(y):
    y[0] = 7.0


def test_a_callee_that_changes_its_argument():
    check_grads(callee_mutates_argument, V.copy(), order=2)


def callee_mutates_argument(x):
    y = x * 1.0
    fill(y)
    return np.sum(y)


@pytest.mark.parametrize("fn", [alias_then_mutate, view_then_mutate])
def test_alias_or_view_of_a_changed_value_reads_the_changed_value(fn):
    """Another name, or a basic-index view, bound once and never rebound, is
    read as the expression it stands for: Python's meaning, at order 2."""
    x = V.copy()
    check_grads(fn, x, order=2)
    np.testing.assert_array_equal(x, V)


ALIASING = [
    (alias_in_loop_before_mutation, "z = y", "'z = y' makes 'z' another name", "z = y.copy()"),
    (store_then_mutate, "keep = [y]", "'y' is stored in a container", "y.copy()"),
]


@pytest.mark.parametrize("fn, text, message, advice", ALIASING, ids=lambda c: getattr(
    c, "__name__", ""))
def test_aliasing_a_mutated_value_is_a_clear_error(fn, text, message, advice):
    import inspect
    from ad_compiler import UnsupportedSyntaxError
    with pytest.raises(UnsupportedSyntaxError) as e:
        gradient(fn, V.copy())
    lines, start = inspect.getsourcelines(fn)
    line = start + next(i for i, l in enumerate(lines) if text in l)
    assert str(e.value).startswith("test_mutation.py:%d:" % line), str(e.value)
    assert message in str(e.value) and advice in str(e.value)
