"""How the compiler is asked to generate code, and the "no object" marker.

>>> Options(mode="jvp").mode
'jvp'
"""
from dataclasses import dataclass

# What a name resolves to when it is a builtin or absent (a global defined
# later would shadow it).
MISSING = object()


@dataclass(frozen=True)
class Options:
    """How to generate code.

    mode: ``"grad"`` (one fused function returning gradients),
    ``"value_and_grad"`` (also returns the value), ``"split"`` (a forward
    function returning residuals and a backward function taking them) or
    ``"jvp"`` (forward mode: inputs and their tangents in, value and tangent
    out).
    inplace: update owned adjoint arrays in place.
    optimize: run the optimiser (off only to inspect raw output).
    callee: compiled for a call from other differentiated code (its
    arguments belong to the caller, so it may not mutate them).
    params: implicit parameters: arrays read from globals and closures are
    differentiated too, and their gradients deposited by identity.
    tangent_only: ``"jvp"`` code returning the tangent alone, so whatever only
    the value needed is dead code (Hessian-vector products skip the gradient).
    """
    mode: str = "grad"
    inplace: bool = True
    optimize: bool = True
    callee: bool = False
    params: bool = False
    tangent_only: bool = False

    # An Options is part of every compile-cache key, looked up on every call
    # of a nested function: its hash is computed once (the dataclass's own
    # __hash__ builds a tuple of the fields in Python each time).
    def __post_init__(self):
        object.__setattr__(self, "_hash", hash((self.mode, self.inplace, self.optimize,
                                                 self.callee, self.params, self.tangent_only)))

    def __hash__(self):
        return self._hash
