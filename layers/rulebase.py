"""What every optimisation rule shares: the :class:`Rule` base (its
hyperparameters checked and adjustable, its ``repr``), the Greek and PyTorch
aliases of hyperparameter names, and the scratch buffers the rules'
in-place updates write into.  The rules themselves are in :mod:`rules`."""
import inspect

import numpy as np

from .errors import LayerError

# Greek and PyTorch spellings of the hyperparameters, accepted as keywords.
ALIASES = {"η": "eta", "lr": "eta", "ρ": "rho", "β": "beta", "betas": "beta", "ϵ": "epsilon",
           "ε": "epsilon", "eps": "epsilon", "λ": "lambd", "wd": "lambd",
           "weight_decay": "lambd", "δ": "delta", "ω": "omega",
           "centered": "centred"}


class Rule:
    """The base of the rules: hyperparameters in ``fields``, ``adjust`` and a
    ``repr`` in the rule's own constructor order.

    >>> Momentum(0.1).adjust(rho=0.5)
    Momentum(eta=0.1, rho=0.5)
    """

    fields, defaults = (), ()

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)     # help(Adam) shows Adam(eta=0.001, ...)
        if isinstance(cls.fields, tuple):
            cls.__signature__ = inspect.Signature([inspect.Parameter(
                k, inspect.Parameter.POSITIONAL_OR_KEYWORD, default=d)
                for k, d in zip(cls.fields, cls.defaults)])

    def __init__(self, *args, **kwargs):
        name = type(self).__name__
        if len(args) > len(self.fields):
            raise LayerError("%s takes at most %d hyperparameters (%s), got %d" % (
                name, len(self.fields), ", ".join(self.fields), len(args)))
        values = dict(zip(self.fields, self.defaults))
        values.update(zip(self.fields, args))
        for k, v in canonical(kwargs, name).items():
            if k not in self.fields:
                raise LayerError("%s has no hyperparameter %r; its hyperparameters are %s"
                                 % (name, k, ", ".join(self.fields)))
            values[k] = v
        for k, v in values.items():     # rates finite and >= 0, decays in [0, 1)
            if k == "beta":
                if not isinstance(v, (tuple, list)) or len(v) != 2:
                    raise LayerError("%s: beta must be a pair (beta1, beta2), got %r" % (name, v))
                v = (_number(name, "beta[0]", v[0], 1), _number(name, "beta[1]", v[1], 1))
            elif isinstance(v, (bool, np.bool_)) or k == "p":
                v = type(self.defaults[self.fields.index(k)])(v)
            else:
                v = _number(name, k, v, 1 if k == "rho" else None)
            setattr(self, k, v)

    def init(self, x):
        """The per-array state for ``x`` (``None`` when the rule keeps none)."""
        return None

    def adjust(self, eta=None, **changes):
        """A copy with the hyperparameters ``changes`` (``eta`` positionally).

        >>> Adam().adjust(0.01, beta=(0.8, 0.9))
        Adam(eta=0.01, beta=(0.8, 0.9), epsilon=1e-08)
        """
        values = {k: getattr(self, k) for k in self.fields}
        values.update(self._changes(eta, changes))
        return type(self)(**values)

    def _changes(self, eta, changes):
        """``changes`` by field name, with ``eta``; unknown names are an error."""
        changes = canonical(changes, type(self).__name__ + ".adjust")
        if eta is not None:
            changes["eta"] = eta
        bad = [k for k in changes if k not in self.fields]
        if bad or not changes:
            raise LayerError("%s.adjust: %s; its hyperparameters are %s" % (
                type(self).__name__, "no hyperparameter " + ", ".join(map(repr, bad)) if bad
                else "give something to change", ", ".join(self.fields) or "none"))
        return changes

    def __repr__(self):
        return "%s(%s)" % (type(self).__name__, ", ".join(
            "%s=%r" % (k, getattr(self, k)) for k in self.fields))

    def __eq__(self, other):
        return type(self) is type(other) and repr(self) == repr(other)

    __hash__ = None


def canonical(kwargs, where):
    """``kwargs`` with Greek/PyTorch aliases renamed to the field names.

    >>> canonical({"η": 0.1, "rho": 0.9}, "Momentum")
    {'eta': 0.1, 'rho': 0.9}
    """
    out = {}
    for k, v in kwargs.items():
        name = ALIASES.get(k, k)
        if name in out:
            raise LayerError("%s: %r given twice (as %r and an alias)" % (where, name, k))
        out[name] = v
    return out


def _number(rule, name, value, below=None):
    try:
        value = float(value)
    except (TypeError, ValueError):
        raise LayerError("%s: %s must be a number, got %r" % (rule, name, value)) from None
    if not (0 <= value < (np.inf if below is None else below)):
        raise LayerError("%s: %s must be %s, got %r" % (
            rule, name, "finite and >= 0" if below is None else "in [0, %g)" % below, value))
    return value


def _average(acc, new, rho):
    """``acc = rho*acc + (1-rho)*new`` in place, ``new`` a scratch buffer."""
    new *= 1 - rho
    acc *= rho
    acc += new


def _take(scratch, x, dx, *busy):
    if scratch is None:
        return np.empty_like(x)
    return scratch.take(dx, *busy)
