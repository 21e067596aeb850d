"""A-normal form of statements: assignments (names, tuple targets,
subscript chains written back part by part, augmented assignments),
``return``, ``if``, ``assert`` and ``try``; a mixin of
:class:`~ad_compiler.front.anf.Normaliser`."""
import gast

from ad_compiler import nodes as N
from ad_compiler.runtime.helpers import copy_input
from ad_compiler.runtime.ownership import check_part


class Assignments:
    def stmt_Pass(self, s, out):
        pass

    def stmt_Expr(self, s, out):
        if isinstance(s.value, gast.Constant):
            return                   # docstrings and bare constants
        value = self.simple(s.value, out)
        if isinstance(value, gast.Call):
            out.append(N.expr_stmt(value, s))

    def stmt_Assign(self, s, out):
        if len(s.targets) == 1 and isinstance(s.targets[0], gast.Name):
            self.assign_name(s.targets[0].id, s.value, out, s)
            return
        value = self.atom(s.value, out)
        for target in s.targets:
            self.assign_target(target, value, out, s)

    def stmt_AnnAssign(self, s, out):
        if s.value is not None:
            self.stmt_Assign(gast.Assign(targets=[s.target], value=s.value,
                                         type_comment=None), out)

    def stmt_AugAssign(self, s, out):
        t = s.target
        if isinstance(t, gast.Name):
            self.assign_name(t.id, gast.BinOp(left=N.name(t.id), op=s.op, right=s.value),
                             out, s)
            # On a list or an array, ``x += v`` changes x's object in place:
            # the aliasing pass decides by x's kind.
            out[-1].augmented = True
            return
        # ``c[i] op= v`` runs ``op=`` on the item's own object (in place on an
        # array or a list) before the store: the aliasing pass proves the
        # plain ``t = c[i] op v`` below means the same, or refuses it
        if isinstance(t, gast.Subscript):
            parts, indices = self.chain(t, out, s)
            old = self.temp(N.subscript(parts[-1], indices[-1]), out, s)
            new = self.temp(gast.BinOp(left=old, op=s.op, right=self.atom(s.value, out)), out, s)
            out[-1].item_augmented = (old, parts[-1], "[...]")
            self.store_chain(parts, indices, new, out, s)
        else:
            base = self.atom(t.value, out)
            old = self.temp(N.attribute(base, t.attr), out, s)
            new = self.temp(gast.BinOp(left=old, op=s.op, right=self.atom(s.value, out)), out, s)
            out[-1].item_augmented = (old, base, "." + t.attr)
            out.append(N.assign(N.attribute(base, t.attr, store=True), new, s))

    def assign_name(self, target, value, out, like):
        value = self.simple(value, out)
        if not N.is_atom(value) and target in N.loaded_names(value):
            # ``x = f(x)``: the adjoint needs both the old and the new x.
            value = self.temp(value, out, like)
        out.append(N.assign(target, value, like))

    def assign_target(self, target, value, out, like):
        if isinstance(target, gast.Name):
            out.append(N.assign(target.id, value, like))
        elif isinstance(target, (gast.Tuple, gast.List)):
            self.unpack(target.elts, value, out, like)
        elif isinstance(target, gast.Subscript):
            parts, indices = self.chain(target, out, like)
            self.store_chain(parts, indices, value, out, like)
        elif isinstance(target, gast.Attribute):
            base = self.atom(target.value, out)
            out.append(N.assign(N.attribute(base, target.attr, store=True), value, like))
        else:
            out.append(N.assign(target, value, like))

    def chain(self, target, out, like):
        """``a[i][j][k]`` as a store target: the containers ``a``, ``a[i]``,
        ``a[i][j]`` and the indices ``i, j, k``, loaded left to right.

        Each inner container is a private copy (proven to be Python's
        meaning by ``check_part``) that :meth:`store_chain` writes back, so
        every change is a store the compiler sees on a name it tracks.
        """
        links = []
        while isinstance(target, gast.Subscript) and isinstance(target.value, gast.Subscript):
            links.append(target.slice)
            target = target.value
        parts = [self.atom(target.value, out)]
        indices = [self.index(target.slice, out)]
        for index in reversed(links):
            part = self.temp(N.subscript(parts[-1], N.copy(indices[-1])), out, like)
            out[-1].chain_part = True       # a view on purpose: check_part inspects it
            where = "%s:%d" % (self.filename, getattr(like, "lineno", 0) or 0)
            out.append(N.expr_stmt(N.call(self.helper(check_part, "check_part"),
                                          [parts[-1], N.copy(indices[-1]), part,
                                           N.const(where)]), like))
            out[-1].part_check = True
            own = self.temp(N.call(self.helper(copy_input, "copy_input"), [part]), out, like)
            parts.append(own)
            indices.append(self.index(index, out))
        return parts, indices

    def store_chain(self, parts, indices, value, out, like):
        """``parts[-1][indices[-1]] = value``, then each copy written back."""
        for part, index in zip(reversed(parts), reversed(indices)):
            out.append(N.assign(N.subscript(part, N.copy(index), store=True), value, like))
            out[-1].writeback = part is not parts[-1]      # every store but the innermost
            value = part

    def unpack(self, elts, value, out, like):
        starred = [i for i, e in enumerate(elts) if isinstance(e, gast.Starred)]
        after = len(elts) - starred[0] - 1 if starred else 0
        for i, elt in enumerate(elts):
            if isinstance(elt, gast.Starred):
                stop = N.const(-after) if after else None
                part = self.temp(N.subscript(value, gast.Slice(lower=N.const(i), upper=stop,
                                                               step=None)), out, like)
                listed = N.call(self.helper(list, "list"), [part])
                self.assign_target(elt.value, self.temp(listed, out, like), out, like)
            else:
                index = i if not starred or i < starred[0] else i - len(elts)
                item = N.subscript(value, N.const(index))
                if isinstance(elt, gast.Name):
                    out.append(N.assign(elt.id, item, like))
                else:
                    self.assign_target(elt, self.temp(item, out, like), out, like)

    def stmt_Return(self, s, out):
        value = N.const(None) if s.value is None else self.atom(s.value, out)
        out.append(N.located_as(gast.Return(value=value), s))

    def stmt_If(self, s, out):
        test = self.atom(s.test, out)
        out.append(N.if_(test, self.block(s.body), self.block(s.orelse), s))

    def stmt_Assert(self, s, out):
        test = self.atom(s.test, out)
        out.append(N.located_as(gast.Assert(test=test, msg=s.msg), s))

    def stmt_FunctionDef(self, s, out):
        out.append(s)               # compiled on its own when it is called

    def assign_parts(self, target, value, out, like):
        """``i, a = (pos, seq[k])`` element by element, so that a tuple built
        only to be unpacked does not tie the activity of its parts together."""
        if (isinstance(target, (gast.Tuple, gast.List)) and isinstance(value, gast.Tuple)
                and len(target.elts) == len(value.elts)
                and not any(isinstance(e, gast.Starred) for e in target.elts)):
            for t, v in zip(target.elts, value.elts):
                self.assign_parts(t, v, out, like)
        elif isinstance(target, gast.Name):
            self.assign_name(target.id, value, out, like)
        else:
            self.assign_target(target, self.atom(value, out), out, like)

    def stmt_Try(self, s, out):
        # Compiled for the path on which no exception is raised.
        out.extend(self.block(s.body))
        out.extend(self.block(s.orelse))
        out.extend(self.block(s.finalbody))
