"""The calls the compiler treats specially rather than by rule or by dispatch.

Nested ``gradient`` (its adjoint is a Hessian-vector product, its tangent a
forward sweep of the gradient code), the primitives generated code calls
(``call_fwd``, ``call_bwd``, ``call_jvp``, ``call_tangent``), and API functions that cannot
simply be differentiated through their Python source.
"""
from ad_compiler.analysis import calls
from ad_compiler.runtime import applied, dispatch, transforms


def install_api(functions):
    """The API's transforms (name -> function), installed by ad_compiler.api
    when it is imported (this module sits below the API)."""
    calls.SPECIAL.update({fn: name for name, fn in functions.items()})


calls.SPECIAL.update({
    dispatch.call_fwd: "call_fwd",
    dispatch.call_bwd: "call_bwd",
    applied.call_jvp: "call_jvp",
    applied.call_tangent: "call_tangent",
})

# special name -> (wrapper class, positions of its static arguments)
FORWARD = {
    "gradient": (transforms.GradOf, ()),
    "call_fwd": (transforms.FwdOf, (1,)),
    "call_bwd": (transforms.BwdOf, ()),
    "call_jvp": (transforms.JvpOf, (1,)),
    "call_tangent": (transforms.TangentOf, (1,)),
}
