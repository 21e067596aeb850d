"""Whether code is running as part of a derivative.

Layers such as ``Dropout`` and ``BatchNorm`` behave differently in training
(Flux's automatic train mode: active inside ``gradient``).  Two mechanisms
answer it: the compiler replaces a call to :func:`differentiating` with
``True`` in every derivative it generates (so the branch folds away), and
the API's transforms set a context variable while they run, for code that
derivative code calls plainly (a layer whose inputs carry no gradient).

>>> differentiating()
False
"""
import contextvars

_DERIVING = contextvars.ContextVar("ad_compiler_deriving", default=False)
enter = _DERIVING.set        # enter(True) -> token; leave(token)
leave = _DERIVING.reset


def differentiating():
    """``False`` when called plainly; ``True`` inside generated derivative
    code (``gradient``, ``pullback``, ``jvp`` and every higher order).

    >>> from ad_compiler import gradient
    >>> from .mode import differentiating
    >>> differentiating()
    False
    """
    return _DERIVING.get()
