"""Whether code is running as part of a derivative.

Layers such as ``Dropout`` and ``BatchNorm`` behave differently in training
(Flux's automatic train mode: active inside ``gradient``).  The query is
answered at compile time: the compiler replaces a call to
:func:`differentiating` with ``True`` in every derivative it generates, so
the plain function sees ``False`` and costs nothing, and no flag has to be
set and reset around each ``gradient`` call.

>>> differentiating()
False
"""


def differentiating():
    """``False`` when called plainly; ``True`` inside generated derivative
    code (``gradient``, ``pullback``, ``jvp`` and every higher order).

    >>> from ad_compiler import gradient
    >>> from ad_compiler.runtime.mode import differentiating
    >>> differentiating()
    False
    """
    return False
