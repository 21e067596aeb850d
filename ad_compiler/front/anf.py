"""Stage 3: A-normal form, one operation per assignment.

After this pass every expression is *simple*: one operation whose operands
are atoms (names or constants).  Short-circuit operators, conditional
expressions and comparison chains become ``if`` statements, comprehensions
become loops, ``x op= v`` becomes ``x = x op v``, tuple targets become
subscripts, and every ``for`` loop iterates over a ``range`` so that an
adjoint can index the sequence it walked.

User variable names are kept (closures depend on them); only temporaries
are new, named by :class:`~ad_compiler.naming.Namer`.
"""

import os

import gast

from ad_compiler import nodes as N
from ad_compiler.front import idioms
from ad_compiler.runtime.helpers import copy_input
from ad_compiler.runtime.ownership import check_part


class Normaliser:
    def __init__(self, namer, externs, local_names, is_module, filename="<unknown>"):
        self.filename = os.path.basename(filename or "<unknown>")
        self.namer = namer
        self.externs = externs
        self.locals = set(local_names)
        self.is_module = is_module      # name -> True if it is a global module

    def helper(self, obj, name):
        """A call target for a builtin or runtime helper the pass introduces."""
        return N.name(self.externs.ref(obj, name))

    # ------------------------------------------------------------ statements

    def block(self, stmts):
        out = []
        for s in stmts:
            self.stmt(s, out)
        return out

    def stmt(self, s, out):
        method = getattr(self, "stmt_" + type(s).__name__, None)
        if method is None:
            out.append(s)           # Pass-through: Raise, Break, Continue, ...
            return
        method(s, out)

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
        if isinstance(t, gast.Subscript):
            parts, indices = self.chain(t, out, s)
            old = self.temp(N.subscript(parts[-1], indices[-1]), out, s)
            new = self.temp(gast.BinOp(left=old, op=s.op, right=self.atom(s.value, out)), out, s)
            self.store_chain(parts, indices, new, out, s)
        else:
            base = self.atom(t.value, out)
            old = self.temp(N.attribute(base, t.attr), out, s)
            new = self.temp(gast.BinOp(left=old, op=s.op, right=self.atom(s.value, out)), out, s)
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

    # ------------------------------------------------------------ expressions

    def temp(self, value, out, like=None, base="_t"):
        if isinstance(value, gast.Name):
            return value
        name = self.namer.fresh(base)
        out.append(N.assign(name, value, like))
        return N.name(name)

    def atom(self, e, out):
        value = self.simple(e, out)
        if N.is_atom(value):
            return value
        return self.temp(value, out, e)

    def simple(self, e, out):
        method = getattr(self, "expr_" + type(e).__name__, None)
        return e if method is None else method(e, out)

    def expr_BinOp(self, e, out):
        return gast.BinOp(left=self.atom(e.left, out), op=e.op, right=self.atom(e.right, out))

    def expr_UnaryOp(self, e, out):
        return gast.UnaryOp(op=e.op, operand=self.atom(e.operand, out))

    def expr_BoolOp(self, e, out):
        result = self.namer.fresh("_t")
        self.bool_chain(e.op, e.values, result, out, e)
        return N.name(result)

    def bool_chain(self, op, values, result, out, like):
        out.append(N.assign(result, self.simple(values[0], out), like))
        if len(values) == 1:
            return
        rest = []
        self.bool_chain(op, values[1:], result, rest, like)
        if isinstance(op, gast.And):
            out.append(N.if_(N.name(result), rest, [], like))
        else:
            out.append(N.if_(N.name(result), [], rest, like))

    def expr_Compare(self, e, out):
        left = self.atom(e.left, out)
        if len(e.ops) == 1:
            return gast.Compare(left=left, ops=e.ops, comparators=[self.atom(e.comparators[0], out)])
        result = self.namer.fresh("_t")
        self.compare_chain(left, e.ops, e.comparators, result, out, e)
        return N.name(result)

    def compare_chain(self, left, ops, comparators, result, out, like):
        right = self.atom(comparators[0], out)
        out.append(N.assign(result, gast.Compare(left=left, ops=[ops[0]], comparators=[right]),
                            like))
        if len(ops) > 1:
            rest = []
            self.compare_chain(right, ops[1:], comparators[1:], result, rest, like)
            out.append(N.if_(N.name(result), rest, [], like))

    def expr_IfExp(self, e, out):
        test = self.atom(e.test, out)
        result = self.namer.fresh("_t")
        body, orelse = [], []
        body.append(N.assign(result, self.simple(e.body, body), e))
        orelse.append(N.assign(result, self.simple(e.orelse, orelse), e))
        out.append(N.if_(test, body, orelse, e))
        return N.name(result)

    def expr_NamedExpr(self, e, out):
        self.assign_name(e.target.id, e.value, out, e)
        return N.name(e.target.id)

    def expr_Call(self, e, out):
        lazy = idioms.lazy_sequence(self, e, out)
        if lazy is not None:
            return lazy
        if self.module_path(e.func):
            written = idioms.numpy_in_place(self, e, out)
            if written is not None:
                return written
        func = e.func
        if isinstance(func, gast.Attribute) and not self.module_path(func):
            func = gast.Attribute(value=self.atom(func.value, out), attr=func.attr,
                                  ctx=gast.Load())
        elif not isinstance(func, (gast.Name, gast.Attribute)):
            func = self.atom(func, out)
        args = [gast.Starred(value=self.atom(a.value, out), ctx=gast.Load())
                if isinstance(a, gast.Starred) else self.atom(a, out) for a in e.args]
        keywords = [gast.keyword(arg=k.arg, value=self.atom(k.value, out)) for k in e.keywords]
        return gast.Call(func=func, args=args, keywords=keywords)

    def refuse(self, node, message):
        from ad_compiler.runtime.core.errors import UnsupportedSyntaxError
        return UnsupportedSyntaxError("%s:%s: %s" % (self.filename, getattr(node, "lineno", "?"),
                                                     message))

    def module_path(self, node):
        """True for ``np.linalg.inv``-style chains rooted at a global module."""
        while isinstance(node, gast.Attribute):
            node = node.value
        return (isinstance(node, gast.Name) and node.id not in self.locals
                and self.is_module(node.id))

    def expr_Attribute(self, e, out):
        if self.module_path(e):
            return e
        return gast.Attribute(value=self.atom(e.value, out), attr=e.attr, ctx=gast.Load())

    def expr_Subscript(self, e, out):
        if isinstance(e.value, gast.Attribute) and e.value.attr in ("r_", "c_") and \
                self.module_path(e.value):
            return idioms.index_trick(self, e, out)
        return gast.Subscript(value=self.atom(e.value, out), slice=self.index(e.slice, out),
                              ctx=gast.Load())

    def index(self, s, out):
        if isinstance(s, gast.Slice):
            return gast.Slice(*[None if p is None else self.atom(p, out)
                                for p in (s.lower, s.upper, s.step)])
        if isinstance(s, gast.Tuple):
            return gast.Tuple(elts=[self.index(x, out) for x in s.elts], ctx=gast.Load())
        return self.atom(s, out)

    def elements(self, elts, out):
        return [gast.Starred(value=self.atom(x.value, out), ctx=gast.Load())
                if isinstance(x, gast.Starred) else self.atom(x, out) for x in elts]

    def expr_Tuple(self, e, out):
        return gast.Tuple(elts=self.elements(e.elts, out), ctx=gast.Load())

    def expr_List(self, e, out):
        return gast.List(elts=self.elements(e.elts, out), ctx=gast.Load())

    def expr_Set(self, e, out):
        return gast.Set(elts=self.elements(e.elts, out))

    def expr_Dict(self, e, out):
        keys = [None if k is None else self.atom(k, out) for k in e.keys]
        return gast.Dict(keys=keys, values=[self.atom(v, out) for v in e.values])

    def expr_Lambda(self, e, out):
        fname = self.namer.fresh("_lambda")
        fdef = gast.FunctionDef(name=fname, args=e.args, body=[gast.Return(value=e.body)],
                                decorator_list=[], returns=None, type_comment=None,
                                type_params=[])
        out.append(N.located_as(fdef, e))
        N.located_as(fdef.body[0], e)
        return N.name(fname)

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


def local_names(fn):
    """Parameters and every name the function body binds."""
    args = fn.args
    names = {a.id for a in args.args + args.posonlyargs + args.kwonlyargs}
    for extra in (args.vararg, args.kwarg):
        if extra is not None:
            names.add(extra.id)
    todo = list(fn.body)
    while todo:
        node = todo.pop()
        if isinstance(node, gast.FunctionDef):
            names.add(node.name)
            continue                      # its body is its own scope
        if isinstance(node, gast.Name) and isinstance(node.ctx, gast.Store):
            names.add(node.id)
        if isinstance(node, (gast.ListComp, gast.SetComp, gast.DictComp, gast.GeneratorExp,
                             gast.Lambda)):
            continue
        todo.extend(gast.iter_child_nodes(node))
    return names


def normalise(source, namer, externs, is_module):
    """Return a copy of ``source.node`` in A-normal form."""
    fn = N.copy(source.node)
    norm = Normaliser(namer, externs, local_names(fn), is_module, source.filename)
    fn.body = norm.block(fn.body)
    return fn
