"""Saving overwritten values for the adjoint sweep, Tangent style.

The reverse transform places a :class:`Save` before every assignment that
may overwrite a value, and the matching :class:`Restore` after that
statement's adjoint code.  Once the adjoint code exists we know which
primal names it reads; only those markers become real code:

* inside a loop, a push onto a per-call list (``_stack_x.append(x)``) and
  a pop in the adjoint;
* outside loops, a copy into a numbered temporary.

Stacks are local variables of the generated function, so concurrent
calls never share them.
"""
import gast

from ad_compiler import nodes as N


class Save:
    """Placeholder: save ``var`` (or the region ``var[index]``) here."""

    def __init__(self, var, in_loop, index=None, like=None):
        self.var = var
        self.in_loop = in_loop
        self.index = index
        self.like = like
        self.restore = Restore(self)


class Restore:
    def __init__(self, save):
        self.save = save


def _is_marker(s):
    return isinstance(s, (Save, Restore))


def _reads(stmts, out):
    for s in stmts:
        if _is_marker(s):
            continue
        for n in N.walk(s):
            if isinstance(n, gast.Name) and isinstance(n.ctx, gast.Load):
                out.add(n.id)
    return out


class Tape:
    """Turns markers into pushes, pops and temporaries."""

    def __init__(self, namer, externs):
        self.namer = namer
        self.externs = externs
        self.stacks = {}        # var -> stack name, in order of first use
        self.needed = set()

    def resolve(self, fwd, rev, extra=()):
        """Replace markers; ``extra`` are expressions evaluated after ``rev``."""
        self.needed = _reads_deep(rev) | _reads_deep([N.expr_stmt(e) for e in extra])
        for s in _markers(fwd):
            self._plan(s)
        return self._replace(fwd), self._replace(rev)

    def _plan(self, save):
        save.code = None
        if save.var not in self.needed:
            return
        var, like = save.var, save.like
        if save.index is None:
            value, restore = N.name(var), None
        else:
            from ad_compiler.runtime.helpers import restore_region, save_region
            value = N.call(N.name(self.externs.ref(save_region, "save_region")),
                           [var, _index_expr(save.index)])
            restore = N.name(self.externs.ref(restore_region, "restore_region"))
        if save.in_loop:
            stack = self.stacks.get(var)
            if stack is None:
                stack = self.stacks[var] = self.namer.stack(var)
            push = N.expr_stmt(N.call(N.attribute(stack, "append"), [value]), like)
            popped = N.call(N.attribute(stack, "pop"))
        else:
            tmp = self.namer.fresh("_" + var.lstrip("_") + "_")
            push = N.assign(tmp, value, like)
            popped = N.name(tmp)
        if restore is None:
            back = N.assign(var, popped, like)
        else:
            back = N.expr_stmt(N.call(restore, [var, _index_expr(save.index), popped]), like)
        save.code, save.restore.code = push, back

    def _replace(self, stmts):
        out = []
        for s in stmts:
            if isinstance(s, Save):
                if s.code is not None:
                    out.append(s.code)
            elif isinstance(s, Restore):
                if getattr(s.save, "code", None) is not None:
                    out.append(s.code)
            else:
                for field in ("body", "orelse"):
                    block = getattr(s, field, None)
                    if isinstance(block, list) and not isinstance(s, gast.FunctionDef):
                        setattr(s, field, self._replace(block) or [gast.Pass()])
                out.append(s)
        return out

    def init_stacks(self):
        return [N.assign(stack, gast.List(elts=[], ctx=gast.Load()))
                for stack in self.stacks.values()]


def _index_expr(index):
    return N.index_value(index)


def _markers(stmts):
    for s in stmts:
        if isinstance(s, Save):
            yield s
        elif not _is_marker(s) and not isinstance(s, gast.FunctionDef):
            for field in ("body", "orelse"):
                block = getattr(s, field, None)
                if isinstance(block, list):
                    yield from _markers(block)


def _reads_deep(stmts):
    out = set()
    for s in stmts:
        if _is_marker(s):
            continue
        _reads([s], out)
    return out
