"""One epoch of training, as Flux's ``train!``, and changing the optimiser
state between epochs: ``adjust``, ``freeze``, ``thaw``.

>>> class Scale:
...     def __init__(self): self.w = np.array([0.0])
...     def __call__(self, x): return self.w * x
>>> def loss(m, x, y): return np.sum((m(x) - y) ** 2)
>>> model = Scale(); state = setup(Descent(0.1), model)
>>> data = [(np.array([1.0]), np.array([2.0]))] * 50
>>> losses = train(loss, model, data, state, progress=False)
>>> losses[0] > losses[-1], np.round(model.w, 3)
(True, array([2.]))
"""
import math
import sys
import time

import numpy as np

from ad_compiler import withgradient

from ad_compiler.runtime.core.tree import tree_leaves

from .errors import NonFiniteLossError, StateError
from .mode import modes, restore_modes
from .optimise import Descent, Fields, Leaf, Momentum, Nesterov, setup, update  # noqa: F401
from .rules import Rule, canonical


def train(loss, model, data, state, *, progress=True):
    """One pass over ``data``: for each batch, the loss ``loss(model, *batch)``
    (a batch that is not a tuple is passed as one argument), its gradient
    with respect to the model only, and ``update(state, model, gradient)``,
    which changes the model in place.  Returns the list of the batches'
    losses (floats), in order.

    ``progress=True`` shows a progress bar: ``tqdm``'s when it is installed,
    else one line on stderr rewritten in place.  The layers' train/test modes
    (``layers.mode.modes``) are restored at the end, also after an error.
    A NaN or infinite loss raises :class:`NonFiniteLossError` naming the batch
    index (from 0) before that batch changes the model.

    >>> model = {"w": np.array([1.0])}; state = setup(Descent(0.5), model)
    >>> train(lambda m, x: np.sum(m["w"] * x), model, [np.array([2.0])], state,
    ...       progress=False), model["w"]
    ([2.0], array([0.]))
    """
    saved = modes(model)
    bar = _bar(data, progress)
    losses = []
    try:
        for i, batch in enumerate(data):
            args = batch if type(batch) is tuple else (batch,)
            # the model alone is differentiated: the batch's gradients are never formed
            value, grad = withgradient(loss, model, *args, wrt=(0,))
            value = _scalar(value[0] if isinstance(value, tuple) else value, i)
            update(state, model, grad[0])
            losses.append(value)
            bar.step(value)
    finally:
        bar.close()
        restore_modes(model, saved)
    return losses


def _scalar(value, i):
    try:
        value = float(value)
    except (TypeError, ValueError):
        raise NonFiniteLossError("train: the loss at batch index %d is %r, not a number; the "
                                 "loss function must return a scalar" % (i, value)) from None
    if not math.isfinite(value):
        raise NonFiniteLossError("train: the loss at batch index %d is %r; the model was not "
                                 "updated for that batch (earlier batches were).  Lower the "
                                 "learning rate, or look for bad values in the batch or the "
                                 "model" % (i, value))
    return value


def _bar(data, progress):
    if not progress:
        return _Silent()
    try:
        from tqdm.auto import tqdm
    except ImportError:
        return _Line(data)
    return _Tqdm(tqdm(total=_length(data), desc="train", leave=False))


def _length(data):
    try:
        return len(data)
    except TypeError:
        return None


class _Silent:
    def step(self, value):
        pass

    def close(self):
        pass


class _Tqdm:
    def __init__(self, bar):
        self.bar = bar

    def step(self, value):
        self.bar.set_postfix(loss="%.4g" % value, refresh=False)
        self.bar.update(1)

    def close(self):
        self.bar.close()


class _Line:
    """``train: 12/100 loss 0.3512`` on stderr, redrawn with a carriage return
    at most ten times a second, so that drawing never costs a training step."""

    def __init__(self, data):
        self.total, self.done, self.last, self.shown = _length(data), 0, 0.0, False

    def step(self, value):
        self.done += 1
        now = time.monotonic()
        if now - self.last >= 0.1 or self.done == self.total:
            self.last, self.shown = now, True
            total = "" if self.total is None else "/%d" % self.total
            sys.stderr.write("\rtrain: %d%s loss %.4g" % (self.done, total, value))
            sys.stderr.flush()

    def close(self):
        if self.shown:
            sys.stderr.write("\n")
            sys.stderr.flush()


# ---------------------------------------------------------------- adjust, freeze

def leaves(state):
    """The distinct leaves of a state tree, in order.

    >>> w = np.zeros(2)
    >>> [leaf.state.shape for leaf in leaves(setup(Momentum(), [w, {"b": np.zeros(1)}, w]))]
    [(2,), (1,)]
    """
    found, ids = [], set()
    _leaves(state, found, ids)
    return found


def _leaves(st, found, ids):
    if type(st) is Leaf:
        if id(st) not in ids:
            ids.add(id(st))
            found.append(st)
        return
    kids = st._fields.values() if isinstance(st, Fields) else st.values() if isinstance(
        st, dict) else st if isinstance(st, (tuple, list)) else ()
    for v in kids:
        _leaves(v, found, ids)


def adjust(state, eta=None, **changes):
    """Change hyperparameters of every rule in ``state`` **in place**, keeping
    the stored moments (Optimisers.jl's ``adjust!``); returns ``state``.  A
    bare number is the learning rate; keywords are field names (or Greek
    aliases) and names that no rule here has are an error.  Given a rule
    instead of a state, returns an adjusted copy of the rule.

    >>> st = setup(Nesterov(), {"w": np.zeros(2)})
    >>> adjust(st, 0.123)["w"].rule
    Nesterov(eta=0.123, rho=0.9)
    """
    if isinstance(state, Rule):
        return state.adjust(eta, **changes)
    changes = canonical(changes, "adjust")
    found = leaves(state)
    names = {k for leaf in found for k in leaf.rule.fields}
    bad = [k for k in list(changes) + (["eta"] if eta is not None else []) if k not in names]
    if bad or not (changes or eta is not None):
        raise StateError("adjust: %s; the rules in this state (%s) have the hyperparameters %s"
                         % ("no hyperparameter %s" % ", ".join(map(repr, bad)) if bad else
                            "give a learning rate or keywords to change",
                            ", ".join(sorted({type(l.rule).__name__ for l in found})) or "none",
                            ", ".join(sorted(names)) or "none"))
    for leaf in found:
        mine = {k: v for k, v in changes.items() if k in leaf.rule.fields}
        if eta is not None and "eta" in leaf.rule.fields:
            mine["eta"] = eta
        if mine:
            leaf.rule = leaf.rule.adjust(**mine)
    return state


def freeze(state):
    """Stop updates of every array under this (part of a) state, keeping its
    stored moments, until :func:`thaw`.

    >>> m = {"a": np.ones(1), "b": np.ones(1)}; st = setup(Descent(1.0), m)
    >>> freeze(st["a"]); _ = update(st, m, {"a": np.ones(1), "b": np.ones(1)}); m
    {'a': array([1.]), 'b': array([0.])}
    """
    _set_frozen(state, True, "freeze")


def thaw(state):
    """Undo :func:`freeze` for every array under this (part of a) state.

    >>> st = setup(Descent(), [np.ones(1)]); freeze(st); thaw(st); st[0].frozen
    False
    """
    _set_frozen(state, False, "thaw")


def _set_frozen(state, frozen, name):
    found = leaves(state)
    if not found and tree_leaves(state):
        raise StateError("%s applies to the state from setup(rule, model) (or a part of it), "
                         "not to the model itself" % name)
    for leaf in found:
        leaf.frozen = frozen
