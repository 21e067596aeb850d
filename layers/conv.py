"""Convolution and pooling layers, as Flux's ``Conv``, ``CrossCor``, ``MaxPool``,
``MeanPool``, ``GlobalMaxPool`` and ``GlobalMeanPool`` (2-D).

Images are laid out as in Flux (WHCN): the spatial axes first, then the
channels, then the batch, i.e. ``(H, W, C, N)``; a weight is
``(kh, kw, C_in, C_out)``.  The functional forms (``conv``, ``maxpool``,
``meanpool``) are NNlib's.  Everything is plain NumPy that the compiler
differentiates: one matrix product with the windows gathered by slicing
(im2col), no Python loop over the batch.  As in Flux, a layer computes in its
weight's dtype (float32 by default): other inputs are converted.

>>> m = Conv((3, 3), 1, 4, pad=1)
>>> m(np.ones((8, 8, 1, 2), np.float32)).shape
(8, 8, 4, 2)
>>> MaxPool((2, 2))(np.ones((8, 8, 4, 2))).shape
(4, 4, 4, 2)
"""
import warnings

import numpy as np

from ad_compiler import stop_gradient

from .core import identity, layer
from .errors import LayerError
from .init import create_bias, glorot_uniform
from .pooling import GlobalMaxPool, GlobalMeanPool, MaxPool, MeanPool, maxpool, meanpool
from .windows import (SamePad, _compact, _is_int, _padding, _pair, _spans, _who,
                      window_geometry)

# The pooling layers and the window settings live in pooling.py and
# windows.py; their examples run with this module's (doctest finds only what
# a module defines, and tests/test_docs.py lists this one).
__test__ = {"SamePad": SamePad, "maxpool": maxpool, "meanpool": meanpool,
            "MaxPool": MaxPool, "MeanPool": MeanPool, "GlobalMaxPool": GlobalMaxPool,
            "GlobalMeanPool": GlobalMeanPool}


def _conv_setup(xshape, wshape, settings):
    """The kernel size, stride, dilation, padding and output size of a conv."""
    stride, pad, dilation, who = settings
    kernel = _pair(wshape[:2], "the kernel size", who)
    stride, dilation = _pair(stride, "stride", who), _pair(dilation, "dilation", who)
    pads = _padding(pad, kernel, dilation, who)
    out = window_geometry(xshape, kernel, stride, pads, dilation, who, wshape[2])
    return kernel, stride, dilation, pads, out


def conv(x, w, stride=1, pad=0, dilation=1, flipped=False, who="conv"):
    """NNlib's ``conv``: a true convolution (the kernel flipped, as in Flux's ``Conv``),
    or a cross-correlation with ``flipped=True`` (``CrossCor``).  ``x`` is
    ``(H, W, C, N)``, ``w`` is ``(kh, kw, C, O)``; the result is ``(Ho, Wo, O, N)``.
    ``stride``, ``pad`` and ``dilation`` as for :class:`Conv`; ``who`` names the
    caller in errors.

    >>> x = np.arange(9.0).reshape(3, 3, 1, 1); w = np.zeros((2, 2, 1, 1)); w[0, 0] = 1
    >>> conv(x, w)[..., 0, 0]               # flipped: w[0, 0] meets the window's last cell
    array([[4., 5.],
           [7., 8.]])
    >>> conv(x, w, flipped=True)[..., 0, 0]
    array([[0., 1.],
           [3., 4.]])
    """
    # The settings are not values: cut off, no integer arithmetic enters derivative code.
    kernel, stride, dilation, pads, (ho, wo) = _conv_setup(
        np.shape(x), np.shape(w), stop_gradient((stride, pad, dilation, who)))
    n = x.shape[3]
    # Channels first, (C, H, W, N), so that the windows stack into the
    # (kh*kw*C, Ho*Wo*N) matrix of one matrix product, with no copy but the stacking.
    z = np.transpose(x, (2, 0, 1, 3))
    if any(pads):
        z = np.pad(z, ((0, 0), (pads[0], pads[1]), (pads[2], pads[3]), (0, 0)))
    cols = np.concatenate([z[:, rows, columns]
                           for rows, columns in _spans(kernel, stride, dilation, (ho, wo))])
    if not flipped:
        w = w[::-1, ::-1]
    wm = np.reshape(w, (kernel[0] * kernel[1] * w.shape[2], w.shape[3]))
    y = wm.T @ np.reshape(cols, (cols.shape[0], ho * wo * n))
    # A view in (H, W, C, N) order; the next conv's transpose gets it back for free.
    return np.transpose(np.reshape(y, (w.shape[3], ho, wo, n)), (1, 2, 0, 3))


@layer
class Conv:
    """Flux's ``Conv(k, in => out, σ; stride, pad, dilation, bias, init)``, 2-D:
    ``σ(conv(x, weight) + bias)`` on ``x`` of layout ``(H, W, C_in, N)`` (spatial
    axes first, then channels, batch last), giving ``(Ho, Wo, C_out, N)``.

    As in Flux the kernel is flipped (a true convolution); :class:`CrossCor` is
    the unflipped one (PyTorch's ``Conv2d``).  ``stride``, ``dilation`` and ``pad``
    take an int or a (height, width) pair; ``pad`` also takes four sides (top,
    bottom, left, right) or ``"same"`` / ``SamePad()``.  ``bias=False`` drops the
    bias; ``init(kh, kw, cin, cout)`` makes the weight (float32 Glorot-uniform).

    >>> m = Conv((3, 3), 2, 5, np.tanh, stride=2, pad="same")
    >>> m.weight.shape, m.bias.shape
    ((3, 3, 2, 5), (5,))
    >>> m(np.ones((7, 7, 2, 4), np.float32)).shape
    (4, 4, 5, 4)
    >>> m
    Conv((3, 3), 2 => 5, tanh, stride=2, pad=1)  # 95 parameters
    """

    flipped = False

    def __init__(self, kernel, ch_in, ch_out, σ=identity, *, stride=1, pad=0, dilation=1,
                 bias=True, init=glorot_uniform):
        name = type(self).__name__
        kernel = _pair(kernel, "the kernel size", name)
        for what, n in (("ch_in", ch_in), ("ch_out", ch_out)):
            if not _is_int(n) or n < 1:
                raise LayerError(f"{name}: {what} must be a positive int, got {n!r}")
        self.σ = σ
        self.weight = init(kernel[0], kernel[1], ch_in, ch_out)
        self.bias = create_bias(self.weight, bias, ch_out)
        self.stride = _pair(stride, "stride", name)
        self.dilation = _pair(dilation, "dilation", name)
        self.pad = _padding(pad, kernel, self.dilation, name)

    def __call__(self, x):
        w = self.weight
        if _converts(stop_gradient(self), x, w):
            x = x.astype(w.dtype)
        y = conv(x, w, self.stride, self.pad, self.dilation, self.flipped, self)
        if self.bias is not None:
            y = y + self.bias[:, None]      # the channel axis is the second to last
        return self.σ(y)

    def _repr_head(self):
        kh, kw, cin, cout = self.weight.shape
        parts = [f"({kh}, {kw})", f"{cin} => {cout}"]
        if self.σ is not identity:
            parts.append(getattr(self.σ, "__name__", repr(self.σ)))
        if self.stride != (1, 1):
            parts.append(f"stride={_compact(self.stride)}")
        if any(self.pad):
            pad = self.pad
            parts.append(f"pad={_compact(pad if pad[0::2] != pad[1::2] else pad[0::2])}")
        if self.dilation != (1, 1):
            parts.append(f"dilation={_compact(self.dilation)}")
        if self.bias is None:
            parts.append("bias=False")
        return f"{type(self).__name__}({', '.join(parts)})"


@layer
class CrossCor(Conv):
    """Flux's ``CrossCor``: :class:`Conv` without flipping the kernel (what PyTorch's
    ``Conv2d`` computes).

    >>> m = CrossCor((2, 2), 1, 1, bias=False)
    >>> m.weight[...] = np.array([[1, 0], [0, 0]]).reshape(2, 2, 1, 1)
    >>> m(np.arange(9, dtype=np.float32).reshape(3, 3, 1, 1))[..., 0, 0]
    array([[0., 1.],
           [3., 4.]], dtype=float32)
    """

    flipped = True


def _converts(layer_, x, w):
    """Whether a layer with weight ``w`` must convert ``x`` to the weight's dtype first,
    as Flux does (with a warning when that loses precision)."""
    dtype = getattr(x, "dtype", None)
    if dtype is None:
        raise LayerError(f"{_who(layer_)} expects a NumPy array of layout (H, W, C, N), got "
                         f"{type(x).__name__}; convert it with np.asarray")
    if dtype == w.dtype:
        return False
    if dtype.kind == "f" and dtype.itemsize > w.dtype.itemsize:
        warnings.warn(f"{_who(layer_)} has {w.dtype} parameters but got {dtype} input; the input "
                      f"is converted to {w.dtype} (convert the data, or the model with "
                      f"f64(model))", stacklevel=3)
    return True
