"""Implicit parameters, as in the older Flux API: ``param``, ``Params``, ``Grads``.

>>> import numpy as np
>>> from ad_compiler import gradient
>>> W = param(2); b = param(3)
>>> f = lambda x: W * x + b
>>> grads = gradient(lambda: f(4), Params([W, b]))
>>> float(grads[W]), float(grads[b])
(4.0, 1.0)
"""
import numpy as np

from ad_compiler import compiler
from ad_compiler.runtime.core import tree
from ad_compiler.runtime.core.errors import ADError, annotate
from ad_compiler.runtime.implicit import Collector


def param(x):
    """A learnable parameter: a new float array (0-d for a number).

    Identity matters: gradients are looked up by the object, so keep the
    returned array and update it in place (``W -= lr * grads[W]``).

    >>> W = param(2)
    >>> W.shape, W.dtype
    ((), dtype('float64'))
    """
    return np.array(x, dtype=float)


class Params:
    """An ordered set of arrays, compared by identity."""

    def __init__(self, arrays=()):
        self._arrays = []
        for a in arrays:
            self.add(a)

    def add(self, a):
        if not isinstance(a, np.ndarray):
            raise annotate(ADError("Params holds NumPy arrays (use param(x) for a number); "
                                   "got %s" % type(a).__name__))
        if not any(a is b for b in self._arrays):
            self._arrays.append(a)

    def __iter__(self):
        return iter(self._arrays)

    def __len__(self):
        return len(self._arrays)

    def __contains__(self, a):
        return any(a is b for b in self._arrays)

    def __repr__(self):
        return "Params([%s])" % ", ".join("array%s" % (a.shape,) for a in self._arrays)


class Grads:
    """Gradients of implicit parameters, looked up by the parameter itself."""

    def __init__(self, params, grads):
        self.params = params
        self._grads = grads

    def __getitem__(self, a):
        for p in self.params:
            if p is a:
                return self._grads[id(a)]
        raise KeyError("this array is not one of the Params the gradient was taken for")

    def __contains__(self, a):
        return a in self.params

    def items(self):
        return [(p, self._grads[id(p)]) for p in self.params]

    def __repr__(self):
        return "Grads(%d parameters)" % len(self.params)


_IMPLICIT = compiler.Options(mode="grad", params=True)


def implicit_gradient(f, params):
    """``gradient(f, Params(...))``: ``f`` takes no arguments and reads the params."""
    from ad_compiler.runtime.plan import Target
    target = Target(f)
    cells, values = target.inputs(())
    collector = Collector(list(params))
    token = collector.activate()
    try:
        compiled = compiler.grad_function(target.func, (), cells + values, _IMPLICIT)
        compiled.grad(*cells, *values)
    finally:
        collector.deactivate(token)
    grads = {}
    for p in params:
        g = collector.grads.get(id(p))
        grads[id(p)] = tree.finish(p, g)
    return Grads(params, grads)
