"""Run-time queries answered at compile time.

``differentiating()`` (:mod:`ad_compiler.runtime.mode`) is ``False`` when
called plainly and ``True`` in derivative code: each call the compiler can
resolve becomes the constant, so the branch it guards is folded away.
"""
import gast

from ad_compiler import nodes as N
from ad_compiler.runtime.mode import differentiating


def fold_queries(fn, resolver):
    """Replace ``y = differentiating()`` by ``y = True`` (in place).

    ANF has made every call the whole value of an assignment, so that is
    the only place one can stand.
    """
    for node in N.walk(fn):
        if isinstance(node, gast.Assign) and isinstance(node.value, gast.Call) and \
                not node.value.args and not node.value.keywords and \
                resolver.static_or_none(node.value.func) is differentiating:
            node.value = N.const(True)
