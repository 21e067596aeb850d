"""Stage 3: A-normal form, one operation per assignment.

After this pass every expression is *simple*: one operation whose operands
are atoms (names or constants).  Short-circuit operators, conditional
expressions and comparison chains become ``if`` statements, comprehensions
become loops, ``x op= v`` becomes ``x = x op v``, tuple targets become
subscripts, and every ``for`` loop iterates over a ``range`` so that an
adjoint can index the sequence it walked.

User variable names are kept (closures depend on them); only temporaries
are new, named by :class:`~ad_compiler.naming.Namer`.

The statements are normalised by :mod:`anf_assign`, loops and
comprehensions by :mod:`anf_loops`, expressions by :mod:`anf_expr`; each
is a mixin of :class:`Normaliser`, which holds the shared state and the
dispatch (``stmt_<Node>``, ``expr_<Node>``).
"""

import collections
import os

import gast

from ad_compiler import nodes as N
from ad_compiler.front.anf_assign import Assignments
from ad_compiler.front.anf_expr import Expressions
from ad_compiler.front.anf_loops import Loops


class Normaliser(Assignments, Loops, Expressions):
    ranges = frozenset()     # names bound once to range(...): see range_names

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


def local_names(fn):
    """Parameters and every name the function body binds."""
    args = fn.args
    names = {a.id for a in args.args + args.posonlyargs + args.kwonlyargs}
    for extra in (args.vararg, args.kwarg):
        if extra is not None:
            names.add(extra.id)
    for node in N.walk(fn.body, into=_same_scope):
        if isinstance(node, gast.FunctionDef):
            names.add(node.name)
        elif isinstance(node, gast.Name) and isinstance(node.ctx, gast.Store):
            names.add(node.id)
    return names


def _same_scope(node):
    """Whether ``node``'s children bind names in the enclosing function (a nested
    def, lambda or comprehension has a scope of its own)."""
    return not isinstance(node, (gast.FunctionDef, gast.ListComp, gast.SetComp, gast.DictComp,
                                 gast.GeneratorExp, gast.Lambda))


def range_names(fn, locals_):
    """Names bound exactly once in ``fn``, to ``range(...)``: the ``_range1``
    of generated code, which a loop walks as is (higher orders).  Every other
    binding counts (a parameter, ``global``, ``import``, ``as``, a pattern),
    so a name that may hold anything else is never one."""
    if "range" in locals_:
        return set()
    bound, ranges = collections.Counter(), set()
    for n in N.walk(fn):
        if isinstance(n, gast.Name):
            bound[n.id] += not isinstance(n.ctx, gast.Load)
            continue
        for field in ("name", "asname", "rest"):        # def, alias, match patterns
            if isinstance(getattr(n, field, None), str):
                bound[getattr(n, field).partition(".")[0]] += 1
        if isinstance(n, (gast.Global, gast.Nonlocal)):
            bound.update(n.names * 2)
        if (isinstance(n, gast.Assign) and len(n.targets) == 1
                and isinstance(n.targets[0], gast.Name) and isinstance(n.value, gast.Call)
                and isinstance(n.value.func, gast.Name) and n.value.func.id == "range"):
            ranges.add(n.targets[0].id)
    return {r for r in ranges if bound[r] == 1}


def normalise(source, namer, externs, is_module, locals_):
    """Return a copy of ``source.node`` in A-normal form; ``locals_`` are its
    :func:`local_names` (which the caller has already)."""
    fn = N.copy(source.node)
    norm = Normaliser(namer, externs, locals_, is_module, source.filename)
    norm.ranges = range_names(fn, norm.locals)
    fn.body = norm.block(fn.body)
    return fn
