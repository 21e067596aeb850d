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

from .activations import (celu, elu, gelu, gelu_erf, gelu_tanh, hardsigmoid, hardtanh,  # noqa
                          hardσ, leakyrelu, logsigmoid, logsoftmax, logsumexp, logσ, relu,
                          relu6, selu, sigmoid, softmax, softplus, softsign, swish, tanh, σ)
from .losses import (binarycrossentropy, crossentropy, huber_loss, kldivergence,  # noqa: F401
                     label_smoothing, logitbinarycrossentropy, logitcrossentropy, mae, mse,
                     onecold, onehotbatch)
from .conv import (Conv, CrossCor, GlobalMaxPool, GlobalMeanPool, MaxPool, MeanPool,  # noqa
                   SamePad, conv, maxpool, meanpool)
from .normalise import BatchNorm, Dropout, LayerNorm  # noqa: F401
from .rules import (Adam, AdamW, ClipGrad, ClipNorm, Descent, Momentum, Nesterov,  # noqa: F401
                    OptimiserChain, RMSProp, WeightDecay)
from .optimise import Leaf, setup, update  # noqa: F401
from .train import adjust, freeze, thaw, train  # noqa: F401
from .data import DataLoader  # noqa: F401
from .saving import load, loadmodel, save, state_dict  # noqa: F401
