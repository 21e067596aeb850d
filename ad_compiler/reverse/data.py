"""Reverse mode for structures and mutation: attributes, items, tuples,
lists, dicts, item assignment, ``append`` and ``pop``."""
import gast
import numpy as np

from ad_compiler import nodes as N
from ad_compiler.analysis import calls as C
from ad_compiler.inline import instantiate
from ad_compiler.runtime import helpers as H
from ad_compiler.runtime.core import kinds as K, registry
from ad_compiler.runtime.core.errors import NoAdjointError, UnsupportedSyntaxError, located
from ad_compiler.steps import MAYBE, SET, ZERO, Save, Step, basic_index, fresh


class DataAdjoints:
    """Methods of :class:`reverse.Reverse` (a mixin: they use its state)."""

    # ------------------------------------------------------------ structures

    def attr_adjoint(self, var, value, s):
        base = value.value
        if not self.is_active(base):
            return []
        g = N.name(self.b(var))
        if K.array_property(self.kind(base.id), value.attr):
            rule = registry.lookup_attr(np.ndarray, value.attr)
            if rule is not None and rule.nondiff:
                return []
            if rule is None or rule.vjps is None:
                raise NoAdjointError("%s: no adjoint for attribute ndarray.%s; register one "
                                     "with registry.defattr(numpy.ndarray, %r, vjp=...)"
                                     % (located(s, self.ctx.source), value.attr, value.attr))
            code = self.materialize(var, s)
            expr = instantiate(rule.vjps[0].fn, {"g": g, "ans": N.name(var), "x": base},
                               self.externs)
            return code + self.accumulate(base.id, expr, fresh(expr), like=s)
        expr = N.call(self.rt(H.add_attr), [self.b(base.id) if self.state(base.id).state
                                            != ZERO else N.const(None),
                                            base, N.const(value.attr), g])
        a = self.state(base.id)
        a.state, a.owned = MAYBE, False
        return [N.assign(self.b(base.id), expr, s)]

    def item_adjoint(self, var, value, s):
        base = value.value
        if not self.is_active(base):
            return []
        code = self.materialize(var, s)
        g = N.name(self.b(var))
        k = self.kind(base.id)
        index = value.slice
        if (k.tag == "tuple" and k.token is not None and isinstance(index, gast.Constant)
                and isinstance(index.value, int) and self.state(base.id).state == ZERO
                and -len(k.token) <= index.value < len(k.token)):
            # A tuple of known length: its cotangent is a literal, so the
            # tuple itself need not be kept (or computed) for the adjoint.
            i = index.value % len(k.token)
            elts = [N.const(None)] * len(k.token)
            elts[i] = g
            a = self.state(base.id)
            a.state, a.owned = SET, False
            return code + [N.assign(self.b(base.id), N.tuple_(elts), s)]
        index = N.copy(value.slice)
        if K.is_array(self.kind(base.id)) and self.inplace:
            code += self.own(base.id, s)
            if basic_index(value.slice, self.kinds):
                target = N.subscript(self.b(base.id), index, store=True)
                code.append(N.located_as(gast.AugAssign(target=target, op=gast.Add(), value=g),
                                         s))
            else:
                code.append(N.expr_stmt(N.call(self.rt(H.scatter_add),
                                               [self.b(base.id), self.index(index), g]), s))
            return code
        prev = self.b(base.id) if self.state(base.id).state != ZERO else N.const(None)
        expr = N.call(self.rt(H.add_item), [prev, base, self.index(index), g])
        a = self.state(base.id)
        a.state, a.owned = SET, False
        return code + [N.assign(self.b(base.id), expr, s)]

    def sequence_adjoint(self, var, value, s):
        code = []
        g = self.b(var)
        for i, elt in enumerate(value.elts):
            if isinstance(elt, gast.Starred):
                if self.is_active(elt.value):
                    raise UnsupportedSyntaxError(
                        "%s: unpacking a differentiated value with * into a tuple or list is "
                        "not supported; build the sequence with + instead"
                        % located(s, self.ctx.source))
                continue
            if self.is_active(elt):
                expr = N.call(self.rt(H.item), [g, N.const(i)])
                code += self.accumulate(elt.id, expr, False, maybe_none=True, like=s)
        return code

    def dict_adjoint(self, var, value, s):
        code = []
        for key, val in zip(value.keys, value.values):
            if key is not None and self.is_active(val):
                expr = N.call(self.rt(H.item), [self.b(var), N.copy(key)])
                code += self.accumulate(val.id, expr, False, maybe_none=True, like=s)
        return code

    # ------------------------------------------------------------ mutation

    def store_item(self, s, loops):
        target = s.targets[0]
        base, value = target.value, s.value
        if not isinstance(base, gast.Name):
            return Step([s])
        marker = [Save(base.id, loops > 0, index=target.slice, like=s)]
        if base.id not in self.active:
            return Step(marker + [s], lambda: [m.restore for m in marker])

        def rev():
            code = []
            if self.state(base.id).state != ZERO:
                code = self.store_item_adjoint(base.id, target.slice, value, s)
            return code + [m.restore for m in marker]
        return Step(marker + [s], rev)

    def store_item_adjoint(self, var, index, value, s):
        bvar = self.b(var)
        code = []
        if K.is_array(self.kind(var)):
            code += self.own(var, s)
            if self.is_active(value):
                g = N.call(N.attribute(N.subscript(bvar, N.copy(index)), "copy"))
                g = N.call(self.rt(H.unbroadcast), [g, value])
                code += self.accumulate(value.id, g, False, like=s)
            code.append(N.assign(N.subscript(bvar, N.copy(index), store=True),
                                 N.const(0.0), s))
            return code
        code += self.materialize(var, s)
        if self.is_active(value):
            g = N.call(self.rt(H.item), [bvar, self.index(index)])
            # (an array of unknown kind takes a number into a mask or a slice:
            # its gradient is the sum over what it filled)
            g = N.call(self.rt(H.unbroadcast), [g, value])
            code += self.accumulate(value.id, g, False, maybe_none=True, like=s)
        cleared = N.call(self.rt(H.clear_item), [bvar, self.index(index)])
        code.append(N.assign(bvar, cleared, s))
        self.state(var).owned = False
        return code

    def store_attr(self, s, loops):
        value = s.value
        if self.is_active(value):
            base = s.targets[0].value
            raise UnsupportedSyntaxError(
                "%s: assigning a differentiated value to attribute '%s' of '%s' is not "
                "supported in differentiated code; build and return a new object instead"
                % (located(s, self.ctx.source), s.targets[0].attr, C.describe(base)))
        return Step([s])

    def list_append(self, s, call):
        lst = call.receiver.id
        item = call.args[0] if call.args else None
        if lst not in self.active:
            return Step([s])

        def rev():
            code = []
            if self.state(lst).state != ZERO:
                popped = N.call(N.attribute(self.b(lst), "pop"))
                if self.state(lst).state == MAYBE or not self.state(lst).owned:
                    # zero on some path (a branch that never read the list), or
                    # a rule's result, which is None for a zero cotangent
                    popped = gast.IfExp(test=gast.Compare(
                        left=N.name(self.b(lst)), ops=[gast.Is()], comparators=[N.const(None)]),
                        body=N.const(None), orelse=popped)
                if item is not None and self.is_active(item):
                    code += self.accumulate(item.id, popped, False, maybe_none=True, like=s)
                else:
                    code.append(N.expr_stmt(popped, s))
            code.append(N.expr_stmt(N.call(N.attribute(lst, "pop")), s))
            return code
        return Step([s], rev)

    def list_pop(self, var, value, call, s, marker):
        lst = call.receiver.id
        if call.args:
            raise UnsupportedSyntaxError("%s: list.pop(i) of a differentiated list is not "
                                         "supported; use list.pop()" % located(s, self.ctx.source))

        def rev():
            code = []
            if self.state(var).state != ZERO and lst in self.active:
                if self.state(lst).state == ZERO:
                    code.append(N.assign(self.b(lst), N.binop(gast.List(
                        elts=[N.const(None)], ctx=gast.Load()), gast.Mult(),
                        N.call(self.rt(len, "len"), [lst])), s))
                    self.state(lst).state = SET
                code.append(N.expr_stmt(N.call(N.attribute(self.b(lst), "append"),
                                               [self.b(var)]), s))
            code.append(N.expr_stmt(N.call(N.attribute(lst, "append"), [var]), s))
            self.kill(var)
            return code + [m.restore for m in marker]
        return Step(marker + [N.assign(var, value, s)], rev)
