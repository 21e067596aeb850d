"""Weight initialisers, as in Flux: ``init(*dims, rng=None, ...)`` gives a
new float32 array of shape ``dims``.

Fan-in and fan-out follow Flux for NumPy's shapes: a dense weight is
``(out, in)``, so ``fan_in = in`` and ``fan_out = out``; a convolution kernel
is ``(k..., cin, cout)``, so ``fan_in = prod(k) * cin`` and
``fan_out = prod(k) * cout``; a vector ``(n,)`` has ``fan_in = 1``,
``fan_out = n``.  ``rng`` is a ``np.random.Generator``, a seed, or None (a
generator shared by this module).

>>> w = glorot_uniform(5, 10, rng=0)
>>> w.shape, w.dtype, bool(abs(w).max() <= (6 / 15) ** 0.5)
((5, 10), dtype('float32'), True)
"""
import math

import numpy as np

from .errors import DimensionMismatch, LayerError

_DEFAULT_RNG = np.random.default_rng()


def _rng(rng, who):
    if rng is None:
        return _DEFAULT_RNG
    if isinstance(rng, (np.random.Generator, np.random.RandomState)):
        return rng
    if isinstance(rng, (int, np.integer)) and not isinstance(rng, bool):
        return np.random.default_rng(int(rng))
    raise LayerError("%s: rng must be a np.random.Generator, a seed (int) or None, got %s"
                     % (who, type(rng).__name__))


def _dims(dims, who):
    """``dims`` as a tuple of ints; ``init((3, 4))`` means ``init(3, 4)``."""
    if len(dims) == 1 and isinstance(dims[0], (tuple, list)):
        dims = tuple(dims[0])
    for d in dims:
        if isinstance(d, bool) or not isinstance(d, (int, np.integer)) or d < 0:
            raise LayerError("%s: dimensions must be non-negative ints, got %r; call it as "
                             "%s(out, in) for a (out, in) weight" % (who, dims, who))
    return tuple(int(d) for d in dims)


def nfan(*dims):
    """``(fan_in, fan_out)`` of an array of shape ``dims`` (Flux's ``nfan``).

    >>> nfan(5, 10), nfan(3, 3, 16, 32), nfan(7)
    ((10, 5), (144, 288), (1, 7))
    """
    dims = _dims(dims, "nfan")
    if len(dims) == 0:
        return 1, 1
    if len(dims) == 1:
        return 1, dims[0]
    if len(dims) == 2:
        return dims[1], dims[0]
    k = math.prod(dims[:-2])
    return k * dims[-2], k * dims[-1]


def _uniform(rng, dims, bound, dtype):
    # Draw in float64 then cast, so float32 results are the same draws rounded.
    return rng.uniform(-bound, bound, size=dims).astype(dtype)


def _normal(rng, dims, std, dtype):
    return (rng.standard_normal(size=dims) * std).astype(dtype)


def glorot_uniform(*dims, rng=None, gain=1.0, dtype=np.float32):
    """Uniform in ``±gain * sqrt(6 / (fan_in + fan_out))`` (Xavier/Glorot).
    Flux's default for ``Dense``.

    >>> w = glorot_uniform(3, 4, rng=1)
    >>> bool(abs(w).max() <= (6 / 7) ** 0.5), w.dtype
    (True, dtype('float32'))
    """
    dims = _dims(dims, "glorot_uniform")
    fan_in, fan_out = nfan(*dims)
    bound = gain * math.sqrt(6.0 / (fan_in + fan_out))
    return _uniform(_rng(rng, "glorot_uniform"), dims, bound, dtype)


def glorot_normal(*dims, rng=None, gain=1.0, dtype=np.float32):
    """Normal with std ``gain * sqrt(2 / (fan_in + fan_out))``.

    >>> w = glorot_normal(1000, 1000, rng=0)
    >>> round(float(w.std()), 3)
    0.032
    """
    dims = _dims(dims, "glorot_normal")
    fan_in, fan_out = nfan(*dims)
    std = gain * math.sqrt(2.0 / (fan_in + fan_out))
    return _normal(_rng(rng, "glorot_normal"), dims, std, dtype)


def kaiming_uniform(*dims, rng=None, gain=math.sqrt(2), dtype=np.float32):
    """Uniform in ``±gain * sqrt(3 / fan_in)`` (He); gain √2 by default, as in Flux.

    >>> w = kaiming_uniform(100, 50, rng=0)
    >>> bool(abs(w).max() <= 2 ** 0.5 * (3 / 50) ** 0.5)
    True
    """
    dims = _dims(dims, "kaiming_uniform")
    bound = gain * math.sqrt(3.0 / nfan(*dims)[0])
    return _uniform(_rng(rng, "kaiming_uniform"), dims, bound, dtype)


def kaiming_normal(*dims, rng=None, gain=math.sqrt(2), dtype=np.float32):
    """Normal with std ``gain / sqrt(fan_in)`` (He); gain √2 by default.

    >>> round(float(kaiming_normal(1000, 10, rng=0).std()), 2)    # sqrt(2/10)
    0.45
    """
    dims = _dims(dims, "kaiming_normal")
    std = gain / math.sqrt(nfan(*dims)[0])
    return _normal(_rng(rng, "kaiming_normal"), dims, std, dtype)


def zeros32(*dims, rng=None, dtype=np.float32):
    """Zeros (``rng`` is accepted so every initialiser takes the same arguments).

    >>> zeros32(2, 3)
    array([[0., 0., 0.],
           [0., 0., 0.]], dtype=float32)
    """
    _rng(rng, "zeros32")
    return np.zeros(_dims(dims, "zeros32"), dtype=dtype)


def ones32(*dims, rng=None, dtype=np.float32):
    """Ones.

    >>> ones32(3)
    array([1., 1., 1.], dtype=float32)
    """
    _rng(rng, "ones32")
    return np.ones(_dims(dims, "ones32"), dtype=dtype)


def rand32(*dims, rng=None, dtype=np.float32):
    """Uniform in ``[0, 1)``.

    >>> w = rand32(4, 4, rng=0)
    >>> bool((w >= 0).all() and (w < 1).all()), w.dtype
    (True, dtype('float32'))
    """
    return _rng(rng, "rand32").random(size=_dims(dims, "rand32")).astype(dtype)


def randn32(*dims, rng=None, dtype=np.float32):
    """Standard normal.

    >>> randn32(2, 5, rng=0).shape
    (2, 5)
    """
    return _normal(_rng(rng, "randn32"), _dims(dims, "randn32"), 1.0, dtype)


def create_bias(weight, bias, *dims):
    """The bias of a layer with weight ``weight`` (Flux's ``create_bias``):
    ``True`` gives zeros of shape ``dims`` in the weight's dtype, ``False``
    (or None) gives None, an array is checked against ``dims`` and converted to
    the weight's dtype.

    >>> W = glorot_uniform(5, 10)
    >>> create_bias(W, True, 5)
    array([0., 0., 0., 0., 0.], dtype=float32)
    >>> create_bias(W, False, 5) is None
    True
    """
    dims = _dims(dims, "create_bias")
    if bias is True:
        return np.zeros(dims, dtype=weight.dtype)
    if bias is False or bias is None:
        return None
    if not hasattr(bias, "shape") or isinstance(bias, np.generic):
        raise LayerError("create_bias: bias must be True, False or an array of shape %s, "
                         "got %r" % (dims, bias))
    if tuple(bias.shape) != dims:
        raise DimensionMismatch("create_bias: expected a bias of shape %s to go with a weight "
                                "of shape %s, got shape %s" % (dims, weight.shape, bias.shape))
    if bias.dtype != weight.dtype and isinstance(bias, np.ndarray):
        return bias.astype(weight.dtype)
    return bias
