"""examples/digits.py trains both models (needs the demo extra, scikit-learn)."""
import os
import subprocess
import sys

import numpy as np
import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _digits():
    pytest.importorskip("sklearn")
    sys.path.insert(0, ROOT)
    try:
        from examples import digits
    finally:
        sys.path.remove(ROOT)
    return digits


def test_digits_quick_run_learns(tmp_path):
    digits = _digits()
    out = tmp_path / "plots"                       # (made by the example)
    results = digits.run(quick=True, progress=False, out=str(out))
    assert len(results) == 2
    for name, (acc, seconds, curves) in results.items():
        # 10 epochs on 900 images: about 0.9 for both at seed 0; chance is 0.1.
        assert acc > 0.8, (name, acc)
        assert len(curves["train"]) == len(curves["test"]) == 10
        assert curves["train"][-1] < curves["train"][0] / 2, (name, curves["train"])
        assert curves["test"][-1] < curves["test"][0], (name, curves["test"])
    if os.path.exists(out):                       # (without matplotlib: no plot)
        assert (out / "digits_loss.png").stat().st_size > 1000


def test_digits_layouts_are_features_first_batch_last():
    digits = _digits()
    (images, labels), (test_images, _) = digits.load(subset=40)
    assert images.shape == (30, 8, 8) and test_images.shape == (10, 8, 8)
    assert images.dtype == np.float32 and labels.shape == (30,)
    vectors, wh1n = digits.as_vectors(images), digits.as_wh1n(images)
    assert vectors.shape == (64, 30) and wh1n.shape == (8, 8, 1, 30)
    # column n is image n; pixel (row r, column c) sits at W=c, H=r
    assert np.array_equal(vectors[:, 3], images[3].ravel())
    assert wh1n[5, 2, 0, 3] == images[3, 2, 5]


def test_digits_main_prints_a_summary_without_plot(capsys):
    digits = _digits()
    digits.main(["--quick", "--epochs", "2", "--no-plot", "--no-progress"])
    text = capsys.readouterr().out
    assert "test accuracy" in text and "total" in text and "loss curves" not in text


def test_digits_runs_as_a_script(tmp_path):
    pytest.importorskip("sklearn")
    done = subprocess.run([sys.executable, os.path.join("examples", "digits.py"), "--help"],
                          cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "--quick" in done.stdout and "--no-plot" in done.stdout


# ---------------------------------------------------------------- benchmarks/training.py

def _training():
    sys.path.insert(0, ROOT)
    try:
        from benchmarks import peers, training
    finally:
        sys.path.remove(ROOT)
    return training, peers


SMALL = dict(sizes=(12, 8, 8, 4), batch=6)


def test_training_benchmark_contenders_match_the_hand_written_step():
    training, _ = _training()
    reference, contenders, note = training.workload_train_step(**SMALL)   # checks them
    assert "12-8-8-4" in note and any(k.startswith("ad_compiler") for k in contenders)
    for step in [reference] + list(contenders.values()):
        assert np.isfinite(step())


def test_training_benchmark_check_catches_a_different_step():
    training, _ = _training()
    weights = training.mlp_weights(SMALL["sizes"])
    batches = training.mlp_batches(sizes=SMALL["sizes"], batch=SMALL["batch"])

    class TooFast(training.OursStep):          # Adam at twice the learning rate
        def __init__(self, w):
            super().__init__(w)
            self.state = training.setup(training.Adam(2 * training.ETA), self.model)

    with pytest.raises(AssertionError, match="TooFast"):
        training.check_steps(weights, batches, {"TooFast": TooFast})


def test_first_step_in_a_new_process_is_measured_there():
    """The CLI's cold first step runs in a child process (its imports not
    timed) and reports the child's own measurement; no timing is asserted."""
    training, _ = _training()
    times = training.cold_first_step_times(runs=1)
    assert len(times) == 1 and times[0] > 0


def test_training_benchmark_runs_without_torch(monkeypatch):
    training, peers = _training()
    real = peers._try
    monkeypatch.setattr(peers, "_try", lambda name: None if name == "torch" else real(name))
    assert peers.training_steps() == {}
    _, contenders, _ = training.workload_train_step(**SMALL)
    assert not any(k.startswith("torch") for k in contenders)


def test_training_benchmark_has_torch_at_two_thread_counts_when_installed():
    torch = pytest.importorskip("torch")
    _, peers = _training()
    names = set(peers.training_steps(torch_threads=(None, 1)))
    assert "torch eager (1 thread)" in names
    assert len(names) == (1 if torch.get_num_threads() == 1 else 2)
