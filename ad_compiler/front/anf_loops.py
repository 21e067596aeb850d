"""A-normal form of loops: every ``for`` walks a ``range`` (so an adjoint
can index the sequence it walked), ``while`` tests inside its body, a loop's
``else`` becomes a flag cleared by ``break``, and comprehensions become
loops; a mixin of :class:`~ad_compiler.front.anf.Normaliser`."""
import gast

from ad_compiler import nodes as N


class Loops:
    def stmt_While(self, s, out):
        flag, body = self.loop_else_flag(s, out)
        inner = []
        if not (isinstance(s.test, gast.Constant) and s.test.value):
            test = self.atom(s.test, inner)
            inner.append(N.if_(test, [], [gast.Break()], s))
        inner.extend(self.block(body))
        out.append(N.located_as(gast.While(test=N.const(True), body=inner, orelse=[]), s))
        self.after_loop(flag, s, out)

    def stmt_For(self, s, out):
        flag, body = self.loop_else_flag(s, out)
        index, range_atom, prelude = self.loop_index(s, out)
        inner = []
        for target, value in prelude:
            self.assign_parts(target, value, inner, s)
        inner.extend(self.block(body))
        out.append(N.for_(index, range_atom, inner, s))
        self.after_loop(flag, s, out)

    # ------------------------------------------------------------ loops

    def loop_index(self, s, out):
        """Turn ``for target in iterable`` into ``for i in range(...)``.

        Returns the loop variable, the range atom it walks, and the
        (target, value) assignments that start each iteration.
        """
        it = s.iter
        builtin = self.builtin_call(it)
        if builtin == "range" and isinstance(s.target, gast.Name):
            return s.target.id, self.temp(self.simple(it, out), out, s, base="_range"), []
        if isinstance(it, gast.Name) and it.id in self.ranges and isinstance(s.target, gast.Name):
            return s.target.id, N.name(it.id), []       # a range already: _range1 at order 2
        i = self.namer.fresh("_i")
        if builtin == "enumerate" and len(it.args) in (1, 2) and not it.keywords:
            seq = self.sequence(it.args[0], out, s)
            pos = N.name(i) if len(it.args) == 1 else \
                gast.BinOp(left=N.name(i), op=gast.Add(), right=self.atom(it.args[1], out))
            return i, self.range_over([seq], out, s), \
                [(s.target, N.tuple_([pos, N.subscript(seq, N.name(i))]))]
        if builtin == "zip" and it.args and not it.keywords:
            seqs = [self.sequence(a, out, s) for a in it.args]
            return i, self.range_over(seqs, out, s), \
                [(s.target, N.tuple_([N.subscript(q, N.name(i)) for q in seqs]))]
        if builtin == "reversed" and len(it.args) == 1 and not it.keywords:
            # walk the sequence's indices backwards: no iterator to differentiate
            seq = self.sequence(it.args[0], out, s)
            n = self.temp(N.call(self.helper(len, "len"), [seq]), out, s, base="_n")
            last = self.temp(gast.BinOp(left=n, op=gast.Sub(), right=N.const(1)), out, s)
            rng = self.temp(N.call(self.helper(range, "range"), [last, N.const(-1),
                                                                 N.const(-1)]),
                            out, s, base="_range")
            return i, rng, [(s.target, N.subscript(seq, N.name(i)))]
        seq = self.sequence(it, out, s)
        return i, self.range_over([seq], out, s), [(s.target, N.subscript(seq, N.name(i)))]

    def sequence(self, e, out, like):
        """What ``for`` walks, as something indexable: a dict's keys, a
        generator's items (a list, a tuple, an array or a range stays itself)."""
        from ad_compiler.runtime.helpers import iter_sequence
        return self.temp(N.call(self.helper(iter_sequence, "iter_sequence"),
                                [self.atom(e, out)]), out, like, base="_seq")

    def range_over(self, seqs, out, like):
        lens = [self.temp(N.call(self.helper(len, "len"), [q]), out, like, base="_n")
                for q in seqs]
        n = lens[0] if len(lens) == 1 else \
            self.temp(N.call(self.helper(min, "min"), lens), out, like, base="_n")
        return self.temp(N.call(self.helper(range, "range"), [n]), out, like, base="_range")

    def builtin_call(self, node):
        if (isinstance(node, gast.Call) and isinstance(node.func, gast.Name)
                and node.func.id not in self.locals):
            return node.func.id
        return None

    def loop_else_flag(self, s, out):
        """``for``/``while`` with ``else``: a flag cleared by every break."""
        if not s.orelse:
            return None, s.body
        flag = self.namer.fresh("_nobreak")
        out.append(N.assign(flag, N.const(True), s))
        return flag, [_mark_breaks(stmt, flag) for stmt in s.body]

    def after_loop(self, flag, s, out):
        if flag is not None:
            out.append(N.if_(N.name(flag), self.block(s.orelse), [], s))

    # ------------------------------------------------------------ comprehensions

    def expr_ListComp(self, e, out):
        return self.comprehension(e, gast.List(elts=[], ctx=gast.Load()), lambda acc, elt: N.expr_stmt(
            N.call(N.attribute(acc, "append"), [elt])), out)

    expr_GeneratorExp = expr_ListComp

    def expr_SetComp(self, e, out):
        return self.comprehension(e, N.call(self.helper(set, "set")), lambda acc, elt: N.expr_stmt(
            N.call(N.attribute(acc, "add"), [elt])), out)

    def expr_DictComp(self, e, out):
        def store(acc, pair):
            return N.assign(N.subscript(acc, pair[0], store=True), pair[1])
        return self.comprehension(e, gast.Dict(keys=[], values=[]), store, out)

    def comprehension(self, e, empty, emit, out):
        acc = self.namer.fresh("_acc")
        out.append(N.assign(acc, empty, e))
        renames = {}
        loops = []
        for gen in e.generators:
            iter_ = _rename(gen.iter, renames)
            for target in N.names_in(gen.target):
                renames[target] = self.namer.fresh("_" + target.lstrip("_") + "_")
            loops.append((_rename(gen.target, renames), iter_,
                          [_rename(c, renames) for c in gen.ifs]))
        if isinstance(e, gast.DictComp):
            inner = emit(N.name(acc), (_rename(e.key, renames), _rename(e.value, renames)))
        else:
            inner = emit(N.name(acc), _rename(e.elt, renames))
        body = [N.located_as(inner, e)]
        for target, iter_, ifs in reversed(loops):
            for cond in reversed(ifs):
                body = [N.if_(cond, body, [], e)]
            body = [N.located_as(gast.For(target=target, iter=iter_, body=body, orelse=[],
                                          type_comment=None), e)]
        out.extend(self.block(body))
        return N.name(acc)


def _rename(node, renames):
    node = N.copy(node)
    for n in N.walk(node):
        if isinstance(n, gast.Name) and n.id in renames:
            n.id = renames[n.id]
    return node


def _mark_breaks(stmt, flag):
    """Clear ``flag`` before every ``break`` that leaves this loop."""
    if isinstance(stmt, gast.Break):
        return [N.assign(flag, N.const(False), stmt), stmt]
    if isinstance(stmt, (gast.For, gast.While, gast.FunctionDef)):
        return stmt
    for field in ("body", "orelse", "finalbody"):
        block = getattr(stmt, field, None)
        if isinstance(block, list):
            new = []
            for s in block:
                marked = _mark_breaks(s, flag)
                new.extend(marked if isinstance(marked, list) else [marked])
            setattr(stmt, field, new)
    return stmt
