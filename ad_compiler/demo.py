"""`make demo`: the seed documents' examples, run through the compiler.

Each example prints its value next to the value the seed documents give,
then one generated adjoint is shown in full.
"""
import numpy as np

from ad_compiler import adjoint_source, gradient, pullback, withgradient


def show(label, value, expected):
    mark = "ok" if _same(value, expected) else "MISMATCH"
    print("%-52s %-40s [%s]" % (label, _fmt(value), mark))
    return mark == "ok"


def _same(a, b):
    if isinstance(a, tuple) and isinstance(b, tuple):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    if hasattr(a, "_fields") or hasattr(b, "_fields"):
        return _same(tuple(a), tuple(b))
    if a is None or b is None:
        return a is b
    return np.allclose(a, b) and np.shape(a) == np.shape(b)


def _fmt(v):
    return np.array2string(v, separator=", ") if isinstance(v, np.ndarray) else repr(v)


def f(x):
    return 3 * x ** 2 + 2 * x + 1


def main():
    ok = True
    print("== Taking gradients (seed: Flux 'How Flux Works') ==")
    df = lambda x: gradient(f, x)[0]  # noqa: E731
    ok &= show("df(2) where f(x) = 3x^2 + 2x + 1", df(2), 14.0)
    ok &= show("gradient(f, [2, 1], [2, 0]), f = sum((x - y)^2)",
               gradient(lambda x, y: np.sum((x - y) ** 2), np.array([2, 1]), np.array([2, 0])),
               (np.array([0.0, 2.0]), np.array([-0.0, -2.0])))
    y, back = pullback(lambda a, b, c: a * b * c, 2.0, 3.0, 5.0)
    ok &= show("pullback(a*b*c, 2, 3, 5): y, back(1)", (y, back(1.0)), (30.0, (15.0, 10.0, 6.0)))
    ok &= show("withgradient(x -> x^2, 3)", tuple(withgradient(lambda x: x * x, 3.0)),
               (9.0, (6.0,)))

    print("\n== Building simple models: one gradient-descent step ==")
    rng = np.random.RandomState(0)
    x, y = rng.rand(5), rng.rand(2)
    W, b = rng.rand(2, 5), rng.rand(2)

    def loss(W, b):
        y_hat = W @ x + b
        return np.sum((y - y_hat) ** 2)

    dW, db = gradient(loss, W, b)
    before = loss(W, b)
    W = W - 0.1 * dW
    print("loss before %.4f, after one step %.4f" % (before, loss(W, b)))
    ok &= loss(W, b) < before

    print("\n== The generated adjoint of f(x) = 3x^2 + 2x + 1 ==")
    print(adjoint_source(f, 2.0))
    print("== ... and of the regression loss ==")
    print(adjoint_source(loss, W, b))
    print("all examples match the seed documents" if ok else "SOME EXAMPLES DO NOT MATCH")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
