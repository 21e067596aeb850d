"""More golden files of generated code: an MLP's gradient, a loop with
``break``/``continue``, forward mode and second order.

Each case evaluates its derivative inside ``compiler.recording()``, so the
text compared with ``tests/golden/<name>.py.txt`` is exactly the code that
produced the numbers, and those numbers are checked against float64 central
finite differences of the plain function: a golden is never just text.

The generated code is meant to change only deliberately.  After a change
you intend, regenerate with

    UPDATE_GOLDEN=1 .venv/bin/python -m pytest -q tests/test_golden_more.py

and read the diff of tests/golden/ before committing it.
"""
import difflib
import math
import os
import re

import numpy as np
import pytest

from ad_compiler import adjoint_source, compiler, grad, gradient, jvp

import golden_functions as G

GOLDEN_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "golden")

_rng = np.random.RandomState(0)
MLP_ARGS = (0.5 * _rng.randn(4, 5), 0.1 * _rng.randn(5),      # W1, b1
            0.5 * _rng.randn(5, 3), 0.1 * _rng.randn(3),      # W2, b2
            _rng.randn(6, 4), np.eye(3)[_rng.randint(0, 3, 6)])  # X, one-hot Y
FWD_X = np.array([0.1, -0.2, 0.3])
FWD_V = np.array([1.0, 0.5, -2.0])


def _recorded(run):
    """The value of ``run()`` and the text of every generated function it used."""
    with compiler.recording() as used:
        value = run()
    return value, "\n".join(dict.fromkeys(c.text for c in used))


def _central(f, x, h=1e-6):
    return (f(x + h) - f(x - h)) / (2 * h)


# ---------------------------------------------------------------- the cases
# Each returns (generated text, derivative computed by it, finite-difference reference).

def case_mlp_loss():
    """Gradient of a 2-layer tanh MLP's softmax cross-entropy w.r.t. its weights."""
    grads, text = _recorded(lambda: grad(G.mlp_loss, wrt=(0, 1, 2, 3))(*MLP_ARGS))
    want = []
    for i in range(4):
        w = MLP_ARGS[i]
        g = np.zeros_like(w)
        for idx in np.ndindex(*w.shape):
            def at(v, idx=idx, i=i):
                moved = MLP_ARGS[i].copy()
                moved[idx] = v
                return G.mlp_loss(*MLP_ARGS[:i], moved, *MLP_ARGS[i + 1:])
            g[idx] = _central(at, w[idx])
        want.append(g)
    return text, grads, tuple(want)


def case_loop_break_continue():
    """Reverse mode through ``continue`` and a ``break`` taken mid-loop."""
    x = 0.7
    assert G.loop_break_continue(x) > 4.0         # (so the break is taken at this point)
    (g,), text = _recorded(lambda: gradient(G.loop_break_continue, x))
    return text, g, _central(G.loop_break_continue, x)


def case_fwd_loop_array():
    """Forward mode (jvp) of a loop over an array operation."""
    (y, dy), text = _recorded(lambda: jvp(G.fwd_loop_array, (FWD_X,), (FWD_V,)))
    assert y == pytest.approx(G.fwd_loop_array(FWD_X), rel=1e-12)
    return text, dy, _central(lambda t: G.fwd_loop_array(FWD_X + t * FWD_V), 0.0)


def case_poly_loop_order2():
    """Second derivative (grad of grad) of a scalar polynomial built by a loop."""
    x = 0.7
    d2, text = _recorded(lambda: grad(grad(G.poly_loop))(x))
    h = 1e-4
    f = G.poly_loop
    return text, d2, (f(x + h) - 2 * f(x) + f(x - h)) / (h * h)


CASES = {
    "mlp_loss": case_mlp_loss,
    "loop_break_continue": case_loop_break_continue,
    "fwd_loop_array.jvp": case_fwd_loop_array,
    "poly_loop.order2": case_poly_loop_order2,
}


def _compare_with_golden(name, text):
    path = os.path.join(GOLDEN_DIR, name + ".py.txt")
    if os.environ.get("UPDATE_GOLDEN"):
        with open(path, "w") as fh:
            fh.write(text)
    if not os.path.exists(path):
        pytest.fail("no golden file %s; create it deliberately with UPDATE_GOLDEN=1" % path)
    with open(path) as fh:
        want = fh.read()
    if text != want:
        diff = "".join(difflib.unified_diff(
            want.splitlines(True), text.splitlines(True),
            "tests/golden/%s.py.txt" % name, "generated now"))
        pytest.fail("generated code for %r differs from its golden file:\n%s\nIf the change "
                    "is intended, regenerate with UPDATE_GOLDEN=1 .venv/bin/python -m pytest "
                    "tests/test_golden_more.py and review the diff of tests/golden/"
                    % (name, diff), pytrace=False)


@pytest.mark.parametrize("name", sorted(CASES))
def test_generated_code_matches_golden_and_finite_differences(name):
    text, got, want = CASES[name]()
    _compare_with_golden(name, text)
    if isinstance(want, tuple):
        assert len(got) == len(want)
        for g, w in zip(got, want):
            np.testing.assert_allclose(g, w, rtol=1e-5, atol=1e-7)
    else:
        assert got == pytest.approx(want, rel=1e-5, abs=1e-7)


def test_goldens_are_what_adjoint_source_shows():
    """The recorded code is the code ``adjoint_source`` prints (order 1 and 2)."""
    assert adjoint_source(G.loop_break_continue, 0.7) == case_loop_break_continue()[0]
    assert adjoint_source(G.poly_loop, 0.7, order=2) == case_poly_loop_order2()[0]
    jvp_text = compiler.jvp_function(G.fwd_loop_array, (0,), [FWD_X]).text
    assert jvp_text == case_fwd_loop_array()[0]


def test_goldens_cite_the_user_file_and_are_readable_at_first_order():
    for name in ("mlp_loss", "loop_break_continue", "fwd_loop_array.jvp"):
        text = CASES[name]()[0]
        assert "api.py" not in text and "<ad_compiler" not in text, name
        assert "# golden_functions.py:" in text, name
        assert not re.search(r"if _t\d+:\s*\n\s*pass\b", text), name
        assert "item((" not in text and "iter_sequence" not in text, name


def test_second_order_code_cites_user_source_and_is_folded():
    text = case_poly_loop_order2()[0]
    headers = re.findall(r"^# generated by ad_compiler from (\S+) \((.*)\), ", text, re.M)
    assert len(headers) == text.count("# generated by ad_compiler") == 3, headers
    assert all(site.startswith("golden_functions.py:") for site, _ in headers), headers
    lines = text.splitlines()
    assert not [l for l in lines if "api.py" in l or "<ad_compiler" in l]
    assert "iter_sequence" not in text and not re.search(r"\bitem\(\(", text)
    # every header cites the def line of the user's function (poly_loop)
    line = G.poly_loop.__code__.co_firstlineno
    assert all(site == "golden_functions.py:%d" % line for site, _ in headers), headers
    assert math.isfinite(case_poly_loop_order2()[1])
