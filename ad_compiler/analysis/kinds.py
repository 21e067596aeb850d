"""Kind inference over a function's syntax (the lattice is in
:mod:`ad_compiler.runtime.core.kinds`): the kind of every variable, the join
over its assignments iterated to a fixpoint, and of generated expressions.
"""
import types

import gast
import numpy as np

from ad_compiler.runtime.core import registry
from ad_compiler.runtime.core.kinds import (COMPLEX, CONST, DICT, LIST, OTHER, SCALAR,  # noqa: F401
                                            TUPLE, _broadcast, _matmul, array, constant_kind,
                                            is_array, is_scalar, join, kind_of, numeric,
                                            rule_output, tuple_of)
from ad_compiler.runtime.core.options import MISSING


class KindInference:
    """Flow-insensitive kinds for every variable of an ANF function."""

    def __init__(self, resolver, input_kinds, classify_call):
        self.resolver = resolver
        self.env = dict(input_kinds)
        self.classify_call = classify_call   # (call node, env) -> calls.Call
        self.elements = {}                   # list variable -> join of what is appended

    def run(self, fn):
        for _ in range(20):
            before = dict(self.env), dict(self.elements)
            self.block(fn.body)
            if (self.env, self.elements) == before:
                break
        return self.env

    def set(self, name, kind):
        self.env[name] = join(self.env.get(name), kind)

    def block(self, stmts):
        for s in stmts:
            if isinstance(s, gast.Assign):
                t = s.targets[0]
                # (a helper's changed argument coming back: the same object's kind)
                if isinstance(t, gast.Name) and not getattr(s, "keeps_kind", False):
                    self.set(t.id, self.expr(s.value))
            elif isinstance(s, gast.For):
                self.set(s.target.id, SCALAR)
                self.block(s.body)
            elif isinstance(s, (gast.If, gast.While)):
                self.block(s.body)
                self.block(s.orelse)
            elif isinstance(s, gast.FunctionDef):
                self.set(s.name, OTHER)
            elif isinstance(s, gast.Expr) and isinstance(s.value, gast.Call):
                c = self.classify_call(s.value, self.env)
                if c.kind == "special" and c.special == "list.append" and c.args:
                    lst = c.receiver.id
                    self.elements[lst] = join(self.elements.get(lst), self.atom(c.args[0]))

    def atom(self, node):
        if isinstance(node, gast.Constant):
            return constant_kind(node.value)
        if isinstance(node, gast.Name):
            if node.id in self.env:
                return self.env[node.id]
            obj = self.resolver.lookup(node.id)
            if isinstance(obj, (types.ModuleType, types.FunctionType, type,
                                types.BuiltinFunctionType, np.ufunc)):
                return CONST
            return self.global_kind(node.id, obj)
        return OTHER

    def global_kind(self, name, obj):
        """A global number or array is specialised on like an argument; the
        entry stays valid while the global keeps that kind (rebinding it to a
        new array of the same ndim, as a training loop does, is fine)."""
        k = kind_of(obj) if obj is not MISSING else OTHER
        if is_scalar(k) or is_array(k):
            k = array(k.ndim) if is_array(k) else k
            self.resolver.global_kinds[name] = k
            return k
        return OTHER

    def expr(self, e):
        if isinstance(e, (gast.Name, gast.Constant)):
            return self.atom(e)
        if isinstance(e, gast.BinOp):
            left, right = self.atom(e.left), self.atom(e.right)
            if isinstance(e.op, gast.MatMult):
                return _matmul(left, right)
            if LIST in (left, right) and isinstance(e.op, (gast.Mult, gast.Add)):
                return LIST                     # [None] * n, a + b
            return _broadcast([left, right])
        if isinstance(e, gast.UnaryOp):
            return CONST if isinstance(e.op, gast.Not) else self.atom(e.operand)
        if isinstance(e, gast.Compare):
            return CONST
        if isinstance(e, gast.Call):
            return self.call(e)
        if isinstance(e, gast.Attribute):
            return self.attribute(e)
        if isinstance(e, gast.Subscript):
            return self.subscript(e)
        if isinstance(e, gast.List):
            return LIST
        if isinstance(e, gast.Tuple):
            return tuple_of([self.atom(x) for x in e.elts]) if not any(
                isinstance(x, gast.Starred) for x in e.elts) else TUPLE
        if isinstance(e, gast.Dict):
            return DICT
        return OTHER

    def call(self, e):
        c = self.classify_call(e, self.env)
        if c.kind == "special" and c.special == "gradient" and len(c.args) > 1 and \
                not any(isinstance(a, gast.Starred) for a in c.args):
            # one gradient per argument, each of its argument's kind
            return tuple_of([self.atom(a) for a in c.args[1:]])
        if c.kind == "special" and c.special == "list.pop" and not c.args:
            # a stack's pop gives what was pushed (None, bottom, until known)
            return self.elements.get(c.receiver.id)
        if c.kind != "rule":
            return OTHER
        rule = c.rule
        if rule.nondiff and rule.out is None:
            return CONST
        args = [self.atom(a) for a in c.args]
        keywords = {k: self.atom(v) for k, v in c.keywords.items() if k}
        return rule_output(rule, args, keywords)

    def resolver_module(self, func):
        node = func
        while isinstance(node, gast.Attribute):
            node = node.value
        return isinstance(node, gast.Name) and node.id not in self.env and \
            self.resolver.is_module(node.id)

    def attribute(self, e):
        if self.resolver_module(e):
            value = self.resolver.static(e)    # (recorded: the code is rebuilt if it changes)
            k = kind_of(value) if value is not MISSING else CONST
            return array(k.ndim) if is_array(k) else (k if is_scalar(k) else CONST)
        base = self.atom(e.value)
        if is_array(base) or is_scalar(base):
            if e.attr in ("T", "real", "imag", "mT"):
                return base if e.attr != "T" else array(base.ndim)
            if e.attr in ("ndim", "size"):
                return SCALAR
            return CONST if e.attr in ("shape", "dtype", "strides") else OTHER
        return OTHER

    def subscript(self, e):
        base = self.atom(e.value)
        if base == CONST:
            return CONST                  # x.shape[0], a range's item...
        if base is not None and base.tag == "tuple" and base.token is not None and \
                isinstance(e.slice, gast.Constant) and isinstance(e.slice.value, int):
            items = base.token            # a tuple's element kinds
            i = e.slice.value
            return items[i] if -len(items) <= i < len(items) else OTHER
        if not is_array(base):
            return OTHER
        elts = e.slice.elts if isinstance(e.slice, gast.Tuple) else [e.slice]
        ndim = base.ndim
        for s in elts:
            if isinstance(s, gast.Slice):
                continue
            k = self.atom(s)
            if k == SCALAR:
                ndim = None if ndim is None else ndim - 1
            elif isinstance(s, gast.Constant) and s.value is None:
                ndim = None if ndim is None else ndim + 1
            elif isinstance(s, gast.Constant) and s.value is Ellipsis:
                continue
            else:
                return array(None)
        if ndim == 0:
            return SCALAR
        return array(ndim)


def _extern_obj(node, externs):
    path = []
    while isinstance(node, gast.Attribute):
        path.append(node.attr)
        node = node.value
    if not isinstance(node, gast.Name) or node.id not in externs.bound:
        return None
    obj = externs.bound[node.id]
    for attr in reversed(path):
        obj = getattr(obj, attr, None)
    return obj


def expr_kind(e, env, externs):
    """Kind of a (possibly nested) generated expression.

    ``env(name)`` gives kinds of variables; names bound as externs resolve
    to their objects, so rule calls inside templates are understood.
    """
    if isinstance(e, gast.Constant):
        return constant_kind(e.value)
    if isinstance(e, gast.Name):
        k = env(e.id)
        return OTHER if k is None else k
    if isinstance(e, gast.BinOp):
        left, right = expr_kind(e.left, env, externs), expr_kind(e.right, env, externs)
        return _matmul(left, right) if isinstance(e.op, gast.MatMult) else \
            _broadcast([left, right])
    if isinstance(e, gast.UnaryOp):
        return CONST if isinstance(e.op, gast.Not) else expr_kind(e.operand, env, externs)
    if isinstance(e, gast.Call):
        args = [expr_kind(a, env, externs) for a in e.args]
        keywords = {k.arg: expr_kind(k.value, env, externs) for k in e.keywords if k.arg}
        obj = _extern_obj(e.func, externs)
        if obj is None and isinstance(e.func, gast.Attribute):
            base = expr_kind(e.func.value, env, externs)
            if is_array(base) or is_scalar(base):
                obj = getattr(np.ndarray, e.func.attr, None)
                args = [base] + args
        rule = registry.lookup(obj) if obj is not None else None
        return rule_output(rule, args, keywords) if rule is not None else OTHER
    if isinstance(e, gast.Attribute):
        base = expr_kind(e.value, env, externs)
        if is_array(base) and e.attr in ("T", "mT"):
            return array(base.ndim)
        return OTHER
    return OTHER
