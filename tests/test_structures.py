"""Structured arguments: the gradient has the argument's shape and container types."""
from collections import namedtuple
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
import pytest

from ad_compiler import gradient, withgradient
from ad_compiler.checks import check_grads

NT = namedtuple("NT", "a b c")


def seed_nt():
    return NT(a=np.array([2, 1]), b=np.array([2, 0]), c=np.tanh)


def test_seed_namedtuple_gradient():
    g = lambda x: np.sum(np.abs(x.a - x.b) ** 2)  # noqa: E731
    (d,) = gradient(g, seed_nt())
    assert type(d) is NT
    np.testing.assert_array_equal(d.a, [0.0, 2.0])
    np.testing.assert_array_equal(d.b, [-0.0, -2.0])
    assert np.signbit(d.b[0])
    assert d.c is None


def test_seed_two_arguments():
    d_nt, d_y = gradient(lambda x, y: np.sum((x.a / y - x.b) ** 2), seed_nt(), np.array([1, 2]))
    np.testing.assert_array_equal(d_nt.a, [0.0, 0.5])
    np.testing.assert_array_equal(d_nt.b, [-0.0, -1.0])
    assert d_nt.c is None
    np.testing.assert_array_equal(d_y, [-0.0, -0.25])


def test_seed_do_block_version():
    def loss(x, y):
        z = x.a / y
        return np.sum(np.abs(z - x.b) ** 2)

    d_nt, d_y = gradient(loss, seed_nt(), np.array([1, 2]))
    np.testing.assert_array_equal(d_nt.a, [0.0, 0.5])
    np.testing.assert_array_equal(d_y, [-0.0, -0.25])


def test_seed_withgradient():
    g = lambda x: np.sum(np.abs(x.a - x.b) ** 2)  # noqa: E731
    r = withgradient(g, seed_nt())
    assert r.val == 1
    (d,) = r.grad
    np.testing.assert_array_equal(d.a, [0.0, 2.0])
    assert d.c is None


class Point(NamedTuple):
    x: np.ndarray
    w: float
    tag: str


@dataclass
class Config:
    weights: dict
    scale: float
    layers: list
    name: str = "cfg"
    flag: bool = True


class Plain:
    def __init__(self, W, b, act):
        self.W, self.b, self.act = W, b, act


V = np.array([0.3, -0.7, 1.2])


def test_nested_containers_keep_their_types():
    arg = {"t": (V, 2.0), "l": [V * 2.0, {"k": 3.0}], "s": "text", "n": None, "f": True}

    def f(d):
        return np.sum(d["t"][0] * d["t"][1]) + np.sum(d["l"][0] ** 2) * d["l"][1]["k"]

    (g,) = gradient(f, arg)
    assert type(g) is dict and type(g["t"]) is tuple and type(g["l"]) is list
    np.testing.assert_allclose(g["t"][0], 2.0 * np.ones(3))
    assert g["t"][1] == pytest.approx(np.sum(V))
    np.testing.assert_allclose(g["l"][0], 2.0 * (V * 2.0) * 3.0)
    assert g["l"][1]["k"] == pytest.approx(np.sum((V * 2.0) ** 2))
    assert g["s"] is None and g["n"] is None and g["f"] is None


def test_typing_namedtuple_dataclass_and_plain_object():
    p = Point(V, 2.0, "p")
    (gp,) = gradient(lambda p: p.w * np.sum(p.x ** 2), p)
    assert type(gp) is Point and gp.tag is None
    np.testing.assert_allclose(gp.x, 2.0 * 2.0 * V)

    cfg = Config({"a": V}, 0.5, [V, 3.0])
    (gc,) = gradient(lambda c: c.scale * np.sum(c.weights["a"] * c.layers[0]) * c.layers[1], cfg)
    assert type(gc) is Config and gc.name is None and gc.flag is None
    np.testing.assert_allclose(gc.weights["a"], 0.5 * V * 3.0)
    assert gc.layers[1] == pytest.approx(0.5 * np.sum(V * V))

    obj = Plain(np.eye(3), V, np.tanh)
    (go,) = gradient(lambda m: np.sum(m.act(m.W @ m.b)), obj)
    assert type(go) is Plain and go.act is None
    np.testing.assert_allclose(go.b, np.eye(3) @ (1 - np.tanh(V) ** 2))


def test_check_grads_over_nested_structures():
    arg = {"a": (V, [V * 0.5, 1.5]), "b": Point(V + 1.0, 0.7, "q")}

    def f(d):
        x, rest = d["a"]
        return np.sum(np.sin(x) * rest[0]) * rest[1] + d["b"].w * np.sum(d["b"].x ** 3)

    check_grads(f, arg, order=2)


def build_and_return(x):
    pair = (x * 2.0, x + 1.0)
    d = {"p": pair, "q": [x, x * x]}
    first, second = pair
    nt = NT(first, second, None)
    return np.sum(nt.a * nt.b) + np.sum(d["q"][1]), d


def test_structures_inside_and_as_outputs():
    r = withgradient(build_and_return, V)
    (g,) = r.grad
    expected = 2.0 * (V + 1.0) + 2.0 * V + 2.0 * V
    np.testing.assert_allclose(g, expected)
    assert isinstance(r.val, tuple) and isinstance(r.val[1], dict)
    check_grads(lambda x: build_and_return(x)[0], V, order=2)


def test_unpacking_and_star_unpacking():
    def f(v):
        a, *rest = [v[0], v[1], v[2]]
        (b, c), d = (rest[0], rest[1]), a
        return a * b + c * d

    check_grads(f, V, order=2)


def test_same_array_passed_twice_gets_each_gradient():
    gx, gy = gradient(lambda x, y: np.sum(x * 2.0 + y * 3.0), V, V)
    np.testing.assert_array_equal(gx, 2.0 * np.ones(3))
    np.testing.assert_array_equal(gy, 3.0 * np.ones(3))


def test_namedtuple_read_by_name_and_by_index():
    p = Point(V + 1.0, 0.7, "q")
    check_grads(lambda p: p.w * np.sum(p[0] ** 2) + p[1] * np.sum(p.x), p, order=2)


def pair_with(g, v):
    total = 0.0
    for a, b in zip(g, v):          # walks the gradient namedtuple by position
        if b is not None:
            total = total + np.sum(a * b)
    return total


def test_hessian_through_code_walking_a_namedtuple_gradient():
    """This Hessian-vector product was silently zero: the cotangent built by
    position was a plain tuple, and its fields read by name gave None."""
    x, w = V + 1.0, 0.7
    v = Point(np.array([1.0, 2.0, 3.0]), 2.0, None)
    f = lambda p: p.w * np.sum(p.x ** 3)  # noqa: E731
    (h,) = gradient(lambda p: pair_with(gradient(f, p)[0], v), Point(x, w, "q"))
    np.testing.assert_allclose(h.x, 6 * w * x * v.x + 3 * x ** 2 * v.w)
    assert h.w == pytest.approx(np.sum(3 * x ** 2 * v.x))


class _Config:
    def __init__(self):
        self.w, self.n, self.scale, self.stride, self.sizes = np.ones(2), 3, 2.0, (1, 1), (2, 4.0)


def test_an_objects_int_fields_with_no_gradient_are_none_as_flux_nothing():
    """A model's ints are configuration (strides, counts): no gradient, not 0.0;
    an int the loss multiplies by is a number and has one."""
    g = gradient(lambda c: np.sum(c.w * c.scale) * c.sizes[1], _Config())[0]
    assert g.n is None and g.stride is None and g.sizes[0] is None
    assert g.scale == 8.0 and g.sizes[1] == 4.0 and np.allclose(g.w, 8.0)
    g = gradient(lambda c: np.sum(c.w) * c.n, _Config())[0]
    assert g.n == 2.0
    # a tuple of ints passed in is numbers, as an int argument is (issue 11)
    assert gradient(lambda t, x: x * t[0], (2, 3), 1.5) == ((1.5, 0.0), 2.0)


# ---------------------------------------------------------------- dict displays
# Python keeps the last entry of each key: an entry a later one repeats (a
# key again, or a dict unpacked after it) gets no gradient.  Every case below
# gave a silently wrong gradient and tangent before.

def _unpack_two(x):
    d = {"a": x}
    d = {**d, **{"b": x * 2.0}}
    return np.sum(d["a"] * d["b"])


def _key_overridden_by_unpacked(x):
    d = {"a": x * 3.0}
    e = {"a": x, **d}
    return np.sum(e["a"])


def _constant_overrides(x):
    d = {"a": np.ones(2)}
    e = {"a": x, **d}
    return np.sum(e["a"] * x)


def _equal_keys_at_run_time(x, k=("a", "a")):
    e = {k[0]: x * 3.0, k[1]: x}
    return np.sum(e["a"])


def _equal_constant_keys(x):
    e = {1: x * 3.0, 1.0: x}            # 1 and 1.0 are one key
    return np.sum(e[1])


def _unpacked_then_overridden(x):
    d = {"a": x, "b": x * 2.0}
    e = {"c": x * x, **d, "b": x * 5.0}
    return np.sum(e["a"] * e["b"] * e["c"])


def _key_stored_twice(x):
    """The first value's gradient was unbroadcast(None, ...): an array of NaN."""
    d = {}
    d["a"] = x * 3.0
    d["a"] = x
    return np.sum(d["a"])


def _comprehension_with_a_repeated_key(x):
    d = {k: v for k, v in [("a", x * 3.0), ("a", x)]}
    return np.sum(d["a"])


@pytest.mark.parametrize("f", [_unpack_two, _key_overridden_by_unpacked, _constant_overrides,
                               _equal_keys_at_run_time, _equal_constant_keys,
                               _unpacked_then_overridden, _key_stored_twice,
                               _comprehension_with_a_repeated_key])
def test_dict_displays_keep_the_last_entry_of_each_key(f):
    check_grads(f, np.array([1.0, 2.0]), order=2)


def test_a_store_into_a_slice_of_a_list_is_refused_in_reverse_mode():
    """It raised a TypeError from inside the generated code (the store may
    change the list's length, so later items' gradients would shift)."""
    from ad_compiler import ADError

    def f(x):
        lst = [x, x * 2.0, x * 3.0]
        lst[1:3] = [x * 5.0]
        return np.sum(lst[0] * lst[1])

    with pytest.raises(ADError, match="assigning to a slice of a list"):
        gradient(f, np.array([1.0, 2.0]))
