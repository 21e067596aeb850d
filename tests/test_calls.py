"""Calls into user code: every kind of callee is transformed recursively."""
from collections import namedtuple
from dataclasses import dataclass

import numpy as np
import pytest

import helper_module
from helper_module import angle, power_sum, scale_all, smooth
from ad_compiler import gradient, jvp
from ad_compiler.checks import check_grads

V = np.array([0.3, -0.8, 1.1])


def square(x):
    return x * x


def calls_module_function(x):
    return np.sum(square(x) + square(2.0 * x))


def calls_imported(x):
    return np.sum(smooth(x)) + angle(x[0]) + np.sum(helper_module.smooth(x, k=3.0))


def calls_nested_def(x):
    def inner(y):
        return np.sin(y) * x
    return np.sum(inner(x) + inner(2.0 * x))


def calls_stored_lambda(x):
    f = lambda y: y * y + x  # noqa: E731
    return np.sum(f(x) * f(3.0))


def linear(W, b):
    """The seed's ``linear(in, out)``: a lambda closing over W and b."""
    return lambda x: W @ x + b


W1 = np.array([[1.0, 2.0, -1.0], [0.5, 0.0, 1.0]])
B1 = np.array([0.1, -0.2])


def uses_closure_over_globals(x):
    layer = linear(W1, B1)
    return np.sum(np.tanh(layer(x)))


def closure_over_arguments(W, x):
    layer = linear(W, B1)
    return np.sum(layer(x) ** 2)


def keyword_arguments(x):
    return np.sum(smooth(k=1.5, x=x))


def default_arguments(x):
    return np.sum(smooth(x))


def star_args(x):
    return power_sum(x[0], x[1], x[2])


def star_args_forwarding(x):
    args = (x[0], x[1])
    return power_sum(*args) + power_sum(*[x[2], x[0]])


def kwargs_forwarding(x):
    opts = {"a": 2.0, "b": x[1]}
    return np.sum(scale_all(x, **opts))


def kwargs_named(x):
    return np.sum(scale_all(x, a=x[0], b=3.0))


def power(x, n):
    if n == 0:
        return 1.0
    return x * power(x, n - 1)


def recursion(x):
    return power(x[0], 5) + power(x[1], 3)


def fib_like(x, n):
    if n <= 1:
        return x
    return fib_like(x, n - 1) + 0.5 * fib_like(x * 0.9, n - 2)


def deep_recursion(x):
    return fib_like(x[0], 8)


class Affine:
    def __init__(self, W, b):
        self.W = W
        self.b = b

    def __call__(self, x):
        return self.W @ x + self.b

    def forward(self, x):
        return np.tanh(self(x))

    @staticmethod
    def act(x):
        return np.maximum(x, 0.1 * x)

    @classmethod
    def scale(cls, x):
        return cls.factor * x

    factor = 3.0


A = Affine(W1, B1)


def method_call(x):
    return np.sum(A.forward(x))


def callable_object(x):
    return np.sum(A(x) ** 2)


def static_and_class_methods(x):
    return np.sum(Affine.act(x) + A.scale(x) + A.act(x))


def method_through_variable(x):
    f = A.forward
    return np.sum(f(x))


def chain_of_layers(x):
    layers = [linear(W1, B1), np.tanh, lambda h: h * 2.0]
    for layer in layers:
        x = layer(x)
    return np.sum(x)


def builtin_through_variable(x):
    act = np.tanh
    return np.sum(act(x))


CASES = [calls_module_function, calls_imported, calls_nested_def, calls_stored_lambda,
         uses_closure_over_globals, keyword_arguments, default_arguments, star_args,
         star_args_forwarding, kwargs_forwarding, kwargs_named, recursion, deep_recursion,
         method_call, callable_object, static_and_class_methods, method_through_variable,
         chain_of_layers, builtin_through_variable]


@pytest.mark.parametrize("fn", CASES, ids=lambda f: f.__name__)
def test_calls(fn):
    check_grads(fn, V)


def test_closure_over_arguments_gives_gradient_for_the_captured_array():
    check_grads(closure_over_arguments, W1, V)


def test_recursion_to_depth():
    (g,) = gradient(lambda x: power(x, 200), 1.001)
    assert g == pytest.approx(200 * 1.001 ** 199)


def test_gradient_with_respect_to_an_object_is_structural():
    """The seed's Affine: gradient(lambda m: loss(m(x)), a)[0].W must be correct."""
    x = np.array([1.0, 2.0, 3.0])

    def loss(y):
        return np.sum(y ** 2)

    (g,) = gradient(lambda m: loss(m(x)), A)
    assert type(g) is Affine
    np.testing.assert_allclose(g.W, np.outer(2 * (W1 @ x + B1), x))
    np.testing.assert_allclose(g.b, 2 * (W1 @ x + B1))


def test_gradient_of_a_closure_argument_lists_its_captured_arrays():
    x = np.array([1.0, 2.0, 3.0])
    (g,) = gradient(lambda m: np.sum(m(x)), linear(W1, B1))
    np.testing.assert_allclose(g.W, np.outer(np.ones(2), x))
    np.testing.assert_allclose(g.b, np.ones(2))


@dataclass
class Params:
    w: np.ndarray
    scale: float
    name: str = "p"


def test_dataclass_argument():
    p = Params(np.array([1.0, 2.0]), 3.0)
    (g,) = gradient(lambda p: p.scale * np.sum(p.w ** 2), p)
    assert type(g) is Params
    np.testing.assert_allclose(g.w, [6.0, 12.0])
    assert g.scale == 5.0 and g.name is None


@dataclass
class Quadratic:
    w: float

    def apply(self, x):
        return self.w * x * x


def method_taken_as_value(q, x):
    f = q.apply                 # the bound method is a value: its derivative is q's
    return f(x)


def method_of_array_as_value(x):
    total = (x * W1[0]).sum     # the array's kind is unknown to the compiler here
    return total() * 2.0


@pytest.mark.parametrize("fn", [method_taken_as_value, lambda q, x: q.apply(x)],
                         ids=["as-value", "direct"])
def test_bound_method_carries_its_objects_derivative(fn):
    """Both modes used to drop the derivative of ``self`` here, silently."""
    from ad_compiler import jvp
    gq, gx = gradient(fn, Quadratic(2.0), 3.0)
    assert gq == Quadratic(9.0) and gx == 12.0
    assert jvp(fn, (Quadratic(2.0), 3.0), (Quadratic(1.0), 0.0)) == (18.0, 9.0)
    assert jvp(fn, (Quadratic(2.0), 3.0), (None, 1.0)) == (18.0, 12.0)


def test_array_method_taken_as_value():
    check_grads(method_of_array_as_value, np.array([0.5, -1.0, 2.0]), order=2)


# ---------------------------------------------------------------- call specs

_Pair = namedtuple("_Pair", "a b")


def _pair_from_star(xs):
    p = _Pair(*xs)
    return p.a * 2.0 + p.b ** 3


def _pair_from_dstar(d):
    p = _Pair(**d)
    return p.a * 2.0 + p.b ** 3


def test_a_constructor_called_with_star_arguments_has_a_tangent():
    """Forward mode dropped the tangents of ``P(*xs)`` and ``P(**d)`` (it read
    only plain positions and keywords of the call's spec): 0.0 instead of 32.
    Every user of a spec now decodes it with runtime/spec.py."""
    assert jvp(_pair_from_star, ([1.0, 2.0],), ([1.0, 10.0],)) == (10.0, 2.0 + 120.0)
    assert jvp(_pair_from_dstar, ({"a": 1.0, "b": 2.0},), ({"a": 1.0, "b": 10.0},)) == \
        (10.0, 122.0)
    check_grads(lambda x, y: _pair_from_star([x, y]), 1.0, 2.0, order=2)
    check_grads(lambda x, y: _pair_from_dstar({"a": x, "b": y}), 1.0, 2.0, order=2)


def test_spec_entries_decode_to_their_places():
    from ad_compiler.runtime import spec
    assert spec.places(-1, 4, {}) == ("one", [3])
    assert spec.places("k", 4, {"k": 1}) == ("one", ["k"])
    assert spec.places(("*", 1, 3), 6, {}) == ("star", [1, 2, 3, 4])
    assert spec.places(("**", ("a",)), 0, {"a": 1, "b": 2, "c": 3}) == ("dstar", ["b", "c"])
    assert spec.gathered("star", [1, 2], lambda p: p * 10) == (10, 20)
    assert spec.scattered("star", [1, 2], 5.0) == [(1, 5.0), (2, 5.0)]
    assert spec.scattered("dstar", ["b", "c"], {"c": 1.0}) == [("c", 1.0)]
    assert [spec.shifted(e) for e in ("fn", 0, -1, ("*", 0, 2), "k")] == \
        [0, 1, -1, ("*", 1, 3), "k"]
