"""Dropout and normalisation layers, as Flux's ``Dropout``, ``LayerNorm`` and
``BatchNorm`` (Flux's layers/normalise.jl).

``Dropout`` and ``BatchNorm`` act differently in training, as Flux's do: their
``active`` field is None (automatic: training exactly inside ``gradient`` and
the other transforms), True or False; see :mod:`layers.mode`.

>>> x = np.arange(6.0).reshape(3, 2)
>>> LayerNorm(3)(x).round(4)
array([[-1.2247, -1.2247],
       [ 0.    ,  0.    ],
       [ 1.2247,  1.2247]])
>>> Dropout(0.5)(x) is x                    # a plain call is not training
True
"""
import numpy as np

from ad_compiler import stop_gradient
from ad_compiler.runtime.core.namespace import namespace_of

from .core import identity, layer
from .errors import DimensionMismatch, LayerError
from .mode import training

def _name(f):
    return getattr(f, "__name__", None) or repr(f)


def _axes(dims, ndim, who):
    """``dims`` (None, an axis or a tuple of axes, negative from the end) as a set of
    axes of an ``ndim``-dimensional input."""
    if dims is None:
        return set(range(ndim))
    dims = (dims,) if isinstance(dims, (int, np.integer)) else tuple(dims)
    if any(not -ndim <= d < ndim for d in dims):
        who = who if isinstance(who, str) else who._repr_head()
        raise DimensionMismatch(f"{who}: dims={dims!r} names an axis that an input with "
                                f"{ndim} dimensions lacks")
    return {d % ndim for d in dims}


def dropout_mask(rng, shape, p, dims=None, dtype=np.float32, who="dropout", like=None):
    """Flux's dropout mask for an input of ``shape``: 0 with probability ``p``, else
    ``1 / (1 - p)``, drawn independently along the axes ``dims`` (all by default)
    and shared along the others (size-1 axes there).  Drawn from the NumPy
    generator ``rng``, then moved to ``like``'s library (CuPy) if it has another.

    >>> dropout_mask(np.random.default_rng(0), (2, 3), 0.5, dims=0)
    array([[2.],
           [0.]], dtype=float32)
    """
    axes = _axes(dims, len(shape), who)
    shape = tuple(n if a in axes else 1 for a, n in enumerate(shape))
    if p == 1:
        mask = np.zeros(shape, dtype)
    else:
        mask = (rng.random(shape) >= p) * np.asarray(1 / (1 - p), dtype)
    where = namespace_of(like)
    return mask if where is np else where.asarray(mask)


@layer
class Dropout:
    """Flux's ``Dropout(p; dims=:, rng)``: in training, each element (or each slice
    along ``dims``, e.g. ``dims=2`` for whole channels of ``(H, W, C, N)``) is zeroed
    with probability ``p`` and the kept ones scaled by ``1 / (1 - p)``, so the
    expectation is unchanged; otherwise the identity.  ``active``: None
    (automatic), True or False, as set by ``trainmode``/``testmode``.

    >>> d = Dropout(0.5, rng=np.random.default_rng(0), active=True)
    >>> d(np.ones(6))
    array([2., 0., 0., 0., 2., 2.])
    >>> d
    Dropout(0.5, active=True)
    """

    def __init__(self, p, *, dims=None, rng=None, active=None):
        if not (isinstance(p, (int, float, np.floating)) and 0 <= p <= 1):
            raise LayerError(f"Dropout: the probability p must be a number in [0, 1], got "
                             f"{p!r}")
        if not (rng is None or isinstance(rng, (np.random.Generator, int, np.integer))):
            raise LayerError(f"Dropout: rng must be a np.random.Generator, a seed or None, "
                             f"got {type(rng).__name__}")
        self.p = float(p)
        self.dims = dims
        self.active = active
        self.rng = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)

    def __call__(self, x):
        if self.p != 0 and training(self):
            # Built from x's shape and dtype only: the mask is random, not a function of x.
            dtype = np.result_type(getattr(x, "dtype", np.float64), np.float32)
            return x * dropout_mask(self.rng, np.shape(x), self.p, self.dims, dtype,
                                    stop_gradient(self), like=stop_gradient(x))
        return x

    def _repr_head(self):
        extra = "" if self.dims is None else f", dims={self.dims!r}"
        extra += "" if self.active is None else f", active={self.active!r}"
        return f"Dropout({self.p!r}{extra})"


def _stats(x, axes):
    """The mean and the biased variance of ``x`` over ``axes`` (kept as size-1 axes)."""
    mu = np.mean(x, axis=axes, keepdims=True)
    centred = x - mu
    return mu, centred, np.mean(centred * centred, axis=axes, keepdims=True)


def _check_layernorm(layer, shape):
    n = len(layer.size)
    if tuple(shape[:n]) != layer.size:
        raise DimensionMismatch(f"{layer._repr_head()} normalises the first {n} axes, of sizes "
                                f"{layer.size}: it expects input of shape {layer.size} + "
                                f"batch axes; got shape {tuple(shape)}")


def _check_batchnorm(layer, shape):
    if len(shape) < 2 or shape[-2] != layer.chs:
        raise DimensionMismatch(f"{layer._repr_head()} expects input of layout (..., C, N) "
                                f"with the C = {layer.chs} channels second to last (e.g. "
                                f"(H, W, C, N) or (C, N)); got shape {tuple(shape)}")


class _Affine:
    """ASCII spellings of the Greek fields (``beta`` for ``β``, ``gamma`` for ``γ``)."""

    @property
    def beta(self):
        return self.β

    @beta.setter
    def beta(self, value):
        self.β = value

    @property
    def gamma(self):
        return self.γ

    @gamma.setter
    def gamma(self, value):
        self.γ = value


@layer(trainable=("β", "γ"))
class LayerNorm(_Affine):
    """Flux's ``LayerNorm(size, σ; affine=True, eps=1e-5)``: normalises ``x`` to mean 0
    and variance 1 over its first ``len(size)`` axes (features first, batch last),
    then ``σ(γ * x + β)`` with ``γ``, ``β`` of shape ``size``.  The denominator is
    ``sqrt(var + eps)``, as in BatchNorm and PyTorch's LayerNorm (Flux's
    ``normalise`` puts ``eps`` elsewhere, a relative difference of order ``eps``
    for unit variance).

    >>> m = LayerNorm((2, 2)); m.γ.shape
    (2, 2)
    >>> m(np.array([[1.0, 2.0], [3.0, 4.0]])[..., None])[..., 0].round(4)
    array([[-1.3416, -0.4472],
           [ 0.4472,  1.3416]])
    """

    def __init__(self, size, σ=identity, *, affine=True, eps=1e-5):
        self.size = (size,) if isinstance(size, (int, np.integer)) else tuple(size)
        if not self.size or any(not isinstance(n, (int, np.integer)) or n < 1
                                for n in self.size):
            raise LayerError(f"LayerNorm: size must be a positive int or a tuple of them, "
                             f"got {size!r}")
        self.σ = σ
        self.β = np.zeros(self.size, np.float32) if affine else None
        self.γ = np.ones(self.size, np.float32) if affine else None
        self.eps = eps
        self.affine = affine

    def __call__(self, x):
        _check_layernorm(stop_gradient(self), np.shape(x))
        n = len(self.size)
        _, centred, var = _stats(x, tuple(range(n)))
        y = centred / np.sqrt(var + self.eps)
        if self.affine:
            shape = self.size + (1,) * (np.ndim(x) - n)
            y = y * np.reshape(self.γ, shape) + np.reshape(self.β, shape)
        return self.σ(y)

    def _repr_head(self):
        parts = [str(self.size[0]) if len(self.size) == 1 else str(self.size)]
        parts += [] if self.σ is identity else [_name(self.σ)]
        parts += [] if self.affine else ["affine=False"]
        parts += [] if self.eps == 1e-5 else [f"eps={self.eps!r}"]
        return f"LayerNorm({', '.join(parts)})"


@layer(trainable=("β", "γ"))
class BatchNorm(_Affine):
    """Flux's ``BatchNorm(channels, σ; momentum=0.1, eps=1e-5, affine=True,
    track_stats=True)``: normalises each channel, the second-to-last axis of
    ``(..., C, N)`` input (``(H, W, C, N)`` after a Conv, ``(C, N)`` after a
    Dense), over all the other axes, then ``σ(γ * x + β)``.

    In training (``active`` True, or None inside ``gradient``) it uses the
    batch's mean and (biased) variance and moves the running ``μ``, ``σ2``
    towards them: ``μ = (1 - momentum) * μ + momentum * mean`` and likewise
    ``σ2`` with the unbiased variance, as Flux does.  In test mode it uses the
    running statistics (the batch's if ``track_stats=False``).  Only ``β`` and
    ``γ`` are parameters; ``μ`` and ``σ2`` are state (their gradient is zero).

    >>> m = BatchNorm(2, active=True)
    >>> m(np.array([[1.0, 3.0], [0.0, 2.0]])).round(3)
    array([[-1.,  1.],
           [-1.,  1.]])
    >>> print(m.μ, m.σ2)            # moved by momentum 0.1 from 0 and 1
    [0.2 0.1] [1.1 1.1]
    """

    def __init__(self, channels, σ=identity, *, momentum=0.1, eps=1e-5, affine=True,
                 track_stats=True, active=None):
        if not isinstance(channels, (int, np.integer)) or channels < 1:
            raise LayerError(f"BatchNorm: channels must be a positive int, got {channels!r}")
        self.σ = σ
        self.β = np.zeros(channels, np.float32) if affine else None
        self.γ = np.ones(channels, np.float32) if affine else None
        self.μ = np.zeros(channels, np.float32)
        self.σ2 = np.ones(channels, np.float32)
        self.eps, self.momentum = eps, momentum
        self.affine, self.track_stats = affine, track_stats
        self.active = active
        self.chs = channels

    mu = property(lambda self: self.μ, lambda self, value: setattr(self, "μ", value))
    sigma2 = property(lambda self: self.σ2, lambda self, value: setattr(self, "σ2", value))

    def __call__(self, x):
        _check_batchnorm(stop_gradient(self), np.shape(x))
        shape = (self.chs, 1)          # broadcasts along (..., C, N)
        train = training(self)
        if train or not self.track_stats:
            axes = tuple(a for a in range(np.ndim(x)) if a != np.ndim(x) - 2)
            mu, centred, var = _stats(x, axes)
            if train and self.track_stats:
                self._track(mu, var, np.size(x) // self.chs)
        else:
            centred = x - np.reshape(stop_gradient(self.μ), shape)
            var = np.reshape(stop_gradient(self.σ2), shape)
        y = centred / np.sqrt(var + self.eps)
        if self.affine:
            y = y * np.reshape(self.γ, shape) + np.reshape(self.β, shape)
        return self.σ(y)

    def _track(self, mu, var, m):
        """Move the running statistics towards the batch's (Flux's momentum rule,
        the variance unbiased); on the layer itself, even inside ``gradient``."""
        if m < 2:
            raise DimensionMismatch(f"{self._repr_head()} in training needs more than one "
                                    f"value per channel to estimate a variance; got {m}")
        rate, dtype = self.momentum, self.μ.dtype
        self.μ = stop_gradient(((1 - rate) * self.μ + rate * np.reshape(mu, (self.chs,)))
                               .astype(dtype))
        self.σ2 = stop_gradient(((1 - rate) * self.σ2 + rate * m / (m - 1)
                                 * np.reshape(var, (self.chs,))).astype(dtype))

    def _repr_head(self):
        parts = [str(self.chs)] + ([] if self.σ is identity else [_name(self.σ)])
        for key, value, default in (("affine", self.affine, True),
                                    ("track_stats", self.track_stats, True),
                                    ("momentum", self.momentum, 0.1), ("eps", self.eps, 1e-5),
                                    ("active", self.active, None)):
            parts += [] if value == default else [f"{key}={value!r}"]
        return f"BatchNorm({', '.join(parts)})"
