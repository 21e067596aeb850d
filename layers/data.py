"""Mini-batches of arrays, batch last, as Flux's ``DataLoader``.

>>> x = np.arange(10.0).reshape(2, 5); y = np.arange(5)
>>> [(a.shape, b.tolist()) for a, b in DataLoader((x, y), batchsize=2)]
[((2, 2), [0, 1]), ((2, 2), [2, 3]), ((2, 1), [4])]
"""
import numpy as np

from ad_compiler.runtime.core.tree import tree_flatten, tree_unflatten

from .errors import DimensionMismatch, LayerError


class DataLoader:
    """Iterates over ``data`` (an array, or a tuple/list/dict of arrays, nested
    if need be) in batches of ``batchsize`` along the **last** axis, which all
    arrays must share.

    ``shuffle=True`` draws a new order at each ``iter()`` (each epoch) from
    ``rng`` (a ``np.random.Generator``, a seed, or None for a fresh one).
    ``partial=False`` drops a last batch smaller than ``batchsize``.
    PyTorch's ``batch_size=`` and ``drop_last=`` are accepted as aliases.
    Batches are new contiguous arrays (copies), never views of ``data``.

    >>> loader = DataLoader(np.arange(7), batch_size=3, drop_last=True)
    >>> len(loader), [b.tolist() for b in loader]
    (2, [[0, 1, 2], [3, 4, 5]])
    """

    def __init__(self, data, batchsize=1, shuffle=False, partial=True, rng=None, *,
                 batch_size=None, drop_last=None):
        if batch_size is not None:
            if batchsize not in (1, batch_size):
                raise LayerError("DataLoader: batchsize=%r and batch_size=%r disagree; give one"
                                 % (batchsize, batch_size))
            batchsize = batch_size
        if drop_last is not None:
            partial = not drop_last
        if isinstance(batchsize, (bool, np.bool_)) or not isinstance(
                batchsize, (int, np.integer)) or batchsize < 1:
            raise LayerError("DataLoader: batchsize must be a positive int, got %r" % (batchsize,))
        self.data, self.batchsize = data, int(batchsize)
        self.shuffle, self.partial = bool(shuffle), bool(partial)
        self.rng = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
        self._leaves, self._treedef = tree_flatten(data)
        self.nobs = _count(data, self._leaves)

    def __len__(self):
        full, rest = divmod(self.nobs, self.batchsize)
        return full + (1 if rest and self.partial else 0)

    def __iter__(self):
        n, size = self.nobs, self.batchsize
        order = self.rng.permutation(n) if self.shuffle else None
        stop = n if self.partial else n - n % size
        for start in range(0, stop, size):
            index = slice(start, min(start + size, n)) if order is None else \
                order[start:start + size]
            yield tree_unflatten(self._treedef, [_take_last(a, index) for a in self._leaves])

    def __repr__(self):
        return "DataLoader(%s, batchsize=%d, shuffle=%s, partial=%s)" % (
            _describe(self.data), self.batchsize, self.shuffle, self.partial)


def _take_last(a, index):
    if isinstance(index, slice):
        return np.ascontiguousarray(a[..., index])
    return np.take(a, index, axis=-1)


def _count(data, leaves):
    """The common last-axis length of the arrays in ``data``."""
    if not leaves:
        raise LayerError("DataLoader: data holds no arrays; give an array or a tuple/dict of "
                         "arrays, with observations along the last axis")
    lengths = []
    for a in leaves:
        if not isinstance(a, np.ndarray) or a.ndim == 0:
            raise LayerError("DataLoader: every part of data must be an array of at least one "
                             "dimension (observations along the last axis), got %s"
                             % _describe(a))
        lengths.append(a.shape[-1])
    if len(set(lengths)) > 1:
        raise DimensionMismatch("DataLoader: the arrays disagree on the number of observations "
                                "(their last axis): shapes %s; put the batch last in each"
                                % ", ".join(str(a.shape) for a in leaves))
    return lengths[0]


def _describe(x):
    if isinstance(x, np.ndarray):
        return "%s array of shape %s" % (x.dtype, x.shape)
    if isinstance(x, (tuple, list)):
        return "(%s)" % ", ".join(_describe(v) for v in x)
    if isinstance(x, dict):
        return "{%s}" % ", ".join("%r: %s" % (k, _describe(v)) for k, v in x.items())
    return type(x).__name__
