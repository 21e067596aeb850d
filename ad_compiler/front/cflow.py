"""Stage 3b: structured control flow.

After this pass a function has a single ``return`` at its end, ``continue``
is gone, and ``break`` only ever ends a branch.  The adjoint of a loop
iteration then simply mirrors the branches its forward iteration took.

* ``if c: return a`` followed by more code becomes ``if c: _ret = a``
  ``else: <the rest>``; returns nested in loops set a flag and break.
* ``if c: break`` followed by more code becomes ``if c: break else:
  <the rest>``.
"""

import gast

from ad_compiler import nodes as N

_LOOPS = (gast.For, gast.While)


def _has(stmts, types, stop=(gast.FunctionDef,)):
    """True if any statement under ``stmts`` is one of ``types``."""
    todo = list(stmts)
    while todo:
        node = todo.pop()
        if isinstance(node, types):
            return True
        if isinstance(node, stop):
            continue
        todo.extend(c for c in gast.iter_child_nodes(node) if isinstance(c, gast.stmt))
    return False


def _always_exits(stmts, types):
    """True if every path through ``stmts`` ends in one of ``types``."""
    if not stmts:
        return False
    last = stmts[-1]
    if isinstance(last, types):
        return True
    if isinstance(last, gast.If):
        return _always_exits(last.body, types) and _always_exits(last.orelse, types)
    return False


class ReturnLowering:
    def __init__(self, namer):
        self.namer = namer
        self.ret = None
        self.done = None

    def function(self, fn):
        body = fn.body
        n_returns = sum(isinstance(n, gast.Return) for n in _own_statements(body))
        if n_returns == 0:
            fn.body = body + [N.located_as(gast.Return(value=N.const(None)), fn)]
            return fn
        if n_returns == 1 and isinstance(body[-1], gast.Return):
            return fn
        self.ret = self.namer.fresh("_ret")
        lowered = self.block(body, in_loop=False)
        prelude = [N.assign(self.ret, N.const(None), fn)]
        if self.done is not None:
            prelude.append(N.assign(self.done, N.const(False), fn))
        fn.body = prelude + lowered + [N.located_as(gast.Return(value=N.name(self.ret)),
                                                    body[-1])]
        return fn

    def flag(self):
        if self.done is None:
            self.done = self.namer.fresh("_done")
        return self.done

    def block(self, stmts, in_loop, after=False):
        """Lower the returns in ``stmts``.  ``after``: code may follow this
        block in an enclosing one, so a return must also raise the flag that
        skips it (an early return nested two ``if``s deep)."""
        out = []
        for i, s in enumerate(stmts):
            rest = stmts[i + 1:]
            if isinstance(s, gast.Return):
                return out + self.lower_return(s, in_loop, after)
            if not _has([s], gast.Return):
                out.append(s)
                continue
            if isinstance(s, gast.If) and not in_loop and \
                    self.rest_into_branches(s, rest, in_loop, after):
                return out + [s]
            return out + self.compound(s, rest, in_loop, after)
        return out

    def lower_return(self, s, in_loop, after):
        """``return v``: the value stored, the flag raised if code may follow,
        and the loop left."""
        out = [N.assign(self.ret, s.value, s)]
        if in_loop or after:
            out.append(N.assign(self.flag(), N.const(True), s))
        if in_loop:
            out.append(gast.Break())
        return out

    def rest_into_branches(self, s, rest, in_loop, after):
        """Early return in a branch: the rest of the block goes where control
        can still reach it, with no flag.  False if neither branch always
        returns (``s`` is then untouched)."""
        body_exits = _always_exits(s.body, gast.Return)
        else_exits = _always_exits(s.orelse, gast.Return)
        if not (body_exits or else_exits):
            return False
        s.body = self.block(s.body + ([] if body_exits else rest), in_loop, after)
        s.orelse = self.block(s.orelse + ([] if else_exits else rest), in_loop, after)
        return True

    def compound(self, s, rest, in_loop, after):
        """A branch or loop with a return inside: its blocks lowered, then the
        rest of the block guarded by the flag (or the loop left)."""
        inner_after = after or bool(rest)
        if isinstance(s, gast.If):
            s.body = self.block(s.body, in_loop, inner_after)
            s.orelse = self.block(s.orelse, in_loop, inner_after)
        else:
            s.body = self.block(s.body, in_loop=True, after=inner_after)
            self.flag()
        out = [s]
        if rest or in_loop:
            guard = self.flag()
            if in_loop:
                out.append(N.if_(N.name(guard), [gast.Break()], self.block(rest, in_loop), s))
            elif rest:
                out.append(N.if_(N.name(guard), [], self.block(rest, in_loop, after), s))
        return out


def drop_dead(stmts):
    """Statements after a ``return``, ``break``, ``continue`` or ``raise`` in
    the same block never run; dropping them first keeps the lowering's
    "does this branch always exit" question about the code that runs."""
    out = []
    for s in stmts:
        for field in ("body", "orelse"):
            if isinstance(s, (gast.If, gast.For, gast.While)):
                setattr(s, field, drop_dead(getattr(s, field)))
        out.append(s)
        if isinstance(s, (gast.Return, gast.Break, gast.Continue, gast.Raise)):
            break
    return out


def _own_statements(stmts):
    todo = list(stmts)
    while todo:
        node = todo.pop()
        yield node
        if isinstance(node, gast.FunctionDef):
            continue
        todo.extend(c for c in gast.iter_child_nodes(node) if isinstance(c, gast.stmt))


def structure_jumps(stmts):
    """Rewrite a loop body so that ``break`` only ends branches."""
    out = []
    for i, s in enumerate(stmts):
        if isinstance(s, gast.Break):
            out.append(s)
            return out
        if isinstance(s, gast.Continue):
            return out
        if isinstance(s, gast.If) and _has([s], (gast.Break, gast.Continue), stop=(
                gast.FunctionDef,) + _LOOPS):
            rest = stmts[i + 1:]
            jumps = (gast.Break, gast.Continue)
            body = s.body + ([] if _always_exits(s.body, jumps) else N.copy(rest))
            orelse = s.orelse + ([] if _always_exits(s.orelse, jumps) else rest)
            s.body = structure_jumps(body)
            s.orelse = structure_jumps(orelse)
            out.append(s)
            return out
        out.append(s)
    return out


def _structure_all(stmts):
    for s in stmts:
        if isinstance(s, _LOOPS):
            s.body = structure_jumps(s.body)
            _structure_all(s.body)
        elif isinstance(s, gast.If):
            _structure_all(s.body)
            _structure_all(s.orelse)
    return stmts


def _stored_names(stmts):
    out = set()
    for s in stmts:
        for n in N.walk(s):
            if isinstance(n, gast.Name) and isinstance(n.ctx, gast.Store):
                out.add(n.id)
    return out


def pin_tests(stmts, namer):
    """``if c:`` whose body reassigns a name ``c`` reads gets ``_c = c``
    first.  The adjoint replays the branch after the body ran, so it must
    read the test as it was, not as the body left it (``a and b`` lowers to
    ``_t = a; if _t: _t = b``)."""
    out = []
    for s in stmts:
        if isinstance(s, (gast.For, gast.While)):
            s.body = pin_tests(s.body, namer)
        if isinstance(s, gast.If):
            s.body = pin_tests(s.body, namer)
            s.orelse = pin_tests(s.orelse, namer)
            if N.loaded_names(s.test) & _stored_names(s.body + s.orelse):
                pinned = namer.fresh("_c")
                out.append(N.assign(pinned, s.test, s))
                s.test = N.name(pinned)
        out.append(s)
    return out


def structure(fn, namer):
    """Single exit, no ``continue``, ``break`` only at the end of branches."""
    fn.body = drop_dead(fn.body)
    fn = ReturnLowering(namer).function(fn)
    fn.body = pin_tests(_structure_all(fn.body), namer)
    return fn
