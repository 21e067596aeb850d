"""Loop stacks are per call, so threads never share them; try on the no-exception path."""
import math
import threading

import numpy as np
import pytest

from ad_compiler import gradient


def scalar_loop(x):
    for i in range(200):
        x = math.sin(x) * 1.01 + 0.1 * x
    return x


def array_loop(w):
    h = np.zeros(3)
    for t in range(20):
        h = np.tanh(h * w + 0.1 * t)
    return np.sum(h * h)


def reference_scalar(x):
    g = 1.0
    xs = []
    for i in range(200):
        xs.append(x)
        x = math.sin(x) * 1.01 + 0.1 * x
    for x in reversed(xs):
        g = g * (math.cos(x) * 1.01 + 0.1)
    return g


def test_six_threads_get_correct_gradients_concurrently():
    inputs = [0.1 * (k + 1) for k in range(6)]
    expected = [reference_scalar(x) for x in inputs]
    w = np.array([0.5, 1.0, -0.3])
    (expected_w,) = gradient(array_loop, w)
    results, errors = {}, []
    barrier = threading.Barrier(6)

    def work(k):
        try:
            barrier.wait()
            for _ in range(30):
                (g,) = gradient(scalar_loop, inputs[k])
                (gw,) = gradient(array_loop, w * 1.0)
                assert g == pytest.approx(expected[k], rel=1e-12)
                np.testing.assert_allclose(gw, expected_w, rtol=1e-12)
            results[k] = g
        except Exception as e:          # pragma: no cover - reported below
            errors.append(e)

    threads = [threading.Thread(target=work, args=(k,)) for k in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    assert len(results) == 6


def with_try(x):
    try:
        y = math.log(x) * x
    except ValueError:
        y = 0.0
    else:
        y = y + x
    finally:
        z = 2.0
    return y * z


def test_try_no_exception_path():
    (g,) = gradient(with_try, 2.0)
    assert g == pytest.approx(2.0 * (math.log(2.0) + 1.0 + 1.0))


def test_try_exception_path_raises_instead_of_answering():
    with pytest.raises(ValueError):
        gradient(with_try, -1.0)
