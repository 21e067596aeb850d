"""Train an MLP and a small convolutional net on scikit-learn's handwritten
digits (8x8 images, 1,797 of them, bundled: no download), Flux style.

    python -m examples.digits            # both models, a PNG of the loss curves
    python -m examples.digits --quick    # fewer epochs (the test suite runs this)

Inputs are features first and batch last, as in Flux: (64, N) for the MLP
and (8, 8, 1, N) (WHCN) for the conv net.  Every gradient comes from the
compiler reading the layers' NumPy source; nothing here is hand-derived.
"""
import argparse
import os
import time

import numpy as np

import ad_compiler.layers as nn
from ad_compiler import withgradient


def load(seed=0, test_fraction=0.25):
    """``(x_train, y_train, x_test, y_test)``: one column per image, each
    pixel standardised with the training set's mean and spread, labels 0-9;
    a fixed shuffle."""
    from sklearn.datasets import load_digits     # the demo extra
    digits = load_digits()
    x = (digits.data / 16.0).astype(np.float32).T            # (64, N)
    y = digits.target
    order = np.random.default_rng(seed).permutation(len(y))
    n_test = int(len(y) * test_fraction)
    test, train = order[:n_test], order[n_test:]
    mean = x[:, train].mean(axis=1, keepdims=True)
    spread = x[:, train].std(axis=1, keepdims=True) + 0.1     # (border pixels are all 0)
    x = (x - mean) / spread
    return x[:, train], y[train], x[:, test], y[test]


def mlp(rng):
    init = lambda *d: nn.glorot_uniform(*d, rng=rng)     # noqa: E731
    return nn.Chain(nn.Dense(64, 256, nn.relu, init=init),
                    nn.Dropout(0.2, rng=rng),            # active inside gradient only
                    nn.Dense(256, 10, init=init))


def convnet(rng):
    init = lambda *d: nn.glorot_uniform(*d, rng=rng)     # noqa: E731
    return nn.Chain(lambda x: x.reshape(8, 8, 1, -1),
                    nn.Conv((3, 3), 1, 16, nn.relu, pad=1, init=init),    # (8, 8, 16, N)
                    nn.MaxPool((2, 2)),                                  # (4, 4, 16, N)
                    nn.flatten,                                          # (256, N)
                    nn.Dense(256, 10, init=init))


def loss(model, x, y):
    return nn.logitcrossentropy(model(x), y)


def accuracy(model, x, labels):
    with nn.testmode(model):
        return float(np.mean(nn.onecold(model(x)) == labels))


def fit(model, data, epochs, lr, progress, seed=0):
    """Adam on minibatches of 64; the per-epoch mean train loss and test loss."""
    x, labels, x_test, labels_test = data
    y, y_test = nn.onehotbatch(labels, range(10)), nn.onehotbatch(labels_test, range(10))
    loader = nn.DataLoader((x, y), batchsize=64, shuffle=True, rng=np.random.default_rng(seed))
    state = nn.setup(nn.Adam(lr), model)
    curves = {"train": [], "test": []}
    for epoch in range(epochs):
        losses = nn.train(loss, model, loader, state, progress=progress)
        curves["train"].append(float(np.mean(losses)))
        curves["test"].append(float(withgradient(loss, model, x_test, y_test).val))
    return curves


def plot(curves_by_model, path):
    """Train and test loss per epoch, one panel per model (needs matplotlib)."""
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib is not installed: no plot (pip install matplotlib)")
        return None
    fig, axes = plt.subplots(1, len(curves_by_model), figsize=(5 * len(curves_by_model), 3.5))
    for ax, (name, curves) in zip(np.atleast_1d(axes), curves_by_model.items()):
        for split, values in curves.items():
            ax.plot(range(1, len(values) + 1), values, label=split)
        ax.set(title=name, xlabel="epoch", ylabel="logit cross-entropy", yscale="log")
        ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def run(epochs=30, quick=False, progress=True, out=None, seed=0):
    """Train both models; ``{name: (test accuracy, seconds, curves)}``."""
    data = load(seed)
    if quick:
        epochs = min(epochs, 8)
    results = {}
    for name, build, lr in (("MLP 64-256-10, dropout", mlp, 1e-3),
                            ("Conv 3x3x16, pool, dense", convnet, 1e-3)):
        model = build(np.random.default_rng(seed))
        start = time.perf_counter()
        curves = fit(model, data, epochs, lr, progress, seed)
        seconds = time.perf_counter() - start
        results[name] = (accuracy(model, data[2], data[3]), seconds, curves)
    if out is not None:
        path = plot({k: v[2] for k, v in results.items()}, os.path.join(out, "digits_loss.png"))
        if path:
            print("loss curves: %s" % path)
    return results


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--quick", action="store_true", help="8 epochs at most")
    parser.add_argument("--out", default=os.path.dirname(os.path.abspath(__file__)),
                        help="folder for digits_loss.png")
    parser.add_argument("--no-plot", action="store_true")
    parser.add_argument("--no-progress", action="store_true")
    args = parser.parse_args(argv)
    results = run(args.epochs, args.quick, not args.no_progress,
                  None if args.no_plot else args.out)
    for name, (acc, seconds, _) in results.items():
        print("%-28s test accuracy %.1f%%  (%.1f s)" % (name, 100 * acc, seconds))
    return results


if __name__ == "__main__":
    main()
