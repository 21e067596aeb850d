"""Flux-style layers, initialisers and model utilities.

>>> import numpy as np
>>> import ad_compiler.layers as nn
>>> model = nn.Chain(nn.Dense(3, 4, np.tanh), nn.Dense(4, 1))
>>> model(np.ones((3, 8), np.float32)).shape
(1, 8)
"""
from .core import check_features, identity, is_layer, layer, trainable_fields  # noqa: F401
from .basic import (Chain, Dense, Embedding, Parallel, Scale, SkipConnection,  # noqa: F401
                    compose, flatten)
from .init import (create_bias, glorot_normal, glorot_uniform, kaiming_normal,  # noqa: F401
                   kaiming_uniform, nfan, ones32, rand32, randn32, zeros32)
from .utils import destructure, f32, f64, params, show, summary, trainables  # noqa: F401
from .devices import cpu, gpu  # noqa: F401
from .errors import DimensionMismatch, LayerError, NonFiniteLossError, StateError  # noqa
from .mode import testmode, trainmode  # noqa: F401

# INTEGRATOR: add the other helpers' modules here once they exist (no
# conditional imports), e.g.
#   from .activations import relu, sigmoid, σ, tanh_fast, softmax, logsoftmax, ...
#   from .losses import mse, crossentropy, logitcrossentropy, ...
#   from .conv import Conv, ...
#   from .normalise import BatchNorm, LayerNorm, Dropout, ...
#   from .optimise import Descent, Adam, setup, update, ...
#   from .train import train, ...
#   from .data import DataLoader, onehotbatch, ...
#   from .saving import save, load, ...
