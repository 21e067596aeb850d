"""``differentiating()``: False when run plainly, True in every derivative."""
import numpy as np

from ad_compiler import gradient, hessian, jvp, pullback, withgradient
from ad_compiler.runtime.mode import differentiating


def scaled(x):
    if differentiating():
        return x * 2.0
    return x * 3.0


def kept(x):
    d = differentiating()
    return np.sum(x * x) if d else np.sum(x)


def test_plain_call_is_false():
    assert differentiating() is False
    assert scaled(1.0) == 3.0


def test_true_in_every_transform():
    assert gradient(scaled, 1.0) == (2.0,)
    assert withgradient(scaled, 1.0) == (2.0, (2.0,))
    y, back = pullback(scaled, 1.0)
    assert (y, back(1.0)) == (2.0, (2.0,))
    assert jvp(scaled, (1.0,), (1.0,)) == (2.0, 2.0)


def test_true_at_second_order():
    assert gradient(lambda x: gradient(kept, x)[0], 3.0) == (2.0,)
    np.testing.assert_allclose(hessian(kept, np.array([2.0, 1.0])), 2 * np.eye(2))
