"""Rules for NumPy's linear algebra, written against ``xp`` (see rules.numpy).

Products (``@``, matmul, dot, inner, tensordot) have a general rule built
on small helpers, each the adjoint of the product in one argument, and
``when=`` variants that inline ``g @ b.T`` and friends for the 1-D and
2-D operands the compiler can see.  Because a product is linear in each
argument, the adjoint of ``matmul_vjp_a(g, a, b)`` in ``g`` is
``matmul(h, b)`` again and its derivative in ``b`` is ``matmul_vjp_b``:
the helpers' own rules are the same few functions.  (With complex
operands these rules are right as they stand: see rules.complex.)

Inverses, determinants, ``solve`` and norms live in :mod:`runtime.rules.matrix`.
"""
import operator

import numpy
import numpy as xp

from ..helpers import unbroadcast
from ..core.registry import def_linear, defattr, defjvp, defvjp, nondifferentiable
from .numpy import _kinds, like_arg

# ---------------------------------------------------------------- output kinds


def _ndim(k):
    return k.ndim if k is not None and k.tag in ("array", "scalar") else None


def matmul_kind(args, keywords):
    """``a @ b``: 1-D operands lose their axis; batch axes broadcast."""
    K = _kinds()
    na, nb = (_ndim(k) for k in (args + [None, None])[:2])
    if na is None or nb is None:
        return K.array()
    if na == 1 and nb == 1:
        return K.SCALAR
    return K.array(max(na, nb) - (na == 1 or nb == 1))


def dot_kind(args, keywords):
    """``dot(a, b)``: a's axes but the last, then b's but the second to last."""
    K = _kinds()
    na, nb = (_ndim(k) for k in (args + [None, None])[:2])
    if na is None or nb is None:
        return K.array()
    if na == 0 or nb == 0:
        return K.array(max(na, nb)) if max(na, nb) else K.SCALAR
    n = na + nb - 2
    return K.array(n) if n else K.SCALAR


def same_ndim(args, keywords):
    """A permutation of the axes: the same rank, not the same shape."""
    K = _kinds()
    return K.array(_ndim(args[0]) if args else None)


def drop_two(args, keywords):
    """det/trace: the last (or chosen) two axes are consumed."""
    K = _kinds()
    n = _ndim(args[0]) if args else None
    return K.array() if n is None else (K.SCALAR if n <= 2 else K.array(n - 2))


def like_b(args, keywords):
    """solve(a, b): b's rank (batch axes of ``a`` broadcast in)."""
    K = _kinds()
    na, nb = (_ndim(k) for k in (args + [None, None])[:2])
    return K.array(nb if na == 2 else None)


# ---------------------------------------------------------------- matmul


def _promote(a, b, g):
    """Operands and cotangent of ``a @ b`` with 1-D operands as (1, k) / (k, 1)."""
    if xp.ndim(a) == 1:                      # (with b 1-D too, g is a scalar)
        a, g = a[None, :], xp.expand_dims(g, -1 if xp.ndim(b) == 1 else -2)
    if xp.ndim(b) == 1:
        b, g = b[:, None], xp.expand_dims(g, -1)
    return a, b, g


def matmul_vjp_a(g, a, b):
    """The cotangent of ``a`` in ``a @ b`` (any ranks >= 1, batch broadcasting)."""
    a2, b2, g2 = _promote(a, b, g)
    return _shaped(unbroadcast(xp.matmul(g2, xp.swapaxes(b2, -1, -2)), a2), xp.shape(a))


def matmul_vjp_b(g, a, b):
    """The cotangent of ``b`` in ``a @ b``."""
    a2, b2, g2 = _promote(a, b, g)
    return _shaped(unbroadcast(xp.matmul(xp.swapaxes(a2, -1, -2), g2), b2), xp.shape(b))


def _shaped(r, shape):
    """``r`` reshaped to ``shape``, and itself when it has it: a reshape is a
    view, which a weight's gradient then has to copy (0.4 ms for 512 x 784)."""
    return r if xp.shape(r) == shape else xp.reshape(r, shape)


for _mm in (numpy.matmul, operator.matmul):
    defvjp(_mm, lambda g, ans, x1, x2: matmul_vjp_a(g, x1, x2),
           lambda g, ans, x1, x2: matmul_vjp_b(g, x1, x2), out=matmul_kind)
    defjvp(_mm, lambda d, ans, x1, x2: d @ x2, lambda d, ans, x1, x2: x1 @ d)
for _mm in (numpy.matmul, operator.matmul):
    defvjp(_mm, lambda g, ans, x1, x2: g @ x2.T, lambda g, ans, x1, x2: x1.T @ g,
           when=lambda a, b: a.ndim == 2 and b.ndim == 2)
    defvjp(_mm, lambda g, ans, x1, x2: xp.outer(g, x2), lambda g, ans, x1, x2: g @ x1,
           when=lambda a, b: a.ndim == 2 and b.ndim == 1)
    defvjp(_mm, lambda g, ans, x1, x2: x2 @ g, lambda g, ans, x1, x2: xp.outer(x1, g),
           when=lambda a, b: a.ndim == 1 and b.ndim == 2)
    defvjp(_mm, lambda g, ans, x1, x2: g * x2, lambda g, ans, x1, x2: g * x1,
           when=lambda a, b: a.ndim == 1 and b.ndim == 1)

# The adjoint of a product's adjoint is the product; its derivative in the
# other operand is the other adjoint.
def_linear(matmul_vjp_a, out=like_arg(1))
defvjp(matmul_vjp_a, lambda h, ans, g, a, b: xp.matmul(h, b), None,
       lambda h, ans, g, a, b: matmul_vjp_b(g, h, b))
defjvp(matmul_vjp_a, lambda d, ans, g, a, b: matmul_vjp_a(d, a, b), None,
       lambda d, ans, g, a, b: matmul_vjp_a(g, a, d))
def_linear(matmul_vjp_b, out=like_arg(2))
defvjp(matmul_vjp_b, lambda h, ans, g, a, b: xp.matmul(a, h),
       lambda h, ans, g, a, b: matmul_vjp_a(g, a, h), None)
defjvp(matmul_vjp_b, lambda d, ans, g, a, b: matmul_vjp_b(d, a, b),
       lambda d, ans, g, a, b: matmul_vjp_b(g, d, b), None)

# ---------------------------------------------------------------- dot, inner, outer, tensordot


def _dot_axes(a, b):
    """Contracted axis of ``b`` in ``dot(a, b)`` and the number of free axes of ``a``."""
    return (xp.ndim(b) - 2 if xp.ndim(b) >= 2 else 0), xp.ndim(a) - 1


def dot_vjp_a(g, a, b):
    """The cotangent of ``a`` in ``dot(a, b)``."""
    if xp.ndim(a) == 0 or xp.ndim(b) == 0:
        return unbroadcast(g * b, a)
    cb, na = _dot_axes(a, b)
    others = [i for i in range(xp.ndim(b)) if i != cb]
    return xp.tensordot(g, b, axes=(list(range(na, xp.ndim(g))), others))


def dot_vjp_b(g, a, b):
    """The cotangent of ``b`` in ``dot(a, b)``."""
    if xp.ndim(a) == 0 or xp.ndim(b) == 0:
        return unbroadcast(g * a, b)
    cb, na = _dot_axes(a, b)
    return xp.moveaxis(xp.tensordot(a, g, axes=(list(range(na)), list(range(na)))), 0, cb)


for _dot in (numpy.dot, numpy.ndarray.dot):
    defvjp(_dot, lambda g, ans, a, b, out=None: dot_vjp_a(g, a, b),
           lambda g, ans, a, b, out=None: dot_vjp_b(g, a, b), out=dot_kind)
    defjvp(_dot, lambda d, ans, a, b, out=None: xp.dot(d, b),
           lambda d, ans, a, b, out=None: xp.dot(a, d))
    defvjp(_dot, lambda g, ans, a, b, out=None: g @ b.T, lambda g, ans, a, b, out=None: a.T @ g,
           when=lambda a, b: a.ndim == 2 and b.ndim == 2)
    defvjp(_dot, lambda g, ans, a, b, out=None: xp.outer(g, b),
           lambda g, ans, a, b, out=None: g @ a, when=lambda a, b: a.ndim == 2 and b.ndim == 1)
    defvjp(_dot, lambda g, ans, a, b, out=None: b @ g,
           lambda g, ans, a, b, out=None: xp.outer(a, g),
           when=lambda a, b: a.ndim == 1 and b.ndim == 2)
    defvjp(_dot, lambda g, ans, a, b, out=None: g * b, lambda g, ans, a, b, out=None: g * a,
           when=lambda a, b: a.ndim == 1 and b.ndim == 1)
def_linear(dot_vjp_a, out=like_arg(1))
defvjp(dot_vjp_a, lambda h, ans, g, a, b: xp.dot(h, b), None,
       lambda h, ans, g, a, b: dot_vjp_b(g, h, b))
defjvp(dot_vjp_a, lambda d, ans, g, a, b: dot_vjp_a(d, a, b), None,
       lambda d, ans, g, a, b: dot_vjp_a(g, a, d))
def_linear(dot_vjp_b, out=like_arg(2))
defvjp(dot_vjp_b, lambda h, ans, g, a, b: xp.dot(a, h),
       lambda h, ans, g, a, b: dot_vjp_a(g, a, h), None)
defjvp(dot_vjp_b, lambda d, ans, g, a, b: dot_vjp_b(d, a, b),
       lambda d, ans, g, a, b: dot_vjp_b(g, d, b), None)


def _tensordot_axes(a, b, axes):
    """``axes`` of ``tensordot`` as two lists of non-negative axis indices."""
    na, nb = xp.ndim(a), xp.ndim(b)
    if isinstance(axes, int):
        return list(range(na - axes, na)), list(range(axes))
    ax_a, ax_b = axes
    ax_a = [ax_a] if isinstance(ax_a, int) else list(ax_a)
    ax_b = [ax_b] if isinstance(ax_b, int) else list(ax_b)
    return [i % na for i in ax_a], [i % nb for i in ax_b]


def tensordot_vjp_a(g, a, b, axes=2):
    """The cotangent of ``a`` in ``tensordot(a, b, axes)`` (inner is axes=(-1, -1))."""
    ax_a, ax_b = _tensordot_axes(a, b, axes)
    free_a = [i for i in range(xp.ndim(a)) if i not in ax_a]
    free_b = [i for i in range(xp.ndim(b)) if i not in ax_b]
    out = xp.tensordot(g, b, axes=(list(range(len(free_a), xp.ndim(g))), free_b))
    paired = [ax_a[ax_b.index(i)] for i in sorted(ax_b)]     # b's leftover axes, in order
    return xp.transpose(out, tuple(numpy.argsort(free_a + paired)))


def tensordot_vjp_b(g, a, b, axes=2):
    """The cotangent of ``b`` in ``tensordot(a, b, axes)``."""
    ax_a, ax_b = _tensordot_axes(a, b, axes)
    free_a = [i for i in range(xp.ndim(a)) if i not in ax_a]
    free_b = [i for i in range(xp.ndim(b)) if i not in ax_b]
    out = xp.tensordot(a, g, axes=(free_a, list(range(len(free_a)))))
    paired = [ax_b[ax_a.index(i)] for i in sorted(ax_a)]
    return xp.transpose(out, tuple(numpy.argsort(paired + free_b)))


defvjp(numpy.tensordot, lambda g, ans, a, b, axes=2: tensordot_vjp_a(g, a, b, axes=axes),
       lambda g, ans, a, b, axes=2: tensordot_vjp_b(g, a, b, axes=axes))
defjvp(numpy.tensordot, lambda d, ans, a, b, axes=2: xp.tensordot(d, b, axes),
       lambda d, ans, a, b, axes=2: xp.tensordot(a, d, axes))
def_linear(tensordot_vjp_a, out=like_arg(1))
defvjp(tensordot_vjp_a, lambda h, ans, g, a, b, axes=2: xp.tensordot(h, b, axes), None,
       lambda h, ans, g, a, b, axes=2: tensordot_vjp_b(g, h, b, axes=axes))
defjvp(tensordot_vjp_a, lambda d, ans, g, a, b, axes=2: tensordot_vjp_a(d, a, b, axes=axes), None,
       lambda d, ans, g, a, b, axes=2: tensordot_vjp_a(g, a, d, axes=axes))
def_linear(tensordot_vjp_b, out=like_arg(2))
defvjp(tensordot_vjp_b, lambda h, ans, g, a, b, axes=2: xp.tensordot(a, h, axes),
       lambda h, ans, g, a, b, axes=2: tensordot_vjp_a(g, a, h, axes=axes), None)
defjvp(tensordot_vjp_b, lambda d, ans, g, a, b, axes=2: tensordot_vjp_b(d, a, b, axes=axes),
       lambda d, ans, g, a, b, axes=2: tensordot_vjp_b(g, d, b, axes=axes), None)


def inner_vjp_a(g, a, b):
    """The cotangent of ``a`` in ``inner(a, b)``: tensordot(a, b, (-1, -1)), or a product."""
    if xp.ndim(a) == 0 or xp.ndim(b) == 0:
        return dot_vjp_a(g, a, b)
    return tensordot_vjp_a(g, a, b, (-1, -1))


def inner_vjp_b(g, a, b):
    """The cotangent of ``b`` in ``inner(a, b)``."""
    if xp.ndim(a) == 0 or xp.ndim(b) == 0:
        return dot_vjp_b(g, a, b)
    return tensordot_vjp_b(g, a, b, (-1, -1))


defvjp(numpy.inner, lambda g, ans, a, b: inner_vjp_a(g, a, b),
       lambda g, ans, a, b: inner_vjp_b(g, a, b), out=dot_kind)
defjvp(numpy.inner, lambda d, ans, a, b: xp.inner(d, b), lambda d, ans, a, b: xp.inner(a, d))
def_linear(inner_vjp_a, out=like_arg(1))
defvjp(inner_vjp_a, lambda h, ans, g, a, b: xp.inner(h, b), None,
       lambda h, ans, g, a, b: inner_vjp_b(g, h, b))
defjvp(inner_vjp_a, lambda d, ans, g, a, b: inner_vjp_a(d, a, b), None,
       lambda d, ans, g, a, b: inner_vjp_a(g, a, d))
def_linear(inner_vjp_b, out=like_arg(2))
defvjp(inner_vjp_b, lambda h, ans, g, a, b: xp.inner(a, h),
       lambda h, ans, g, a, b: inner_vjp_a(g, a, h), None)
defjvp(inner_vjp_b, lambda d, ans, g, a, b: inner_vjp_b(d, a, b),
       lambda d, ans, g, a, b: inner_vjp_b(g, d, b), None)
defvjp(numpy.outer, lambda g, ans, a, b, out=None: xp.reshape(g @ xp.ravel(b), xp.shape(a)),
       lambda g, ans, a, b, out=None: xp.reshape(xp.ravel(a) @ g, xp.shape(b)),
       out=lambda args, keywords: _kinds().array(2))
defjvp(numpy.outer, lambda d, ans, a, b, out=None: xp.outer(d, b),
       lambda d, ans, a, b, out=None: xp.outer(a, d))

# ---------------------------------------------------------------- transposes


def inverse_axes(ndim, axes=None, *more):
    """The permutation undoing ``transpose(x, axes)`` (or ``x.transpose(*axes)``)."""
    more = tuple(m for m in more if m is not None)
    if more:
        axes = (axes,) + more
    if axes is None or axes == ():
        return None
    return tuple(int(i) for i in numpy.argsort([int(a) % ndim for a in axes]))


nondifferentiable(inverse_axes, out="const")
defvjp(numpy.transpose, lambda g, ans, a, axes=None:
       xp.transpose(g, inverse_axes(xp.ndim(a), axes)), out=same_ndim)
def_linear(numpy.transpose)
defvjp(numpy.ndarray.transpose, lambda g, ans, a, axes=None, a1=None, a2=None, a3=None,
       a4=None, a5=None, a6=None, a7=None:
       xp.transpose(g, inverse_axes(xp.ndim(a), axes, a1, a2, a3, a4, a5, a6, a7)),
       out=same_ndim)
def_linear(numpy.ndarray.transpose)
for _swap in (numpy.swapaxes, numpy.ndarray.swapaxes):
    defvjp(_swap, lambda g, ans, a, axis1, axis2: xp.swapaxes(g, axis1, axis2), out=same_ndim)
    def_linear(_swap)
defvjp(numpy.moveaxis, lambda g, ans, a, source, destination:
       xp.moveaxis(g, destination, source), out=same_ndim)
def_linear(numpy.moveaxis)
defattr(numpy.ndarray, "T", vjp=lambda g, ans, x: g.T, jvp=lambda d, ans, x: d.T)
defattr(numpy.ndarray, "mT", vjp=lambda g, ans, x: xp.swapaxes(g, -1, -2),
        jvp=lambda d, ans, x: xp.swapaxes(d, -1, -2))

# ---------------------------------------------------------------- diagonals and traces


def diagonal_vjp(g, a, offset=0, axis1=0, axis2=1):
    """The adjoint of ``diagonal(a, offset, axis1, axis2)``: ``g`` on a zero array."""
    shape = xp.shape(a)
    ax1, ax2 = axis1 % len(shape), axis2 % len(shape)
    n1, n2 = shape[ax1], shape[ax2]
    first_row, first_col = (0, offset) if offset >= 0 else (-offset, 0)
    n = max(0, min(n1 - first_row, n2 - first_col))
    rows, cols = list(range(first_row, first_row + n)), list(range(first_col, first_col + n))
    rest = [s for k, s in enumerate(shape) if k not in (ax1, ax2)]
    out = xp.zeros_like(g, shape=tuple(rest) + (n1, n2))
    out[..., rows, cols] = g
    return xp.moveaxis(out, (-2, -1), (ax1, ax2))


def trace_vjp(g, a, offset=0, axis1=0, axis2=1):
    """The adjoint of ``trace``: ``g`` along the diagonal."""
    diag = xp.diagonal(a, offset, axis1, axis2)
    return diagonal_vjp(xp.broadcast_to(xp.expand_dims(g, -1), xp.shape(diag)), a, offset,
                        axis1, axis2)


def diag_vjp(g, v, k=0):
    """The adjoint of ``diag(v, k)``: extract (1-D ``v``) or place (2-D ``v``)."""
    return xp.diag(g, k) if xp.ndim(v) == 1 else diagonal_vjp(g, v, k)


def_linear(diagonal_vjp, out=like_arg(1))
defvjp(diagonal_vjp, lambda h, ans, g, a, offset=0, axis1=0, axis2=1:
       xp.diagonal(h, offset, axis1, axis2))
def_linear(trace_vjp, out=like_arg(1))
defvjp(trace_vjp, lambda h, ans, g, a, offset=0, axis1=0, axis2=1:
       xp.trace(h, offset, axis1, axis2))
def_linear(diag_vjp, out=like_arg(1))
defvjp(diag_vjp, lambda h, ans, g, v, k=0: xp.diag(h, k))
for _trace in (numpy.trace, numpy.ndarray.trace):
    defvjp(_trace, lambda g, ans, a, offset=0, axis1=0, axis2=1, dtype=None, out=None:
           trace_vjp(g, a, offset=offset, axis1=axis1, axis2=axis2), out=drop_two)
    def_linear(_trace)
for _diagonal in (numpy.diagonal, numpy.ndarray.diagonal):
    defvjp(_diagonal, lambda g, ans, a, offset=0, axis1=0, axis2=1:
           diagonal_vjp(g, a, offset=offset, axis1=axis1, axis2=axis2),
           out=lambda args, kw: _kinds().array())
    def_linear(_diagonal)
defvjp(numpy.diag, lambda g, ans, v, k=0: diag_vjp(g, v, k=k),
       out=lambda args, kw: _kinds().array())
def_linear(numpy.diag)

