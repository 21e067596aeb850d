"""What generated code calls: rule tables, helpers and call dispatch.

Importing this package registers every rule table.
"""
from . import (helpers, ownership, rules_arrays, rules_basic, rules_complex,  # noqa: F401
               rules_linalg, rules_matrix, rules_numpy, rules_reductions, rules_runtime)
from .core import registry  # noqa: F401
