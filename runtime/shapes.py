"""Shapes and dtypes of gradients: unbroadcasting, spreading, stand-ins.

These are called on every broadcast operation of generated code, mostly on
the small arrays of a loss, so each keeps its common case to a few
attribute reads.
"""
import numpy as np

from .core.errors import UnsupportedDerivativeError, user_site


def like_dtype(g, x):
    """A Python-number cotangent ``g`` as a scalar of ``x``'s float dtype.

    Broadcasting a Python float makes a float64 array, which would promote
    a whole float32 computation; a NumPy scalar of the right type does not.
    """
    if type(g) is float or type(g) is int:
        dt = getattr(x, "dtype", None)
        if dt is not None and dt.kind in "fc":
            return dt.type(g)
    return g


def _sum_to_shape(g, shape):
    """Sum ``g`` over the axes that broadcasting added or stretched.

    A 2-D float gradient summed over one axis is a product with a vector of
    ones instead: BLAS does it 1.1-4x faster than ``np.add.reduce`` (0.8
    against 2.4 us for the row sums of a 128x10 loss).
    """
    gshape = g.shape
    extra = len(gshape) - len(shape)
    if extra == 1 and gshape[1:] == shape:        # a bias: the common case, made cheap
        if len(gshape) == 2 and _BLAS_MIN <= g.size and gshape[0] <= _BLAS_MAX \
                and type(g) is np.ndarray and g.dtype.char in "fd":
            return _ones(gshape[0], g.dtype, False) @ g
        return np.add.reduce(g, axis=0)
    if extra:
        g = np.add.reduce(g, axis=tuple(range(extra)))
        gshape = g.shape
    axes = tuple(i for i, n in enumerate(shape) if n == 1 and gshape[i] != 1)
    if not axes:
        return g
    if len(axes) == 1 and len(gshape) == 2 and _BLAS_MIN <= g.size \
            and gshape[axes[0]] <= _BLAS_MAX and type(g) is np.ndarray and g.dtype.char in "fd":
        if axes[0] == 1:
            return g @ _ones(gshape[1], g.dtype, True)
        return _ones(gshape[0], g.dtype, False)[None] @ g
    # np.add.reduce, not np.sum: np.sum adds a microsecond of Python dispatch
    return np.add.reduce(g, axis=axes, keepdims=True)


_BLAS_MIN = 512         # below, the checks cost more than BLAS saves
_BLAS_MAX = 1 << 16     # longer sums keep NumPy's more accurate pairwise summation
_ONES = {}


def _ones(n, dtype, column):
    """A cached read-only vector of ``n`` ones (an ``n x 1`` column if asked)."""
    key = (n, dtype, column)
    ones = _ONES.get(key)
    if ones is None:
        if len(_ONES) > 256:      # many batch sizes: do not grow without bound
            _ONES.clear()
        ones = _ONES[key] = np.ones((n, 1) if column else n, dtype)
        ones.flags.writeable = False
    return ones


SMALL = 4096      # below this many elements, a materialised broadcast is cheaper


_ZERO = {}        # dtype -> a read-only zero scalar that every stub views


def shape_only(x):
    """A stand-in for ``x`` once the adjoint needs only its shape and dtype:
    a read-only view of one zero with all strides 0, so the buffer itself
    can be freed early.  Small arrays and non-arrays are kept as they are.
    ``np.ndarray(...)`` rather than ``np.broadcast_to``: 0.2 against 1.9 us."""
    if type(x) is np.ndarray and x.size > SMALL:
        zero = _ZERO.get(x.dtype)
        if zero is None:
            zero = _ZERO[x.dtype] = np.zeros(1, x.dtype)
            zero.flags.writeable = False
        return np.ndarray(x.shape, x.dtype, zero, 0, (0,) * x.ndim)
    return x


def spread(g, x):
    """``g`` broadcast to the shape of ``x``, in ``x``'s float dtype.

    Small results are materialised (``np.broadcast_to`` costs two
    microseconds of Python); large ones stay read-only views.
    """
    g = like_dtype(g, x)
    size = getattr(x, "size", None)
    if size is not None and size <= SMALL and isinstance(x, np.ndarray):
        out = np.empty_like(x, dtype=np.result_type(g, x) if x.dtype.kind not in "fc"
                            else None)
        out[...] = g
        return out
    return np.broadcast_to(g, np.shape(x))


def unbroadcast(g, x):
    """Reduce the gradient ``g`` of a broadcast result back to ``x``'s shape.

    >>> unbroadcast(np.ones((2, 3)), np.ones(3))
    array([2., 2., 2.])

    None (a structure's entry with no gradient, after the entry was
    overwritten) stays None: broadcast, it would be an array of NaN.
    """
    if g is None:
        return None
    try:                              # the common case first: nothing was broadcast
        if g.shape == x.shape:
            return g
    except AttributeError:
        pass
    shape = getattr(x, "shape", None)
    gshape = getattr(g, "shape", ())
    if shape is None:                 # x is a Python number
        if gshape == () and isinstance(g, (list, tuple)):
            return _sequence_operand(g, x)
        return g if gshape == () else g.sum()
    if gshape == shape:
        return g
    if gshape == ():
        return spread(g, x)
    return _sum_to_shape(g, shape)


def _sequence_operand(g, x):
    """``x + y`` or ``x * n`` of lists/tuples concatenates or repeats: which part
    of the result's gradient ``g`` belongs to ``x`` is not known here, so
    anything but the trivial case is refused (never a wrong gradient)."""
    if isinstance(x, (list, tuple)) and len(x) == len(g):
        return g
    site = user_site()
    raise UnsupportedDerivativeError(
        "%sconcatenating or repeating a list or tuple of differentiated values with + or * is "
        "not supported in reverse mode; build it with a comprehension "
        "([a for _ in range(n)]) or with append in a loop" % (site + ": " if site else ""))


def unbroadcast_scalar(g):
    """Gradient of a Python scalar that was broadcast against an array."""
    return g if getattr(g, "shape", ()) == () else g.sum()
