"""Dead code: pure assignments whose targets are never read, empty
branches and loops that do nothing.  With ``tangent_only``, a
``call_jvp`` whose value is unused becomes a ``call_tangent``."""
import gast

from ad_compiler import nodes as N
from ad_compiler.optimize.facts import _header


class DeadCode:
    """The dead-code pass, a mixin over :class:`base.OptimizerBase`."""

    def dce(self, stmts, live_out=frozenset()):
        """Remove pure assignments to dead names; True if anything went."""
        changed = False
        out = []
        live = set(live_out)
        for s in reversed(stmts):
            if self._dead(s, live):
                changed = True
                continue
            if self.tangent_only and self._value_unused(s, live):
                s = self._tangent_call(s)
                changed = True
            inner = False
            if s.__class__ is gast.If:
                inner = self.dce(s.body, live) | self.dce(s.orelse, live)
                if not s.body and not s.orelse:
                    changed = True
                    continue
                s.body = s.body or [gast.Pass()]
            elif s.__class__ in (gast.For, gast.While):
                inner = self.dce(s.body, self._loop_live(s, live))
                if not s.body and s.__class__ is gast.For and self.pure(s.iter):
                    changed = True
                    continue                    # a loop that does nothing
                s.body = s.body or [gast.Pass()]
            if inner:
                self.changed(s, deep=False)
                changed = True
            out.append(s)
            live = self._transfer(s, live)
        out.reverse()
        stmts[:] = out
        return changed

    def _value_unused(self, s, live):
        """``out, dout = call_jvp(...)`` whose ``out`` is never read."""
        if s.__class__ is not gast.Assign or s.targets[0].__class__ is not gast.Tuple:
            return False
        elts, value = s.targets[0].elts, s.value
        return (len(elts) == 2 and all(e.__class__ is gast.Name for e in elts)
                and elts[0].id not in live and value.__class__ is gast.Call
                and value.func.__class__ is gast.Name
                and self.ctx.externs.bound.get(value.func.id) is _call_jvp())

    def _tangent_call(self, s):
        """``dout = call_tangent(...)``: the callee skips what only ``out`` needed."""
        from ad_compiler.runtime.applied import call_tangent
        func = N.name(self.ctx.externs.ref(call_tangent, "call_tangent"))
        call = gast.Call(func=func, args=s.value.args, keywords=s.value.keywords)
        return N.assign(s.targets[0].elts[1].id, call, s)

    def _dead(self, s, live):
        cls = s.__class__
        if cls is gast.Assign and s.targets[0].__class__ is gast.Name:
            return s.targets[0].id not in live and self.pure(s.value)
        if cls is gast.AugAssign and s.target.__class__ is gast.Name:
            return s.target.id not in live and self.ours(s.target.id) and self.pure(s.value)
        return cls is gast.Pass

    def _loop_live(self, s, live):
        """Live at the end of a loop body: after the loop, or in the next iteration."""
        current = set(live) | N.loaded_names(_header(s))
        for _ in range(10):
            new = current | self._live_in(s.body, current)
            if new == current:
                break
            current = new
        return current

    def _live_in(self, stmts, live):
        for s in reversed(stmts):
            live = self._transfer(s, live)
        return live

    def _transfer(self, s, live):
        cls = s.__class__
        if cls is gast.Assign and s.targets[0].__class__ is gast.Name:
            return (live - {s.targets[0].id}) | self.facts(s).loads.keys()
        if cls is gast.If:
            return self._live_in(s.body, live) | self._live_in(s.orelse, live) | \
                N.loaded_names(s.test)
        if cls is gast.For or cls is gast.While:
            return self._loop_live(s, live) | live
        return live | set(self.facts(s).loads)


def _call_jvp():
    from ad_compiler.runtime.applied import call_jvp
    return call_jvp

