"""`make demo`: the seed documents' examples, run through the compiler.

Each example prints its value next to the value the seed documents give,
then one generated adjoint is shown in full.
"""
from collections import namedtuple

import numpy as np

from ad_compiler import (Params, adjoint_source, grad, gradient, hessian, jacobian, param, pullback,
                         stop_gradient, withgradient)

NT = namedtuple("NT", "a b c")


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
    d2f = lambda x: gradient(df, x)[0]  # noqa: E731
    ok &= show("d2f(2), the gradient of df", d2f(2), 6.0)
    ok &= show("grad(grad(grad(x -> x^4)))(2)", grad(grad(grad(lambda x: x ** 4)))(2.0), 48.0)

    print("\n== Structures, implicit parameters, gradient control ==")
    nt = NT(a=np.array([2, 1]), b=np.array([2, 0]), c=np.tanh)
    g = lambda x: np.sum(np.abs(x.a - x.b) ** 2)  # noqa: E731
    ok &= show("gradient(g, nt) for a namedtuple", gradient(g, nt),
               (NT(np.array([0.0, 2.0]), np.array([-0.0, -2.0]), None),))
    W, b = param(2), param(3)
    grads = gradient(lambda: W * 4 + b, Params([W, b]))
    ok &= show("Params: grads[W], grads[b] of W*x + b at x=4", (grads[W], grads[b]),
               (np.array(4.0), np.array(1.0)))
    ok &= show("stop_gradient: d/dx x*sg(x) + x at 3",
               gradient(lambda x: x * stop_gradient(x) + x, 3.0), (4.0,))
    ok &= show("hessian(sum(x^3), [1, 2]) diagonal",
               np.diag(hessian(lambda x: np.sum(x ** 3), [1, 2])), np.array([6.0, 12.0]))
    ok &= show("jacobian(cumsum, [1, 2, 3]) row sums",
               jacobian(np.cumsum, np.array([1.0, 2.0, 3.0]))[0].sum(axis=1),
               np.array([1.0, 2.0, 3.0]))

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
    W, b = rng.rand(2, 5), rng.rand(2)
    print(adjoint_source(loss, W, b))
    print("== The code behind the second derivative of f (forward over forward) ==")
    print(adjoint_source(f, 2.0, order=2))
    print("all examples match the seed documents" if ok else "SOME EXAMPLES DO NOT MATCH")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
