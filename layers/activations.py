"""Activation functions: Flux's (NNlib's), as plain NumPy that the compiler differentiates.

Every function works elementwise on Python numbers, NumPy scalars and arrays of any
shape, keeps float32 as float32 (and float64 as float64), and is finite for every
finite input: nothing overflows, so no ``RuntimeWarning`` either.  Infinite inputs
give the limits, except on one side for ``relu``, ``gelu``, ``gelu_erf``, ``swish``,
``softplus``, ``logsigmoid`` and ``softsign``, whose fast forms meet ``0 * inf`` there
(NaN, with NumPy's "invalid value" warning).  There is no
hand-written backward: the gradient is the compiler's derivative of the code below,
whose formulations are picked so that this derivative is cheap and stable (see
``sigmoid``).  ``softmax``, ``logsoftmax`` and ``logsumexp`` reduce along ``axis=0``
by default: features first, batch last, as in Flux.

Derivatives at kinks follow NNlib: ``relu'(0) = 0``, ``leakyrelu'(0) = a``,
``elu'(0) = celu'(0) = 1``, ``selu'(0) = λα`` (the left slope), ``hardtanh'(±1) = 0``.
``relu6`` and ``hardsigmoid`` are clamps, and like Flux's clamp they pass the
gradient at exactly their bounds (``relu6'(0) = relu6'(6) = 1``).

``tanh`` is NumPy's own ``np.tanh``; ``σ``, ``logσ`` and ``hardσ`` are aliases.
"""
import numpy as np

from ad_compiler import stop_gradient
from ad_compiler.runtime.rules.numpy import erf

__all__ = ["relu", "sigmoid", "σ", "tanh", "leakyrelu", "elu", "celu", "selu", "gelu",
           "gelu_tanh", "gelu_erf", "swish", "softplus", "logsigmoid", "logσ", "softsign",
           "relu6", "hardsigmoid", "hardσ", "hardtanh", "softmax", "logsoftmax", "logsumexp"]

tanh = np.tanh

# Constants as Python floats, so that float32 arithmetic stays float32.
_SQRT_2_OVER_PI = 0.7978845608028654      # sqrt(2 / pi), in gelu's tanh form
_SQRT_HALF = 0.7071067811865476           # 1 / sqrt(2), in gelu_erf
_SELU_LAMBDA = 1.0507009873554805
_SELU_ALPHA = 1.6732632423543772


def relu(x):
    """``max(x, 0)``, with ``relu'(0) = 0`` (NNlib's and PyTorch's convention).

    Computed as ``x * (x > 0) + 0.0`` (the ``+ 0.0`` turns ``-0.0`` into ``0.0``): the
    fastest NumPy form, 10 times faster than ``np.where`` on random signs, and its
    derivative is the mask itself.  NaN stays NaN; ``relu(-inf)`` is NaN (0 * inf).

    >>> relu(np.array([-2.0, 0.0, 3.0], dtype=np.float32))
    array([0., 0., 3.], dtype=float32)
    >>> relu(-2.5), relu(1.5)
    (0.0, 1.5)
    """
    return x * (x > 0) + 0.0


def sigmoid(x):
    """``1 / (1 + exp(-x))``, accurate in both tails; also called ``σ``.

    Written with ``e = exp(-|x|) <= 1``, which never overflows, as ``1 / (1 + e)`` for
    ``x >= 0`` and ``e / (1 + e)`` below, so that ``sigmoid(-30)`` keeps its digits
    (``0.5 + 0.5 tanh(x / 2)`` would lose them, and ``logaddexp`` is 20 times slower).
    ``|x|`` is ``s * x`` with the constant sign ``s``: its derivative is then ``s``
    even at 0, where ``abs`` would give 0 and a wrong ``sigmoid'(0)``.

    >>> print(sigmoid(np.array([-800.0, -30.0, 0.0, 2.0, 800.0])))
    [0.00000000e+00 9.35762297e-14 5.00000000e-01 8.80797078e-01
     1.00000000e+00]
    >>> sigmoid(np.float32(0.2))
    np.float32(0.549834)
    """
    s = np.copysign(1, x)                 # +1 from +0 on, -1 below: a constant
    e = np.exp(-(s * x))
    return (0.5 + 0.5 * s + (0.5 - 0.5 * s) * e) / (1 + e)


σ = sigmoid


def logsigmoid(x):
    """``log(sigmoid(x))`` without overflow or underflow: ``min(x, 0) - log1p(exp(-|x|))``.

    >>> print(logsigmoid(np.array([-800.0, 0.0, 40.0])))
    [-8.00000000e+02 -6.93147181e-01 -4.24835426e-18]
    """
    s = np.copysign(1, x)
    return (0.5 - 0.5 * s) * x - np.log1p(np.exp(-(s * x)))


logσ = logsigmoid


def softplus(x):
    """``log(1 + exp(x))`` for any ``x``: ``max(x, 0) + log1p(exp(-|x|))``.

    Its derivative is ``sigmoid(x)``.

    >>> print(softplus(np.array([-800.0, 0.0, 800.0])))
    [0.00000000e+00 6.93147181e-01 8.00000000e+02]
    >>> softplus(np.float32(16))
    np.float32(16.0)
    """
    s = np.copysign(1, x)
    return (0.5 + 0.5 * s) * x + np.log1p(np.exp(-(s * x)))


def swish(x):
    """``x * sigmoid(x)`` (also known as SiLU), with ``sigmoid`` written out.

    >>> print(swish(np.array([-30.0, 0.0, 1.0])))
    [-2.80728689e-12  0.00000000e+00  7.31058579e-01]
    """
    s = np.copysign(1, x)
    e = np.exp(-(s * x))
    return x * (0.5 + 0.5 * s + (0.5 - 0.5 * s) * e) / (1 + e)


def leakyrelu(x, a=0.01):
    """``x`` for ``x > 0``, else ``a * x``; ``leakyrelu'(0) = a``.

    >>> leakyrelu(np.float32(-10), 0.2)
    np.float32(-2.0)
    >>> print(leakyrelu(np.array([-1.0, 0.0, 2.0])))
    [-0.01  0.    2.  ]
    """
    return np.where(x > 0, x, a * x)[()]


def elu(x, α=1):
    """``x`` for ``x >= 0``, else ``α * (exp(x) - 1)``; ``elu'(0) = 1``.

    >>> elu(np.float32(-10))
    np.float32(-0.9999546)
    >>> elu(np.float32(-10), 2)
    np.float32(-1.9999092)
    """
    return np.where(x >= 0, x, α * np.expm1(np.minimum(x, 0)))[()]


def celu(x, α=1):
    """``x`` for ``x >= 0``, else ``α * (exp(x / α) - 1)``; ``celu'(0) = 1``.

    >>> celu(np.float32(-10))
    np.float32(-0.9999546)
    """
    return np.where(x >= 0, x, α * np.expm1(np.minimum(x, 0) / α))[()]


def selu(x):
    """Scaled ELU: ``λ x`` for ``x > 0``, else ``λ α (exp(x) - 1)``, with NNlib's λ, α.

    >>> selu(np.float32(-10))
    np.float32(-1.7580194)
    """
    # The exponential branch is taken at 0 too: clamping at 1 rather than 0 keeps
    # ``minimum`` away from a tie there (whose split gradient would halve the slope).
    return _SELU_LAMBDA * np.where(x > 0, x, _SELU_ALPHA * np.expm1(np.minimum(x, 1)))[()]


def gelu_tanh(x):
    """GELU, tanh approximation (Flux's ``gelu``): ``x/2 (1 + tanh(√(2/π) (x + 0.044715 x³)))``.

    This is also PyTorch's ``gelu(x, approximate="tanh")``; :func:`gelu_erf` is the
    exact form.

    >>> print(gelu_tanh(np.array([-1.0, 0.0, 1.0])))
    [-0.15880801  0.          0.84119199]
    """
    return 0.5 * x * (1 + np.tanh(_SQRT_2_OVER_PI * x * (1 + 0.044715 * x * x)))


gelu = gelu_tanh


def gelu_erf(x):
    """Exact GELU, ``x Φ(x) = x/2 (1 + erf(x / √2))`` (PyTorch's default ``gelu``).

    ``erf`` is the runtime's (SciPy's when installed), which has a rule.

    >>> print(gelu_erf(np.array([-1.0, 0.0, 1.0])))
    [-0.15865525  0.          0.84134475]
    """
    return 0.5 * x * (1 + erf(x * _SQRT_HALF))


def softsign(x):
    """``x / (1 + |x|)``.

    >>> softsign(np.float32(1)), softsign(np.float32(100))
    (np.float32(0.5), np.float32(0.990099))
    """
    return x / (1 + np.abs(x))


def relu6(x):
    """``min(max(x, 0), 6)``; a clamp, so the gradient passes at 0 and at 6.

    >>> print(relu6(np.array([-1.0, 3.0, 7.0])))
    [0. 3. 6.]
    """
    return np.clip(x, 0, 6)


def hardsigmoid(x):
    """``max(0, min(1, (x + 3) / 6))``, NNlib's piecewise-linear sigmoid (also ``hardσ``).

    >>> hardsigmoid(np.float32(0.2))
    np.float32(0.53333336)
    """
    return np.clip((x + 3) / 6, 0, 1)


hardσ = hardsigmoid


def hardtanh(x):
    """``max(-1, min(1, x))``, with slope 1 on ``(-1, 1)`` and 0 elsewhere (NNlib's rule).

    >>> print(hardtanh(np.array([-2.0, 0.5, 1.0, 3.0])))
    [-1.   0.5  1.   1. ]
    """
    return np.where(np.abs(x) < 1, x, np.sign(x))[()]


def softmax(x, axis=0):
    """``exp(x) / sum(exp(x))`` along ``axis`` (0: features first); stable for any ``x``.

    The maximum subtracted first cancels exactly, so it carries no gradient
    (``stop_gradient``): ties among maxima need no rule.

    >>> print(softmax(np.array([[1.0, 1000.0], [2.0, 1000.0]])))
    [[0.26894142 0.5       ]
     [0.73105858 0.5       ]]
    """
    e = np.exp(x - stop_gradient(np.max(x, axis=axis, keepdims=True)))
    return e / np.sum(e, axis=axis, keepdims=True)


def logsoftmax(x, axis=0):
    """``log(softmax(x))`` along ``axis``, computed without ever forming ``softmax``.

    >>> print(logsoftmax(np.array([0.0, 1000.0])))
    [-1000.     0.]
    """
    s = x - stop_gradient(np.max(x, axis=axis, keepdims=True))
    return s - np.log(np.sum(np.exp(s), axis=axis, keepdims=True))


def logsumexp(x, axis=0, keepdims=False):
    """``log(sum(exp(x)))`` along ``axis`` (``None``: all elements), without overflow.

    Like NumPy's reductions, ``axis`` is dropped unless ``keepdims=True`` (NNlib keeps
    it, as Julia's reductions do).

    >>> print(logsumexp(np.array([[1000.0, 1.0], [1000.0, 1.0]])))
    [1000.69314718    1.69314718]
    """
    m = stop_gradient(np.max(x, axis=axis, keepdims=True))
    out = np.log(np.sum(np.exp(x - m), axis=axis, keepdims=keepdims))
    if keepdims:
        return m + out
    return np.squeeze(m, axis=axis) + out
