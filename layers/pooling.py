"""Pooling layers and functions, as Flux's ``MaxPool``, ``MeanPool``,
``GlobalMaxPool`` and ``GlobalMeanPool`` and NNlib's ``maxpool`` and
``meanpool`` (2-D, ``(H, W, C, N)`` input), written in plain NumPy that the
compiler differentiates.  Re-exported by :mod:`conv`."""
import numpy as np

from ad_compiler import stop_gradient

from .core import layer
from .errors import LayerError
from .windows import _compact, _padding, _pair, _spans, window_geometry


def _pool_setup(xshape, settings):
    """The window size, stride, padding and output size of a pooling."""
    kernel, stride, pad, who = settings
    kernel = _pair(kernel, "the window size", who)
    stride = kernel if stride is None else _pair(stride, "stride", who)
    pads = _padding(pad, kernel, (1, 1), who)
    return kernel, stride, pads, window_geometry(xshape, kernel, stride, pads, (1, 1), who)


def maxpool(x, kernel, pad=0, stride=None, who="maxpool"):
    """NNlib's ``maxpool``: the largest value of each ``kernel`` window of
    ``x`` ``(H, W, C, N)`` (stride defaults to the window; padding never wins).
    A tie shares the gradient equally, as ``np.max`` does.

    >>> maxpool(np.arange(16.0).reshape(4, 4, 1, 1), (2, 2))[..., 0, 0]
    array([[ 5.,  7.],
           [13., 15.]])
    """
    # The settings are not values: cut off, no integer arithmetic enters derivative code.
    kernel, stride, pads, out = _pool_setup(np.shape(x), stop_gradient((kernel, stride, pad,
                                                                        who)))
    if stride == kernel and not any(pads):
        return np.max(_blocks(x, kernel, out), axis=(1, 3))
    if any(pads):
        x = np.pad(x, ((pads[0], pads[1]), (pads[2], pads[3]), (0, 0), (0, 0)),
                   constant_values=-np.inf)
    views = [np.expand_dims(x[rows, columns], 0)
             for rows, columns in _spans(kernel, stride, (1, 1), out)]
    return np.max(np.concatenate(views), axis=0)


def meanpool(x, kernel, pad=0, stride=None, who="meanpool"):
    """NNlib's ``meanpool``: the mean of each ``kernel`` window of ``x``
    ``(H, W, C, N)``; padding counts as zeros in the mean, as in NNlib.

    >>> meanpool(np.arange(16.0).reshape(4, 4, 1, 1), (2, 2))[..., 0, 0]
    array([[ 2.5,  4.5],
           [10.5, 12.5]])
    """
    # The settings are not values: cut off, no integer arithmetic enters derivative code.
    kernel, stride, pads, out = _pool_setup(np.shape(x), stop_gradient((kernel, stride, pad,
                                                                        who)))
    if stride == kernel and not any(pads):
        return np.mean(_blocks(x, kernel, out), axis=(1, 3))
    if any(pads):
        x = np.pad(x, ((pads[0], pads[1]), (pads[2], pads[3]), (0, 0), (0, 0)))
    total = 0.0
    for rows, columns in _spans(kernel, stride, (1, 1), out):
        total = total + x[rows, columns]
    return total / (kernel[0] * kernel[1])


def _blocks(x, kernel, out):
    """Non-overlapping windows as axes: ``(ho, kh, wo, kw, C, N)``, a free reshape
    (the rows and columns past the last whole window are dropped, as in Flux)."""
    (kh, kw), (ho, wo) = kernel, out
    if x.shape[0] != ho * kh or x.shape[1] != wo * kw:
        x = x[:ho * kh, :wo * kw]
    return np.reshape(x, (ho, kh, wo, kw, x.shape[2], x.shape[3]))


class _Pool:
    """A pooling layer's settings, checks and printing; ``pool`` does the work."""

    def __init__(self, k, *, pad=0, stride=None):
        name = type(self).__name__
        self.k = _pair(k, "the window size", name)
        self.stride = self.k if stride is None else _pair(stride, "stride", name)
        self.pad = _padding(pad, self.k, (1, 1), name)

    def __call__(self, x):
        return self.pool(x, self.k, self.pad, self.stride, self)

    def _repr_head(self):
        parts = [f"({self.k[0]}, {self.k[1]})"]
        if any(self.pad):
            pad = self.pad
            parts.append(f"pad={_compact(pad if pad[0::2] != pad[1::2] else pad[0::2])}")
        if self.stride != self.k:
            parts.append(f"stride={_compact(self.stride)}")
        return f"{type(self).__name__}({', '.join(parts)})"


@layer
class MaxPool(_Pool):
    """Flux's ``MaxPool(k; pad=0, stride=k)`` on ``(H, W, C, N)`` input: see
    :func:`maxpool`.

    >>> MaxPool((2, 2))(np.ones((6, 5, 3, 2))).shape
    (3, 2, 3, 2)
    >>> MaxPool((3, 3), pad=1, stride=1)
    MaxPool((3, 3), pad=1, stride=1)
    """

    pool = staticmethod(maxpool)

    def __init__(self, k, *, pad=0, stride=None):
        super().__init__(k, pad=pad, stride=stride)
        kh, kw = self.k
        if any(p >= k for p, k in zip(self.pad, (kh, kh, kw, kw))):
            raise LayerError(f"MaxPool: padding {self.pad} must be smaller than the window "
                             f"{self.k}, or some windows would hold padding only")


@layer
class MeanPool(_Pool):
    """Flux's ``MeanPool(k; pad=0, stride=k)`` on ``(H, W, C, N)`` input: see
    :func:`meanpool`.

    >>> MeanPool((2, 2))(np.ones((4, 4, 1, 1)))[..., 0, 0]
    array([[1., 1.],
           [1., 1.]])
    """

    pool = staticmethod(meanpool)


@layer
class GlobalMaxPool:
    """Flux's ``GlobalMaxPool()``: the largest value of each channel of each image,
    ``(H, W, C, N) -> (1, 1, C, N)``.

    >>> GlobalMaxPool()(np.arange(8.0).reshape(2, 2, 2, 1))[0, 0]
    array([[6.],
           [7.]])
    """

    def __call__(self, x):
        window_geometry(x.shape, (1, 1), (1, 1), (0, 0, 0, 0), (1, 1), stop_gradient(self))
        return np.max(x, axis=(0, 1), keepdims=True)

    def _repr_head(self):
        return f"{type(self).__name__}()"


@layer
class GlobalMeanPool(GlobalMaxPool):
    """Flux's ``GlobalMeanPool()``: the mean of each channel of each image,
    ``(H, W, C, N) -> (1, 1, C, N)``.

    >>> GlobalMeanPool()(np.arange(8.0).reshape(2, 2, 2, 1))[0, 0]
    array([[3.],
           [4.]])
    """

    def __call__(self, x):
        window_geometry(x.shape, (1, 1), (1, 1), (0, 0, 0, 0), (1, 1), stop_gradient(self))
        return np.mean(x, axis=(0, 1), keepdims=True)
