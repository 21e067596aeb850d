"""A source-transformation automatic-differentiation compiler for Python.

>>> from ad_compiler import gradient
>>> gradient(lambda x: 3*x**2 + 2*x + 1, 2)
(14.0,)
"""
import ad_compiler.runtime  # noqa: F401  (registers the rule tables)
from ad_compiler.analysis import special  # noqa: F401,E402  (registers the special forms)
from ad_compiler.api import WithGradient, grad, gradient, pullback, withgradient
from ad_compiler.transforms import adjoint_source, hessian, hvp, jacobian, jvp
from ad_compiler.checks import check_grads, numerical_gradient  # noqa: F401
from ad_compiler.compiler import Options, clear_cache  # noqa: F401
from ad_compiler.custom import (adjoint, checkpoint, nondifferentiable, stop_gradient,  # noqa
                                tangent)
from ad_compiler.params import Grads, Params, param  # noqa: F401
from ad_compiler.runtime.core.errors import (ADError, ArgumentError, MissingReturnError,  # noqa
                                             NoAdjointError, NonScalarOutputError,
                                             UnsupportedDerivativeError, UnsupportedSyntaxError)
from ad_compiler.runtime.core.tree import (register_node, tree_flatten, tree_leaves,  # noqa
                                           tree_map, tree_unflatten)
