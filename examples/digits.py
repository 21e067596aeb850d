"""Train an MLP and a small convolutional net on scikit-learn's handwritten
digits (8x8 images, 1,797 of them, bundled: no download), Flux style.

    python -m examples.digits            # both models, a PNG of the loss curves
    python -m examples.digits --quick    # a few epochs on part of the data

Inputs are features first and batch last, as in Flux: (64, N) for the MLP
and (8, 8, 1, N) (width, height, channels, batch) for the conv net.  Every
gradient comes from the compiler reading the layers' NumPy source; nothing
here is hand-derived.  Needs the demo extra (scikit-learn; matplotlib for
the plot, tqdm for a nicer progress bar).
"""
import argparse
import contextlib
import os
import time

import numpy as np

import ad_compiler.layers as nn

CLASSES = range(10)


def load(seed=0, test_fraction=0.25, subset=None):
    """``(train, test)``, each ``(images, labels)``: images ``(N, 8, 8)`` float32
    with every pixel standardised by the training set's mean and spread,
    labels 0-9.  A fixed shuffle; ``subset`` keeps that many images in all."""
    from sklearn.datasets import load_digits     # the demo extra
    digits = load_digits()
    images, labels = (digits.images / 16.0).astype(np.float32), digits.target
    order = np.random.default_rng(seed).permutation(len(labels))[:subset]
    n_test = int(len(order) * test_fraction)
    test, train = order[:n_test], order[n_test:]
    mean = images[train].mean(axis=0)
    spread = images[train].std(axis=0) + 0.1      # (border pixels are all but constant)
    images = (images - mean) / spread
    return (images[train], labels[train]), (images[test], labels[test])


def as_vectors(images):
    """``(64, N)``: one column per image."""
    return np.ascontiguousarray(images.reshape(len(images), -1).T)


def as_wh1n(images):
    """``(8, 8, 1, N)``: width, height, one channel, batch last (Flux's WHCN)."""
    return np.ascontiguousarray(images.transpose(2, 1, 0)[:, :, None, :])


def mlp(rng):
    init = lambda *d: nn.glorot_uniform(*d, rng=rng)     # noqa: E731
    return nn.Chain(nn.Dense(64, 256, nn.relu, init=init),
                    nn.Dropout(0.2, rng=rng),            # active inside gradient only
                    nn.Dense(256, 10, init=init))


def convnet(rng):
    init = lambda *d: nn.glorot_uniform(*d, rng=rng)     # noqa: E731
    return nn.Chain(nn.Conv((3, 3), 1, 16, nn.relu, pad=1, init=init),    # (8, 8, 16, N)
                    nn.MaxPool((2, 2)),                                  # (4, 4, 16, N)
                    nn.flatten,                                          # (256, N)
                    nn.Dense(256, 10, init=init))


# name, model, input layout, learning rate
MODELS = (("MLP 64-256-10, dropout", mlp, as_vectors, 1e-3),
          ("Conv 3x3x16, maxpool, dense", convnet, as_wh1n, 1e-3))


def loss(model, x, y):
    return nn.logitcrossentropy(model(x), y)


def evaluate(model, x, y):
    """``(loss, accuracy)`` in test mode (no dropout)."""
    with nn.testmode(model):
        scores = model(x)
    return float(nn.logitcrossentropy(scores, y)), float(np.mean(
        nn.onecold(scores) == nn.onecold(y)))


def fit(model, train, test, epochs, lr, progress, seed=0):
    """Adam on shuffled minibatches of 64; the per-epoch mean training loss and
    test loss, and the final test accuracy."""
    loader = nn.DataLoader(train, batchsize=64, shuffle=True, rng=np.random.default_rng(seed))
    state = nn.setup(nn.Adam(lr), model)
    curves = {"train": [], "test": []}
    for _ in range(epochs):
        losses = nn.train(loss, model, loader, state, progress=progress)
        curves["train"].append(float(np.mean(losses)))
        curves["test"].append(evaluate(model, *test)[0])
    return curves, evaluate(model, *test)[1]


@contextlib.contextmanager
def one_blas_thread():
    """Matrices this small multiply fastest on one thread: a second BLAS thread
    costs more in hand-offs than it saves, and on a busy machine a great deal
    more.  (threadpoolctl comes with scikit-learn.)"""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        yield
        return
    with threadpool_limits(1, user_api="blas"):
        yield


def run(epochs=30, quick=False, progress=True, out=None, seed=0):
    """Train both models; ``{name: (test accuracy, seconds, curves)}``."""
    (images, labels), (test_images, test_labels) = load(seed, subset=900 if quick else None)
    y, y_test = nn.onehotbatch(labels, CLASSES), nn.onehotbatch(test_labels, CLASSES)
    epochs = min(epochs, 10) if quick else epochs
    results = {}
    with one_blas_thread():
        for name, build, layout, lr in MODELS:
            start = time.perf_counter()
            curves, acc = fit(build(np.random.default_rng(seed)), (layout(images), y),
                              (layout(test_images), y_test), epochs, lr, progress, seed)
            results[name] = (acc, time.perf_counter() - start, curves)
    if out is not None:
        path = plot({k: v[2] for k, v in results.items()}, os.path.join(out, "digits_loss.png"))
        print("loss curves: %s" % path if path else
              "matplotlib is not installed: no plot (pip install matplotlib)")
    return results


def plot(curves_by_model, path):
    """Training and test loss per epoch, one panel per model; the path, or
    None without matplotlib."""
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
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


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--quick", action="store_true",
                        help="at most 10 epochs on 900 images (a smoke test)")
    parser.add_argument("--out", default=os.path.dirname(os.path.abspath(__file__)),
                        help="folder for digits_loss.png (default: next to this script)")
    parser.add_argument("--no-plot", action="store_true")
    parser.add_argument("--no-progress", action="store_true")
    args = parser.parse_args(argv)
    if args.epochs < 1:
        parser.error("--epochs must be at least 1, got %d" % args.epochs)
    start = time.perf_counter()
    results = run(args.epochs, args.quick, not args.no_progress,
                  None if args.no_plot else args.out)
    for name, (acc, seconds, _) in results.items():
        print("%-28s test accuracy %5.1f%%  (%.1f s)" % (name, 100 * acc, seconds))
    print("%-28s %.1f s" % ("total", time.perf_counter() - start))
    return results


if __name__ == "__main__":
    main()
