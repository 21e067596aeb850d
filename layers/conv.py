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
from .errors import DimensionMismatch, LayerError
from .init import create_bias, glorot_uniform


class SamePad:
    """Flux's ``SamePad()``: pad so that a stride-1 output keeps the input's size (and a
    stride-s output has size ``ceil(size / s)``); ``pad="same"`` means the same.

    >>> Conv((3, 3), 1, 2, pad=SamePad())(np.zeros((5, 5, 1, 1), np.float32)).shape
    (5, 5, 2, 1)
    """

    def __repr__(self):
        return "SamePad()"


def _is_int(v):
    return isinstance(v, (int, np.integer)) and not isinstance(v, bool)


def _pair(value, what, who, least=1):
    """``value`` as an (height, width) pair of ints >= ``least``."""
    if _is_int(value):
        value = (value, value)
    if isinstance(value, (tuple, list)) and len(value) == 2 and all(
            _is_int(v) and v >= least for v in value):
        return (int(value[0]), int(value[1]))
    raise LayerError(f"{who}: {what} must be an int >= {least} or a pair of them (height, "
                     f"width), got {value!r}")


def _padding(pad, kernel, dilation, who):
    """(top, bottom, left, right) from Flux's forms: an int, (ph, pw), the four
    sides (top, bottom, left, right), or SamePad() / "same"."""
    if isinstance(pad, SamePad) or (isinstance(pad, str) and pad == "same"):
        total = [d * (k - 1) for k, d in zip(kernel, dilation)]
        return (total[0] - total[0] // 2, total[0] // 2, total[1] - total[1] // 2,
                total[1] // 2)
    if _is_int(pad):
        pad = (pad,) * 4
    elif isinstance(pad, (tuple, list)) and len(pad) == 2:
        pad = (pad[0], pad[0], pad[1], pad[1])
    if isinstance(pad, (tuple, list)) and len(pad) == 4 and all(
            _is_int(p) and p >= 0 for p in pad):
        return tuple(int(p) for p in pad)
    raise LayerError(f"{who}: pad must be an int >= 0, a pair (height, width), four sides "
                     f"(top, bottom, left, right) or SamePad(), got {pad!r}")


def _who(who):
    """How an error names the layer or function: Flux's one-line form of a layer."""
    if isinstance(who, str):
        return who
    return who._repr_head() if hasattr(who, "_repr_head") else repr(who)


def window_geometry(shape, kernel, stride, pads, dilation, who, channels=None):
    """The output size ``(ho, wo)`` of sliding ``kernel`` over an input of ``shape``;
    DimensionMismatch for an input that is not ``(H, W, C, N)``, has the wrong number
    of channels, or is smaller than the kernel."""
    expected = "(H, W, C, N) = (height, width, channels, batch)"
    if channels is not None:
        expected = f"(H, W, C, N) = (height, width, {channels} channels, batch)"
    if len(shape) != 4:
        hint = " (for one image use x[..., None])" if len(shape) == 3 else ""
        raise DimensionMismatch(f"{_who(who)} expects input of layout {expected}; got an "
                                f"array of shape {tuple(shape)}{hint}")
    if channels is not None and shape[2] != channels:
        raise DimensionMismatch(f"{_who(who)} expects input of layout {expected}; got "
                                f"shape {tuple(shape)} with {shape[2]} channels")
    out = tuple((shape[a] + pads[2 * a] + pads[2 * a + 1] - dilation[a] * (kernel[a] - 1) - 1)
                // stride[a] + 1 for a in (0, 1))
    if min(out) < 1:
        raise DimensionMismatch(f"{_who(who)}: the input of shape {tuple(shape)} is smaller "
                                f"than the kernel {tuple(kernel)} (dilation "
                                f"{tuple(dilation)}, padding {pads}); pad it or use a "
                                f"smaller kernel")
    return out


def _spans(kernel, stride, dilation, out):
    """For each kernel position (row-major), the (rows, columns) slices that pick the
    input pixels it meets across the output: ``i*d + s*a`` for ``a < out``."""
    (kh, kw), (sh, sw), (dh, dw), (ho, wo) = kernel, stride, dilation, out
    return [(slice(i * dh, i * dh + sh * (ho - 1) + 1, sh),
             slice(j * dw, j * dw + sw * (wo - 1) + 1, sw))
            for i in range(kh) for j in range(kw)]


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


def _compact(pair):
    """An int when all entries agree, as Flux prints them."""
    return pair[0] if len(set(pair)) == 1 else tuple(pair)


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
