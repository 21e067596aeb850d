"""Every function registered as non-differentiable is checked against its claim.

A non-differentiable registration says "this function is piecewise constant in
each float input, so its derivative is 0 wherever it exists".  Each one gets a
sample here: a function building its arguments from random floats (away from the
points where the output jumps: integers, ties, thresholds).  The output must not
change when the floats move by a relative 1e-7 either way.  A registration
without a sample fails ``test_every_registration_has_a_sample``.

Two registrations are not claims about values, and are listed apart:
``stop_gradient`` (the user asks for no gradient) and ``shape_only`` (a stand-in
for an array whose adjoint reads only its shape and dtype).
"""
import builtins
import inspect
import io
import math
import operator
import os

import numpy as np
import pytest

import ad_compiler
from ad_compiler.checks import check_grads
from ad_compiler.runtime.core.errors import ADError
from ad_compiler.runtime import helpers as H
from ad_compiler.runtime.mode import differentiating
from ad_compiler.runtime import ownership, registry
from ad_compiler.runtime.rules import arrays as RA
from ad_compiler.runtime.rules import basic as RB
from ad_compiler.runtime.rules import complex as RC
from ad_compiler.runtime.rules import linalg as L
from ad_compiler.runtime.rules import matrix as MX
from ad_compiler.runtime.rules import numpy as R
from ad_compiler.runtime.rules import reductions as RR
from ad_compiler.runtime import shapes
from ad_compiler.layers import core as layers_core, losses as layers_losses, mode as layers_mode

BY_DESIGN = {H.stop_gradient, shapes.shape_only}

_BUFFER = np.zeros(3)


class _Moded:
    active = None


_MODED = [_Moded(), _Moded()]


def _in_buffer(x):
    """The same array object each time, holding ``x`` (for ``id``)."""
    _BUFFER[:] = x[:3]
    return _BUFFER


def _ties(x):
    a = np.array([[x[0], x[0], x[1] - 5.0], [x[2], x[3] + 5.0, x[3] + 5.0]])
    return a, np.max(a, axis=1)


def _clipped(x):
    a = x.reshape(2, 3) * 4.0 - 2.0           # away from the bounds -1 and 1.3
    return a, np.clip(a, -1.0, 1.3)


# Each entry: fn -> make(x) returning the positional arguments, x an array of 6
# floats, each k + u with k an integer and u in (0.1, 0.4).
SAMPLES = {
    # operators and builtins
    operator.floordiv: lambda x: (x[0] * 3.0, 0.7),
    operator.lt: lambda x: (x[0], x[1]), operator.le: lambda x: (x[0], x[1]),
    operator.gt: lambda x: (x[0], x[1]), operator.ge: lambda x: (x[0], x[1]),
    operator.eq: lambda x: (x[0], x[1]), operator.ne: lambda x: (x[0], x[1]),
    operator.not_: lambda x: (x[0],), operator.truth: lambda x: (x[0],),
    operator.invert: lambda x: (int(x[0]),),                   # no float input
    builtins.len: lambda x: (list(x),), builtins.range: lambda x: (len(x),),
    builtins.isinstance: lambda x: (x[0], float), builtins.int: lambda x: (x[0],),
    builtins.bool: lambda x: (x[0],), builtins.round: lambda x: (x[0],),
    builtins.print: lambda x: (x[0],), builtins.type: lambda x: (x[0],),
    builtins.id: lambda x: (_in_buffer(x),), builtins.callable: lambda x: (x[0],),
    builtins.hasattr: lambda x: (x, "shape"), builtins.any: lambda x: (list(x),),
    builtins.all: lambda x: (list(x),),
    RB.sorted_order: lambda x: (list(x),),
    math.floor: lambda x: (x[0],), math.ceil: lambda x: (x[0],), math.trunc: lambda x: (x[0],),
    math.isnan: lambda x: (x[0],), math.isinf: lambda x: (x[0],),
    math.isfinite: lambda x: (x[0],),
    dict.keys: lambda x: ({"a": x[0], "b": x[1]},),
    # complex helpers
    RC.sign: lambda x: (x[0] - 3.0,), RC.angle_unit: lambda x: (True,),
    RC.sign_grad: lambda x: (x - 3.0,),
    # numpy: piecewise constant
    np.floor: lambda x: (x,), np.ceil: lambda x: (x,), np.round: lambda x: (x,),
    np.around: lambda x: (x, 1), np.rint: lambda x: (x,), np.trunc: lambda x: (x,),
    np.fix: lambda x: (x - 3.0,), np.floor_divide: lambda x: (x, 0.7),
    np.ndarray.round: lambda x: (x,),
    np.argmax: lambda x: (x,), np.argmin: lambda x: (x,), np.argsort: lambda x: (x,),
    np.argwhere: lambda x: (x - 3.0,), np.nonzero: lambda x: (x > 3.0,),
    np.flatnonzero: lambda x: (x - 3.0,), np.count_nonzero: lambda x: (x > 3.0,),
    np.searchsorted: lambda x: (np.sort(x[:3]), x[3:]), np.digitize: lambda x: (x, [1.5, 3.5]),
    np.ndarray.argmax: lambda x: (x,), np.ndarray.argmin: lambda x: (x,),
    np.ndarray.argsort: lambda x: (x,), np.ndarray.nonzero: lambda x: (x - 3.0,),
    np.shape: lambda x: (x,), np.ndim: lambda x: (x,), np.size: lambda x: (x,),
    np.result_type: lambda x: (x,), np.isnan: lambda x: (x,), np.isfinite: lambda x: (x,),
    np.isinf: lambda x: (x,), np.isclose: lambda x: (x, x + 0.5),
    np.allclose: lambda x: (x, x * 1.5), np.array_equal: lambda x: (x, x + 1.0),
    np.signbit: lambda x: (x - 3.0,),
    np.greater: lambda x: (x, x[::-1]), np.greater_equal: lambda x: (x, x[::-1]),
    np.less: lambda x: (x, x[::-1]), np.less_equal: lambda x: (x, x[::-1]),
    np.equal: lambda x: (x, x[::-1]), np.not_equal: lambda x: (x, x[::-1]),
    np.logical_and: lambda x: (x - 3.0, x), np.logical_or: lambda x: (x - 3.0, x),
    np.logical_not: lambda x: (x - 3.0,), np.logical_xor: lambda x: (x - 3.0, x),
    np.all: lambda x: (x,), np.any: lambda x: (x,), np.ndarray.all: lambda x: (x,),
    np.ndarray.any: lambda x: (x,),
    # constructors (integer shapes; empty's values are garbage: see _SHAPE_ONLY)
    np.zeros: lambda x: (len(x),), np.ones: lambda x: ((2, len(x)),),
    np.empty: lambda x: (len(x),), np.zeros_like: lambda x: (x,), np.ones_like: lambda x: (x,),
    np.empty_like: lambda x: (x,), np.eye: lambda x: (3,), np.identity: lambda x: (3,),
    np.tri: lambda x: (3,),
    # helpers used inside rules
    R.clip_lower: lambda x: _clipped(x) + (1.3,), R.clip_upper: lambda x: _clipped(x) + (1.3,),
    R.extremum_share: lambda x: (x, x[::-1], np.maximum(x, x[::-1])),
    RA.linspace_weights: lambda x: (np.linspace(x[0], x[1], 4), 4, True, 0, False, None, 1),
    RA.arange_weights: lambda x: (np.arange(x[0], 5.0, 1.0), 5.0, 2),
    RR.reduced_size: lambda x: (x.reshape(2, 3), 1, x.reshape(2, 3) > 3.0),
    RR.one_each: lambda x: (x.reshape(6, 1), 1, False),
    RR.tie_weights: lambda x: _ties(x) + (1, False),
    RR.kept_shape: lambda x: ((2, 3), 1),
    L.inverse_axes: lambda x: (3, (2, 0, 1)),
    MX.norm_power: lambda x: (3, x, None),
    H.zero_entry: lambda x: (x,), H.zeros_like: lambda x: (x,), H.seed: lambda x: (x[0],),
    differentiating: lambda x: (),     # no inputs at all: constant
    ownership.check_owned: lambda x: (x[0], "f.py:1", "y"),
    ownership.check_part: lambda x: ([x[0], x[1]], 0, x[0], "f.py:1"),
    ownership.check_immutable: lambda x: (x[0], "f.py:1: message"),
    ownership.check_augmented_item: lambda x: (x, x[0], "f.py:1: message"),
    # layers' input checks: None, whatever the input
    layers_core.check_features: lambda x: (None, x, 6, np.dtype("float64")),
    layers_core.warn_dtype: lambda x: (None, x.dtype, np.dtype("float64")),
    # the losses' target dtype: a dtype (or None), whatever the values
    layers_losses._target_dtype: lambda x: ("mse", x, x.astype(int)),
    layers_losses._dtype: lambda x: (x,),
    # mode switches: they set flags, whatever the model's values
    layers_mode.trainmode: lambda x: (_MODED + [x],), layers_mode.testmode: lambda x: (_MODED + [x],),
}
_SHAPE_ONLY = {np.empty, np.empty_like}
# Functions that raise whatever their input (their "output" is the error).
RAISES = {RR.unsupported_derivative: lambda x: (x[0], "a test", "do something else")}


def _ours(fn):
    """Registered by the library (not by a test registering its own function)."""
    try:
        path = inspect.getfile(fn)
    except TypeError:
        return True                     # a builtin
    return not path.startswith("<") and os.sep + "tests" + os.sep not in path   # (doctests)


def registered():
    return [rule.primal for rule in registry._RULES.values()
            if rule.nondiff and rule.primal is not None and rule.copy_of is None
            and _ours(rule.primal)]


def _floats(seed):
    rng = np.random.RandomState(seed)
    return rng.randint(0, 6, 6) + rng.uniform(0.1, 0.4, 6)


def _same(a, b, shape_only=False):
    if isinstance(a, (tuple, list)):
        return type(a) is type(b) and len(a) == len(b) and all(map(_same, a, b))
    if isinstance(a, dict) or type(a).__name__ == "dict_keys":
        return list(a) == list(b)
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        a, b = np.asarray(a), np.asarray(b)
        if shape_only:
            return a.shape == b.shape and a.dtype == b.dtype
        return a.shape == b.shape and a.dtype == b.dtype and np.array_equal(a, b, equal_nan=True)
    return type(a) is type(b) and (a == b or (a != a and b != b))


def _call(fn, args):
    if fn is builtins.print:
        return fn(*args, file=io.StringIO())
    return fn(*args)


def test_every_registration_has_a_sample():
    missing = [registry.qualified_name(f) for f in registered()
               if f not in SAMPLES and f not in RAISES and f not in BY_DESIGN]
    assert not missing, "add a sample for each: %s" % missing


@pytest.mark.parametrize("fn", sorted(SAMPLES, key=registry.qualified_name),
                         ids=registry.qualified_name)
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_piecewise_constant(fn, seed):
    assert registry.lookup(fn) is not None and registry.lookup(fn).nondiff, \
        "%s is not registered as non-differentiable: move its sample" % fn
    make = SAMPLES[fn]
    x = _floats(seed)
    y = _call(fn, make(x))
    for step in (1e-7, -1e-7):
        moved = _call(fn, make(x * (1.0 + step)))
        assert _same(y, moved, fn in _SHAPE_ONLY), "%s changed: %r -> %r" % (
            registry.qualified_name(fn), y, moved)


@pytest.mark.parametrize("fn", list(RAISES), ids=registry.qualified_name)
def test_raises_always(fn):
    with pytest.raises(ADError):
        fn(*RAISES[fn](_floats(0)))


def test_by_design():
    """``stop_gradient`` returns its argument; ``shape_only`` keeps a large array's
    shape and dtype only (small ones are passed through; their values are never read)."""
    x = np.arange(5000.0)
    assert H.stop_gradient(x) is x
    assert shapes.shape_only(x).shape == x.shape and not shapes.shape_only(x).any()


@pytest.mark.parametrize("make", [lambda a: np.r_[a, a * 2.0, 3.0], lambda a: np.c_[a, a * 2.0],
                                  lambda a: np.r_[np.outer(a, a), a[None, :]],
                                  lambda a: np.c_[np.outer(a, a), a]],
                         ids=["r_", "c_", "r_-2d", "c_-2d"])
def test_index_tricks_are_joins(make):
    """np.r_ and np.c_ build arrays from their index: differentiated as the join."""
    check_grads(lambda a: np.sum(np.sin(make(a))), np.array([0.3, 1.7]), order=2)


def test_index_tricks_with_slices_are_refused():
    with pytest.raises(ad_compiler.UnsupportedSyntaxError, match="np.r_ with slices"):
        ad_compiler.gradient(lambda a: np.sum(np.r_[a, 0:3] * a[0]), np.array([0.3, 1.7]))
