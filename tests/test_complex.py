"""Complex numbers (runtime/rules/complex.py).

For a real-valued ``f`` of complex ``z = x + iy`` the gradient is
``df/dx + i df/dy`` (Zygote's and PyTorch's convention); here it is checked
against central differences on the real and imaginary parts, and ``jvp``
against the gradient (``df = Re(conj(grad) dz)``).  Real functions that go
through complex values on the way are checked with ``check_grads`` at order
2.  What is not covered raises an ``ADError``.
"""
import cmath

import numpy as np
import pytest

import ad_compiler
from ad_compiler import gradient, jvp
from ad_compiler.runtime.core.errors import NonScalarOutputError
from ad_compiler.checks import check_grads
from ad_compiler.runtime.core import registry
from ad_compiler.runtime.rules import complex as RC
from test_rules_numpy import rule_jvp

EPS = 1e-6
rng = np.random.RandomState(5)
Z = rng.randn(3) + 1j * rng.randn(3)
W = rng.randn(3)
ZM = rng.randn(2, 2) + 1j * rng.randn(2, 2)


def _at(z, k, step):
    if np.ndim(z) == 0:
        return z + step
    z = np.array(z, dtype=complex)
    z.flat[k] += step
    return z


def numerical_gradient(f, z):
    """``df/dx + i df/dy`` by central differences, element by element."""
    out = np.zeros(np.shape(z), dtype=complex)
    for k in range(max(1, np.size(z))):
        dx = (f(_at(z, k, EPS)) - f(_at(z, k, -EPS))) / (2 * EPS)
        dy = (f(_at(z, k, 1j * EPS)) - f(_at(z, k, -1j * EPS))) / (2 * EPS)
        out.flat[k] = dx + 1j * dy
    return out if np.ndim(z) else complex(out)


def check_complex(f, z, rtol=1e-5, atol=1e-6):
    g, = gradient(f, z)
    np.testing.assert_allclose(g, numerical_gradient(f, z), rtol=rtol, atol=atol)
    dz = rng.randn(*np.shape(z)) + 1j * rng.randn(*np.shape(z))
    dz = dz if np.ndim(z) else complex(dz)
    _, df = jvp(f, (z,), (dz,))
    np.testing.assert_allclose(df, np.real(np.sum(np.conj(g) * dz)), rtol=rtol, atol=atol)


CASES = [
    ("abs-squared", lambda z: abs(z) ** 2, 1 + 2j),
    ("abs", lambda z: abs(z), 1 + 2j),
    ("np.abs", lambda z: np.sum(np.abs(z) * W), Z),
    ("real", lambda z: np.sum(np.real(z * z) * W), Z),
    ("imag", lambda z: np.sum(np.imag(z * z) * W), Z),
    ("real-imag-attrs", lambda z: z.real * 3.0 + z.imag * z.real, 1 + 2j),
    ("array-attrs", lambda z: np.sum(z.imag * W) + np.sum(z.real ** 2), Z),
    ("conj", lambda z: np.real(np.sum(np.conj(z) * z * W)), Z),
    ("conj-methods", lambda z: np.sum((z.conj() * z.conjugate() * z).imag), Z),
    ("conjugate-scalar", lambda z: (z * z.conjugate()).real * z.imag, 1 - 2j),
    ("angle", lambda z: np.sum(np.angle(z) * W), Z),
    ("angle-deg", lambda z: np.angle(z, deg=True), 1 - 2j),
    ("exp", lambda z: abs(np.exp(z)) + np.real(np.exp(2 * z)), 0.3 + 0.5j),
    ("log", lambda z: np.sum(np.imag(np.log(z)) * W + np.abs(np.log(z))), Z),
    ("mul-add-sub", lambda z: abs(z * (2 - 1j) + z - 3j), 1 + 2j),
    ("div", lambda z: np.sum(np.abs(1.0 / z + z / (1 + 1j))), Z),
    ("int-power", lambda z: np.sum(np.abs(z ** 3 + z ** -2)), Z),
    ("power-function", lambda z: np.sum(np.abs(np.power(z, 2) * np.power(z, 1.5))), Z),
    ("sum", lambda z: abs(np.sum(z * z)), Z),
    ("sin-holomorphic", lambda z: np.sum(np.abs(np.sin(z) * np.tanh(z))), Z),
    ("cmath", lambda z: abs(cmath.exp(z) * cmath.sin(z) / cmath.sqrt(z)) + cmath.phase(z)
     + abs(cmath.log(z) + cmath.cos(z) * cmath.tanh(z)), 0.4 + 0.7j),
    ("matmul-det-inv", lambda a: abs(np.linalg.det(a)) + np.sum(np.abs(np.linalg.inv(a) @ a @ a)),
     ZM),
    ("max-selects", lambda z: np.abs(np.max(z)) + np.abs(z[1]), Z),
    ("exp-i-theta-is-unit", lambda z: abs(np.exp(1j * z.real)) * z.imag, 0.3 + 0.5j),
]


@pytest.mark.parametrize("f, z", [pytest.param(f, z, id=n) for n, f, z in CASES])
def test_gradient_against_finite_differences(f, z):
    check_complex(f, z)


def test_documented_values():
    assert gradient(lambda z: abs(z) ** 2, 1 + 2j) == (2 + 4j,)
    g, = gradient(lambda x: abs(x + 1j * x), 2.0)
    assert type(g) is float and g == pytest.approx(2 ** 0.5)
    assert gradient(lambda x: abs(np.exp(1j * x)), 2.0) == (0.0,)
    assert gradient(lambda z: abs(z), 0j) == (0j,)               # abs' convention at 0
    g, = gradient(lambda z: np.sum(np.abs(z) ** 2), Z.astype(np.complex64))
    assert g.dtype == np.complex64
    np.testing.assert_allclose(g, 2 * Z, rtol=1e-6)


# ---------------------------------------------------------------- real in, real out, complex inside

X = np.array([0.7, 0.3, -1.1])
Y = np.array([-0.4, 1.1, 0.5])
REAL_CASES = [
    ("promotion", lambda x, y: abs(x + 1j * y ** 2), (0.7, -0.4)),
    ("promotion-arrays", lambda x, y: np.sum(np.abs(x + 1j * y ** 2) * W), (X, Y)),
    ("angle", lambda x, y: np.angle(x + 1j * y) * x, (0.7, -0.4)),
    ("imag-real", lambda x, y: np.imag((x + 1j * y) ** 3) + np.real(np.exp(x + 1j * y) * y),
     (0.7, -0.4)),
    ("conj", lambda x, y: np.real(np.conj(x + 1j * y) * (x + 2j)), (0.7, -0.4)),
    ("log-div", lambda x, y: abs(np.log(x + 1j * y) / (y + 1j)), (0.7, -0.4)),
    ("astype-complex", lambda x, y: np.sum(np.abs(x.astype(complex) * (1 + 2j) + y)), (X, Y)),
    ("array-of-complex", lambda x, y: abs(np.sum(np.array([x, y * 1j, x * y]))), (0.7, -0.4)),
    ("matmul", lambda x, y: np.sum(np.abs((x + 1j * y) @ (y - 1j * x))),
     (np.array([[0.7, 0.3], [0.1, 0.2]]), np.array([[-0.4, 1.1], [0.5, 0.6]]))),
    ("det", lambda x, y: np.abs(np.linalg.det(x + 1j * y)),
     (np.array([[0.7, 0.3], [0.1, 0.2]]), np.array([[-0.4, 1.1], [0.5, 0.6]]))),
    ("real-of-complex-cast", lambda x, y: np.sum((x * (1 + 1j)).astype(float) * y), (X, Y)),
    ("cmath", lambda x, y: abs(cmath.exp(x + 1j * y)) + cmath.phase(x + 1j * y), (0.7, -0.4)),
]


@pytest.mark.parametrize("f, args", [pytest.param(f, a, id=n) for n, f, a in REAL_CASES])
@pytest.mark.filterwarnings("ignore:Casting complex values")    # the user's own .astype(float)
def test_real_function_through_complex_values(f, args):
    check_grads(f, *args, order=2)


def _accumulates_in_place(x):
    y = x * 2.0
    return np.sum(y ** 2) + np.sum(np.abs(y + 1j * x)) + np.sum(np.sin(y))


@pytest.mark.xfail(strict=True, raises=TypeError, reason=(
    "compiler: 'by += b' adds the complex cotangent of y + 1j * x to y's real, owned buffer "
    "in place (UFuncTypeError); accumulating out of place, or a real part taken where a "
    "real array meets a complex one, would fix it"))
def test_real_array_cotangent_accumulated_in_place():
    check_grads(_accumulates_in_place, X, order=2)


def test_angle_of_reals_is_piecewise_constant():
    check_grads(lambda x: np.sum(np.angle(x) + x), np.array([0.7, -0.3]), order=2)


# ---------------------------------------------------------------- refused


@pytest.mark.parametrize("f, what", [
    (lambda z: np.var(z), "numpy.var"), (lambda z: np.std(z), "numpy.std"),
    (lambda z: np.linalg.norm(z), "numpy.linalg.norm"),
    (lambda z: np.sum(np.real(np.sign(z))), "numpy.sign"),
    (lambda z: np.linalg.slogdet(np.outer(z, z) + np.eye(3))[1], "numpy.linalg.slogdet"),
], ids=["var", "std", "norm", "sign", "slogdet"])
def test_rules_that_assume_real_input_refuse_complex(f, what):
    with pytest.raises(ad_compiler.UnsupportedDerivativeError, match=what + " of complex values"):
        gradient(f, Z)


def test_hessian_and_jacobian_refuse_complex():
    with pytest.raises(ad_compiler.ADError, match="complex argument"):
        ad_compiler.hessian(lambda z: abs(z) ** 2, 1 + 2j)
    with pytest.raises(ad_compiler.ADError, match="complex argument"):
        ad_compiler.jacobian(lambda z: np.abs(z), Z)
    with pytest.raises(ad_compiler.ADError, match="complex output"):
        ad_compiler.jacobian(lambda x: x * 1j, X)


# ---------------------------------------------------------------- rule level


def _random(x):
    if isinstance(x, (complex, np.complexfloating)) or np.iscomplexobj(x):
        return rng.randn(*np.shape(x)) + 1j * rng.randn(*np.shape(x))
    return rng.randn(*np.shape(x))


def _moved(args, i, d, t):
    return [a + t * d if j == i else a for j, a in enumerate(args)]


def check_complex_rule(fn, args, argnums, kwargs=None):
    """Forward rule vs central differences along a (complex) direction; reverse rule
    vs forward rule in the pairing Re(sum(a * b))."""
    kwargs = kwargs or {}
    rule = registry.lookup(fn)
    ans = fn(*args, **kwargs)
    for i in argnums:
        d = _random(args[i])
        tangent = rule_jvp(fn, args, kwargs, i, d)
        num = (fn(*_moved(args, i, d, EPS), **kwargs)
               - fn(*_moved(args, i, d, -EPS), **kwargs)) / (2 * EPS)
        np.testing.assert_allclose(tangent, num, rtol=1e-5, atol=1e-6)
        g = _random(ans)
        cotangent = rule.vjps[i](g, ans, *args, **kwargs)
        assert np.shape(cotangent) == np.shape(args[i])
        np.testing.assert_allclose(np.real(np.sum(cotangent * d)),
                                   np.real(np.sum(g * tangent)), rtol=1e-5, atol=1e-7)


R3 = rng.randn(3)
RULES = [   # (function, args, kwargs, differentiable argument positions), complex and real
    (np.absolute, (Z,), {}, (0,)), (np.absolute, (R3,), {}, (0,)),
    (np.real, (Z,), {}, (0,)), (np.real, (R3,), {}, (0,)), (np.imag, (Z,), {}, (0,)),
    (np.conjugate, (Z,), {}, (0,)), (np.ndarray.conj, (Z,), {}, (0,)),
    (np.ndarray.conjugate, (R3,), {}, (0,)),
    (np.angle, (Z,), {}, (0,)), (np.angle, (Z,), {"deg": True}, (0,)),
    (np.angle, (R3,), {}, (0,)), (np.sign, (R3,), {}, (0,)),
    (abs, (1 + 2j,), {}, (0,)), (abs, (-0.3,), {}, (0,)),
    (cmath.exp, (0.3 + 0.4j,), {}, (0,)), (cmath.log, (0.3 + 0.4j,), {}, (0,)),
    (cmath.sqrt, (0.3 + 0.4j,), {}, (0,)), (cmath.sin, (0.3 + 0.4j,), {}, (0,)),
    (cmath.cos, (0.3 + 0.4j,), {}, (0,)), (cmath.tanh, (0.3 + 0.4j,), {}, (0,)),
    (cmath.phase, (0.3 + 0.4j,), {}, (0,)),
    (RC.abs_vjp, (W, Z), {}, (0, 1)), (RC.abs_vjp, (W, R3), {}, (0, 1)),
    (RC.abs_jvp, (Z, Z), {}, (0, 1)), (RC.abs_jvp, (R3, R3), {}, (0, 1)),
    (RC.radius, (Z,), {}, (0,)), (RC.radius, (R3,), {}, (0,)),
    (RC.complex_only, (Z, Z * 2), {}, (1,)), (RC.complex_only, (R3, R3), {}, (1,)),
    (RC.imag_vjp, (W, Z), {}, (0,)), (RC.imag_vjp, (W, R3), {}, (0,)),
    (RC.real_only, (R3, "f"), {}, (0,)),
]


@pytest.mark.parametrize("case", RULES, ids=[
    "%s-%s" % (getattr(c[0], "__name__", "?"), "c" if np.iscomplexobj(c[1][-1]) else "r")
    for c in RULES])
def test_rule(case):
    fn, args, kwargs, argnums = case
    check_complex_rule(fn, args, argnums, kwargs)


def test_attribute_rules():
    for attr in ("real", "imag"):
        rule = registry.lookup_attr(np.ndarray, attr)
        d, g = _random(Z), rng.randn(3)
        tangent = rule.jvps[0](d, getattr(Z, attr), Z)
        np.testing.assert_allclose(tangent, getattr(d, attr))
        np.testing.assert_allclose(np.real(np.sum(rule.vjps[0](g, None, Z) * d)),
                                   np.sum(g * tangent))


def test_every_rule_of_the_module_is_tested():
    mine = {rule.primal for rule in registry._RULES.values()
            if not rule.nondiff and any(t is not None and t.fn.__module__ == RC.__name__
                                        for t in (rule.vjps or ()))}
    missing = mine - {case[0] for case in RULES}
    assert not missing, sorted(registry.qualified_name(f) for f in missing)


ONE_J = 1j


@pytest.mark.parametrize("f, x", [(lambda x: x * 1j, 2.0), (lambda z: z * 2.0, 1 + 2j),
                                  (lambda x: x * ONE_J, 2.0),
                                  (lambda x: np.sum(x * 1j), np.array([1.0, 2.0]))],
                         ids=["constant", "argument", "global", "array-sum"])
def test_complex_output_is_refused(f, x):
    with pytest.raises(ad_compiler.NonScalarOutputError, match="output is complex"):
        gradient(f, x)


def _root(x):
    return x ** 0.5


def test_real_scalar_code_that_turns_complex_is_refused():
    # (-1.0) ** 0.5 is 1j in Python: a float function whose output is complex
    # at this point; it was seeded with 1.0 and gave a real "gradient"
    with pytest.raises(NonScalarOutputError, match="complex"):
        gradient(_root, -1.0)
    assert gradient(_root, 4.0) == (0.25,)
