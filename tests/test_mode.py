"""``differentiating()``: False when run plainly, True in every derivative."""
import numpy as np

from ad_compiler import grad, gradient, hessian, jvp, pullback, withgradient
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


seen = []


def note_mode(x):
    seen.append(differentiating())
    return x


def with_inactive_call(x):
    d = note_mode(3.0)           # no gradient flows in: called plainly
    return x * d


def test_plain_calls_inside_a_derivative_see_true():
    seen.clear()
    assert gradient(with_inactive_call, 2.0) == (3.0,)
    assert jvp(with_inactive_call, (2.0,), (1.0,)) == (6.0, 3.0)
    assert seen == [True, True]
    assert differentiating() is False
    note_mode(1.0)
    assert seen[-1] is False


def test_fast_paths_set_it_for_plain_calls():
    seen.clear()
    d = grad(with_inactive_call)
    for _ in range(3):
        assert gradient(with_inactive_call, 2.0) == (3.0,)
        assert d(2.0) == 3.0
    assert seen == [True] * 6


def test_fast_paths_of_pure_code_skip_it():
    from ad_compiler.runtime import plan
    gradient(scaled, 1.0)
    gradient(with_inactive_call, 1.0)
    assert "_enter" not in plan.FAST[id(scaled.__code__)].__code__.co_names
    assert "_enter" in plan.FAST[id(with_inactive_call.__code__)].__code__.co_names
