"""Train and test mode for layers that behave differently in training
(``Dropout``, ``BatchNorm``), as in Flux.

A layer with a mode has an ``active`` field: ``None`` (automatic: training
exactly when it runs inside ``gradient`` or another transform), ``True``
(always training) or ``False`` (always testing).

>>> class Noisy:
...     def __init__(self): self.active = None
>>> m = [Noisy(), Noisy()]
>>> with testmode(m):
...     [layer.active for layer in m]
[False, False]
>>> [layer.active for layer in m]
[None, None]
"""
from ad_compiler.custom import nondifferentiable
from ad_compiler.runtime.mode import differentiating
from ad_compiler.runtime.core.tree import tree_children


def training(layer):
    """Whether ``layer`` should act as in training now.

    >>> class Noisy:
    ...     def __init__(self): self.active = None
    >>> training(Noisy())
    False
    """
    active = layer.active
    if active is None:
        return differentiating()
    return active


def _layers_with_mode(m, found=None, seen=None):
    found = [] if found is None else found
    seen = set() if seen is None else seen
    if id(m) in seen:
        return found
    seen.add(id(m))
    if hasattr(m, "active") and not isinstance(m, type):
        found.append(m)
    for child in tree_children(m):
        _layers_with_mode(child, found, seen)
    return found


class ModeSwitch:
    """The mode change just made; as a context manager it undoes it on exit.

    It holds the model privately: ``trainmode`` and ``testmode`` are
    non-differentiable (they only set flags), so they run as plain Python
    inside a differentiated loss, and nothing differentiable may come out of
    them.  Two switches are equal when they set the same layers to the same mode.
    """

    def __init__(self, model, active):
        self._model, self._active = model, active
        self._before = [(layer, layer.active) for layer in _layers_with_mode(model)]
        for layer, _ in self._before:
            layer.active = active

    def __eq__(self, other):
        return isinstance(other, ModeSwitch) and self._active == other._active and \
            [id(layer) for layer, _ in self._before] == [id(layer) for layer, _ in other._before]

    __hash__ = None

    def __enter__(self):
        return self._model

    def __exit__(self, *exc):
        for layer, active in self._before:
            layer.active = active
        return False


def trainmode(model, auto=False):
    """Put every layer of ``model`` in training mode (``auto=True``: back to
    automatic).  Usable as ``with trainmode(m): ...``, which undoes it.

    >>> class Noisy:
    ...     def __init__(self): self.active = None
    >>> layer = Noisy(); _ = trainmode(layer); layer.active
    True
    """
    return ModeSwitch(model, None if auto else True)


def testmode(model, auto=False):
    """Put every layer of ``model`` in test mode (``auto=True``: back to
    automatic).  Usable as ``with testmode(m): ...``, which undoes it.

    >>> class Noisy:
    ...     def __init__(self): self.active = None
    >>> layer = Noisy(); _ = testmode(layer); layer.active
    False
    """
    return ModeSwitch(model, None if auto else False)


# Flags only: called inside a differentiated loss, they run as plain Python.
nondifferentiable(trainmode, testmode)


def modes(model):
    """The ``active`` field of every layer with a mode, in walk order (what
    ``train`` saves and restores).

    >>> class Noisy:
    ...     def __init__(self): self.active = None
    >>> modes([Noisy()])
    [None]
    """
    return [layer.active for layer in _layers_with_mode(model)]


def restore_modes(model, saved):
    """Set the modes that :func:`modes` returned."""
    for layer, active in zip(_layers_with_mode(model), saved):
        layer.active = active
