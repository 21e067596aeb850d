"""What generated code calls: rule tables, helpers and call dispatch.

Importing this package registers every rule table.
"""
from . import helpers, ownership, rules
from .core import registry

__all__ = ["helpers", "ownership", "registry", "rules"]
