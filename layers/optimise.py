"""Optimiser state and updates with Optimisers.jl's semantics.

``state = setup(rule, model)`` mirrors the model: a :class:`Leaf` at every
trainable floating-point array, ``None`` for parts with none.  ``update(state, model,
grad)`` changes the model's arrays **in place** and returns ``(state,
model)``, like ``Optimisers.update!``.  An array held twice (tied weights)
has one ``Leaf``; its gradients are summed and it steps once.

>>> model = {"x": np.array([1.0, 2.0]), "y": (True, False), "z": np.tanh}
>>> state = setup(Descent(0.1), model)
>>> state
{'x': Leaf(Descent(eta=0.1), None), 'y': None, 'z': None}
>>> _ = update(state, model, {"x": np.array([10.0, 10.0]), "y": None, "z": None})
>>> model["x"]
array([0., 1.])
"""
import os
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from ad_compiler.runtime.core import tree as _tree
from ad_compiler.runtime.core.namespace import namespace_of

from .core import is_array, trainable_fields
from .errors import LayerError, StateError
from .rules import (Adam, AdamW, ClipGrad, ClipNorm, Descent, Momentum, Nesterov,  # noqa: F401
                    OptimiserChain, RMSProp, Rule, WeightDecay, canonical)


class Leaf:
    """The rule and state of one array; ``frozen`` leaves are not updated.

    >>> Leaf(Momentum(), np.zeros(2, np.float32))
    Leaf(Momentum(eta=0.01, rho=0.9), float32[2])
    """

    __slots__ = ("rule", "state", "frozen", "shape", "scratch")

    def __init__(self, rule, state, frozen=False, shape=None):
        self.rule, self.state, self.frozen, self.shape = rule, state, bool(frozen), shape
        self.scratch = None

    def __repr__(self):
        return "Leaf(%r, %s%s)" % (self.rule, _summary(self.state),
                                   ", frozen=True" if self.frozen else "")


def _summary(s):
    if is_array(s):
        return "%s[%s]" % (s.dtype, ", ".join(map(str, s.shape)))
    if isinstance(s, tuple):
        return "(%s)" % ", ".join(map(_summary, s))
    return repr(s)


class Scratch:
    """Buffers shaped like one array, kept from step to step so that rules
    write their updates without allocating.

    >>> s = Scratch(np.zeros(3)); a = s.take(); s.take(a) is a, s.take() is a
    (False, True)
    """

    def __init__(self, like):
        self.shape, self.dtype, self.buffers = like.shape, like.dtype, []
        self.xp = namespace_of(like)        # buffers live where the array does (CuPy)

    def take(self, *busy):
        """A buffer that is none of the arrays in ``busy``."""
        for buf in self.buffers:
            for b in busy:
                if buf is b:
                    break
            else:
                return buf
        buf = self.xp.empty(self.shape, self.dtype)
        self.buffers.append(buf)
        return buf


class Fields:
    """The state of an object (a layer): its fields' states by name, read as
    attributes (``state.layers[0].weight``) or items.

    >>> class Affine:
    ...     def __init__(self): self.W, self.act = np.ones(2), np.tanh
    >>> s = setup(Descent(), Affine()); s.W
    Leaf(Descent(eta=0.1), None)
    >>> s
    Affine(W=Leaf(Descent(eta=0.1), None))
    """

    def __init__(self, cls, fields):
        object.__setattr__(self, "_cls", cls)
        object.__setattr__(self, "_fields", dict(fields))

    def __getattr__(self, name):
        if name.startswith("__") or name in ("_cls", "_fields"):
            raise AttributeError(name)      # (copy and pickle probe before __init__)
        try:
            return self._fields[name]
        except KeyError:
            raise AttributeError("the state of %s has no field %r; it has %s" % (
                self._cls.__name__, name, ", ".join(map(str, self._fields)))) from None

    def __getitem__(self, key):
        return self._fields[key]

    def __setattr__(self, name, value):
        raise StateError("a state is changed with adjust, freeze or thaw, not by assignment")

    def __repr__(self):
        return "%s(%s)" % (self._cls.__name__, ", ".join(
            "%s=%r" % kv for kv in self._fields.items() if kv[1] is not None))


# ---------------------------------------------------------------- model walks

def _kids(x):
    """``(kind, [(key, child)])`` of a container, or None for a leaf; the
    fields an ``@layer(trainable=...)`` class leaves out read as None."""
    found = _tree._children(x)         # the same walk as gradients take
    if found is None:
        return None
    (kind, _), kids = found
    if kind == "obj":
        keep = trainable_fields(x)
        if len(keep) < len(kids):
            kids = [(k, v if k in keep else None) for k, v in kids]
    return kind, kids


def path_str(path):
    """``layers[1].weight`` for a path kept as a linked tuple ``(parent,
    kind, key)``: formatted only when something is wrong.

    >>> path_str(((None, "obj", "layers"), "seq", 1))
    'layers[1]'
    """
    parts = []
    while path is not None:
        path, kind, key = path
        parts.append(".%s" % key if kind == "obj" and isinstance(key, str) else "[%r]" % (key,))
    return "".join(reversed(parts)).lstrip(".")


def _at(path):
    return "at %s" % path_str(path) if path is not None else "at the top of the model"


# ---------------------------------------------------------------- setup

def setup(rule, model):
    """The optimiser state for ``model``: a tree mirroring it, with
    ``Leaf(rule, rule.init(x))`` at each trainable float array ``x``.

    Integer and bool arrays, numbers, functions, fields left out by
    ``@layer(trainable=...)`` and containers of only those get ``None``
    (Optimisers.jl keeps their shape: ``()``).  An array met twice gets the same
    ``Leaf`` (tied weights); two different arrays sharing memory are an error.

    >>> setup(Momentum(), [np.zeros(2), np.arange(3)])
    [Leaf(Momentum(eta=0.01, rho=0.9), float64[2]), None]
    """
    if not isinstance(rule, Rule):
        swap = " (the arguments are swapped)" if isinstance(model, Rule) else ""
        raise StateError("setup(rule, model): the first argument must be a rule such as "
                         "Adam(), got %s%s" % (type(rule).__name__, swap))
    cache, seen = {}, {}
    state = _setup(rule, model, None, cache, seen, set())
    _check_overlaps(seen)
    return state


def _setup(rule, x, path, cache, seen, active):
    if is_array(x):
        return _leaf(rule, x, path, cache, seen)
    found = _kids(x)
    if found is None:
        return None
    if id(x) in active:
        raise StateError("setup: the model contains itself %s; a model must be a tree (it "
                         "may share layers and arrays, not loop)" % _at(path))
    active.add(id(x))
    kind, kids = found
    sub = [(k, _setup(rule, v, (path, kind, k), cache, seen, active)) for k, v in kids]
    active.discard(id(x))
    return _rebuild(x, kind, sub)


def _leaf(rule, x, path, cache, seen):
    if x.dtype.kind != "f":
        if x.dtype.kind == "c":
            raise StateError("setup: the array %s is complex (%s); the rules here train real "
                             "arrays only: keep it out of the trainable fields, or hold its "
                             "real and imaginary parts separately" % (_at(path), x.dtype))
        return None
    if id(x) in cache:
        return cache[id(x)]
    if not getattr(x.flags, "writeable", True):     # (CuPy's flags have no writeable)
        raise StateError("setup: the array %s is read-only, and update changes arrays in "
                         "place; give the model a writeable copy (np.array(x))" % _at(path))
    leaf = cache[id(x)] = Leaf(rule, rule.init(x), shape=x.shape)
    seen[id(x)] = (x, path)
    return leaf


def _rebuild(x, kind, sub):
    if all(v is None for _, v in sub):
        return None                 # nothing to train below: update skips it at once
    if kind == "dict":
        return dict(sub)
    if kind == "seq":
        vals = [v for _, v in sub]
        return type(x)(*vals) if hasattr(type(x), "_fields") else type(x)(vals)
    return Fields(type(x), sub)


def _check_overlaps(seen):
    """Views of one array as two fields would each take a step: refuse them."""
    by_root = {}
    for x, path in seen.values():
        root = x
        while isinstance(root.base, np.ndarray):
            root = root.base
        for y, other in by_root.setdefault(id(root), []):
            if np.shares_memory(x, y):
                raise StateError("setup: the arrays at %s and %s share memory, so each step "
                                 "would apply twice; store the same array object in both "
                                 "places to tie them, or make one non-trainable"
                                 % (path_str(other) or "the top", path_str(path) or "the top"))
        by_root[id(root)].append((x, path))


# ---------------------------------------------------------------- update

def update(state, model, grad):
    """Step the arrays of ``model`` in place by ``grad``; returns ``(state,
    model)``, as ``Optimisers.update!``.  ``grad`` is what ``gradient`` gives
    for the model (same classes, ``None`` where there is no gradient), or
    dicts/tuples/lists; a ``None`` branch is a zero gradient and is skipped.

    >>> w = np.array([1.0, 2.0], np.float32); st = setup(Descent(0.5), (w,))
    >>> _ = update(st, (w,), (np.array([2.0, 2.0], np.float32),)); w
    array([0., 1.], dtype=float32)
    """
    if isinstance(state, Rule):
        raise StateError("update(state, model, grad) needs the optimiser state, not the rule "
                         "%r: call state = setup(rule, model) once, then update(state, model, "
                         "grad) each step" % (state,))
    if type(grad) is tuple and type(model) is not tuple and len(grad) >= 1:
        raise StateError("update: grad is a tuple but the model is a %s; gradient(loss, model, "
                         "x, ...) returns one gradient per argument: pass its [0]"
                         % type(model).__name__)
    work = []
    _collect(state, model, grad, None, work)
    _step(work)
    return state, model


def _collect(st, x, g, path, work):
    """Gather ``(leaf, array, gradient, path)`` for every leaf with a gradient,
    checking on the way that state, model and gradient fit together."""
    if st is None or g is None:
        return
    tp = type(st)
    if tp is Leaf:
        if type(x) is not np.ndarray or type(g) is not np.ndarray or \
                x.shape != st.shape or g.shape != x.shape:
            _check_leaf(st, x, g, path)
        work.append((st, x, g, path))
        return
    if tp is Fields:
        if not isinstance(x, st._cls):
            _mismatch("a " + st._cls.__name__, x, path)
        node, kind = _tree._NODES.get(type(x)), "obj"
        if node is not None:
            kind, x = "node", node[0](x)[0]
            g = node[0](g)[0] if type(g) is st._cls else g
        items = st._fields.items()
    elif isinstance(st, (dict, list, tuple)):
        kind = "dict" if tp is dict else "seq"
        if not (isinstance(x, dict) if kind == "dict" else
                isinstance(x, (tuple, list)) and len(x) == len(st)):
            _mismatch("a %s of %d entries" % (tp.__name__, len(st)), x, path)
        items = st.items() if kind == "dict" else enumerate(st)
    else:
        raise StateError("update: found %r %s where an optimiser state belongs; build the "
                         "state with setup(rule, model)" % (st, _at(path)))
    get = _getter(g, kind, x, path)
    for key, sub in items:
        if sub is not None:
            _collect(sub, _child(x, kind, key, path), get(key), (path, kind, key), work)


def _child(x, kind, key, path):
    try:
        return getattr(x, key) if kind == "obj" else x[key]
    except (AttributeError, KeyError, IndexError):
        _mismatch("a %s with a field %r" % (type(x).__name__, key), x, path)


def _getter(g, kind, x, path):
    """How to read the gradient's children (``None`` for those it lacks)."""
    if isinstance(g, dict):
        return g.get
    if isinstance(g, (tuple, list)):
        return lambda i: g[i] if type(i) is int and i < len(g) else None
    if kind == "obj" and not (is_array(g) or isinstance(g, (np.generic, float, int, complex, str))):
        return lambda k: getattr(g, k, None)
    raise StateError("update: the gradient %s is a %s, but the model has a %s there; pass "
                     "the gradient of the model itself" % (_at(path), type(g).__name__,
                                                            type(x).__name__))


def _mismatch(want, x, path):
    if is_array(x):
        have = "an array of shape %s" % (x.shape,)
    elif isinstance(x, (tuple, list, dict)):
        have = "a %s of %d entries" % (type(x).__name__, len(x))
    else:
        have = "a %s" % type(x).__name__
    raise StateError("update: the state does not match the model %s: the state was made for "
                     "%s, the model has %s; build the state with setup(rule, model) for this "
                     "model" % (_at(path), want, have))


def _check_leaf(leaf, x, g, path):
    """Raise for a leaf whose array or gradient does not fit (a ``Leaf`` made by
    hand learns its array's shape at its first update)."""
    if leaf.shape is None and is_array(x):
        leaf.shape = x.shape
    if not is_array(x) or x.shape != leaf.shape:
        _mismatch("an array of shape %s" % (leaf.shape,), x, path)
    if not is_array(g) or g.shape != x.shape:
        raise StateError("update: the gradient %s has %s, but the array has shape %s; pass "
                         "the gradient of the same model" % (_at(path), "shape %s" % (
                             g.shape,) if is_array(g) else "type " +
                             type(g).__name__, x.shape))


def _step(work):
    if len(work) > 1:
        work = _merge_ties(work)
    work = [w for w in work if not w[0].frozen]
    for leaf, x, _, _ in work:
        if leaf.scratch is None or leaf.scratch.dtype != x.dtype:
            leaf.scratch = Scratch(x)
    if threads > 1 and len(work) > 1 and sum(w[1].size for w in work) >= PARALLEL_SIZE:
        _parallel(work)
    else:
        _apply(work)


def _apply(work):
    for leaf, x, g, path in work:
        try:
            leaf.state, step = leaf.rule.apply(leaf.state, x, g, leaf.scratch)
        except LayerError as e:
            raise type(e)("%s (%s)" % (e, _at(path))) from None
        np.subtract(x, step, out=x)


# NumPy's ufuncs run on one core and release the GIL on large arrays, so
# the leaves' steps (independent of each other) split over two threads take
# about 0.65x the time on two idle cores.  ``optimise.threads = 1`` keeps every
# step on the caller's thread (better when the other cores are busy).
threads = min(2, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else
              os.cpu_count() or 1)
PARALLEL_SIZE = 1 << 18       # elements in all: below this, threads cost more than they give
_POOL = [None, None]          # (pid, executor): a forked child must not reuse the parent's


def _parallel(work):
    """Leaves in two groups of about equal size, one on a worker thread."""
    if _POOL[0] != os.getpid():
        _POOL[:] = [os.getpid(), ThreadPoolExecutor(1, thread_name_prefix="layers-update")]
    mine, other, sizes = [], [], [0, 0]
    for w in sorted(work, key=lambda w: -w[1].size):
        side = 0 if sizes[0] <= sizes[1] else 1
        (mine, other)[side].append(w)
        sizes[side] += w[1].size
    done = _POOL[1].submit(_apply, other)
    try:
        _apply(mine)
    finally:
        done.result()


def _merge_ties(work):
    """One entry per leaf, tied copies' gradients summed (the arrays are the
    same object, so the step applies once)."""
    first = {}
    for item in work:
        prev = first.get(id(item[0]))
        first[id(item[0])] = item if prev is None else (prev[0], prev[1], prev[2] + item[2],
                                                        prev[3])
    return list(first.values()) if len(first) < len(work) else work
