"""Errors of models, losses, optimisers and training (all are ADErrors)."""
from ad_compiler.runtime.core.errors import ADError


class LayerError(ADError):
    """A model, loss or optimiser was used wrongly."""


class DimensionMismatch(LayerError, ValueError):
    """An input's shape does not fit a layer or a loss."""


class StateError(LayerError, ValueError):
    """An optimiser state does not fit its model, or is not a state at all."""


class NonFiniteLossError(LayerError, FloatingPointError):
    """Training met a loss that is NaN or infinite."""
