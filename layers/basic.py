"""Flux's basic layers: ``Dense``, ``Chain``, ``compose``, ``SkipConnection``,
``Parallel``, ``Scale``, ``Embedding`` and ``flatten``.

Inputs are features first, batch last.  Each ``__call__`` is plain NumPy
that the compiler differentiates; the checks of an input get their
arguments through ``stop_gradient``, so they run as ordinary Python.  A layer
computes in its parameters' dtype: a float64 input to a float32 layer is
converted to float32 (once warned, as Flux does); use ``f64(layer)`` to
compute in float64.

>>> import numpy as np
>>> model = Chain(Dense(10, 5, np.tanh), Dense(5, 2))
>>> model(np.ones((10, 3), np.float32)).shape
(2, 3)
"""
import numpy as np

from ad_compiler import stop_gradient

from .core import (activation, check_features, identity, is_array, layer, positive_int,
                   warn_dtype)
from .errors import DimensionMismatch, LayerError
from .init import create_bias, glorot_uniform, ones32, randn32

_NO_BIAS = object()     # tells Dense(W) that no positional bias was given


def _name(f):
    return getattr(f, "__name__", None) or repr(f)


@layer
class Dense:
    """``Dense(in_, out, σ=identity; bias=True, init=glorot_uniform)``: ``σ(W @ x + b)``
    with ``weight`` of shape ``(out, in_)``; or ``Dense(weight, bias=True, σ=identity)``.

    ``x`` is ``(in_,)``, ``(in_, N)`` or ``(in_, *batch)``; the output is
    ``(out, ...)`` with the same trailing axes.

    >>> d = Dense(10, 5, np.tanh)
    >>> d
    Dense(10 => 5, tanh)  # 55 parameters
    >>> d(np.ones(10, np.float32)).shape, d.weight.dtype
    ((5,), dtype('float32'))
    """

    def __init__(self, in_, out=_NO_BIAS, σ=identity, *, bias=True, init=glorot_uniform,
                 sigma=None):
        self.σ = activation(σ, sigma, "Dense")
        if is_array(in_):
            if in_.ndim != 2:
                raise DimensionMismatch("Dense(weight): weight must be a matrix (out, in), "
                                        "got shape %s" % (in_.shape,))
            self.weight = in_
            bias = bias if out is _NO_BIAS else out
        else:
            if out is _NO_BIAS:
                raise LayerError("Dense takes Dense(in_, out) or Dense(weight_matrix), got "
                                 "Dense(%r); Flux's Dense(10 => 5) is Dense(10, 5)" % (in_,))
            shape = positive_int(out, "Dense", "out"), positive_int(in_, "Dense", "in_")
            self.weight = init(*shape)
        self.bias = create_bias(self.weight, bias, self.weight.shape[0])

    def __call__(self, x):
        W = self.weight
        check_features(stop_gradient(self), stop_gradient(x), W.shape[1], W.dtype)
        if x.dtype != W.dtype:
            x = x.astype(W.dtype)
        # One path for every rank, (in, *batch) as a matrix (in, N) and back:
        # both reshapes are views, and one path compiles to a third of the
        # code of a branch per rank.
        y = W @ np.reshape(x, (x.shape[0], -1))
        if self.bias is not None:
            y = y + self.bias[:, None]
        y = np.reshape(y, (W.shape[0],) + x.shape[1:])
        if self.σ is identity:
            return y
        return self.σ(y)

    def _repr_head(self, details=True):
        out, in_ = self.weight.shape
        text = "Dense(%d => %d" % (in_, out)
        if details and self.σ is not identity and self.σ is not None:
            text += ", " + _name(self.σ)
        if details and self.bias is None:
            text += ", bias=False"
        return text + ")"


def _named(layers, named, who):
    if layers and named:
        raise LayerError("%s takes layers either positionally or by name, not both" % who)
    if len(layers) == 1 and isinstance(layers[0], (list, tuple)):
        layers = layers[0]
    for f in tuple(layers) + tuple(named.values()):
        if not callable(f):
            raise LayerError("%s: every layer must be callable, got %r" % (who, f))
    return dict(named) if named else tuple(layers)


class _Layers:
    """Indexing shared by Chain and Parallel, whose ``layers`` is a tuple or,
    for named layers, a dict."""

    @property
    def names(self):
        """The layers' names when they were given by name, else None."""
        return tuple(self.layers) if isinstance(self.layers, dict) else None

    def _values(self):
        return tuple(self.layers.values()) if isinstance(self.layers, dict) else self.layers

    def __getitem__(self, i):
        if isinstance(i, str):
            if self.names is None or i not in self.layers:
                raise KeyError("%s has no layer named %r; its names are %s"
                               % (type(self).__name__, i, self.names))
            return self.layers[i]
        if isinstance(i, slice):
            if self.names is None:
                return self._with(self.layers[i], {})
            return self._with((), {k: self.layers[k] for k in self.names[i]})
        return self._values()[i]

    def __len__(self):
        return len(self.layers)

    def __iter__(self):
        return iter(self._values())


@layer
class Chain(_Layers):
    """``Chain(*layers)`` or ``Chain(**named)``: apply the layers left to right.
    Any callable is a layer.

    >>> Chain(lambda x: x**2, lambda x: x + 1)(5)
    26
    >>> c = Chain(enc=Dense(4, 2), dec=Dense(2, 4))
    >>> c["enc"], c.names, len(c)
    (Dense(4 => 2)  # 10 parameters, ('enc', 'dec'), 2)
    """

    def __init__(self, *layers, **named):
        self.layers = _named(layers, named, "Chain")

    def _with(self, layers, named):
        return Chain(*layers, **named)

    def __call__(self, x):
        layers = self.layers
        if isinstance(layers, dict):
            layers = tuple(layers.values())
        if not layers:
            return x
        # A new name for the hidden state: with `x = f(x)` the loop would make
        # `x` look differentiated, and the first layer would form the gradient
        # of an input nobody asked for (a quarter of an MLP's backward pass).
        h = layers[0](x)
        for f in layers[1:]:
            h = f(h)
        return h

    def _repr_children(self):
        if self.names is None:
            return [(None, f) for f in self.layers]
        return list(self.layers.items())


def compose(*fs):
    """``compose(f, g)(x) == f(g(x))`` (Julia's ``f ∘ g``), as a :class:`Chain`
    of ``g`` then ``f``, so gradients have the Chain's structure.

    >>> m = compose(Dense(5, 2), Dense(10, 5, np.tanh))
    >>> m(np.ones(10, np.float32)).shape, m[0]
    ((2,), Dense(10 => 5, tanh)  # 55 parameters)
    """
    if not fs:
        raise LayerError("compose needs at least one function")
    return Chain(*reversed(fs))


@layer
class SkipConnection:
    """``SkipConnection(layer, connection)(x) == connection(layer(x), x)``.

    >>> m = SkipConnection(Dense(3, 3), np.add)
    >>> m(np.ones((3, 2), np.float32)).shape
    (3, 2)
    """

    def __init__(self, layers, connection):
        for f, what in ((layers, "layer"), (connection, "connection")):
            if not callable(f):
                raise LayerError("SkipConnection: the %s must be callable, got %r" % (what, f))
        self.layers = layers
        self.connection = connection

    def __call__(self, x):
        return self.connection(self.layers(x), x)

    def _repr_children(self):
        return [(None, self.layers), (None, self.connection)]


def _check_parallel(m, inputs):
    n = len(m.layers)
    if inputs != 1 and n != 1 and inputs != n:
        raise DimensionMismatch("Parallel with %d layers takes 1 input (given to every "
                                "layer) or %d (one per layer), got %d" % (n, n, inputs))


@layer
class Parallel(_Layers):
    """``Parallel(connection, *layers)``: ``connection(*(f(x) for f in layers))``
    with one input ``x``, or ``connection(*(f(x) for f, x in zip(layers, xs)))``
    with one input per layer (a tuple is spread).  ``connection=None`` returns
    the tuple of outputs.

    >>> p = Parallel(np.add, Dense(2, 3), Dense(2, 3))
    >>> p(np.ones(2, np.float32)).shape
    (3,)
    """

    def __init__(self, connection, *layers, **named):
        if connection is not None and not callable(connection):
            raise LayerError("Parallel: the connection must be callable or None, got %r"
                             % (connection,))
        self.connection = connection
        self.layers = _named(layers, named, "Parallel")
        if not self.layers:
            raise LayerError("Parallel needs at least one layer")

    def _with(self, layers, named):
        return Parallel(self.connection, *layers, **named)

    def __call__(self, *xs):
        if len(xs) == 1 and isinstance(xs[0], tuple):
            xs = xs[0]
        _check_parallel(stop_gradient(self), len(xs))
        layers = self.layers
        if isinstance(layers, dict):
            layers = tuple(layers.values())
        # tuple(...) around the comprehensions: the compiler cannot yet
        # differentiate a list built in a loop and then spread into a call.
        if len(xs) == 1:
            ys = tuple([f(xs[0]) for f in layers])
        elif len(layers) == 1:
            ys = tuple([layers[0](x) for x in xs])
        else:
            ys = tuple([f(x) for f, x in zip(layers, xs)])
        if self.connection is None:
            return ys
        return self.connection(*ys)

    def _repr_children(self):
        named = self.layers.items() if isinstance(self.layers, dict) else \
            [(None, f) for f in self.layers]
        return [(None, self.connection)] + list(named)


def _check_scale(m, x):
    if not is_array(x):
        raise LayerError("%s expects a NumPy array, got %s; convert it with np.asarray"
                         % (m._repr_head(False), type(x).__name__))
    size = m.scale.shape
    for a, b in zip(size, x.shape):
        if a != b and a != 1 and b != 1:
            raise DimensionMismatch("%s cannot broadcast its scale of shape %s with x of "
                                    "shape %s: axes are matched from the first (features "
                                    "first, batch last)" % (m._repr_head(False), size, x.shape))
    warn_dtype(m, x.dtype, m.scale.dtype)


@layer
class Scale:
    """``Scale(*size, σ=identity; bias=True, init=ones32)``: elementwise
    ``σ(scale * x + bias)`` with ``scale`` of shape ``size``; or
    ``Scale(scale_array, bias=True, σ=identity)``.  Broadcasting is Julia's, as
    in Flux: axes are matched from the first, so ``Scale(2)`` scales each row
    of a ``(2, N)`` batch.

    >>> s = Scale(2)
    >>> s
    Scale(2)  # 4 parameters
    >>> s(np.ones((2, 3), np.float32)).shape
    (2, 3)
    """

    def __init__(self, *size, σ=identity, bias=True, init=ones32, sigma=None):
        if size and callable(size[-1]) and not is_array(size[-1]):
            σ, size = size[-1], size[:-1]
        self.σ = activation(σ, sigma, "Scale")
        if len(size) >= 1 and is_array(size[0]):
            if len(size) > 2:
                raise LayerError("Scale(scale, bias): too many arguments")
            self.scale = size[0]
            bias = size[1] if len(size) == 2 else bias
        else:
            if not size:
                raise LayerError("Scale needs a size, as in Scale(2), or a scale array")
            self.scale = init(*[positive_int(n, "Scale", "each size") for n in size])
        self.bias = create_bias(self.scale, bias, *self.scale.shape)

    def __call__(self, x):
        _check_scale(stop_gradient(self), stop_gradient(x))
        s = self.scale
        if x.dtype != s.dtype and s.dtype.kind == "f":
            x = x.astype(s.dtype)
        if x.ndim < s.ndim:
            x = x.reshape(x.shape + (1,) * (s.ndim - x.ndim))
        shape = s.shape + (1,) * (x.ndim - s.ndim)
        y = x * s.reshape(shape)
        if self.bias is not None:
            y = y + self.bias.reshape(shape)
        if self.σ is identity:
            return y
        return self.σ(y)

    def _repr_head(self, details=True):
        text = "Scale(" + ", ".join(str(n) for n in self.scale.shape)
        if details and self.σ is not identity and self.σ is not None:
            text += ", " + _name(self.σ)
        if details and self.bias is None:
            text += ", bias=False"
        return text + ")"


def _check_embedding(m, x):
    n = m.weight.shape[1]
    if isinstance(x, (int, np.integer)) or (is_array(x) and x.dtype.kind in "iu"):
        lo, hi = (int(np.min(x)), int(np.max(x))) if np.size(x) else (0, 0)
        if lo < 0 or hi >= n:
            raise LayerError("%s: indices must be in 0..%d, got %d; Python indices start at "
                             "0 (Flux's at 1)" % (m._repr_head(), n - 1, lo if lo < 0 else hi))
    elif is_array(x) and x.dtype.kind in "bf":
        check_features(m, x, n, m.weight.dtype)
    else:
        raise LayerError("%s takes integer indices or one-hot columns (bool or float, "
                         "shape (%d, ...)), got %r" % (m._repr_head(), n, x))


@layer
class Embedding:
    """``Embedding(in_, out; init=randn32)``: a lookup table, ``weight`` of shape
    ``(out, in_)``.  Integer indices of any shape give ``(out, *idx.shape)``
    (the columns ``weight[:, idx]``); one-hot columns ``(in_, ...)`` (bool or
    float) give ``weight @ x``.

    >>> e = Embedding(10, 4)
    >>> e(np.array([[1, 2, 3], [0, 9, 9]])).shape, e(3).shape
    ((4, 2, 3), (4,))
    """

    def __init__(self, in_, out=None, *, init=randn32):
        if is_array(in_):
            if in_.ndim != 2 or out is not None:
                raise LayerError("Embedding(weight) takes one (out, in_) matrix, got %s"
                                 % (getattr(in_, "shape", in_),))
            self.weight = in_
        else:
            self.weight = init(positive_int(out, "Embedding", "out"),
                               positive_int(in_, "Embedding", "in_"))

    def __call__(self, x):
        _check_embedding(stop_gradient(self), stop_gradient(x))
        W = self.weight
        if isinstance(x, (int, np.integer)) or x.dtype.kind in "iu":
            return W[:, x]
        x = x.astype(W.dtype)
        if x.ndim <= 2:
            return W @ x
        return (W @ x.reshape(x.shape[0], -1)).reshape((W.shape[0],) + x.shape[1:])

    def _repr_head(self, details=True):
        return "Embedding(%d => %d)" % (self.weight.shape[1], self.weight.shape[0])


def _check_flatten(x):
    if not is_array(x) or x.ndim == 0:
        raise DimensionMismatch("flatten expects an array with a batch axis (last), got %r"
                                % (x,))


def flatten(x):
    """Keep the last (batch) axis and flatten the others: shape ``(-1, N)``.

    >>> flatten(np.zeros((3, 4, 5))).shape
    (12, 5)
    """
    _check_flatten(stop_gradient(x))
    return x.reshape(-1, x.shape[-1])
