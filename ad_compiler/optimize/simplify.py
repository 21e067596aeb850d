"""Constant folding and multiplicative identities (the optimiser's
``constants`` pass): ``1.0 * 3`` is ``3.0``, ``e * 1.0`` is ``e``, ``x ** 1``
is ``x``, ``--e`` is ``e``, and in adjoint code ``0.1 * bx + bx * c`` is
``bx * (0.1 + c)``: one operation fewer on every accumulation of that shape
(one in three for the adjoint of ``x = sin(x) * 1.01 + 0.1 * x``)."""
import operator

import gast

from ad_compiler import nodes as N

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

    def __init__(self, identities, numeric=None):
        self.identities = identities
        self.numeric = numeric          # expr -> provably a number or an array?
        self.changed = False

    def statement(self, s):
        # (every assignment's right-hand side, in loops and branches too)
        tops = {id(n.value) for n in N.statements([s]) if n.__class__ is gast.Assign}

        def rewrite(n):
            if n.__class__ is gast.BinOp or n.__class__ is gast.UnaryOp:
                out = _rules(n, id(n) in tops, self.identities)
                if out is n and self.identities and self.numeric is not None:
                    out = _factor_out(n, self.numeric)
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


def _factor_out(node, numeric):
    """``g * a + b * g`` as ``g * (a + b)`` (likewise ``-``) for a name ``g``.

    Only where every factor is a number or an array: multiplication then
    commutes, so only rounding changes.  (With a list, ``*`` repeats.)
    """
    if node.__class__ is not gast.BinOp or node.op.__class__ not in (gast.Add, gast.Sub):
        return node
    left, right = _factors(node.left), _factors(node.right)
    if len(left) < 2 or len(right) < 2:
        return node
    shared = [f.id for f in left if f.__class__ is gast.Name]
    common = next((name for name in shared
                   if any(f.__class__ is gast.Name and f.id == name for f in right)), None)
    if common is None or not all(numeric(f) for f in left + right):
        return node
    rest = [_product(_without(fs, common)) for fs in (left, right)]
    inner = gast.BinOp(left=rest[0], op=node.op, right=rest[1])
    return gast.BinOp(left=N.name(common), op=gast.Mult(), right=inner)


def _factors(e):
    """The operands of a left-nested product ``a * b * c``."""
    if e.__class__ is gast.BinOp and e.op.__class__ is gast.Mult:
        return _factors(e.left) + [e.right]
    return [e]


def _without(factors, name):
    i = next(i for i, f in enumerate(factors) if f.__class__ is gast.Name and f.id == name)
    return factors[:i] + factors[i + 1:]


def _product(factors):
    out = factors[0]
    for f in factors[1:]:
        out = gast.BinOp(left=out, op=gast.Mult(), right=f)
    return out
