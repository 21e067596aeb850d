"""The rule registry (runtime/core/registry.py): rules are records, built in one place,
and a rule copied to another array namespace (CuPy) keeps every field."""
import dataclasses
import operator
import types

import numpy as np
import pytest

from ad_compiler.runtime.core import registry
from ad_compiler.runtime.core.rule import Rule, Template
from ad_compiler.runtime.helpers import unbroadcast

FIELDS = [f.name for f in dataclasses.fields(Rule)]


class Recorder(types.ModuleType):
    """A stand-in array namespace: NumPy's functions, each read noted."""

    def __init__(self, name):
        super().__init__(name)
        self.read = set()

    def __getattr__(self, attr):
        self.read.add(attr)
        return getattr(np, attr)


def standin(name, source, names):
    """A module with a fresh function for each of ``names`` of ``source``."""
    module = Recorder(name)
    for n in names:
        fn = getattr(source, n)
        module.__dict__[n] = lambda *a, _fn=fn, **k: _fn(*a, **k)
    return module


@pytest.fixture
def scratch():
    """Rules registered by a test are dropped after it."""
    before = dict(registry._RULES)
    yield
    registry._RULES.clear()
    registry._RULES.update(before)


def same_function(copy, orig, module):
    if not isinstance(orig, types.FunctionType):
        return copy is orig
    return (copy.__code__ is orig.__code__ and copy.__globals__["xp"] is module
            and copy.__defaults__ == orig.__defaults__
            and copy.__kwdefaults__ == orig.__kwdefaults__)


def same_templates(copy, orig, module):
    if orig is None:
        return copy is None
    return len(copy) == len(orig) and all(
        (c is None and o is None) or (
            c.scale == o.scale and c.wrap == o.wrap and same_function(c.fn, o.fn, module))
        for c, o in zip(copy, orig))


def assert_copied(copy, orig, module, name):
    """Every field of ``copy`` is ``orig``'s, but for the primal, the name, the
    namespace and the functions, which see ``xp`` as ``module``."""
    assert copy.primal is getattr(module, name)
    assert copy.name == "%s.%s" % (module.__name__, name)
    assert copy.namespace is module
    assert copy.copy_of is orig.primal and orig.copy_of is None
    for field in FIELDS:
        c, o = getattr(copy, field), getattr(orig, field)
        if field in ("primal", "name", "namespace", "copy_of"):
            continue
        if field in ("vjps", "jvps"):
            assert same_templates(c, o, module), field
        elif field == "variants":
            assert len(c) == len(o) and all(cw is ow and same_templates(cv, ov, module)
                                            for (cw, cv), (ow, ov) in zip(c, o)), field
        elif field in ("vjp_all", "jvp_all", "jvp_joint"):
            assert same_function(c, o, module), field
        else:
            assert c == o, field


def test_copy_of_the_numpy_table_keeps_every_field(scratch):
    names = [n for n in dir(np) if registry.lookup(getattr(np, n, None)) is not None]
    assert len(names) > 100
    module = standin("standin_xp", np, names)
    registry.instantiate_namespace(module, names, np)
    for n in names:
        assert_copied(registry.lookup(getattr(module, n)), registry.lookup(getattr(np, n)),
                      module, n)
    assert registry.lookup(module.matmul).variants       # when= variants come along


def test_copy_keeps_fields_no_numpy_rule_sets(scratch):
    source = types.ModuleType("source_xp")
    source.f = lambda x, y, *, axis=None: x
    t = Template(lambda g, ans, x, y, *, axis=None: xp.sum(g), wrap=("unbroadcast", "x"))
    orig = Rule(source.f, "source_xp.f", vjps=(t, None),
                jvps=(Template(lambda ans, x, y: y, "d"),),
                vjp_all=lambda g, ans, x, y: (xp.sum(g), None),
                jvp_all=lambda tangents, ans, x, y: tangents[0],
                jvp_joint=lambda x, y, tangents=(): (x, tangents[0]), linear=(0,),
                nondiff=True, out=registry.SAME, variants=((lambda x, y: True, (t, None)),),
                mutates=1, may_be_none=True, none_ok=True)
    assert all(getattr(orig, f) != getattr(Rule(), f) for f in FIELDS
               if f not in ("namespace", "copy_of"))
    registry._RULES[source.f] = orig
    module = standin("standin_xp", source, ["f"])
    registry.instantiate_namespace(module, ["f"], source)
    assert_copied(registry.lookup(module.f), orig, module, "f")


xp = np


def test_copied_rule_computes_with_the_stand_in_namespace(scratch):
    module = standin("standin_xp", np, ["logaddexp"])
    registry.instantiate_namespace(module, ["logaddexp"], np)
    x, y = np.array([0.5, 1.0]), np.array([2.0, -1.0])
    ans, g = np.logaddexp(x, y), np.array([1.0, 2.0])
    for i in range(2):
        got = registry.lookup(module.logaddexp).vjps[i](g, ans, x, y)
        want = registry.lookup(np.logaddexp).vjps[i](g, ans, x, y)
        np.testing.assert_allclose(got, want)
    assert "exp" in module.read


def test_rules_are_records():
    rule = registry.lookup(np.sin)
    with pytest.raises(dataclasses.FrozenInstanceError):
        rule.nondiff = True


def test_def_binary_gives_both_modes_from_one_lambda():
    rule = registry.lookup(operator.mul)
    x, y, g = np.arange(3.0), np.float64(2.0), np.ones(3)
    assert rule.vjps[1].wrap == ("unbroadcast", "y") and rule.jvps[1].wrap == ("broadcast_like",
                                                                                 "ans")
    assert rule.vjps[1].fn is rule.jvps[1].fn
    assert rule.vjps[1](g, x * y, x, y) == unbroadcast(x * g, y) == 3.0
    np.testing.assert_array_equal(rule.jvps[1](np.float64(1.0), x * y, x, y), x)
    assert registry.lookup(np.multiply).vjps is rule.vjps      # like=operator.mul


def test_def_binary_for_scalars_does_not_broadcast():
    import math
    rule = registry.lookup(math.atan2)
    assert rule.vjps[0].wrap is None and rule.out == registry.SCALAR


def test_def_binary_wants_one_lambda_per_argument():
    with pytest.raises(TypeError, match="two in all"):
        registry.def_binary(lambda x, y: x, lambda g, ans, x, y: g)
