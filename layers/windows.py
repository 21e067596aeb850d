"""Sliding windows for the convolution and pooling layers: the settings in
Flux's forms (a kernel, stride or dilation as an int or a pair; padding as
an int, a pair, four sides or :class:`SamePad`), the output size and the
checks of an input's layout, the slices a window position picks, and how
errors and ``repr`` name a layer.  Used by :mod:`conv` and :mod:`pooling`."""
import numpy as np

from .errors import DimensionMismatch, LayerError


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


def _compact(pair):
    """An int when all entries agree, as Flux prints them."""
    return pair[0] if len(set(pair)) == 1 else tuple(pair)
