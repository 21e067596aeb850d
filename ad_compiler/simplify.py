"""Constant folding and multiplicative identities (the optimiser's
``constants`` pass): ``1.0 * 3`` is ``3.0``, ``e * 1.0`` is ``e``, ``x ** 1``
is ``x``, ``--e`` is ``e``."""
import operator

import gast

from . import nodes as N

_FOLD = {gast.Add: operator.add, gast.Sub: operator.sub, gast.Mult: operator.mul,
         gast.Div: operator.truediv, gast.Pow: operator.pow}


def _num(node):
    return node.__class__ is gast.Constant and type(node.value) in (int, float)


class Simplify:
    """Constant folding and multiplicative identities inside expressions.

    An identity never turns the whole right-hand side of an assignment
    into a bare name or call: the target may be updated in place later,
    so it must stay a freshly allocated value.  Identities are only used in
    adjoint code, where every value is a float: ``1.0 * n`` must stay a
    float when ``n`` is a user's int.
    """

    def __init__(self, identities):
        self.identities = identities
        self.changed = False

    def statement(self, s):
        if s.__class__ is gast.Assign:
            tops = {id(s.value)}
        else:
            tops = set()

        def rewrite(n):
            if n.__class__ is gast.BinOp or n.__class__ is gast.UnaryOp:
                out = _rules(n, id(n) in tops, self.identities)
                if out is not n:
                    self.changed = True
                    if id(n) in tops:
                        tops.add(id(out))
                return out
            return n

        N.transform(s, rewrite)


def _rules(node, top, identities):
    def ok(result):
        return identities and (not top or result.__class__ in (gast.BinOp, gast.UnaryOp))

    if node.__class__ is gast.UnaryOp:
        if node.op.__class__ is gast.USub and _num(node.operand):
            return N.const(-node.operand.value)
        inner = node.operand
        if (node.op.__class__ is gast.USub and inner.__class__ is gast.UnaryOp
                and inner.op.__class__ is gast.USub and ok(inner.operand)):
            return inner.operand
        return node
    op = node.op.__class__
    if _num(node.left) and _num(node.right) and op in _FOLD:
        try:
            return N.const(_FOLD[op](node.left.value, node.right.value))
        except (ZeroDivisionError, OverflowError):
            return node
    if op is gast.Mult:
        for one, other in ((node.left, node.right), (node.right, node.left)):
            if _num(one) and one.value == 1 and type(one.value) is float and ok(other):
                return other
    if op is gast.Pow and _num(node.right) and node.right.value == 1 and ok(node.left):
        return node.left
    return node
