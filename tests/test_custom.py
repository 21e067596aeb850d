"""Custom rules, stop_gradient, checkpoint, tree utilities and their errors."""
import math
import tracemalloc

import numpy as np
import pytest

from ad_compiler import (ADError, NoAdjointError, UnsupportedSyntaxError, adjoint, checkpoint,
                         grad, gradient, hessian, jvp, nondifferentiable, pullback, register_node,
                         stop_gradient, tangent, tree_flatten, tree_leaves, tree_map, withgradient,
                         tree_unflatten)
from ad_compiler.checks import check_grads


def test_stop_gradient_seed_example():
    assert gradient(lambda x: x * stop_gradient(x) + x, 3.0) == (4.0,)


def soft_clip(x):
    return np.clip(x, -1.0, 1.0)


@adjoint(soft_clip)
def soft_clip_vjp(g, ans, x):
    return (g * 0.5,)


def test_adjoint_overrides_python_source():
    (g,) = gradient(lambda x: np.sum(soft_clip(x)), np.array([0.2, 5.0]))
    np.testing.assert_array_equal(g, [0.5, 0.5])


@adjoint(math.lgamma)
def lgamma_vjp(g, ans, x):
    return (g * digamma(x),)


def digamma(x):
    """A plain-Python digamma (recurrence, then the asymptotic series)."""
    total = 0.0
    while x < 8.0:
        total = total - 1.0 / x
        x = x + 1.0
    inv = 1.0 / (x * x)
    return total + math.log(x) - 0.5 / x - inv * (1.0 / 12 - inv * (1.0 / 120 - inv / 252))


def test_adjoint_for_a_function_without_source():
    check_grads(lambda x: math.lgamma(x) * 2.0, 2.5, order=2)


def test_reverse_rule_alone_serves_every_order():
    """Forward mode transposes a reverse-only rule, so no @tangent is needed."""
    check_grads(lambda x: math.lgamma(x) * 2.0, 2.5, order=3)
    check_grads(lambda x: np.sum(softplus(x) * x), np.array([0.3, -1.0, 2.0]), order=2)
    s = 1.0 / (1.0 + np.exp(-np.array([0.3, -1.0])))
    np.testing.assert_allclose(hessian(lambda x: np.sum(softplus(x)), np.array([0.3, -1.0])),
                               np.diag(s * (1 - s)))


def softplus(x):
    return np.log1p(np.exp(x))


@adjoint(softplus)
def softplus_vjp(g, ans, x):
    return (g / (1.0 + np.exp(-x)),)


def scaled_product(x, y):
    return x * y


@adjoint(scaled_product)
def scaled_product_vjp(g, ans, x, y):
    return (g * y, None)           # y gets no gradient through this rule


def test_adjoint_rule_with_none_entries():
    gx, gy = gradient(lambda x, y: scaled_product(x, y), 2.0, 3.0)
    assert gx == 3.0 and gy == 0.0


def cube(x):
    return x ** 3


@adjoint(cube)
def cube_vjp(g, ans, x):
    return (g * 3.0 * x * x,)


@tangent(cube)
def cube_jvp(tangents, ans, x):
    return tangents[0] * 3.0 * x * x


def test_tangent_rule_is_registered():
    from ad_compiler.runtime.core.registry import lookup
    rule = lookup(cube)
    assert rule.jvp_all is cube_jvp and rule.vjp_all is cube_vjp


def noisy_round(x):
    return np.round(x * 10.0) / 10.0


nondifferentiable(noisy_round)


def test_nondifferentiable_registration():
    (g,) = gradient(lambda x: np.sum(noisy_round(x) + x), np.array([0.25, 0.5]))
    np.testing.assert_array_equal(g, [1.0, 1.0])


def rnn(Wx, Wh, xs, h0):
    h = h0
    for t in range(xs.shape[0]):
        h = np.tanh(xs[t] @ Wx + h @ Wh)
    return np.sum(h * h)


def rnn_checkpointed(Wx, Wh, xs, h0):
    step = checkpoint(lambda h, x: np.tanh(x @ Wx + h @ Wh))
    h = h0
    for t in range(xs.shape[0]):
        h = step(h, xs[t])
    return np.sum(h * h)


def rnn_args(T=30, batch=16, n=32):
    rng = np.random.RandomState(0)
    return (rng.randn(n, n) * 0.2, rng.randn(n, n) * 0.2, rng.randn(T, batch, n),
            np.zeros((batch, n)))


def test_checkpoint_gives_the_same_gradients():
    args = rnn_args(T=5, batch=2, n=3)
    plain = gradient(rnn, *args)
    ckpt = gradient(rnn_checkpointed, *args)
    for a, b in zip(plain[:2], ckpt[:2]):
        np.testing.assert_allclose(a, b, rtol=1e-12)
    check_grads(rnn_checkpointed, *args, order=2)
    # forward mode too: the checkpoint's tangent is its closure's
    tangents = tuple(np.random.RandomState(1).randn(*np.shape(a)) for a in args)
    np.testing.assert_allclose(jvp(rnn, args, tangents)[1],
                               jvp(rnn_checkpointed, args, tangents)[1])


def peak_bytes(fn, args):
    gradient(fn, *args)                    # compile outside the measurement
    tracemalloc.start()
    gradient(fn, *args)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak


def test_checkpoint_saves_memory():
    args = rnn_args()
    assert peak_bytes(rnn_checkpointed, args) < 0.7 * peak_bytes(rnn, args)


def test_tree_utilities():
    tree = {"a": (1.0, [2.0, None]), "b": np.ones(2)}
    leaves, td = tree_flatten(tree)
    assert leaves[:2] == [1.0, 2.0] and len(leaves) == 3
    back = tree_unflatten(td, leaves)
    assert back["a"] == (1.0, [2.0, None])
    assert tree_leaves(None) == []
    doubled = tree_map(lambda v: v * 2, tree)
    assert doubled["a"] == (2.0, [4.0, None])
    summed = tree_map(lambda u, v: u + v, (1.0, 2.0), (10.0, 20.0))
    assert summed == (11.0, 22.0)


class Pair:
    __slots__ = ("left", "right")

    def __init__(self, left, right):
        self.left, self.right = left, right


register_node(Pair, lambda p: ((p.left, p.right), None), lambda aux, kids: Pair(*kids))


def test_registered_node_gradient_has_its_type():
    (g,) = gradient(lambda p: p.left * p.right * 2.0, Pair(3.0, 4.0))
    assert type(g) is Pair and g.left == 8.0 and g.right == 6.0
    assert tree_leaves(Pair(1.0, (2.0, 3.0))) == [1.0, 2.0, 3.0]


def test_unwalkable_argument_type_is_a_clear_error():
    class Opaque:
        __slots__ = ()

        def __init__(self):
            pass

    import collections
    with pytest.raises(ADError, match=r"type deque.*register_node"):
        gradient(lambda d: 1.0, collections.deque([1.0]))


GLOBAL_ARRAY = np.ones(3)


def mutates_global(x):
    GLOBAL_ARRAY[0] = x
    return np.sum(GLOBAL_ARRAY)


def test_mutating_a_global_array_is_rejected():
    with pytest.raises(UnsupportedSyntaxError, match="'GLOBAL_ARRAY' is not a local variable"):
        gradient(mutates_global, 2.0)
    np.testing.assert_array_equal(GLOBAL_ARRAY, np.ones(3))


def test_constructing_a_plain_class_inside_is_a_clear_error():
    class Thing:
        def __init__(self, v):
            self.v = v

    with pytest.raises(NoAdjointError, match="constructor of .*Thing.*dataclass or namedtuple"):
        gradient(lambda x: Thing(x).v * 2.0, 1.0)


def test_a_users_own_class_named_checkpoint_is_just_a_callable():
    # the runtime once recognised checkpoint(f) by its class's name
    class Checkpoint:
        def __init__(self, fn, scale):
            self.fn, self.scale = fn, scale

        def __call__(self, x):
            return self.fn(x) * self.scale

    c = Checkpoint(lambda x: x * x, 3.0)
    assert gradient(lambda x: c(x), 2.0) == (12.0,)
    assert gradient(lambda x: checkpoint(lambda t: t * t)(x) * 3.0, 2.0) == (12.0,)


# ---------------------------------------------------------------- a rule wins, however f is reached

def _squared(x):
    return x ** 2


@adjoint(_squared)
def _squared_rule(g, ans, x):
    return (g * 100.0,)         # deliberately not the source's derivative


class _Scaler:
    def __init__(self, s):
        self.s = s

    def apply(self, x):
        return self.s * x ** 2

    def __call__(self, x):
        return self.s * x ** 2


@adjoint(_Scaler.apply)
def _apply_rule(g, ans, self, x):
    return (None, g * 100.0)


@adjoint(_Scaler.__call__)
def _call_rule(g, ans, self, x):
    return (None, g * 7.0)


def test_a_functions_rule_is_used_when_it_is_the_function_differentiated():
    """``gradient(f, x)`` used f's source and ignored its ``@adjoint`` rule (6.0,
    not 100.0), while ``gradient(lambda x: f(x), x)`` used the rule: every way
    of reaching f now opens it in one place (runtime/callee.py), rule first."""
    assert gradient(_squared, 3.0) == (100.0,) == gradient(lambda x: _squared(x), 3.0)
    assert grad(_squared)(3.0) == 100.0
    assert withgradient(_squared, 3.0) == (9.0, (100.0,))
    assert pullback(_squared, 3.0)[1](1.0) == (100.0,)


def test_a_methods_rule_and_a_callable_objects_rule_are_used():
    m = _Scaler(2.0)
    for f in (m.apply, lambda x: m.apply(x)):
        assert gradient(f, 3.0) == (100.0,)
    for f in (m, lambda x: m(x)):
        assert gradient(f, 3.0) == (7.0,)
