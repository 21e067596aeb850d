"""Branches, loops, early returns and comprehensions, against finite differences."""
import math

import numpy as np
import pytest

from ad_compiler import gradient
from ad_compiler.checks import check_grads

V = np.array([0.5, -1.2, 2.0, 0.3])
M = np.array([[0.5, -1.0, 2.0], [1.5, 0.2, -0.7]])


# ---------------------------------------------------------------- branches

def if_else(x):
    if x > 0.0:
        y = x * x
    else:
        y = -x
    return y * 3.0


def if_elif_else(x):
    if x > 2.0:
        y = x ** 3
    elif x > 0.0:
        y = math.sin(x)
    else:
        y = x
    return y


def if_on_array_value(x):
    if np.sum(x) > 0:
        z = np.sum(x * x)
    else:
        z = np.sum(np.sin(x))
    return z


def if_without_else(x):
    y = x * 2.0
    if y > 1.0:
        y = y * y
    return y


def conditional_expression(x):
    return (x * x if x > 0 else -x) + (3.0 if x < 10 else x)


def boolean_operators(x):
    a = x > 0.0 and x < 5.0
    b = not (x > 3.0) or x > 10.0
    if a and b:
        return x * x
    return x


def assert_statement(x):
    assert x > 0, "x must be positive"
    return math.log(x)


def branch_uses_adjoint_only_in_one_side(x, y):
    if x > y:
        return x * y
    return 2.0 * x


# ---------------------------------------------------------------- loops

def for_range(x):
    y = 0.0
    for i in range(4):
        y = y + x ** i
    return y


def for_range_start_stop_step(x):
    y = 1.0
    for i in range(1, 8, 3):
        y = y * (x + i)
    return y


def for_over_array_rows(m):
    total = 0.0
    for row in m:
        total = total + np.sum(row * row)
    return total


def for_over_list(x):
    items = [x, x * 2.0, math.sin(x)]
    s = 0.0
    for v in items:
        s = s + v * v
    return s


def for_over_tuple(x):
    s = 1.0
    for k in (1.0, 2.0, 3.0):
        s = s * (x + k)
    return s


def for_enumerate(v):
    s = 0.0
    for i, a in enumerate(v):
        s = s + i * a * a
    return s


def for_enumerate_start(v):
    s = 0.0
    for i, a in enumerate(v, 1):
        s = s + i * a
    return s


def for_zip(v):
    w = v * 2.0
    s = 0.0
    for a, b in zip(v, w):
        s = s + a * b
    return s


def while_value_dependent(x):
    y = x
    while y < 10.0:
        y = y * 1.5 + 1.0
    return y


def while_with_counter(x):
    i = 0
    y = x
    while i < 5:
        y = math.sin(y) + y
        i = i + 1
    return y


def nested_loops(m):
    s = 0.0
    for i in range(2):
        for j in range(3):
            s = s + m[i, j] * (i + 1) * m[i, j]
    return s


def loop_break(x):
    y = x
    for i in range(10):
        y = y * 1.3
        if y > 5.0:
            break
    return y


def loop_continue(v):
    s = 0.0
    for i in range(4):
        if i == 1:
            continue
        s = s + v[i] * v[i]
    return s


def for_else(x):
    y = x
    for i in range(3):
        y = y * 2.0
        if y > 100.0:
            break
    else:
        y = y + 1.0
    return y


def for_else_broken(x):
    y = x
    for i in range(10):
        y = y * 2.0
        if y > 3.0:
            break
    else:
        y = y * 100.0
    return y


def while_else(x):
    y = x
    while y < 4.0:
        y = y * 2.0 + 1.0
    else:
        y = y - 1.0
    return y


def early_return_in_loop(x):
    y = x
    for i in range(10):
        y = y * 1.5
        if y > 3.0:
            return y * y
    return y


def several_returns(x):
    if x > 1.0:
        return x * x
    if x > 0.0:
        return math.exp(x)
    return -x


def early_return_in_nested_loop(m):
    s = 0.0
    for i in range(2):
        for j in range(3):
            s = s + m[i, j]
            if s > 1.2:
                return s * s
    return s


def loop_carried_array(v):
    h = np.zeros(2)
    for i in range(3):
        h = np.tanh(h * v[:2] + v[2:] * i)
    return np.sum(h)


def loop_reusing_temporary(x):
    acc = 0.0
    for i in range(3):
        t = x * i
        acc = acc + t * t
    return acc


# ---------------------------------------------------------------- comprehensions

def list_comprehension(v):
    squares = [a * a for a in v]
    return sum(squares)


def list_comprehension_with_if(v):
    return sum([a * 2.0 for a in v if a > 0])


def generator_to_sum(v):
    return sum(math.sin(a) for a in v)


def generator_to_stack(v):
    return np.sum(np.stack([v * k for k in range(3)]) ** 2)


def dict_comprehension(v):
    d = {i: v[i] * v[i] for i in range(3)}
    return d[0] + d[2]


def tuple_from_comprehension(v):
    t = tuple(a + 1.0 for a in v)
    return t[0] * t[1]


def nested_comprehension(m):
    return sum([m[i, j] * m[i, j] for i in range(2) for j in range(3)])


def for_reversed(v):
    t = 0.0
    for a in reversed(v):
        t = t * 0.5 + a * a
    return t


def for_reversed_range(v):
    t = 0.0
    for i in reversed(range(len(v))):
        t = t * 0.5 + v[i] * t + v[i]
    return t


# ---------------------------------------------------------------- dicts

def over_dict_keys(d):
    t = 0.0
    for k in d:
        t = t + d[k] * d[k]
    return t


def over_dict_items(d):
    t = 0.0
    for k, v in d.items():
        t = t + v * v * (2.0 if k == "b" else 1.0)
    return t


def over_dict_values(d):
    return sum(v * v for v in d.values())


def zip_over_dict(d):
    t = 0.0
    for k, w in zip(d, [1.0, 10.0]):
        t = t + d[k] * w            # zip walks the keys, not the values
    return t


def enumerate_over_dict(d):
    t = 0.0
    for i, k in enumerate(d):
        t = t + d[k] * (i + 1.0)
    return t


def comprehension_over_items(d):
    doubled = {k: 2.0 * v for k, v in d.items()}
    return doubled["a"] * doubled["b"]


def self_assignment(x):
    x = x                     # the adjoint passes through (it once came out zero)
    return x * math.sin(x)


def self_assignment_in_loop(x):
    for i in range(3):
        x = x
        x = x * 1.1 + 0.2
    return x * x


def alias_of_loop_variable(x):
    z = x                     # forward mode once read dz as the loop's current dx
    for i in range(2):
        x = z + x * x
    return x


def swap_in_loop(x):
    a, b = x, 2.0 * x
    for i in range(3):
        a, b = b, a * 0.5
    return a * b + b


def array_self_assignment(v):
    for i in range(2):
        v = v
        v = np.tanh(v)
    return np.sum(v * v)


SCALAR_CASES = [if_else, if_elif_else, if_without_else, conditional_expression,
                boolean_operators, assert_statement, for_range, for_range_start_stop_step,
                for_over_list, for_over_tuple, while_value_dependent, while_with_counter,
                loop_break, for_else, for_else_broken, while_else, early_return_in_loop,
                several_returns, loop_reusing_temporary, self_assignment,
                self_assignment_in_loop, swap_in_loop, alias_of_loop_variable]
VECTOR_CASES = [if_on_array_value, for_enumerate, for_enumerate_start, for_zip, loop_continue,
                loop_carried_array, list_comprehension, list_comprehension_with_if,
                generator_to_sum, generator_to_stack, dict_comprehension,
                tuple_from_comprehension, for_reversed, for_reversed_range,
                array_self_assignment]
MATRIX_CASES = [for_over_array_rows, nested_loops, early_return_in_nested_loop,
                nested_comprehension]
DICT_CASES = [over_dict_keys, over_dict_items, over_dict_values, zip_over_dict,
              enumerate_over_dict, comprehension_over_items]
D = {"b": 0.7, "a": -1.3}


@pytest.mark.parametrize("fn", SCALAR_CASES, ids=lambda f: f.__name__)
@pytest.mark.parametrize("x", [0.7, 2.5, -0.4])
def test_scalar_control_flow(fn, x):
    if fn is assert_statement and x < 0:
        with pytest.raises(AssertionError):
            check_grads(fn, x)
        return
    check_grads(fn, x)


@pytest.mark.parametrize("fn", VECTOR_CASES, ids=lambda f: f.__name__)
def test_vector_control_flow(fn):
    check_grads(fn, V)
    check_grads(fn, -V)


@pytest.mark.parametrize("fn", MATRIX_CASES, ids=lambda f: f.__name__)
def test_matrix_control_flow(fn):
    check_grads(fn, M)


@pytest.mark.parametrize("fn", DICT_CASES, ids=lambda f: f.__name__)
def test_dict_control_flow(fn):
    check_grads(fn, D, order=2)


def test_zip_and_enumerate_walk_dict_keys():
    """Indexing a dict by loop position gave a KeyError, or silently the
    wrong item when the keys were integers."""
    d = {1: 2.0, 0: 3.0}
    assert zip_over_dict(d) == 2.0 * 1.0 + 3.0 * 10.0
    (g,) = gradient(zip_over_dict, d)
    assert g == {1: 1.0, 0: 10.0}
    (g,) = gradient(enumerate_over_dict, d)
    assert g == {1: 1.0, 0: 2.0}


def test_branch_with_two_arguments():
    check_grads(branch_uses_adjoint_only_in_one_side, 2.0, 1.0)
    check_grads(branch_uses_adjoint_only_in_one_side, 1.0, 2.0)
