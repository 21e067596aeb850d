"""Complex numbers: the convention, and rules for functions that are not holomorphic.

Users see the Zygote/PyTorch convention: for a real-valued ``f`` of
``z = x + iy``, ``gradient(f, z) == df/dx + i df/dy``, so
``gradient(lambda z: abs(z)**2, 1+2j) == (2+4j,)``.

Internally a complex value's cotangent is the conjugate of that,
``df/dx - i df/dy`` (JAX's convention).  Then the cotangent of a
holomorphic function's argument is ``g * f'(z)``: every real rule (``*``,
``/``, ``**``, ``exp``, ``log``, ``sin``, ``@``, ``sum``, indexing...) is
right for complex values unchanged, and the pairing of cotangents with
tangents is ``Re(sum(g * d))``.  The user boundary (``tree.finish``)
conjugates the gradient of a complex argument.

A real value mixed into a complex computation (``x + 1j * y``) gets a
complex cotangent whose real part is its cotangent; its imaginary part
means nothing.  So rules for functions from complex to real (``abs``,
``real``, ``imag``, ``angle``) read ``real(g)``, casts project, and the user
boundary returns the real part for a real argument.

Functions that are not holomorphic get rules here; a rule that assumes
real input and has none refuses complex input (:func:`real_only`) rather
than give a wrong number.  Second derivatives of ``abs`` and ``angle`` are
written with the same primitives, so every order works.
"""
import cmath

import numpy
import numpy as xp

from ..helpers import zeros_like
from ..core.errors import UnsupportedDerivativeError
from ..core.registry import (ELEMENTWISE, SAME, SCALAR, def_linear, def_unary, defattr, defjvp,
                            defvjp, nondifferentiable)


def is_complex(x):
    """True for complex numbers and complex arrays."""
    dtype = getattr(x, "dtype", None)
    return dtype.kind == "c" if dtype is not None else isinstance(x, complex)


def sign(x):
    """The derivative of ``abs`` for real ``x``: -1, 0 or 1, elementwise for arrays."""
    if type(x) is float or type(x) is int:
        return (x > 0) - (x < 0)
    return numpy.sign(x)        # CuPy arrays dispatch through __array_ufunc__


def radius(x):
    """``|x|``, and 1 where ``x == 0`` (so a quotient by it is 0 there, not NaN)."""
    return xp.abs(x) + (x == 0)


def abs_vjp(g, x):
    """The cotangent of ``x`` in ``abs(x)``: ``g sign(x)`` (0 at 0), or for complex ``x``
    ``real(g) conj(x) / |x|``."""
    if is_complex(x):
        return xp.real(g) * xp.conj(x) / radius(x)
    return g * sign(x)


def abs_jvp(d, x):
    """The tangent of ``abs(x)``: ``d sign(x)``, or ``real(conj(x) d) / |x|`` (complex)."""
    if is_complex(x):
        return xp.real(xp.conj(x) * d) / radius(x)
    return d * sign(x)


def complex_only(x, v):
    """``v`` for complex ``x``; for real ``x`` the zero of ``x``'s shape (``v``, computed
    anyway, is the derivative of a function that is piecewise constant on reals)."""
    return v if is_complex(x) else zeros_like(x)


def imag_vjp(g, x):
    """The cotangent of ``x`` in ``imag(x)``: ``-1j real(g)``; zero for real ``x``."""
    return -1j * xp.real(g) if is_complex(x) else zeros_like(x)


def angle_unit(deg):
    """Radians or degrees per radian, for ``angle(z, deg)``."""
    return 180.0 / xp.pi if deg else 1.0


def real_only(x, what):
    """``x`` itself; an ``UnsupportedDerivativeError`` if it is complex, for rules that
    assume real input (``what`` names the function)."""
    if is_complex(x):
        raise UnsupportedDerivativeError(
            "the derivative of %s of complex values is not supported (its rule assumes real "
            "input); rewrite it with abs, real, imag, conj, exp, log and arithmetic, or "
            "register your own rule with @adjoint(%s)" % (what, what))
    return x


def sign_grad(x):
    """The zero derivative of ``sign`` on reals (refused for complex: z/|z| is smooth)."""
    return zeros_like(real_only(x, "numpy.sign"))


nondifferentiable(sign, angle_unit, sign_grad)

# ---------------------------------------------------------------- helpers' own rules
# abs_vjp and abs_jvp are each other's transposes in their first argument.  In ``x``
# they are constant on reals; for complex ``x`` their derivative is, with r = |x|,
#   C(a, b) = real(a) / r * (conj(b) - conj(x) real(conj(x) b) / r**2)
# (the Hessian of |x| in the pairing Re(a b)), spelled out below.

def_linear(abs_vjp)
defvjp(abs_vjp, lambda h, ans, g, x: abs_jvp(h, x),
       lambda h, ans, g, x: complex_only(x, xp.real(g) * (xp.conj(h) - xp.conj(x) * xp.real(
           xp.conj(x) * h) / radius(x) ** 2) / radius(x)))
defjvp(abs_vjp, lambda d, ans, g, x: abs_vjp(d, x),
       lambda d, ans, g, x: complex_only(x, xp.real(g) * (xp.conj(d) - xp.conj(x) * xp.real(
           xp.conj(x) * d) / radius(x) ** 2) / radius(x)))
def_linear(abs_jvp)
defvjp(abs_jvp, lambda h, ans, d, x: abs_vjp(h, x),
       lambda h, ans, d, x: complex_only(x, xp.real(h) * (xp.conj(d) - xp.conj(x) * xp.real(
           xp.conj(x) * d) / radius(x) ** 2) / radius(x)))
defjvp(abs_jvp, lambda e, ans, d, x: abs_jvp(e, x),
       lambda e, ans, d, x: complex_only(x, xp.real(e * (xp.conj(d) - xp.conj(x) * xp.real(
           xp.conj(x) * d) / radius(x) ** 2) / radius(x))))
# radius's derivative is abs's (it differs from abs only where x == 0, never divided by)
defvjp(radius, lambda g, ans, x: abs_vjp(g, x), out=SAME)
defjvp(radius, lambda d, ans, x: abs_jvp(d, x))
def_linear(complex_only, argnums=(1,), out=SAME)
defvjp(complex_only, None, lambda h, ans, x, v: complex_only(x, h))
def_linear(imag_vjp, out=SAME)
defvjp(imag_vjp, lambda h, ans, g, x: complex_only(x, xp.imag(h)))
def_linear(real_only, out=SAME)
defvjp(real_only, lambda g, ans, x, what: g)

# ---------------------------------------------------------------- functions of complex values

defvjp(numpy.absolute, lambda g, ans, x: abs_vjp(g, x), out=ELEMENTWISE)   # numpy.abs
defjvp(numpy.absolute, lambda d, ans, x: abs_jvp(d, x))
defvjp(numpy.real, lambda g, ans, val: xp.real(g), out=ELEMENTWISE)
def_linear(numpy.real)
defvjp(numpy.imag, lambda g, ans, val: imag_vjp(g, val), out=ELEMENTWISE)
def_linear(numpy.imag)
for _conj in (numpy.conjugate, numpy.ndarray.conj, numpy.ndarray.conjugate):   # numpy.conj
    defvjp(_conj, lambda g, ans, x: xp.conj(g), out=ELEMENTWISE)
    def_linear(_conj)
defattr(numpy.ndarray, "real", vjp=lambda g, ans, x: xp.real(g), jvp=lambda d, ans, x: xp.real(d))
defattr(numpy.ndarray, "imag", vjp=lambda g, ans, x: imag_vjp(g, x),
        jvp=lambda d, ans, x: xp.imag(d))
# angle = atan2(imag, real): constant on reals; d angle = Im(conj(z) dz) / |z|**2.
defvjp(numpy.angle, lambda g, ans, z, deg=False: complex_only(
    z, xp.real(g) * -1j * xp.conj(z) / radius(z) ** 2) * angle_unit(deg), out=ELEMENTWISE)
defjvp(numpy.angle, lambda d, ans, z, deg=False: complex_only(
    z, xp.imag(xp.conj(z) * d) / radius(z) ** 2) * angle_unit(deg))
# sign is piecewise constant on reals; z/|z| is not, so complex input is refused.
defvjp(numpy.sign, lambda g, ans, x: sign_grad(x), out=ELEMENTWISE)
defjvp(numpy.sign, lambda d, ans, x: sign_grad(x))

# ---------------------------------------------------------------- cmath (holomorphic: g * f'(z))

def_unary(cmath.exp, lambda ans, x: ans, out=SCALAR)
def_unary(cmath.log, lambda ans, x: 1.0 / x, out=SCALAR)      # one argument (no base)
def_unary(cmath.sqrt, lambda ans, x: 0.5 / ans, out=SCALAR)
def_unary(cmath.sin, lambda ans, x: cmath.cos(x), out=SCALAR)
def_unary(cmath.cos, lambda ans, x: -cmath.sin(x), out=SCALAR)
def_unary(cmath.tanh, lambda ans, x: 1.0 - ans * ans, out=SCALAR)
defvjp(cmath.phase, lambda g, ans, z: complex_only(
    z, xp.real(g) * -1j * xp.conj(z) / radius(z) ** 2), out=SCALAR)
defjvp(cmath.phase, lambda d, ans, z: complex_only(z, xp.imag(xp.conj(z) * d) / radius(z) ** 2))
