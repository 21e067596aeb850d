"""Common subexpressions: one evaluation of ``math.cos(x)`` per block.

Adjoint and tangent rules repeat the primal's calls (``cos(x)`` in the
derivative of ``sin(x)``, and again when that code is differentiated), so
derivative code evaluates the same elementary function several times.  This
pass keeps the first evaluation and reuses it while its arguments are
unchanged.

It is deliberately narrow, because reusing a value is only safe when the
value is immutable or never changed in place:

* only ``math`` functions and NumPy ufuncs, called with names and constants
  and no keywords (never ``np.random``, ``np.empty`` or ``out=``);
* only in straight-line code, never under ``a if c else b`` or ``and``/``or``
  (hoisting out of those would evaluate what the program skipped);
* a whole right-hand side is replaced only if neither its target nor the
  reused variable is ever changed in place;
* a statement calling anything that may mutate ends every reuse.
"""
import math

import gast
import numpy as np

from ad_compiler import nodes as N

_CONDITIONAL = (gast.IfExp, gast.BoolOp, gast.Lambda, gast.ListComp, gast.SetComp,
                gast.DictComp, gast.GeneratorExp)


def cse(fdef, opt):
    """Reuse repeated elementary calls in every block of ``fdef``; True if any."""
    block = _Block(opt, set())
    seen, repeated = set(), False
    for n in N.walk(fdef):
        if n.__class__ is gast.Call:
            key = block.key(n)
            if key is not None:
                repeated = repeated or key in seen
                seen.add(key)
    if not repeated:
        return False                    # the common case: nothing to share
    for n in N.walk(fdef):
        if isinstance(n, gast.stmt):
            block.mutated |= opt.facts(n).mutated
    return block.run(fdef.body)


class _Block:
    def __init__(self, opt, mutated):
        self.opt = opt
        self.mutated = mutated

    def run(self, stmts):
        changed = False
        for s in stmts:
            if s.__class__ is not gast.FunctionDef:
                for field in ("body", "orelse"):
                    block = getattr(s, field, None)
                    if block.__class__ is list and self.run(block):
                        changed = True
                        self.opt.changed(s)
        for g in self.groups(stmts):
            changed = self.apply(stmts, g) or changed
        return changed

    def groups(self, stmts):
        """Runs of one call with unchanged arguments: [(key, [(stmt, parent, field, i)])]."""
        open_, done = {}, []
        for s in stmts:
            # (a nested def's body is another scope: its names are not ours)
            compound = s.__class__ in (gast.If, gast.For, gast.While, gast.Try, gast.With,
                                       gast.FunctionDef)
            if not compound:
                for key, site in self.sites(s):
                    open_.setdefault(key, (key, []))[1].append((s,) + site)
            # a call that may mutate ends every run; otherwise what is written does
            touched = self.opt.facts(s).touched if self.opt.pure(s) else None
            for key in list(open_):
                names = key[1]
                sites = open_[key][1]
                holder = _holder(sites)
                if touched is None or self.opt.viewed(names) & touched or (
                        holder in touched and s is not sites[0][0]):
                    done.append(open_.pop(key))
        done.extend(open_.values())
        return [g for g in done if len(g[1]) > 1]

    def sites(self, stmt):
        """(key, (parent, field, index-in-list or None)) of each reusable call."""
        found = []

        def visit(node, parent, field, index):
            if isinstance(node, _CONDITIONAL):
                return
            if node.__class__ is gast.Call:
                key = self.key(node)
                if key is not None and self.reusable_place(stmt, parent):
                    found.append((key, (parent, field, index)))
                    return
            for name, value in gast.iter_fields(node):
                if isinstance(value, list):
                    for j, v in enumerate(value):
                        if isinstance(v, gast.AST):
                            visit(v, node, name, j)
                elif isinstance(value, gast.AST):
                    visit(value, node, name, None)

        visit(stmt, None, None, None)
        return found

    def reusable_place(self, stmt, parent):
        if parent is stmt:
            # the whole right-hand side: its target would share the value
            return (stmt.__class__ is gast.Assign and len(stmt.targets) == 1
                    and stmt.targets[0].__class__ is gast.Name
                    and stmt.targets[0].id not in self.mutated)
        if parent.__class__ is gast.Call:
            return self.opt.pure(gast.Call(func=parent.func, args=[], keywords=[]))
        return parent.__class__ in (gast.BinOp, gast.UnaryOp, gast.Compare, gast.Tuple)

    def key(self, call):
        """A hashable identity for a reusable call, with the names it reads."""
        if call.keywords or not call.args or call.func.__class__ is not gast.Attribute:
            return None
        module = call.func.value
        if module.__class__ is not gast.Name or not _elementary(
                self.opt.ctx, module.id, call.func.attr):
            return None
        args, names = [], set()
        for a in call.args:
            if a.__class__ is gast.Name:
                args.append(("n", a.id))
                names.add(a.id)
            elif a.__class__ is gast.Constant and type(a.value) in (int, float, bool):
                args.append(("c", type(a.value).__name__, a.value))
            else:
                return None
        return (module.id, call.func.attr, tuple(args)), frozenset(names)

    def apply(self, stmts, group):
        _, sites = group
        first, parent, field, index = sites[0]
        holder = _holder(sites)
        if holder is None:
            holder = self.opt.ctx.namer.fresh("_c")
            value = _get(parent, field, index)
            at = next(i for i, s in enumerate(stmts) if s is first)
            stmts.insert(at, N.assign(holder, N.copy(value), first))
        else:
            sites = sites[1:]
        for stmt, parent, field, index in sites:
            _set(parent, field, index, N.name(holder))
            self.opt.changed(stmt)
        return True


def _holder(sites):
    """The variable the first occurrence is assigned to whole, if it is."""
    s, parent, field, _ = sites[0]
    if parent is s and field == "value" and s.__class__ is gast.Assign:
        return s.targets[0].id
    return None


def _get(parent, field, index):
    value = getattr(parent, field)
    return value if index is None else value[index]


def _set(parent, field, index, node):
    if index is None:
        setattr(parent, field, node)
    else:
        getattr(parent, field)[index] = node


def _elementary(ctx, module_name, attr):
    """``module_name.attr`` is a math function or a NumPy ufunc."""
    obj = ctx.externs.bound.get(module_name)
    if obj is None and module_name not in ctx.resolver.locals:
        obj = ctx.resolver.lookup(module_name)
    if obj is math:
        return callable(getattr(math, attr, None))
    if obj is np:
        return isinstance(getattr(np, attr, None), np.ufunc)
    return False
