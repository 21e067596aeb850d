"""examples/digits.py trains both models (needs the demo extra, scikit-learn)."""
import os
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_digits_quick_run_learns(tmp_path):
    pytest.importorskip("sklearn")
    sys.path.insert(0, ROOT)
    try:
        from examples.digits import run
    finally:
        sys.path.remove(ROOT)
    results = run(quick=True, progress=False, out=str(tmp_path))
    for name, (acc, seconds, curves) in results.items():
        assert acc > 0.9, (name, acc)
        assert curves["train"][-1] < curves["train"][0], name      # the loss falls
    if any(os.scandir(tmp_path)):
        assert (tmp_path / "digits_loss.png").stat().st_size > 1000
