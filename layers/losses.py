"""Loss functions: Flux's ``Flux.Losses``, as plain NumPy that the compiler differentiates.

Every loss is ``loss(ŷ, y, *, agg=np.mean, ...)``, prediction first.  ``agg`` reduces
the elementwise (or, for the cross entropies, per-sample) losses: ``np.mean`` (the
default), ``np.sum``, or any function such as ``lambda l: np.mean(w * l)``;
``agg=lambda l: l`` (Flux's ``agg=identity``) returns them unreduced.  Inputs may be
arrays, lists or numbers.  Integer and bool targets take the prediction's float dtype
(as Julia's ``Float32 - Int`` is ``Float32``), so float32 stays float32.

Sizes: like Flux, every loss requires ``ŷ`` and ``y`` of equal shape, or one of them a
number; anything else raises :class:`DimensionMismatch` naming the loss and both shapes
(Flux also lets trailing singleton dimensions differ, but NumPy would broadcast
``(3,)`` against ``(3, 1)`` to ``(3, 3)``, so here shapes must match exactly).

Probabilities: ``crossentropy``, ``binarycrossentropy`` and ``kldivergence`` add
``eps`` (default: the machine epsilon of ``ŷ``'s dtype, Flux's ``ϵ``) inside the logs,
and take ``y * log(p)`` as 0 where both are 0 (Flux's ``xlogy``; written out in each
loss, as a helper call would cost more than the arithmetic), so ``eps=0`` still gives 0
rather than NaN for classes with no mass.  Prefer the ``logit...`` versions,
which take unnormalised scores and are exact for any input.
"""
import numpy as np

from ad_compiler import stop_gradient
from ad_compiler.custom import nondifferentiable

from .devices import to_array, to_host
from .errors import DimensionMismatch, LayerError

__all__ = ["mse", "mae", "huber_loss", "crossentropy", "logitcrossentropy",
           "binarycrossentropy", "logitbinarycrossentropy", "kldivergence",
           "label_smoothing", "onehotbatch", "onecold"]


# _target_dtype and _dtype give only dtypes (constant in every input: tested in
# test_nondifferentiable), so they are registered non-differentiable and run as plain
# Python; _eps passes a given eps through, so it is differentiated.

def _target_dtype(name, yhat, y):
    """The dtype ``y`` should have, after checking that the shapes fit (Flux's rule)."""
    shape_hat, shape_y = np.shape(yhat), np.shape(y)
    if shape_hat != shape_y and shape_hat != () and shape_y != ():
        raise DimensionMismatch(
            "%s: the prediction ŷ has shape %s but the target y has shape %s; losses "
            "need equal shapes (or a number for one of them), as in Flux: reshape one "
            "to the other's shape" % (name, shape_hat, shape_y))
    kind = _dtype(y).kind
    dtype = _dtype(yhat)
    if kind in "biu" and dtype.kind == "f":
        return dtype
    return None


def _dtype(x):
    dtype = getattr(x, "dtype", None)
    return np.asarray(x).dtype if dtype is None else dtype


def _eps(dtype, eps):
    """Flux's default ``ϵ``: the machine epsilon of ``ŷ``'s float dtype."""
    if eps is not None:
        return eps
    return float(np.finfo(dtype if dtype.kind == "f" else np.float64).eps)


nondifferentiable(_target_dtype, _dtype)


def mse(yhat, y, *, agg=np.mean):
    """Mean squared error, ``agg((ŷ - y)²)``.

    >>> float(mse([1.1, 1.9, 3.1], [1, 2, 3]))
    0.010000000000000018
    """
    yhat = to_array(yhat)
    y = to_array(y, dtype=_target_dtype("mse", yhat, y))
    d = yhat - y
    if agg is np.mean:
        return np.mean(d * d)
    return agg(d * d)


def mae(yhat, y, *, agg=np.mean):
    """Mean absolute error, ``agg(|ŷ - y|)``; its slope where ``ŷ == y`` is 0.

    >>> float(mae([1.1, 1.9, 3.1], [1, 2, 3]))
    0.10000000000000009
    """
    yhat = to_array(yhat)
    y = to_array(y, dtype=_target_dtype("mae", yhat, y))
    if agg is np.mean:
        return np.mean(np.abs(yhat - y))
    return agg(np.abs(yhat - y))


def huber_loss(yhat, y, *, delta=1.0, agg=np.mean):
    """Huber loss: ``e² / 2`` where ``e = |ŷ - y| < delta``, else ``delta (e - delta / 2)``.

    ``delta`` is Flux's ``δ``.

    >>> float(huber_loss([1.1, 2.1, 3.1], [1, 2, 3]))
    0.005000000000000009
    >>> float(huber_loss([1.1, 2.1, 3.1], [1, 2, 3], delta=0.05))
    0.003750000000000005
    """
    yhat = to_array(yhat)
    y = to_array(y, dtype=_target_dtype("huber_loss", yhat, y))
    e = np.abs(yhat - y)
    l = np.where(e < delta, 0.5 * e * e, delta * (e - 0.5 * delta))
    if agg is np.mean:
        return np.mean(l)
    return agg(l)


def crossentropy(yhat, y, *, dims=0, eps=None, agg=np.mean):
    """Cross entropy of probabilities ``ŷ`` (classes along ``dims``) against ``y``.

    ``agg(-sum(y log(ŷ + eps), dims))``, with ``y log(...)`` taken as 0 where ``y == 0``.
    ``ŷ`` should sum to 1 along ``dims``, e.g. a ``softmax`` output; from scores, use
    :func:`logitcrossentropy`, which is exact.

    >>> from ad_compiler.layers.activations import softmax
    >>> y = onehotbatch([0, 1, 2, 1, 0], [0, 1, 2])
    >>> p = softmax(np.arange(-7, 8, dtype=np.float32).reshape(5, 3).T)
    >>> crossentropy(p, y)
    np.float32(1.6076053)
    >>> crossentropy(p, label_smoothing(y, 0.15))
    np.float32(1.5776052)
    """
    yhat = to_array(yhat)
    y = to_array(y, dtype=_target_dtype("crossentropy", yhat, y))
    p = yhat + _eps(yhat.dtype, eps)
    l = -np.sum(y * np.log(np.where((y == 0) & (p == 0), 1, p)), axis=dims)
    if agg is np.mean:
        return np.mean(l)
    return agg(l)


def logitcrossentropy(yhat, y, *, dims=0, agg=np.mean):
    """Cross entropy of ``softmax(ŷ)`` against ``y``, from the scores ``ŷ`` directly.

    ``agg(-sum(y logsoftmax(ŷ), dims))``: no overflow, no ``eps``.  For one-hot ``y``
    the gradient (mean over N samples) is ``(softmax(ŷ) - y) / N``.

    >>> y = onehotbatch(list("abcabaa"), list("abc"))
    >>> yhat = np.concatenate([np.arange(-9, 1), np.arange(0, 10), [7.5]])
    >>> round(float(logitcrossentropy(yhat.reshape(7, 3).T, y)), 7)
    1.5791205
    """
    yhat = to_array(yhat)
    y = to_array(y, dtype=_target_dtype("logitcrossentropy", yhat, y))
    s = yhat - stop_gradient(np.max(yhat, axis=dims, keepdims=True))
    lse = np.log(np.sum(np.exp(s), axis=dims, keepdims=True))
    l = np.sum(y * (lse - s), axis=dims)
    if agg is np.mean:
        return np.mean(l)
    return agg(l)


def binarycrossentropy(yhat, y, *, eps=None, agg=np.mean):
    """Binary cross entropy of probabilities ``ŷ`` (e.g. ``sigmoid`` outputs) against ``y``.

    ``agg(-y log(ŷ + eps) - (1 - y) log(1 - ŷ + eps))``, each term 0 where its weight is.

    >>> from ad_compiler.layers.activations import softmax
    >>> p = softmax(np.float32([[1, 3, 4], [2, 3, 5]]))
    >>> binarycrossentropy(p[1], [True, False, True])
    np.float32(0.43989)
    >>> crossentropy(p, onehotbatch([True, False, True], [False, True]))
    np.float32(0.43989)
    """
    yhat = to_array(yhat)
    y = to_array(y, dtype=_target_dtype("binarycrossentropy", yhat, y))
    e = _eps(yhat.dtype, eps)
    p = yhat + e
    q = 1 - yhat + e
    l = -(y * np.log(np.where((y == 0) & (p == 0), 1, p))
          + (1 - y) * np.log(np.where((y == 1) & (q == 0), 1, q)))
    if agg is np.mean:
        return np.mean(l)
    return agg(l)


def logitbinarycrossentropy(yhat, y, *, agg=np.mean):
    """``binarycrossentropy(sigmoid(ŷ), y)`` from the scores ``ŷ``, exact for any ``ŷ``.

    ``agg((1 - y) ŷ - logsigmoid(ŷ))``, with ``logsigmoid`` written out as in
    :func:`~ad_compiler.layers.activations.logsigmoid`.

    >>> round(float(logitbinarycrossentropy([2, -1, np.pi], [True, False, True])), 6)
    0.160832
    """
    yhat = to_array(yhat)
    y = to_array(y, dtype=_target_dtype("logitbinarycrossentropy", yhat, y))
    s = np.copysign(1, yhat)
    l = (0.5 + 0.5 * s - y) * yhat + np.log1p(np.exp(-(s * yhat)))
    if agg is np.mean:
        return np.mean(l)
    return agg(l)


def kldivergence(yhat, y, *, dims=0, eps=None, agg=np.mean):
    """Kullback-Leibler divergence of ``ŷ`` from ``y``, distributions along ``dims``.

    ``agg(sum(y log(y / (ŷ + eps)), dims))``, terms with ``y == 0`` being 0: the entropy
    plus the cross entropy of Flux, aggregated once (the same for linear ``agg``).

    >>> p1 = np.array([[1, 0], [0, 1]])
    >>> p2 = np.full((2, 2), 0.5)
    >>> bool(np.isclose(kldivergence(p2, p1), np.log(2)))
    True
    >>> float(kldivergence(p2, p2, eps=0))
    0.0
    """
    yhat = to_array(yhat)
    y = to_array(y, dtype=_target_dtype("kldivergence", yhat, y))
    p = yhat + _eps(yhat.dtype, eps)
    empty = y == 0
    ratio = np.where(empty, 1, y) / np.where(empty & (p == 0), 1, p)
    l = np.sum(y * np.log(ratio), axis=dims)
    if agg is np.mean:
        return np.mean(l)
    return agg(l)


def label_smoothing(y, α, dims=0):
    """Soften one-hot targets ``y``: ``y (1 - α) + α / size(y, dims)``.

    ``dims`` is the class axis (0, features first); ``dims=None`` smooths binary targets
    (one number per sample) towards 1/2: ``y (1 - α) + α / 2``.  ``α`` must lie in (0, 1).

    >>> y = onehotbatch([1, 1, 1, 0, 1, 0], [0, 1])
    >>> print(label_smoothing(y, 0.2).round(6))
    [[0.1 0.1 0.1 0.9 0.1 0.9]
     [0.9 0.9 0.9 0.1 0.9 0.1]]
    """
    if not 0 < α < 1:
        raise LayerError("label_smoothing: α must lie strictly between 0 and 1 (the "
                         "share of probability spread evenly), got %r" % (α,))
    if dims is None:
        return y * (1 - α) + α / 2
    return y * (1 - α) + α / np.shape(y)[dims]


def onehotbatch(labels, classes, default=None):
    """One-hot encode ``labels``: a float32 array of shape ``(len(classes), *shape)``.

    Column ``j`` has a 1 in the row of ``labels[j]``'s position in ``classes``.  A label
    not in ``classes`` is an error, unless ``default`` (itself a class) is given to
    stand for it.  Strings count as sequences of characters, as Julia's ``collect``.

    >>> onehotbatch("abca", "abc")
    array([[1., 0., 0., 1.],
           [0., 1., 0., 0.],
           [0., 0., 1., 0.]], dtype=float32)
    """
    classes = list(classes)
    index = {c: i for i, c in enumerate(classes)}
    if default is not None and default not in index:
        raise LayerError("onehotbatch: default %r is not one of the classes %r"
                         % (default, classes))
    labels = np.asarray(list(labels) if isinstance(labels, str) else labels)
    rows = np.empty(labels.size, dtype=np.intp)
    for j, label in enumerate(labels.ravel().tolist()):
        i = index.get(label, index.get(default))
        if i is None:
            raise LayerError("onehotbatch: label %r (at position %d) is not one of the "
                             "classes %r; pass default=... to map unknown labels to a "
                             "class" % (label, j, classes))
        rows[j] = i
    out = np.zeros((len(classes), labels.size), dtype=np.float32)
    out[rows, np.arange(labels.size)] = 1
    return out.reshape((len(classes),) + labels.shape)


def onecold(yhat, classes=None):
    """The inverse of :func:`onehotbatch`: the class of the largest entry along axis 0.

    Without ``classes``, the (0-based) positions; for a 1-D ``ŷ``, one label.

    >>> onecold(np.array([0.1, 0.7, 0.2]), "abc")
    'b'
    >>> onecold(np.array([[0.1, 0.9], [0.8, 0.05], [0.1, 0.05]]))
    array([1, 0])
    """
    yhat = to_host(yhat)            # labels are host values (CuPy's ŷ is copied back)
    positions = np.argmax(yhat, axis=0)
    if classes is None:
        return positions
    classes = list(classes)
    if len(classes) != yhat.shape[0]:
        raise DimensionMismatch("onecold: ŷ has %d rows (shape %s) but %d classes were "
                                "given; there must be one class per row"
                                % (yhat.shape[0], yhat.shape, len(classes)))
    if positions.ndim == 0:
        return classes[int(positions)]
    return np.asarray(classes)[positions]
