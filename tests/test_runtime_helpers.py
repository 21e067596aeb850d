"""Every runtime helper that generated code calls, differentiated again.

Generated adjoint and tangent code calls the helpers of runtime/helpers.py;
derivatives of higher order differentiate that code, so each helper needs
rules of its own (runtime/rules/runtime.py).  Two kinds of test:

* constructs whose generated code calls a helper, checked at second order
  through the compiler (each case names the helpers it must exercise, so
  the association cannot silently rot);
* rule-level checks: a linear helper's forward rule is the helper itself,
  so it must be linear, and its reverse rule must be its transpose:
  ``<vjp(h), d> == <h, f(d)>``.
"""
import re
from collections import namedtuple

import numpy as np
import pytest

import ad_compiler.runtime.helpers as H
from ad_compiler import adjoint_source, compiler
from ad_compiler.checks import check_grads
from ad_compiler.runtime.core import registry
from test_control_flow import over_dict_items

V = np.array([0.5, -1.2, 2.0])
M = np.array([[0.5, -1.0, 2.0], [1.5, 0.2, -0.7]])
P = namedtuple("P", "a b")
D = {"a": 1.0, "b": 2.0}


class Obj:
    def __init__(self, w, s):
        self.w, self.s = w, s


# ---------------------------------------------------------------- constructs

def broadcast_row(m, v):
    return np.sum(np.tanh(m + v))


def list_index(v):
    xs = [v * 2.0, v * v]
    return np.sum(xs[0] * xs[1])


def attr_obj(o):
    return np.sum(o.w * o.w) * o.s


def list_overwrite(v):
    xs = [v, v * 2.0]
    xs[0] = xs[1] * v
    return np.sum(xs[0])


def inplace_index(v):
    y = np.zeros(3)
    for i in range(3):
        y[i] = v[i] * v[i]
    return np.sum(y * y)


def fancy_index(v):
    idx = np.array([0, 2, 0])
    return np.sum(v[idx] ** 2)


def builtin_sum(v):
    return sum([v[0] * v[1], v[2] * v[2]])


def tuple_call(v):
    t = tuple([v[0], v[1] * v[2]])
    return t[0] * t[1]


def scalar_power(x, y):
    return x ** y


def copies_argument(v):
    v[0] = v[1] * v[2]          # the caller's array is copied on entry, then changed
    return np.sum(v * v)


# (function, arguments, helpers its reverse code calls, helpers its forward code calls)
CONSTRUCTS = [
    (broadcast_row, (M, V), ["unbroadcast"], ["broadcast_like"]),
    (list_index, (V,), ["add_item", "item", "nz"], ["add", "item"]),
    (attr_obj, (Obj(V, 2.0),), ["add_attr"], ["attr_tangent"]),
    (list_overwrite, (V,), ["clear_item", "save_region", "restore_region"], []),
    (inplace_index, (V,), ["save_region", "restore_region", "zeros_like"], []),
    (fancy_index, (V,), ["scatter_add"], []),
    (builtin_sum, (V,), ["sum_vjp"], ["sum_jvp"]),
    (tuple_call, (V,), ["sequence_vjp"], ["sequence_jvp"]),
    (scalar_power, (1.3, 0.7), ["log"], ["log"]),
    (over_dict_items, (D,), ["iter_sequence", "sequence_grad"], ["iter_sequence"]),
    (copies_argument, (V,), ["copy_input"], []),
]


def _calls(text, name):
    code = "\n".join(l for l in text.splitlines() if not l.strip().startswith("#"))
    return re.search(r"\b%s\(" % name, code) is not None


@pytest.mark.parametrize("fn, args, rev, fwd", CONSTRUCTS, ids=[c[0].__name__ for c in CONSTRUCTS])
def test_helpers_in_generated_code_at_second_order(fn, args, rev, fwd):
    reverse = adjoint_source(fn, *args)
    assert all(_calls(reverse, h) for h in rev), (rev, reverse)
    if fwd:
        forward = compiler.jvp_function(fn, tuple(range(len(args))), list(args)).text
        assert all(_calls(forward, h) for h in fwd), (fwd, forward)
    # (jvp of a function changing its own argument is refused: test_mutation)
    check_grads(fn, *args, order=2, modes=("rev",) if fn is copies_argument else ("rev", "fwd"))


# ---------------------------------------------------------------- rule level

rng = np.random.RandomState(0)
G = rng.randn(2, 3)


def _inner(a, b):
    if a is None or b is None:
        return 0.0
    if isinstance(a, dict):
        return sum(_inner(a[k], b.get(k)) for k in a)
    if isinstance(a, H.Struct):
        return sum(_inner(v, b.fields.get(k)) for k, v in a.fields.items())
    if isinstance(a, (tuple, list)):
        return sum(_inner(x, y) for x, y in zip(a, b))
    return float(np.sum(np.asarray(a) * np.asarray(b)))


def _combine(f, a, b):
    """2a + 3b over the same structure (None is zero)."""
    if a is None:
        return f(None, b) if b is not None else None
    if isinstance(a, dict):
        return {k: _combine(f, a.get(k), b.get(k)) for k in set(a) | set(b)}
    if isinstance(a, H.Struct):
        return H.Struct(_combine(f, a.fields, b.fields))
    if isinstance(a, (tuple, list)):
        return type(a)(_combine(f, x, y) for x, y in zip(a, b))
    return f(a, b)


def _lin(a, b):
    return 2.0 * (0.0 if a is None else a) + 3.0 * (0.0 if b is None else b)


# (helper, arguments, position it is linear in, an output-shaped cotangent)
LINEAR = [
    (H.add, lambda t: (t, None), 0, G), (H.add, lambda t: (None, t), 1, G),
    (H.add_item, lambda t: (None, [V, M], 1, t), 3, [None, G]),
    (H.add_item, lambda t: (t, M, 1, None), 0, G),
    (H.add_field, lambda t: (None, "w", t), 2, H.Struct({"w": G})),
    (H.add_attr, lambda t: (None, Obj(M, 1.0), "w", t), 3, H.Struct({"w": G})),
    (H.add_attr, lambda t: (None, M, "T", t.T), 3, G),
    (H.item, lambda t: (t, 1), 0, G),
    (H.display_item, lambda t: (t, "a", ("b",), ()), 0, G),
    (H.display_item, lambda t: (t, "a", (), ({"a": 0},)), 0, G),       # overridden: None
    (H.display_unpacked, lambda t: (t, {"a": 0, "b": 0}, ("b",), ()), 0, {"a": G}),
    (H.display_tangent, lambda t: ({"a": 0, "b": 0}, t), 1, {"a": G, "b": -G}),
    (H.field, lambda t: (t, "w"), 0, G),
    (H.attr_tangent, lambda t: (t, M, "T"), 0, G.T),
    (H.clear_item, lambda t: (t, 0), 0, G),
    (H.nz, lambda t: (t, M), 0, G),
    (H.unbroadcast, lambda t: (t, V), 0, V),
    (H.broadcast_like, lambda t: (t, G), 0, G),
    (H.like_dtype, lambda t: (t, M), 0, G),
    (H.to_float, lambda t: (t,), 0, 1.5),
    (H.sequence_grad, lambda t: (t, [V, M]), 0, [V, G]),
    (H.own_tangent, lambda t: (t, M), 0, G),
    (H.values_grad, lambda t: (t, D), 0, {"a": 1.5, "b": -0.5}),
    (H.values_tangent, lambda t: (t, D), 0, [1.5, -0.5]),
    (H.items_grad, lambda t: (t, D), 0, {"a": 1.5, "b": -0.5}),
    (H.items_tangent, lambda t: (t, D), 0, [(None, 1.5), (None, -0.5)]),
    (H.sequence_vjp, lambda t: (t, (1.0, 2.0)), 0, (1.5, -0.5)),
    (H.sequence_jvp, lambda t: (t, (1.0, 2.0)), 0, (1.5, -0.5)),
    (H.sum_vjp, lambda t: (t, M), 0, G),
    (H.sum_jvp, lambda t: (t, [1.0, 2.0]), 0, 1.5),
    (H.unbroadcast_scalar, lambda t: (t,), 0, 1.5),
    (H.spread, lambda t: (t, M), 0, G),
    (H.copy_input, lambda t: (t,), 0, G),
    (H.make_struct, lambda t: (("w",), t), 1, H.Struct({"w": G})),
]
# tangent samples for the linear argument, by helper
SAMPLES = {
    H.add_item: (G, -G * 0.5), H.add_field: (G, G * G), H.add_attr: (G, G * G),
    H.item: ([V, G], [-V, G * 2]), H.field: (H.Struct({"w": G}), H.Struct({"w": -G})),
    H.display_item: ({"a": G, "b": G * G}, {"a": -G}),
    H.display_unpacked: ({"a": G, "b": G * G, "c": G}, {"a": -G, "c": G}),
    H.display_tangent: ({"a": G, "b": G * G}, {"a": -G}),
    H.unbroadcast: (G, G * G), H.to_float: (1.5, -0.25),
    H.sequence_grad: ([V, G], [V * 2, -G]), H.values_grad: ([1.0, 2.0], [0.5, -1.0]),
    H.values_tangent: ({"a": 1.0, "b": 2.0}, {"a": 0.5}),
    H.items_grad: ([(None, 1.0), (None, 2.0)], [(None, 0.5), (None, -1.0)]),
    H.items_tangent: ({"a": 1.0, "b": 2.0}, {"a": 0.5, "b": 3.0}),
    H.sequence_vjp: ([1.0, 2.0], [0.5, 0.25]), H.sequence_jvp: ([1.0, 2.0], [0.5, 0.25]),
    H.sum_vjp: (1.5, -0.5), H.sum_jvp: ([1.0, 2.0], [0.5, -1.0]),
    H.unbroadcast_scalar: (G, G * G), H.spread: (1.5, -0.5), H.broadcast_like: (V, -V),
}


def _sample(helper):
    return SAMPLES.get(helper, (G, G * G))


@pytest.mark.parametrize("helper, make, pos, h", LINEAR,
                         ids=["%s-%d" % (c[0].__name__, c[2]) for c in LINEAR])
def test_linear_helper_and_its_transpose(helper, make, pos, h):
    rule = registry.lookup(helper)
    assert rule is not None and (rule.linear is not None and pos in rule.linear
                                 or rule.jvps is not None)
    d1, d2 = _sample(helper)
    f = lambda t: helper(*make(t))  # noqa: E731
    combined = f(_combine(_lin, d1, d2))
    expected = _combine(_lin, f(d1), f(d2))
    assert _inner(combined, h) == pytest.approx(_inner(expected, h), rel=1e-12, abs=1e-12)
    if rule.vjps is not None and pos < len(rule.vjps) and rule.vjps[pos] is not None:
        args = make(d1)
        back = rule.vjps[pos](h, f(d1), *args)
        assert _inner(back, d1) == pytest.approx(_inner(h, f(d1)), rel=1e-10, abs=1e-12)


def test_every_helper_with_a_rule_is_tested():
    tested = {c[0] for c in LINEAR}
    for _, _, rev, fwd in CONSTRUCTS:
        tested |= {getattr(H, name) for name in rev + fwd}
    mine = {getattr(H, n) for n in dir(H)
            if callable(getattr(H, n)) and registry.lookup(getattr(H, n)) is not None
            and not registry.lookup(getattr(H, n)).nondiff}
    missing = sorted(f.__name__ for f in mine - tested)
    assert not missing, missing


# ---------------------------------------------------------------- unbroadcast's reductions

_RNG = np.random.RandomState(7)
_BIG = _RNG.randn(40, 30)      # over shapes._BLAS_MIN elements: the BLAS path
# (gradient, target shape): bias rows, keepdims rows and columns, added axes,
# non-contiguous and Fortran-ordered gradients, empty axes, non-BLAS dtypes
UNBROADCASTS = [
    (_BIG, (30,)), (_BIG, (40, 1)), (_BIG, (1, 30)), (_BIG, (1, 1)), (_BIG, ()),
    (_BIG.astype(np.float32), (40, 1)), (_BIG.astype(np.float32), (30,)),
    (np.asfortranarray(_BIG), (40, 1)), (_BIG[::2, ::3], (1, 10)), (_BIG.T, (40,)),
    (_BIG[:4, :5], (5,)), (_BIG[:4, :5], (4, 1)),
    (_BIG.astype(np.float16), (40, 1)), (_BIG.astype(np.complex128), (1, 30)),
    (np.arange(12).reshape(3, 4), (3, 1)), (np.zeros((5, 0)), (5, 1)),
    (np.zeros((0, 4)), (4,)), (_RNG.randn(2, 3, 4), (3, 1)), (_RNG.randn(2, 3, 4), (1, 4)),
]


@pytest.mark.parametrize("g, shape", UNBROADCASTS,
                         ids=["%s%s->%s" % (c[0].dtype, c[0].shape, c[1]) for c in UNBROADCASTS])
def test_unbroadcast_sums_like_numpy(g, shape):
    extra = g.ndim - len(shape)
    axes = tuple(range(extra)) + tuple(i + extra for i, n in enumerate(shape)
                                        if n == 1 and g.shape[i + extra] != 1)
    expected = np.sum(g, axis=axes).reshape(shape)
    got = H.unbroadcast(g, np.zeros(shape))
    assert np.shape(got) == shape and np.asarray(got).dtype == expected.dtype
    # summation order differs (BLAS against pairwise): allow the rounding of |g|'s sum
    eps = np.finfo(expected.dtype).eps if expected.dtype.kind in "fc" else 0
    np.testing.assert_allclose(got, expected, rtol=0, atol=4 * eps * np.abs(g).sum())
    if np.ndim(got):
        got[...] = 0                  # a caller may write into its gradient...
        again = H.unbroadcast(g, np.zeros(shape))
        np.testing.assert_allclose(again, expected, rtol=1e-2)   # ...without harming the next


def test_unbroadcast_keeps_pairwise_summation_for_long_axes(monkeypatch):
    from ad_compiler.runtime import shapes
    monkeypatch.setattr(shapes, "_BLAS_MAX", 4)
    g = np.full((30, 50), 0.1, np.float32)
    np.testing.assert_array_equal(H.unbroadcast(g, np.zeros((30, 1))),
                                  np.add.reduce(g, axis=1, keepdims=True))
    np.testing.assert_array_equal(H.unbroadcast(g, np.zeros(50)), np.add.reduce(g, axis=0))
