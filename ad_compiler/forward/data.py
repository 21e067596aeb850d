"""Forward mode for structures and mutation: attributes, items, tuples,
item assignment and in-place linear calls."""
import gast
import numpy as np

from ad_compiler import nodes as N
from ad_compiler.inline import instantiate
from ad_compiler.runtime import helpers as H
from ad_compiler.runtime.core import kinds as K, registry
from ad_compiler.runtime.core.errors import NoAdjointError, UnsupportedSyntaxError, located
from ad_compiler.steps import MAYBE, SET, ZERO, Tan


class DataTangents:
    """Methods of :class:`forward.Forward` (a mixin: they use its state)."""

    # ------------------------------------------------------------ structures

    def attr_tangent(self, var, value, code, s):
        base = value.value
        if not self.live(base):
            return None, ZERO, False
        if K.array_property(self.kind(base.id), value.attr):
            rule = registry.lookup_attr(np.ndarray, value.attr)
            if rule is not None and rule.nondiff:
                return None, ZERO, False
            if rule is None or rule.jvps is None:
                raise NoAdjointError("%s: no forward rule for attribute ndarray.%s; register "
                                     "one with registry.defattr(numpy.ndarray, %r, jvp=...)"
                                     % (located(s, self.ctx.source), value.attr, value.attr))
            d = self.tangent(base, code, s)
            return instantiate(rule.jvps[0].fn, {"d": d, "ans": N.name(var), "x": base},
                               self.externs), SET, False
        return N.call(self.rt(H.attr_tangent), [self.d(base.id), N.copy(base),
                                                 N.const(value.attr)]), MAYBE, False

    def item_tangent(self, var, value, code, s):
        base = value.value
        if not self.live(base):
            return None, ZERO, False
        index = self.index(value.slice)
        if K.is_array(self.kind(base.id)) and self.state(base.id).state == SET:
            return N.subscript(self.d(base.id), N.copy(value.slice)), SET, False
        return N.call(self.rt(H.item), [self.d(base.id), index]), MAYBE, False

    def sequence_tangent(self, value, s):
        if any(isinstance(e, gast.Starred) and self.live(e.value) for e in value.elts):
            raise UnsupportedSyntaxError("%s: unpacking a differentiated value with * into a "
                                         "tuple or list is not supported"
                                         % located(s, self.ctx.source))
        elts = [N.const(None) if isinstance(e, gast.Starred) else self.maybe(e)
                for e in value.elts]
        node = gast.Tuple if isinstance(value, gast.Tuple) else gast.List
        return node(elts=elts, ctx=gast.Load()), SET, True

    def index(self, index):
        return N.index_value(index, self.externs.ref(slice, "slice"))

    # ------------------------------------------------------------ mutation

    def store_item(self, s):
        target = s.targets[0]
        base, value = target.value, s.value
        if not isinstance(base, gast.Name) or base.id not in self.active:
            return [s]
        if not self.live(value) and not self.live(base):
            return [s]
        code = [s] + self.own(base.id, s)
        d = self.tangent(value, code, s) if self.live(value) else self.zero_entry(base.id)
        code.append(N.assign(N.subscript(self.d(base.id), N.copy(target.slice), store=True),
                             d, s))
        return code

    def zero_entry(self, var):
        """What a constant stored into ``var`` puts into its tangent."""
        kind = self.kind(var)
        if K.is_array(kind):
            return N.const(0.0)
        if kind.tag in ("list", "dict", "tuple"):
            return N.const(None)
        # not known statically: an array needs 0.0 (None would become NaN)
        return N.call(self.rt(H.zero_entry), [N.name(self.d(var))])

    def stmt_Expr(self, s):
        call = self.ctx.classify(s.value)
        if call.kind == "special" and call.special == "list.append":
            lst = call.receiver.id
            if lst not in self.active:
                return [s]
            # (the zero tangent is sized by the list before this append)
            code = self.own(lst, s) + [s] if self.state(lst).state != SET else [s]
            item = call.args[0]
            if not (isinstance(item, gast.Name) and self.state(item.id).state == SET):
                # an item whose tangent may be None: pops of this list may give None
                self.full_lists.discard(lst)
            code.append(N.expr_stmt(N.call(N.attribute(self.d(lst), "append"), [
                self.maybe(item) if isinstance(item, gast.Name) else N.const(None)]), s))
            return code
        if call.kind == "rule" and call.rule.mutates is not None and call.rule.linear:
            return self.mutating_linear(call, s)
        recv = call.receiver
        if (call.kind == "dynamic" and recv is not None and s.value.func.attr == "append"
                and len(s.value.args) == 1 and recv.id in self.active
                and not isinstance(s.value.args[0], gast.Starred)):
            # obj.append(v) where obj was not known to be a list
            item = s.value.args[0]
            before = N.const(None) if self.state(recv.id).state == ZERO else self.maybe(recv)
            self.states[recv.id] = Tan(SET, True)
            return [N.assign(self.d(recv.id), N.call(self.rt(H.append_tangent), [
                N.copy(recv), before, N.copy(item),
                self.maybe(item) if isinstance(item, gast.Name) else N.const(None)]), s)]
        if call.kind == "dynamic" and (any(self.live(a) for a in call.args)
                                       or self.passes_mutable(call)):
            # The result is dropped, but the call still goes through
            # call_jvp, which refuses a callee that would change its
            # differentiated arguments behind the tangents' back.
            return [N.expr_stmt(self.joint_call("_", s.value, call, s)[0].value, s)]
        return [s]

    def mutating_linear(self, call, s):
        """``scatter_add(bx, i, g)``: the same change, made to the tangents."""
        target = call.args[call.rule.mutates]
        if not isinstance(target, gast.Name) or target.id not in self.active:
            return [s]
        live = [a for i, a in enumerate(call.args) if i in call.rule.linear and self.live(a)]
        if not live:
            return [s]
        code = [s] + self.own(target.id, s)
        code.append(N.expr_stmt(self.linear(None, call, code, s), s))
        return code
