"""Tidy branches and constant items, the last step of the optimiser.

* ``if True: A else: B`` is ``A`` (``differentiating()`` folds to True);
* ``if t: pass`` with nothing else goes; ``if t: pass else: B`` reads
  ``if not t: B``; an ``else: pass`` is dropped;
* ``item((a, b), 1)`` of a literal tuple is ``b`` (higher-order code
  indexes the tuples it built itself).
"""
import gast

from ad_compiler.runtime.helpers import item

from .. import nodes as N


def _empty(block):
    return all(s.__class__ is gast.Pass for s in block)


def _block(stmts):
    out = []
    for s in stmts:
        if s.__class__ in (gast.For, gast.While):
            s.body = _block(s.body) or [gast.Pass()]
            s.orelse = _block(s.orelse)
        if s.__class__ is not gast.If:
            out.append(s)
            continue
        s.body, s.orelse = _block(s.body), _block(s.orelse)
        test = s.test
        if test.__class__ is gast.Constant and test.value in (True, False):
            out.extend(s.body if test.value else s.orelse)
            continue
        if _empty(s.orelse):
            s.orelse = []
        if _empty(s.body):
            if not s.orelse and test.__class__ is gast.Name:
                continue                    # reading a name has no effect
            if s.orelse:
                s.test = gast.UnaryOp(op=gast.Not(), operand=test)
                s.body, s.orelse = s.orelse, []
        s.body = s.body or [gast.Pass()]
        out.append(s)
    return out


def tidy_branches(fdef, externs):
    """Rewrite ``fdef``'s branches and literal-tuple items in place."""
    fdef.body = _block(fdef.body) or [gast.Pass()]
    name = externs.by_id.get(id(item))
    if name is None:
        return

    def fold(node):
        if (node.__class__ is gast.Call and node.func.__class__ is gast.Name
                and node.func.id == name and len(node.args) == 2 and not node.keywords
                and node.args[0].__class__ is gast.Tuple
                and node.args[1].__class__ is gast.Constant
                and type(node.args[1].value) is int
                and -len(node.args[0].elts) <= node.args[1].value < len(node.args[0].elts)):
            return node.args[0].elts[node.args[1].value]
        return node

    N.transform(fdef, fold)
