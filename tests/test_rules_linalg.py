"""Rules of runtime/rules/linalg.py and matrix.py: through the compiler, and rule by
rule.

See test_rules_numpy.py for the two kinds of test; ``check_rule`` comes
from there and also checks the ``when=`` variants (2-D @ 2-D...) against
the general rules.
"""
import operator

import numpy as np
import pytest

import ad_compiler
from ad_compiler.checks import check_grads
from ad_compiler.runtime.core import registry
from ad_compiler.runtime.rules import linalg as L
from ad_compiler.runtime.rules import matrix as MX
from test_rules_numpy import _case, check_rule, covered, has_forward_rules

rng = np.random.RandomState(2)
A = rng.randn(3, 3) + 3 * np.eye(3)          # well conditioned
BA = rng.randn(2, 3, 3) + 3 * np.eye(3)      # a batch of them
M23 = rng.randn(2, 3)
M34 = rng.randn(3, 4)
M33 = rng.randn(3, 3)
B234 = rng.randn(2, 3, 4)
B243 = rng.randn(2, 4, 3)
B334 = rng.randn(3, 3, 4)
V2 = rng.randn(2)
V3 = rng.randn(3)
V4 = rng.randn(4)
W2 = rng.randn(2)
W3 = rng.randn(3)
W4 = rng.randn(4)
W23 = rng.randn(2, 3)
W24 = rng.randn(2, 4)
W33 = rng.randn(3, 3)
W34 = rng.randn(3, 4)
W43 = rng.randn(4, 3)
W234 = rng.randn(2, 3, 4)
W233 = rng.randn(2, 3, 3)
W2332 = rng.randn(2, 3, 3, 2)
W224 = rng.randn(2, 2, 4)
W62 = rng.randn(6, 2)
W44 = rng.randn(4, 4)
B223 = rng.randn(2, 2, 3)
B342 = rng.randn(3, 4, 2)
B432 = rng.randn(4, 3, 2)
M43 = rng.randn(4, 3)
S33 = np.outer(V3, W3) + np.outer(W3, V3)    # rank 2: singular
S22 = np.array([[2.0, -1.0], [-4.0, 2.0]])    # rank 1
BS = np.stack([S33, np.zeros((3, 3))])       # singular, and rank 0



def _slogdet_unpack(a):
    sign, logdet = np.linalg.slogdet(a)
    return logdet * 2.0


def _norm_direction(x):
    return np.sum(x / np.linalg.norm(x) * W3)


PRODUCTS = [
    ("matmul-2d-2d", lambda a, b: np.sum(a @ b * W24), (M23, M34)),
    ("matmul-2d-1d", lambda a, b: np.sum(a @ b * W2), (M23, V3)),
    ("matmul-1d-2d", lambda a, b: np.sum(a @ b * W4), (V3, M34)),
    ("matmul-1d-1d", lambda a, b: a @ b, (V3, W3)),
    ("matmul-3d-2d", lambda a, b: np.sum(a @ b * W224), (B223, M34)),
    ("matmul-batch", lambda a, b: np.sum(a @ b * W233), (B234, B243)),
    ("matmul-broadcast-batch", lambda a, b: np.sum(a @ b * W233), (M34, B243)),
    ("matmul-3d-1d", lambda a, b: np.sum(a @ b * W23), (B234, V4)),
    ("matmul-1d-3d", lambda a, b: np.sum(a @ b * W23), (V4, B243)),
    ("matmul-chain", lambda a, b: np.sum(a @ b @ b.T * W23), (M23, M34)),
    ("matmul-same", lambda a: np.sum(a @ a * W33), (M33,)),
    ("np.matmul", lambda a, b: np.sum(np.matmul(a, b) * W24), (M23, M34)),
    ("np.matmul-1d", lambda a, b: np.sum(np.matmul(a, b) * W4), (V3, M34)),
    ("np.matmul-batch", lambda a, b: np.sum(np.matmul(a, b) * W233), (M34, B243)),
    ("operator.matmul", lambda a, b: np.sum(operator.matmul(a, b) * W24), (M23, M34)),
    ("dot-2d", lambda a, b: np.sum(np.dot(a, b) * W24), (M23, M34)),
    ("dot-2d-1d", lambda a, b: np.sum(np.dot(a, b) * W2), (M23, V3)),
    ("dot-1d-2d", lambda a, b: np.sum(np.dot(a, b) * W4), (V3, M34)),
    ("dot-1d", lambda a, b: np.dot(a, b), (V3, W3)),
    ("dot-scalar", lambda a, b: np.sum(np.dot(a, b) * W3), (0.7, V3)),
    ("dot-nd", lambda a, b: np.sum(np.dot(a, b) * W2332), (B234, B342)),
    ("method-dot", lambda a, b: np.sum(a.dot(b) * W24), (M23, M34)),
    ("method-dot-1d", lambda a, b: a.dot(b), (V3, W3)),
    ("outer", lambda a, b: np.sum(np.outer(a, b) * W34), (V3, V4)),
    ("outer-flattens", lambda a, b: np.sum(np.outer(a, b) * W62), (M23, V2)),
    ("inner-1d", lambda a, b: np.inner(a, b), (V3, W3)),
    ("inner-2d", lambda a, b: np.sum(np.inner(a, b) * W24), (M23, M43)),
    ("inner-scalar", lambda a, b: np.sum(np.inner(a, b) * W3), (1.5, V3)),
    ("tensordot-int", lambda a, b: np.sum(np.tensordot(a, b, 1) * W24), (M23, M34)),
    ("tensordot-2", lambda a, b: np.sum(np.tensordot(a, b) * W4), (M23, B234)),
    ("tensordot-pairs", lambda a, b: np.sum(np.tensordot(a, b, axes=([0, 2], [2, 0])) * W33),
     (B234, B432)),
]

TRANSPOSES = [
    ("transpose", lambda a: np.sum(np.transpose(a) * W23.T), (M23,)),
    ("transpose-axes", lambda a: np.sum(np.transpose(a, (2, 0, 1)) * W234.transpose(2, 0, 1)),
     (B234,)),
    ("transpose-negative", lambda a: np.sum(np.transpose(a, (0, -1, 1)) * W234.transpose(0, 2, 1)),
     (B234,)),
    ("T", lambda a: np.sum(a.T * W23.T), (M23,)),
    ("T-3d", lambda a: np.sum(a.T * W234.T), (B234,)),
    ("mT", lambda a: np.sum(a.mT * W234.mT), (B234,)),
    ("method-transpose", lambda a: np.sum(a.transpose() * W23.T), (M23,)),
    ("method-transpose-varargs", lambda a: np.sum(a.transpose(1, 2, 0) * W234.transpose(1, 2, 0)),
     (B234,)),
    ("method-transpose-tuple", lambda a: np.sum(a.transpose((1, 0, 2)) * W234.transpose(1, 0, 2)),
     (B234,)),
    ("swapaxes", lambda a: np.sum(np.swapaxes(a, 0, 2) * W234.swapaxes(0, 2)), (B234,)),
    ("method-swapaxes", lambda a: np.sum(a.swapaxes(-1, 1) * W234.swapaxes(-1, 1)), (B234,)),
    ("moveaxis", lambda a: np.sum(np.moveaxis(a, 0, -1) * np.moveaxis(W234, 0, -1)), (B234,)),
    ("real-attr", lambda a: np.sum(a.real * W23), (M23,)),
    ("T-of-unknown-kind", lambda xs: np.sum(xs[0].T * W23.T), ([M23, M23],)),
]

MATRIX = [
    ("trace", lambda a: np.trace(a * W33), (A,)),
    ("trace-offset", lambda a: np.trace(a, 1) * 2.0 + np.trace(a, offset=-1), (M34,)),
    ("trace-axes", lambda a: np.sum(np.trace(a, axis1=0, axis2=2) * W3), (B334,)),
    ("method-trace", lambda a: a.trace() * 3.0, (A,)),
    ("diagonal", lambda a: np.sum(np.diagonal(a) * W3), (M34,)),
    ("diagonal-axes", lambda a: np.sum(np.diagonal(a, 1, 0, 2) * W33), (B334,)),
    ("method-diagonal", lambda a: np.sum(a.diagonal() * W2), (M23,)),
    ("diag-build", lambda v: np.sum(np.diag(v) * W33), (V3,)),
    ("diag-build-k", lambda v: np.sum(np.diag(v, 1) * W44), (V3,)),
    ("diag-extract", lambda a: np.sum(np.diag(a, -1) * W2), (A,)),
    ("inv", lambda a: np.sum(np.linalg.inv(a) * W33), (A,)),
    ("inv-batch", lambda a: np.sum(np.linalg.inv(a) * W233), (BA,)),
    ("det", lambda a: np.linalg.det(a), (A,)),
    ("det-batch", lambda a: np.sum(np.linalg.det(a) * W2), (BA,)),
    ("det-singular", lambda a: np.linalg.det(a), (S33,)),
    ("det-singular-2x2", lambda a: np.linalg.det(a) * 3.0, (S22,)),
    ("det-zero-matrix", lambda a: np.linalg.det(a), (np.zeros((2, 2)),)),
    ("det-singular-batch", lambda a: np.sum(np.linalg.det(a) * W2), (BS,)),
    ("det-outer", lambda x: np.linalg.det(np.outer(x, x)), (V3,)),
    ("det-outer-plus", lambda x: np.linalg.det(np.outer(x, x) + np.diag(x[:2], 1)), (V3,)),
    ("det-1x1", lambda a: np.linalg.det(a) * 2.0, (np.array([[0.7]]),)),
    ("slogdet", lambda a: np.linalg.slogdet(a)[1], (A,)),
    ("slogdet-batch", lambda a: np.sum(np.linalg.slogdet(a)[1] * W2), (BA,)),
    ("slogdet-unpack", _slogdet_unpack, (A,)),
    ("slogdet-field", lambda a: np.linalg.slogdet(a).logabsdet, (A,)),
    ("solve-vector", lambda a, b: np.sum(np.linalg.solve(a, b) * W3), (A, V3)),
    ("solve-matrix", lambda a, b: np.sum(np.linalg.solve(a, b) * W34), (A, M34)),
    ("solve-batch", lambda a, b: np.sum(np.linalg.solve(a, b) * W234), (BA, B234)),
    ("solve-broadcast-b", lambda a, b: np.sum(np.linalg.solve(a, b) * W234), (BA, M34)),
    ("norm", lambda x: np.linalg.norm(x), (V3,)),
    ("norm-direction", _norm_direction, (V3,)),
    ("norm-matrix-fro", lambda x: np.linalg.norm(x), (M23,)),
    ("norm-fro", lambda x: np.linalg.norm(x, "fro"), (M23,)),
    ("norm-ord1", lambda x: np.linalg.norm(x, 1), (V3,)),
    ("norm-ord3", lambda x: np.linalg.norm(x, ord=3), (V3,)),
    ("norm-ord2-vector", lambda x: np.linalg.norm(x, 2), (V3,)),
    ("norm-axis", lambda x: np.sum(np.linalg.norm(x, axis=1) * W2), (M23,)),
    ("norm-axis-keepdims", lambda x: np.sum(np.linalg.norm(x, axis=0, keepdims=True) * W23),
     (M23,)),
    ("norm-axis-tuple", lambda x: np.sum(np.linalg.norm(x, axis=(1, 2)) * W2), (B234,)),
]


@pytest.mark.parametrize("f, args", [_case(c) for c in PRODUCTS + TRANSPOSES + MATRIX])
def test_check_grads(f, args):
    check_grads(f, *args, order=2)


def test_norm_unsupported_orders_raise():
    with pytest.raises(ad_compiler.ADError, match="ord=2 on matrices.*ord=None or 'fro'"):
        ad_compiler.gradient(lambda x: np.linalg.norm(x, 2), M23)
    with pytest.raises(ad_compiler.UnsupportedDerivativeError, match="ord=inf on vectors"):
        ad_compiler.gradient(lambda x: np.linalg.norm(x, np.inf), V3)


def test_variants_are_inlined():
    """2-D @ 2-D uses the inlined variant, with no helper call."""
    text = ad_compiler.adjoint_source(lambda a, b: np.sum(a @ b), M23, M34)
    assert "matmul_vjp" not in text and ".T" in text
    text = ad_compiler.adjoint_source(lambda a, b: np.sum(a @ b), B234, B243)
    assert "matmul_vjp_a" in text


# ---------------------------------------------------------------- rule level

RULES = [
    (np.matmul, (M23, M34), {}, (0, 1)), (np.matmul, (M23, V3), {}, (0, 1)),
    (np.matmul, (V3, M34), {}, (0, 1)), (np.matmul, (V3, W3), {}, (0, 1)),
    (np.matmul, (B234, B243), {}, (0, 1)), (np.matmul, (M34, B243), {}, (0, 1)),
    (np.matmul, (B234, V4), {}, (0, 1)), (np.matmul, (V4, B243), {}, (0, 1)),
    (operator.matmul, (M23, M34), {}, (0, 1)), (operator.matmul, (B223, M34), {}, (0, 1)),
    (operator.matmul, (V3, V3), {}, (0, 1)),
    (np.dot, (M23, M34), {}, (0, 1)), (np.dot, (M23, V3), {}, (0, 1)),
    (np.dot, (V3, M34), {}, (0, 1)), (np.dot, (V3, W3), {}, (0, 1)),
    (np.dot, (0.7, V3), {}, (0, 1)), (np.dot, (M23, 2.0), {}, (0, 1)),
    (np.dot, (B234, B342), {}, (0, 1)), (np.dot, (B234, V4), {}, (0, 1)),
    (np.ndarray.dot, (M23, M34), {}, (0, 1)), (np.ndarray.dot, (V3, M34), {}, (0, 1)),
    (np.outer, (V3, V4), {}, (0, 1)), (np.outer, (M23, V2), {}, (0, 1)),
    (np.inner, (V3, W3), {}, (0, 1)), (np.inner, (M23, M43), {}, (0, 1)),
    (np.inner, (B234, V4), {}, (0, 1)), (np.inner, (1.5, V3), {}, (0, 1)),
    (np.tensordot, (M23, M34, 1), {}, (0, 1)), (np.tensordot, (M23, B234), {}, (0, 1)),
    (np.tensordot, (B234, B432), {"axes": ([0, 2], [2, 0])}, (0, 1)),
    (np.tensordot, (B234, B432), {"axes": ([2, 1], [0, 1])}, (0, 1)),
    (np.tensordot, (V3, V4, 0), {}, (0, 1)),
    (np.transpose, (M23,), {}, (0,)), (np.transpose, (B234, (2, 0, 1)), {}, (0,)),
    (np.transpose, (B234,), {"axes": (0, -1, 1)}, (0,)),
    (np.ndarray.transpose, (B234, 1, 2, 0), {}, (0,)),
    (np.ndarray.transpose, (B234, (1, 0, 2)), {}, (0,)), (np.ndarray.transpose, (M23,), {}, (0,)),
    (np.swapaxes, (B234, 0, 2), {}, (0,)), (np.ndarray.swapaxes, (B234, -1, 1), {}, (0,)),
    (np.moveaxis, (B234, (0, 1), (2, 0)), {}, (0,)),
    (np.trace, (A,), {}, (0,)), (np.trace, (M34, 1), {}, (0,)),
    (np.trace, (B334,), {"axis1": 2, "axis2": 0, "offset": -1}, (0,)),
    (np.ndarray.trace, (M34, -1), {}, (0,)),
    (np.diagonal, (M34,), {}, (0,)), (np.diagonal, (B334, 1, 0, 2), {}, (0,)),
    (np.ndarray.diagonal, (B334,), {"axis1": -1, "axis2": 1}, (0,)),
    (np.diag, (V3,), {}, (0,)), (np.diag, (V3, -2), {}, (0,)), (np.diag, (M34, 1), {}, (0,)),
    (np.linalg.inv, (A,), {}, (0,)), (np.linalg.inv, (BA,), {}, (0,)),
    (np.linalg.det, (A,), {}, (0,)), (np.linalg.det, (BA,), {}, (0,)),
    (np.linalg.det, (S33,), {}, (0,)), (np.linalg.det, (BS,), {}, (0,)),
    (np.linalg.slogdet, (A,), {}, (0,)), (np.linalg.slogdet, (BA,), {}, (0,)),
    (np.linalg.solve, (A, V3), {}, (0, 1)), (np.linalg.solve, (A, M34), {}, (0, 1)),
    (np.linalg.solve, (BA, B234), {}, (0, 1)), (np.linalg.solve, (BA, M34), {}, (0, 1)),
    (np.linalg.norm, (V3,), {}, (0,)), (np.linalg.norm, (M23,), {}, (0,)),
    (np.linalg.norm, (M23, "fro"), {}, (0,)), (np.linalg.norm, (V3, 1), {}, (0,)),
    (np.linalg.norm, (V3, 3.5), {}, (0,)), (np.linalg.norm, (M23, None, 1), {}, (0,)),
    (np.linalg.norm, (B234,), {"axis": (0, 2), "keepdims": True}, (0,)),
    (np.linalg.norm, (M23,), {"ord": 1, "axis": 0}, (0,)),
]

HELPER_RULES = [
    (L.matmul_vjp_a, (W24, M23, M34), {}, (0, 2)), (L.matmul_vjp_b, (W24, M23, M34), {}, (0, 1)),
    (L.matmul_vjp_a, (W2, M23, V3), {}, (0, 2)), (L.matmul_vjp_b, (W2, M23, V3), {}, (0, 1)),
    (L.matmul_vjp_a, (W4, V3, M34), {}, (0, 2)), (L.matmul_vjp_b, (W4, V3, M34), {}, (0, 1)),
    (L.matmul_vjp_a, (1.5, V3, W3), {}, (0, 2)), (L.matmul_vjp_b, (1.5, V3, W3), {}, (0, 1)),
    (L.matmul_vjp_a, (W233, M34, B243), {}, (0, 2)),
    (L.matmul_vjp_b, (W233, M34, B243), {}, (0, 1)),
    (L.matmul_vjp_a, (W23, B234, V4), {}, (0, 2)), (L.matmul_vjp_b, (W23, V4, B243), {}, (0, 1)),
    (L.dot_vjp_a, (W2332, B234, B342), {}, (0, 2)), (L.dot_vjp_b, (W2332, B234, B342), {}, (0, 1)),
    (L.dot_vjp_a, (W3, 0.7, V3), {}, (0, 2)), (L.dot_vjp_b, (W3, 0.7, V3), {}, (0, 1)),
    (L.dot_vjp_a, (1.5, V3, W3), {}, (0, 2)), (L.dot_vjp_b, (W2, M23, V3), {}, (0, 1)),
    (L.inner_vjp_a, (W24, M23, M43), {}, (0, 2)), (L.inner_vjp_b, (W24, M23, M43), {}, (0, 1)),
    (L.inner_vjp_a, (W3, 1.5, V3), {}, (0, 2)), (L.inner_vjp_b, (W3, 1.5, V3), {}, (0, 1)),
    (L.tensordot_vjp_a, (W33, B234, B432, ([0, 2], [2, 0])), {}, (0, 2)),
    (L.tensordot_vjp_b, (W33, B234, B432, ([0, 2], [2, 0])), {}, (0, 1)),
    (L.tensordot_vjp_a, (W24, M23, M34, 1), {}, (0, 2)),
    (L.tensordot_vjp_b, (W24, M23, M34, 1), {}, (0, 1)),
    (L.diagonal_vjp, (W3, M34), {}, (0,)), (L.diagonal_vjp, (W33, B334, 1, 0, 2), {}, (0,)),
    (L.diagonal_vjp, (W2[:1], M23, -1), {}, (0,)),
    (L.trace_vjp, (1.5, A), {}, (0,)), (L.trace_vjp, (W4, B334, 0, 0, 1), {}, (0,)),
    (L.diag_vjp, (W33, V3), {}, (0,)), (L.diag_vjp, (W44, V3, 1), {}, (0,)),
    (L.diag_vjp, (W3, M34, 1), {}, (0,)),
    (MX.logabsdet_cotangent, ((0.3, 1.5),), {}, (0,)),
    (MX.cofactor, (A,), {}, (0,)), (MX.cofactor, (S33,), {}, (0,)),
    (MX.cofactor, (BS,), {}, (0,)), (MX.cofactor, (S22,), {}, (0,)),
    (MX.cofactor_jvp, (S33, W33), {}, (1,)), (MX.cofactor_jvp, (BA, W233), {}, (1,)),
]


def _rule_id(case):
    fn, args, kwargs, _ = case
    return "%s-%s" % (getattr(fn, "__name__", "?"), "-".join(
        str(np.shape(a)) if not isinstance(a, (list, tuple)) else "seq" for a in args)
        + ("-" + ",".join(sorted(kwargs)) if kwargs else ""))


@pytest.mark.parametrize("case", RULES + HELPER_RULES,
                         ids=[_rule_id(c) for c in RULES + HELPER_RULES])
def test_rule(case):
    fn, args, kwargs, argnums = case
    check_rule(fn, args, kwargs, argnums)


def test_attribute_rules():
    for attr, x, t in [("T", B234, lambda v: v.T), ("mT", B234, lambda v: v.mT),
                       ("real", M23, lambda v: v.real)]:
        rule = registry.lookup_attr(np.ndarray, attr)
        d = rng.randn(*x.shape)
        ans = t(x)
        np.testing.assert_allclose(rule.jvps[0](d, ans, x), t(d))
        g = rng.randn(*np.shape(ans))
        np.testing.assert_allclose(np.sum(rule.vjps[0](g, ans, x) * d), np.sum(g * t(d)))


def test_every_rule_of_the_module_is_tested():
    mine = {rule.primal for rule in registry._RULES.values()      # (copies: see test_device)
            if not rule.nondiff and rule.copy_of is None and any(t is not None and t.fn.__module__ in (L.__name__,
                                                                              MX.__name__)
                                        for t in (rule.vjps or ()))}
    missing = mine - covered(RULES + HELPER_RULES)
    assert not missing, sorted(registry.qualified_name(f) for f in missing)
    no_forward = [registry.lookup(f).name for f in mine if not has_forward_rules(f)]
    assert not no_forward, no_forward
