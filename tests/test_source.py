"""Finding the right source: lambdas, nested functions, methods, decorators."""
import functools
import linecache

import numpy as np
import pytest

from ad_compiler import ADError, gradient

double, square = (lambda x: 2 * x), (lambda x: x * x)
triple, cube = (lambda x: 3 * x), (lambda y: y * y * y)


def test_two_lambdas_on_one_line_same_signature():
    assert gradient(double, 5.0) == (2.0,)
    assert gradient(square, 5.0) == (10.0,)


def test_two_lambdas_on_one_line_different_names():
    assert gradient(triple, 2.0) == (3.0,)
    assert gradient(cube, 2.0) == (12.0,)


def test_nested_lambda_picks_the_inner_one():
    outer = lambda x: (lambda y: y * 4.0)(x) + 1.0  # noqa: E731
    inner = (lambda x: (lambda y: y * 4.0))(0)
    assert gradient(outer, 1.0) == (4.0,)
    assert gradient(inner, 1.0) == (4.0,)


def test_multiline_lambda_inside_a_call():
    fns = dict(a=lambda x:
               x * 5.0,
               b=lambda x: x * 7.0)
    assert gradient(fns["a"], 1.0) == (5.0,)
    assert gradient(fns["b"], 1.0) == (7.0,)


def test_nested_function():
    def outer():
        def inner(x):
            return x ** 3
        return inner

    assert gradient(outer(), 2.0) == (12.0,)


def counting(fn):
    """A decorator with a side effect, to show it is not re-run."""
    counting.calls += 1

    @functools.wraps(fn)
    def wrapper(*args):
        return fn(*args)
    return wrapper


counting.calls = 0


@counting
def decorated(x):
    return x * x


def test_decorated_function_is_differentiated_without_rerunning_decorators():
    before = counting.calls
    assert gradient(decorated.__wrapped__, 3.0) == (6.0,)
    assert gradient(decorated, 3.0) == (6.0,)
    assert counting.calls == before


class Model:
    scale = 3.0

    def __init__(self, w):
        self.w = w

    def loss(self, x):
        return np.sum(self.w * x * x)

    @staticmethod
    def static(x):
        return x * 5.0

    @classmethod
    def klass(cls, x):
        return cls.scale * x


def test_methods_static_and_class_methods():
    m = Model(np.array([1.0, 2.0]))
    (gx,) = gradient(m.loss, np.array([1.0, 1.0]))
    np.testing.assert_allclose(gx, [2.0, 4.0])
    assert gradient(Model.static, 1.0) == (5.0,)
    assert gradient(Model.klass, 1.0) == (3.0,)


def test_function_made_by_exec_has_no_source():
    namespace = {}
    exec("def h(x):\n    return x * 2\n", namespace)
    with pytest.raises(ADError, match="no source"):
        gradient(namespace["h"], 1.0)


def test_function_whose_source_is_in_linecache():
    text = "def h(x):\n    return x * 9.0\n"
    filename = "<notebook-cell-1>"
    linecache.cache[filename] = (len(text), None, text.splitlines(True), filename)
    namespace = {}
    exec(compile(text, filename, "exec"), namespace)
    assert gradient(namespace["h"], 1.0) == (9.0,)


def test_redefined_function_never_gets_a_stale_adjoint():
    text1 = "def h(x):\n    return x * 2.0\n"
    text2 = "def h(x):\n    return x * 3.0\n"
    results = []
    for i, text in enumerate((text1, text2)):
        filename = "<cell-%d>" % i
        linecache.cache[filename] = (len(text), None, text.splitlines(True), filename)
        ns = {}
        exec(compile(text, filename, "exec"), ns)
        results.append(gradient(ns["h"], 1.0)[0])
    assert results == [2.0, 3.0]
