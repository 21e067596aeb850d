"""The calls the compiler treats specially rather than by rule or by dispatch.

Nested ``gradient`` (its adjoint is a Hessian-vector product, its tangent a
forward sweep of the gradient code), the primitives generated code calls
(``call_fwd``, ``call_bwd``, ``call_jvp``, ``call_tangent``), and API functions that cannot
simply be differentiated through their Python source.
"""
from ad_compiler.runtime import dispatch, transforms

from . import api, calls

calls.SPECIAL.update({
    api.gradient: "gradient",
    api.grad: "grad",
    api.jvp: "jvp",
    api.pullback: "pullback",
    api.withgradient: "withgradient",
    dispatch.call_fwd: "call_fwd",
    dispatch.call_bwd: "call_bwd",
    dispatch.call_jvp: "call_jvp",
    dispatch.call_tangent: "call_tangent",
})

# special name -> (wrapper class, positions of its static arguments)
FORWARD = {
    "gradient": (transforms.GradOf, ()),
    "call_fwd": (transforms.FwdOf, (1,)),
    "call_bwd": (transforms.BwdOf, ()),
    "call_jvp": (transforms.JvpOf, (1,)),
    "call_tangent": (transforms.TangentOf, (1,)),
}
