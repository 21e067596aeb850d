"""Structures of values (pytrees), importable as ``ad_compiler.tree``.

They are defined in :mod:`ad_compiler.runtime.core.tree`, the bottom layer.
"""
from ad_compiler.runtime.core.tree import (Struct, TreeDef, register_node,  # noqa: F401
                                           tree_children, tree_flatten, tree_leaves, tree_map,
                                           tree_unflatten)
