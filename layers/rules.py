"""Optimisation rules with Optimisers.jl's formulas and defaults.

``rule.init(x)`` makes the per-array state; ``rule.apply(state, x, dx)``
returns ``(state, update)`` (Optimisers.jl's order) for the step ``x -=
update``.  ``apply`` updates the state in place with ``out=`` ufuncs, never
writes into ``dx``, and takes its buffers from the optional ``scratch``
(``optimise.Scratch``), else allocates.

>>> x = np.array([1.0, 2.0]); rule = Descent(0.1)
>>> x - rule.apply(rule.init(x), x, np.array([10.0, 20.0]))[1]
array([0., 0.])
"""
import math

import numpy as np

from .errors import LayerError
from .rulebase import Rule, _average, _take, canonical

# The base's examples run with this module's (doctest finds only what a
# module defines, and tests/test_docs.py lists this one).
__test__ = {"Rule": Rule, "Rule.adjust": Rule.adjust, "canonical": canonical}


class Descent(Rule):
    """Plain gradient descent, ``x -= eta * dx`` (exactly that, in ``x``'s dtype).

    >>> x = np.ones(2, np.float32); x - Descent(0.5).apply(None, x, np.ones(2, np.float32))[1]
    array([0.5, 0.5], dtype=float32)
    """

    fields = ("eta",)
    defaults = (0.1,)

    def apply(self, state, x, dx, scratch=None):
        """``(None, eta * dx)``."""
        out = _take(scratch, x, dx)
        return state, np.multiply(dx, self.eta, out=out)


class Momentum(Rule):
    """Momentum: ``v = rho*v + eta*dx``, then ``x -= v``.

    >>> rule = Momentum(0.1, 0.5); x = np.zeros(1); v = rule.init(x)
    >>> [rule.apply(v, x, np.ones(1))[1].item() for _ in range(2)]
    [0.1, 0.15000000000000002]
    """

    fields = ("eta", "rho")
    defaults = (0.01, 0.9)

    def init(self, x):
        return np.zeros_like(x)

    def apply(self, v, x, dx, scratch=None):
        """``(v, v)`` with the velocity ``v`` updated in place."""
        out = _take(scratch, x, dx)
        np.multiply(dx, self.eta, out=out)
        v *= self.rho
        v += out
        return v, v


class Nesterov(Rule):
    """Nesterov momentum: the update is ``(1+rho)*eta*dx - rho**2 * v`` with the
    old velocity ``v``, which becomes ``rho*v - eta*dx``.

    >>> rule = Nesterov(0.1, 0.5); x = np.zeros(1)
    >>> rule.apply(rule.init(x), x, np.ones(1))[1]
    array([0.15])
    """

    fields = ("eta", "rho")
    defaults = (0.001, 0.9)

    init = Momentum.init

    def apply(self, v, x, dx, scratch=None):
        """``(v, update)``, the update written as ``eta*dx - rho*v_new``."""
        out = _take(scratch, x, dx)
        tmp = _take(scratch, x, dx, out)
        np.multiply(dx, self.eta, out=out)
        v *= self.rho
        v -= out
        np.multiply(v, self.rho, out=tmp)
        out -= tmp
        return v, out


class RMSProp(Rule):
    """RMSProp: ``q = rho*q + (1-rho)*dx**2``, update ``eta*dx/(sqrt(q)+epsilon)``.
    ``centred=True`` (or ``centered``) also tracks the mean ``l`` of ``dx`` and
    uses ``sqrt(q - l**2)``.

    >>> rule = RMSProp(0.1, 0.5); x = np.zeros(1)
    >>> float(rule.apply(rule.init(x), x, np.array([2.0]))[1][0])
    0.14142135...
    """

    fields = ("eta", "rho", "epsilon", "centred")
    defaults = (0.001, 0.9, 1e-8, False)

    def init(self, x):
        return (np.zeros_like(x), np.zeros_like(x) if self.centred else None)

    def adjust(self, eta=None, **changes):
        if "centred" in canonical(changes, "RMSProp.adjust"):
            raise LayerError("RMSProp.adjust: centred cannot change, as the variants keep "
                             "different states; make a new one with setup(RMSProp(...), model)")
        return Rule.adjust(self, eta, **changes)

    def apply(self, state, x, dx, scratch=None):
        """``((q, l), update)``, ``q`` and ``l`` updated in place."""
        q, lin = state
        out = _take(scratch, x, dx)
        np.multiply(dx, dx, out=out)
        _average(q, out, self.rho)
        if self.centred:
            np.multiply(dx, 1 - self.rho, out=out)
            lin *= self.rho
            lin += out
            np.multiply(lin, lin, out=out)
            np.subtract(q, out, out=out)
            np.sqrt(out, out=out)
        else:
            np.sqrt(q, out=out)
        out += self.epsilon
        np.divide(dx, out, out=out)
        out *= self.eta
        return state, out

class Adam(Rule):
    """Adam: moments ``m``, ``v`` and the powers ``beta**t``; the update is
    ``eta * m/(1-beta1**t) / (sqrt(v/(1-beta2**t)) + epsilon)``.

    >>> rule = Adam(0.1); x = np.zeros(2)
    >>> rule.apply(rule.init(x), x, np.array([3.0, -0.5]))[1]
    array([ 0.1, -0.1])
    """

    fields = ("eta", "beta", "epsilon")
    defaults = (0.001, (0.9, 0.999), 1e-8)

    def init(self, x):
        return (np.zeros_like(x), np.zeros_like(x), self.beta)

    def apply(self, state, x, dx, scratch=None):
        """``((m, v, beta**(t+1)), update)``, ``m`` and ``v`` updated in place."""
        return _adam(self, state, x, dx, scratch, self.eta)


def _adam(rule, state, x, dx, scratch, eta):
    """Adam's step scaled by ``eta``.  ``sqrt(v/c2) + eps`` is computed as
    ``(sqrt(v) + eps*sqrt(c2)) / sqrt(c2)``, whose scalar parts fold into one
    multiply: 11 passes over the array, each an in-place ufunc."""
    m, v, (p1, p2) = state
    (b1, b2), out = rule.beta, _take(scratch, x, dx)
    np.multiply(dx, 1 - b1, out=out)
    m *= b1
    m += out
    np.multiply(dx, dx, out=out)
    _average(v, out, b2)
    root = math.sqrt(1 - p2)
    np.sqrt(v, out=out)
    out += rule.epsilon * root
    np.divide(m, out, out=out)
    out *= eta * root / (1 - p1)
    return (m, v, (p1 * b1, p2 * b2)), out


class AdamW(Rule):
    """Adam with weight decay ``lambd`` (``λ``, ``wd``; ``lambda`` is reserved in
    Python), as in Optimisers.jl 0.4: by default *coupled* like PyTorch's
    AdamW, ``x -= eta*(adam + lambd*x)`` with ``adam`` Adam's step at rate 1;
    ``couple=False`` gives the paper's decoupled ``x -= eta*adam + lambd*x``.

    >>> rule = AdamW(0.1, lambd=0.5); x = np.ones(1)
    >>> rule.apply(rule.init(x), x, np.array([3.0]))[1]
    array([0.15])
    """

    fields = ("eta", "beta", "lambd", "epsilon", "couple")
    defaults = (0.001, (0.9, 0.999), 0.0, 1e-8, True)

    init = Adam.init

    def apply(self, state, x, dx, scratch=None):
        """``((m, v, beta**(t+1)), update)``."""
        eta = 1.0 if self.couple else self.eta
        state, out = _adam(self, state, x, dx, scratch, eta)
        if self.lambd:
            tmp = _take(scratch, x, dx, out)
            out += np.multiply(x, self.lambd, out=tmp)
        if self.couple:
            out *= self.eta
        return state, out


class WeightDecay(Rule):
    """L2 regularisation: adds ``lambd * x`` to the gradient (``lambd`` is
    Optimisers.jl's ``λ``/``lambda``; also ``wd=``), like adding
    ``lambd/2 * sum(x**2)`` to the loss.  Put it first in an ``OptimiserChain``.

    >>> x = np.array([2.0]); WeightDecay(0.5).apply(None, x, np.array([1.0]))[1]
    array([2.])
    """

    fields = ("lambd",)
    defaults = (5e-4,)

    def apply(self, state, x, dx, scratch=None):
        """``(None, dx + lambd*x)``."""
        out = _take(scratch, x, dx)
        np.multiply(x, self.lambd, out=out)
        out += dx
        return state, out


class ClipGrad(Rule):
    """Clips every gradient component into ``[-delta, delta]``.

    >>> x = np.zeros(3); ClipGrad(1.0).apply(None, x, np.array([-5.0, 0.5, 5.0]))[1]
    array([-1. ,  0.5,  1. ])
    """

    fields = ("delta",)
    defaults = (10.0,)

    def apply(self, state, x, dx, scratch=None):
        """``(None, clip(dx, -delta, delta))``."""
        return state, np.clip(dx, -self.delta, self.delta, out=_take(scratch, x, dx))


class ClipNorm(Rule):
    """Scales each gradient array whose ``p``-norm exceeds ``omega`` down to
    that norm.  A NaN or infinite norm is an error unless ``throw=False``.

    >>> x = np.zeros(2); ClipNorm(1.0).apply(None, x, np.array([3.0, 4.0]))[1]
    array([0.6, 0.8])
    """

    fields = ("omega", "p", "throw")
    defaults = (10.0, 2.0, True)

    def apply(self, state, x, dx, scratch=None):
        """``(None, dx * min(omega/norm, 1))``: ``dx`` itself when unclipped."""
        flat = dx.reshape(-1)
        norm = float(np.sqrt(np.vdot(flat, flat)) if self.p == 2 else
                     np.linalg.norm(flat, self.p))
        if self.throw and not np.isfinite(norm):
            raise LayerError("ClipNorm: the gradient of an array of shape %s has %g-norm %s; "
                             "fix the loss, or pass ClipNorm(..., throw=False) to let it through"
                             % (x.shape, self.p, norm))
        if not norm > self.omega:
            return state, dx
        return state, np.multiply(dx, self.omega / norm,
                                  out=_take(scratch, x, dx))


class OptimiserChain(Rule):
    """Rules applied in order, each to the previous one's update; its state is
    the tuple of their states.  ``OptimiserChain()`` subtracts the gradient.

    >>> rule = OptimiserChain(ClipGrad(1.0), Descent(0.1)); x = np.zeros(3)
    >>> rule.apply(rule.init(x), x, np.array([0.3, 1.0, 7.0]))[1]
    array([0.03, 0.1 , 0.1 ])
    """

    def __init__(self, *rules):
        for r in rules:
            if not isinstance(r, Rule):
                raise LayerError("OptimiserChain takes rules such as Adam(), got %r" % (r,))
        self.rules = rules

    @property
    def fields(self):
        return tuple(dict.fromkeys(k for r in self.rules for k in r.fields))

    def init(self, x):
        return tuple(r.init(x) for r in self.rules)

    def apply(self, states, x, dx, scratch=None):
        """``(states, update)``: the scratch (see ``optimise.Scratch``) hands
        each rule a buffer other than the update it reads."""
        out = []
        for rule, state in zip(self.rules, states):
            state, dx = rule.apply(state, x, dx, scratch)
            out.append(state)
        return tuple(out), dx

    def adjust(self, eta=None, **changes):
        """A chain whose rules take the changes they have fields for.

        >>> OptimiserChain(ClipGrad(), Descent()).adjust(0.5, delta=1)
        OptimiserChain(ClipGrad(delta=1.0), Descent(eta=0.5))
        """
        changes = self._changes(eta, changes)
        return OptimiserChain(*[r.adjust(**{k: v for k, v in changes.items() if k in r.fields})
                                if set(changes) & set(r.fields) else r for r in self.rules])

    def __repr__(self):
        return "OptimiserChain(%s)" % ", ".join(map(repr, self.rules))
