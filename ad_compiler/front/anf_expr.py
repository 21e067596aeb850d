"""A-normal form of expressions: one operation on atoms; short-circuit
operators, conditional expressions and comparison chains become ``if``
statements, lambdas become local functions; a mixin of
:class:`~ad_compiler.front.anf.Normaliser`."""
import gast

from ad_compiler import nodes as N
from ad_compiler.front import idioms


class Expressions:
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
