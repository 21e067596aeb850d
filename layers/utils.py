"""Model utilities: ``f32``/``f64``, ``trainables``, ``params``,
``destructure`` (Optimisers.jl), ``summary``, and ``show``, Flux's printing
of models that ``@layer`` classes use as their ``repr``.

>>> import numpy as np
>>> from .basic import Chain, Dense
>>> m = Chain(Dense(3, 2), Dense(2, 1))
>>> [w.shape for w in trainables(m)]
[(2, 3), (2,), (1, 2), (1,)]
>>> f64(m)[0].weight.dtype
dtype('float64')
"""
import types

import numpy as np

from ad_compiler import Params, adjoint, tangent
from ad_compiler.runtime.core.tree import finish, tree_unflatten

from .basic import Chain
from .core import Walk, field_names, get_path, is_array, is_float_array, is_layer
from .printing import _head, _layer_repr, _stats, show  # noqa: F401  (show is public here)
from .errors import DimensionMismatch, LayerError


def _convert(model, real, complex_):
    def where(a):
        return is_float_array(a) and a.dtype not in (real, complex_)

    def cast(a):
        return a.astype(complex_ if a.dtype.kind == "c" else real)
    return Walk(model).map(cast, where)


def f32(model):
    """A copy of ``model`` with every float array in float32 (complex64);
    other arrays and the model itself are left as they are.

    >>> import numpy as np
    >>> f32({"w": np.ones(2), "n": np.arange(2)})["w"].dtype
    dtype('float32')
    """
    return _convert(model, np.dtype(np.float32), np.dtype(np.complex64))


def f64(model):
    """A copy of ``model`` with every float array in float64 (complex128),
    e.g. to check gradients against finite differences.

    >>> import numpy as np
    >>> f64([np.ones(2, np.float32)])[0].dtype
    dtype('float64')
    """
    return _convert(model, np.dtype(np.float64), np.dtype(np.complex128))


def trainables(model):
    """The trainable float arrays of ``model`` in walk order, each once (tied
    arrays are shared), respecting ``@layer(trainable=...)``.  Arrays that
    closures in the model capture are found too, as Flux's ``params`` does.

    >>> import numpy as np
    >>> W = np.ones((2, 2))
    >>> len(trainables([W, W, np.arange(3)]))
    1
    """
    return Walk(model, closures=True).arrays(True)


def params(model):
    """``Params(trainables(model))``: the model's arrays as implicit parameters
    (Flux's ``Flux.params``), for ``gradient(loss, params(model))``.

    >>> import numpy as np
    >>> from ad_compiler import gradient
    >>> def linear(n_in, n_out):
    ...     W, b = np.ones((n_out, n_in)), np.zeros(n_out)
    ...     return lambda x: W @ x + b
    >>> f = linear(2, 1)
    >>> ps = params(f)
    >>> grads = gradient(lambda: f(np.array([3.0, 4.0]))[0], ps)
    >>> [grads[p] for p in ps]
    [array([[3., 4.]]), array([1.])]
    """
    return Params(trainables(model))


class Restructure:
    """Rebuilds a model from a flat vector (made by :func:`destructure`)."""

    def __init__(self, walk, arrays):
        self.walk = walk
        self.ids = [id(a) for a in arrays]
        self.shapes = [a.shape for a in arrays]
        self.dtypes = [a.dtype for a in arrays]
        self.offsets = np.cumsum([0] + [a.size for a in arrays]).tolist()
        self.length = self.offsets[-1]

    def __call__(self, flat):
        return _restructure(flat, self)

    def __repr__(self):
        return "Restructure(%s, %d parameters)" % (
            type(self.walk.treedef.template[0]).__name__ if self.walk.treedef.template
            else "array", self.length)


def destructure(model):
    """``(flat, rebuild)``: the trainable parameters as one vector, and a
    function giving a new model of the same structure from such a vector
    (Optimisers.jl's ``destructure``).  Gradients flow through ``rebuild``.

    >>> import numpy as np
    >>> from .basic import Dense
    >>> flat, rebuild = destructure(Dense(2, 3))
    >>> flat.shape, rebuild(np.ones(9)).weight
    ((9,), array([[1., 1.],
           [1., 1.],
           [1., 1.]], dtype=float32))
    """
    walk = Walk(model, closures=True)
    for leaf, path, keep in walk.closure_leaves:
        if keep and is_float_array(leaf):
            where = ".".join(str(k) for step, k in path if step != "cell") or "model"
            raise LayerError("destructure cannot rebuild a closure (at %s) that captures a "
                             "parameter; make that part of the model a @layer class" % where)
    arrays = walk.arrays(True)
    if arrays:
        flat = np.concatenate([a.ravel() for a in arrays])
    else:
        flat = np.zeros(0, np.float32)
    return flat, Restructure(walk, arrays)


def _pieces(flat, spec):
    """The model's trainable arrays cut from ``flat``, by the ids of the old ones."""
    pieces = {}
    for key, start, end, shape, dtype in zip(spec.ids, spec.offsets, spec.offsets[1:],
                                             spec.shapes, spec.dtypes):
        # A copy, not a view, so that changing the flat vector later leaves the model alone.
        pieces[key] = flat[start:end].reshape(shape).astype(dtype, copy=True)
    return pieces


def _restructure(flat, spec):
    if getattr(flat, "shape", None) != (spec.length,):
        raise DimensionMismatch("rebuild expects a vector of shape (%d,), got %s"
                                % (spec.length, getattr(flat, "shape", type(flat).__name__)))
    pieces = _pieces(flat, spec)
    return spec.walk.map(lambda a: pieces[id(a)], lambda a: id(a) in pieces)


@tangent(_restructure)
def _restructure_jvp(tangents, ans, flat, spec):
    # rebuild is linear in the flat vector: the tangent model holds the cut
    # tangent vector where the parameters are, and no tangent elsewhere.
    if tangents[0] is None:
        return None
    pieces = _pieces(tangents[0], spec)
    return tree_unflatten(spec.walk.treedef, [pieces.get(id(a)) for a in spec.walk.leaves])


@adjoint(_restructure)
def _restructure_vjp(g, ans, flat, spec):
    # Optimisers.jl's _rebuild has a hand-written rule too: the model's
    # gradient is read back into a flat vector, summing over tied positions.
    out = np.zeros(spec.length, dtype=np.result_type(flat.dtype, np.float32))
    if g is None:
        return out, None
    grad = finish(ans, g)
    slots = {id(a): i for i, a in enumerate(Walk(ans).arrays(True))}
    for leaf, path, keep in Walk(ans).entries:
        if keep and id(leaf) in slots:
            gi = get_path(grad, path)
            if gi is not None:
                i = slots[id(leaf)]
                out[spec.offsets[i]:spec.offsets[i + 1]] += np.ravel(gi)
    return out.astype(flat.dtype, copy=False), None


def _shape(y):
    if is_array(y):
        return tuple(y.shape)
    if isinstance(y, (tuple, list)):
        return tuple(_shape(v) for v in y)
    return type(y).__name__


def _rows(model, x, prefix):
    if not isinstance(model, Chain):
        y = model(x)
        trained, _ = _stats(model)
        return [(prefix or type(model).__name__, _head(model), _shape(y),
                 sum(int(a.size) for a in trained))], y
    rows = []
    for i, (name, f) in enumerate(model._repr_children()):
        label = "%s%s" % (prefix + "." if prefix else "", i if name is None else name)
        sub, x = _rows(f, x, label)
        rows += sub
    return rows, x


def summary(model, x, print_fn=print):
    """Run ``model`` on ``x`` and list each layer's output shape and number of
    trainable parameters (for a Chain, one row per layer, nested Chains
    included); ``print_fn`` receives the table (None: no printing).  Returns
    the rows ``(name, layer, output shape, parameters)``.

    >>> import numpy as np
    >>> from .basic import Chain, Dense
    >>> rows = summary(Chain(Dense(10, 5, np.tanh), Dense(5, 2)), np.ones((10, 3), np.float32))
    name   layer                 output shape  parameters
    0      Dense(10 => 5, tanh)  (5, 3)                55
    1      Dense(5 => 2)         (2, 3)                12
    total                                              67
    """
    rows, _ = _rows(model, x, "")
    if print_fn is not None:
        table = [("name", "layer", "output shape", "parameters")]
        table += [(n, h, str(s), format(p, "_")) for n, h, s, p in rows]
        total = sum(int(a.size) for a in _stats(model)[0])
        table.append(("total", "", "", format(total, "_")))
        widths = [max(len(r[i]) for r in table) for i in range(4)]
        print_fn("\n".join("  ".join((r[0].ljust(widths[0]), r[1].ljust(widths[1]),
                                      r[2].ljust(widths[2]), r[3].rjust(widths[3])))
                            .rstrip() for r in table))
    return rows
