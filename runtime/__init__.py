"""What generated code calls: rule tables, helpers and call dispatch.

Importing this package registers every rule table.
"""
from . import registry, helpers, ownership  # noqa: F401
from . import rules_basic, rules_numpy, rules_reductions, rules_runtime, rules_linalg  # noqa: F401
