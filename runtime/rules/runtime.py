"""Rules for the helpers that generated code calls, so it can be differentiated again.

Almost every helper is linear in its gradient arguments: accumulating,
indexing into structures, reducing a broadcast.  Their forward rules are
the helpers themselves applied to tangents; their reverse rules are the
matching "transpose" helpers.  The in-place helpers (``scatter_add``,
``restore_region``) change their first argument, and so does their tangent
call.
"""
from .. import helpers as H
from ..dispatch import constructor_grads
from ..mode import differentiating
from ..core.registry import SAME, def_linear, def_unary, defvjp, nondifferentiable

# ---------------------------------------------------------------- accumulation

def _like(i):
    """Output kind: that of argument ``i`` (a list's adjoint is a list...)."""
    def kind(args, keywords):
        from ..core import kinds
        k = args[i] if len(args) > i else None
        return k if k is not None and k.tag != "const" else kinds.OTHER
    return kind


def _either(args, keywords):
    """``add(a, b)``: whichever operand's kind is known."""
    from ..core import kinds
    known = [k for k in args[:2] if k is not None and k.tag not in ("const", "other")]
    return known[0] if known else kinds.OTHER


def_linear(H.add, none_ok=True, may_be_none=True, argnums=(0, 1), out=_either)
defvjp(H.add, lambda h, ans, a, b: h, lambda h, ans, a, b: h)
def_linear(H.add_field, none_ok=True, may_be_none=True, argnums=(0, 2))
defvjp(H.add_field, lambda h, ans, bx, name, g: h, None, lambda h, ans, bx, name, g:
       H.field(h, name))
def_linear(H.add_item, none_ok=True, may_be_none=True, argnums=(0, 3), out=_like(1))
defvjp(H.add_item, lambda h, ans, bx, x, idx, g: h, None, None,
       lambda h, ans, bx, x, idx, g: H.item(h, idx))
def_linear(H.add_attr, none_ok=True, may_be_none=True, argnums=(0, 3))
def_linear(H.scatter_add, argnums=(0, 2), mutates=0)

# ---------------------------------------------------------------- structures

def_linear(constructor_grads, argnums=(1,), none_ok=True)

def_linear(H.item, none_ok=True, may_be_none=True)
defvjp(H.item, lambda h, ans, g, i: H.add_item(None, g, i, h))
# a dict display's entries: linear in the display's gradient (or, for
# display_tangent, in the unpacked dict's tangent)
def_linear(H.display_item, none_ok=True, may_be_none=True)
defvjp(H.display_item, lambda h, ans, g, key, keys=(), dicts=():
       H.display_unpacked({key: h}, {key: None}, keys=keys, dicts=dicts))
def_linear(H.display_unpacked, none_ok=True, may_be_none=True)
defvjp(H.display_unpacked, lambda h, ans, g, d, keys=(), dicts=(): h)
def_linear(H.display_tangent, argnums=(1,), none_ok=True, may_be_none=True)
defvjp(H.display_tangent, None, lambda h, ans, d, t: h)
def_linear(H.field, none_ok=True, may_be_none=True)
def_linear(H.attr_tangent, none_ok=True, may_be_none=True)
defvjp(H.attr_tangent, lambda h, ans, t, x, name: H.add_attr(None, x, name, h))
defvjp(H.field, lambda h, ans, g, name: H.add_field(None, name, h))
def_linear(H.clear_item, none_ok=True, may_be_none=True, out=_like(0))
defvjp(H.clear_item, lambda h, ans, g, idx: H.clear_item(h, idx))
nondifferentiable(H.zero_entry, out="const")
# (a bool; the compiler folds it to True in derivative code, ad_compiler/queries.py)
nondifferentiable(differentiating, out="const")
def_linear(H.nz, none_ok=True)
defvjp(H.nz, lambda h, ans, g, x: h)
def_linear(H.sequence_vjp, none_ok=True, may_be_none=True)
# A closure's tangent is linear in its variables' tangents (any number of them).
def_linear(H.make_struct, argnums=tuple(range(1, 256)), none_ok=True, may_be_none=True)
# pop_tangent and append_tangent carry values and tangents of lists of unknown
# kind: they have no rule, so code calling them is refused at the next order
# rather than given a zero.
def_linear(H.sequence_jvp, none_ok=True, may_be_none=True)
def_linear(H.sequence_grad, none_ok=True, may_be_none=True)
def_linear(H.own_tangent, none_ok=True, may_be_none=True)
defvjp(H.own_tangent, lambda h, ans, t, x: h)
def_linear(H.values_grad, none_ok=True, may_be_none=True)
def_linear(H.values_tangent, none_ok=True, may_be_none=True)
defvjp(H.values_grad, lambda h, ans, g, d: H.values_tangent(h, d))
defvjp(H.values_tangent, lambda h, ans, t, d: H.values_grad(h, d))
def_linear(H.items_grad, none_ok=True, may_be_none=True)
def_linear(H.items_tangent, none_ok=True, may_be_none=True)
defvjp(H.items_grad, lambda h, ans, g, d: H.items_tangent(h, d))
defvjp(H.items_tangent, lambda h, ans, t, d: H.items_grad(h, d))
defvjp(H.sequence_grad, lambda h, ans, g, x: H.sequence_grad(h, x))

# ---------------------------------------------------------------- broadcasting

def_linear(H.unbroadcast, out=_like(1))   # the result has the shape of x
defvjp(H.unbroadcast, lambda h, ans, g, x: H.broadcast_like(h, g))
def_linear(H.unbroadcast_scalar)
def_linear(H.broadcast_like)
defvjp(H.broadcast_like, lambda h, ans, d, ans0: H.unbroadcast(h, d))
nondifferentiable(H.shape_only, out=_like(0))
def_linear(H.like_dtype)
defvjp(H.like_dtype, lambda h, ans, g, x: h)
def_linear(H.sum_vjp, out=_like(1))
def_linear(H.sum_jvp)
def_linear(H.to_float)
defvjp(H.to_float, lambda h, ans, g: h)

# ---------------------------------------------------------------- saving state

def_linear(H.save_region)
def_linear(H.restore_region, argnums=(0, 2), mutates=0)

# ---------------------------------------------------------------- constants

def_unary(H.log, lambda ans, x: 1.0 / x, out=SAME)
nondifferentiable(H.zeros_like, out=SAME)
nondifferentiable(H.seed, out=SAME)
