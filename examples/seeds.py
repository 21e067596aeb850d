"""`make demo`: the seed documents' examples, run through the compiler.

Each example prints its value next to the value the seed documents give,
then one generated adjoint is shown in full.
"""
from collections import namedtuple

import numpy as np

import ad_compiler.layers as nn
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

    ok &= layers_section()

    print("\n== The generated adjoint of f(x) = 3x^2 + 2x + 1 ==")
    print(adjoint_source(f, 2.0))
    print("== ... and of the regression loss ==")
    W, b = rng.rand(2, 5), rng.rand(2)
    print(adjoint_source(loss, W, b))
    print("== The code behind the second derivative of f (forward over forward) ==")
    print(adjoint_source(f, 2.0, order=2))
    print("all examples match the seed documents" if ok else "SOME EXAMPLES DO NOT MATCH")
    return 0 if ok else 1


@nn.layer
class Affine:
    """The seed's struct, made a layer (Flux.@layer Affine)."""

    def __init__(self, W, b):
        self.W, self.b = W, b

    def __call__(self, x):
        return self.W @ x + (0.0 if self.b is None else self.b)

    @classmethod
    def build(cls, in_out, bias=True, init=nn.glorot_uniform):
        """Affine((in, out), bias=False): the seed's Pair constructor."""
        in_, out = in_out
        W = init(out, in_)
        return cls(W, nn.create_bias(W, bias, out))


def linear(in_, out, rng):
    W, b = rng.randn(out, in_), rng.randn(out)
    return lambda x: W @ x + b


def layers_section():
    """The seed's second half: building layers, stacking them, helpers."""
    print("\n== Building layers, stacking them up (seed: 'Building Layers' onwards) ==")
    rng, ok = np.random.RandomState(1), True
    linear1, linear2 = linear(5, 3, rng), linear(3, 2, rng)
    model = lambda x: linear2(nn.sigmoid(linear1(x)))  # noqa: E731
    ok &= show("linear closures: model(rand(5)).shape", model(rng.rand(5)).shape, (2,))
    a = Affine(rng.randn(5, 10), np.zeros(5))
    ok &= show("Affine(10, 5)(rand(10)).shape", a(rng.rand(10)).shape, (5,))
    ok &= show("gradient of sum(a(x)) w.r.t. a.b",
               gradient(lambda m: np.sum(m(np.ones(10))), a)[0].b, np.ones(5))
    model2 = nn.Chain(nn.Dense(10, 5, nn.relu), nn.Dense(5, 2), nn.softmax)
    ok &= show("Chain(Dense(10=>5, relu), Dense(5=>2), softmax) sums to 1",
               float(np.sum(model2(np.random.rand(10).astype(np.float32)))), 1.0)
    m = nn.compose(nn.Dense(5, 2), nn.Dense(10, 5, nn.σ))
    ok &= show("(Dense(5=>2) o Dense(10=>5, σ))(rand(10)).shape",
               m(np.ones(10, np.float32)).shape, (2,))
    ok &= show("Chain(x -> x^2, x -> x+1)(5)", nn.Chain(lambda x: x ** 2, lambda x: x + 1)(5), 26)
    print("Dense(10 => 5, relu) prints as:", repr(nn.Dense(10, 5, nn.relu)))
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")           # gpu() without CuPy warns once
        small = nn.gpu(Affine.build((3, 1), bias=False))
    print("Affine((3, 1), bias=False) |> gpu prints as:", repr(small))
    ok &= show("its bias", small.b, None)
    return ok


if __name__ == "__main__":
    raise SystemExit(main())
