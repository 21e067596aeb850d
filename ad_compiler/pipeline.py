"""The compiler pipeline: one function in, its generated code out.

    source -> syntax check -> ANF -> structured control flow
           -> kinds + activity -> aliasing and ownership checks
           -> reverse (or forward) sweep -> optimise -> codegen

Each stage is its own module with a plain function interface; options
live in one frozen dataclass.  :func:`build` runs the stages in order and
returns a :class:`Compiled`, which :mod:`ad_compiler.compiler` caches.
"""
import dataclasses
import os
import types

import gast
import numpy as np

from ad_compiler import codegen, nodes as N
from ad_compiler.analysis import (activity, aliases, aliasing, calls, kinds as infer, mutating,
                                  ownership)
from ad_compiler.forward import sweep as forward
from ad_compiler.front import anf, cflow, queries, syntax
from ad_compiler.front.resolve import MISSING, Resolver
from ad_compiler.front.source import Source, get_source, remember_origin
from ad_compiler.naming import Externs, Namer
from ad_compiler.optimize import driver as optimize
from ad_compiler.reverse import sweep as reverse
from ad_compiler.reverse.tape import Tape
from ad_compiler.runtime.core import kinds
from ad_compiler.runtime.core.errors import UnsupportedSyntaxError



@dataclasses.dataclass(frozen=True)
class Analysis:
    """What the analysis found about one function, a value: every stage after
    it reads it and none changes it (a new analysis makes a new value).

    wrt: the inputs differentiated; entry_kinds: the kinds of all inputs;
    kinds: every variable's kind; active: the variables that carry a
    derivative; deposits: in params mode, the globals and cells whose
    gradients are kept too.
    """
    wrt: tuple
    entry_kinds: types.MappingProxyType
    kinds: types.MappingProxyType
    active: frozenset
    deposits: tuple


_NOTHING_YET = Analysis((), types.MappingProxyType({}), types.MappingProxyType({}), frozenset(),
                        ())


class Context:
    """What the stages share while compiling one function: the function, its
    names (``namer``, ``externs``: generation adds to them) and, read-only,
    the current :class:`Analysis` (``ctx.kinds`` is ``ctx.analysis.kinds``...)."""

    def __init__(self, func, source, options):
        self.func = func
        self.source = source
        self.options = options
        code = func.__code__
        generated = getattr(func, "__ad_generated__", False)
        self.cells = [] if generated else list(code.co_freevars)
        self.params = _param_names(source.node)
        self.inputs = self.cells + self.params
        if source.scope is None:
            source.scope = (frozenset(N.names_in(source.node)),
                            frozenset(anf.local_names(source.node)))
        self.namer = Namer(source.scope[0] | set(self.inputs))
        # (computed once per source: the checks below ask for them several times)
        self.locals = source.scope[1]
        self.resolver = Resolver(func, self.locals)
        self.externs = Externs(self.namer, self.resolver.lookup)
        self.resolver.externs = self.externs.bound
        if generated and func.__closure__:
            # The runtime names a generated function closes over resolve
            # statically, as globals would; they are bound again in its factory.
            for name, cell in zip(code.co_freevars, func.__closure__):
                self.externs.bound[name] = cell.cell_contents
                self.externs.by_id[id(cell.cell_contents)] = name
            self.resolver.locals -= set(code.co_freevars)
        self.analysis = _NOTHING_YET

    def classify(self, node, env=None):
        return calls.classify(node, self.kinds if env is None else env, self.resolver)

    def free_names(self, fdef):
        return activity.free_names(fdef)

    kinds = property(lambda self: self.analysis.kinds)
    active = property(lambda self: self.analysis.active)
    wrt = property(lambda self: self.analysis.wrt)
    entry_kinds = property(lambda self: self.analysis.entry_kinds)
    deposits = property(lambda self: self.analysis.deposits)

    def analyse(self, fn, active_indices, input_kinds):
        """Analyse ``fn`` (kinds, then activity) into a new :class:`Analysis`."""
        wrt = [self.inputs[i] for i in active_indices]
        env = {}
        for name, k in zip(self.inputs, input_kinds):
            env[name] = kinds.array(k.ndim, name) if kinds.is_array(k) else k
        found = infer.KindInference(self.resolver, env,
                                    lambda n, e: self.classify(n, e)).run(fn)
        roots, deposits = list(wrt), []
        if self.options.params:
            deposits = [c for c in self.cells if c not in roots and
                        (kinds.is_array(env.get(c)) or env.get(c) == kinds.OTHER)]
            deposits += self.param_globals(fn)
            roots += deposits
        active = activity.analyse(fn, roots, lambda n: self.classify(n, found),
                                  calls_varied=self.options.params, kinds=found)
        self.analysis = Analysis(tuple(wrt), types.MappingProxyType(
            dict(zip(self.inputs, input_kinds))), types.MappingProxyType(found),
            frozenset(active), tuple(deposits))
        return self.analysis

    def param_globals(self, fn):
        """Globals the function reads that may hold parameters (arrays, objects)."""
        from ad_compiler.runtime.core import tree
        out = []
        for name in sorted(N.loaded_names(fn) - self.resolver.locals):
            value = self.resolver.lookup(name)
            if value is MISSING or name in self.externs.bound:
                continue
            if isinstance(value, np.ndarray) or (
                    tree._children(value) is not None and not isinstance(value, type)):
                out.append(name)
        return out


def _param_names(fdef):
    a = fdef.args
    names = [x.id for x in a.posonlyargs + a.args]
    if a.vararg is not None:
        names.append(a.vararg.id)
    names += [x.id for x in a.kwonlyargs]
    if a.kwarg is not None:
        names.append(a.kwarg.id)
    return names


class Compiled:
    """Generated functions for one specialisation, plus their source."""

    def __init__(self, ctx, functions, text, filename):
        self.active = tuple(ctx.inputs.index(w) for w in ctx.wrt)
        self.inputs = ctx.inputs
        self.text = text
        self.filename = filename
        self.assumptions = dict(ctx.resolver.assumptions)
        self.global_kinds = tuple(ctx.resolver.global_kinds.items())
        self.attributes = tuple(ctx.resolver.attributes.items())
        # Whether valid() has anything to check (plans skip the call if not).
        self.checks = bool(self.assumptions or self.global_kinds or self.attributes)
        self.globals = ctx.func.__globals__
        self.fwd = self.bwd = self.grad = self.jvp = None
        if ctx.options.mode == "split":
            self.fwd, self.bwd = functions
        elif ctx.options.mode == "jvp":
            self.jvp, = functions
        else:
            self.grad, = functions
        for f in functions:
            f.__defaults__ = None

    def valid(self):
        """Whether every global this code relied on still holds: the same object
        for what calls resolve to, the same kind for values (numbers, arrays...),
        and the same for attributes read through modules."""
        g = self.globals
        for name, obj in self.assumptions.items():
            if g.get(name, MISSING) is not obj:
                return False
        for name, k in self.global_kinds:
            if kinds.kind_of(g.get(name, MISSING)) != k:
                return False
        for path, (is_kind, expected) in self.attributes:
            obj = g.get(path[0], MISSING)
            for attr in path[1:]:
                obj = getattr(obj, attr, MISSING)
            if (kinds.kind_of(obj) != expected) if is_kind else (obj is not expected):
                return False
        return True


def build(func, active_indices, input_kinds, options):
    """Run the whole pipeline for ``func``; returns a :class:`Compiled`.

    Source -> checked syntax tree -> ANF with its :class:`Analysis` ->
    derivative code (reverse or forward sweep) -> optimised -> text ->
    compiled functions."""
    source = syntax.check(get_source(func))
    ctx, fn = _checked(func, source, options, active_indices, input_kinds)
    functions = _derivative(ctx, fn)
    if options.optimize:
        functions = [optimize.optimize(f, ctx) for f in functions]
    text, externs = _rendered(functions, ctx, source)
    compiled_fns, filename = codegen.compile_module(text, externs, func.__globals__,
                                                    source.name)
    remember_origin(filename, source)
    return Compiled(ctx, compiled_fns, text, filename)


def _derivative(ctx, fn):
    """The generated FunctionDefs: forward mode's one, or reverse mode's one
    (fused) or two (split into a forward and a backward function)."""
    if ctx.options.mode == "jvp":
        return [assemble_jvp(forward.Forward(ctx, fn).function(fn), ctx, fn)]
    return assemble(reverse.Reverse(ctx).function(fn), ctx, fn)


def _rendered(functions, ctx, source):
    """``(text, externs)``: the module text and the objects its factory binds."""
    options = ctx.options
    header = "generated by ad_compiler from %s:%d (%s), %s w.r.t. %s" % (
        os.path.basename(source.filename), source.origin[0], source.origin[1],
        "tangent-only jvp" if options.tangent_only else options.mode,
        ", ".join(ctx.wrt) or "()")
    return codegen.render(functions, ctx.externs.bound, header, source.filename)


def _analysed(func, source, options, active_indices, input_kinds):
    """Source -> ANF -> structured control flow -> kinds and activity."""
    ctx = Context(func, source, options)
    fn = anf.normalise(source, ctx.namer, ctx.externs, ctx.resolver.is_module, ctx.locals)
    fn = cflow.structure(fn, ctx.namer)
    queries.fold_queries(fn, ctx.resolver)
    ctx.analyse(fn, active_indices, input_kinds)
    if not getattr(func, "__ad_generated__", False) and mutating.rewrite_calls(fn, ctx):
        ctx.analyse(fn, active_indices, input_kinds)
    activity.refuse_sets(fn, ctx.active, source)
    return ctx, fn


def _checked(func, source, options, active_indices, input_kinds):
    """The analysed function with its in-place changes proven safe: aliases
    and views that the checks refuse are read as what they stand for
    (``aliases``), and arguments changed in place are copied on entry."""
    ctx, fn = _analysed(func, source, options, active_indices, input_kinds)
    if getattr(func, "__ad_generated__", False):
        return ctx, fn          # generated code owns every buffer it changes in place
    while True:
        guards = []
        try:
            copied = _aliasing(ctx, fn, source, options, func, guards)
            break
        except UnsupportedSyntaxError:
            # each round removes at least one name, so this ends
            node = N.copy(source.node)
            if not aliases.substitute(node, ctx.kinds):
                raise
            source = Source(node, source.filename, source.name, source.lineno, source.code,
                            source.origin)
            ctx, fn = _analysed(func, source, options, active_indices, input_kinds)
    checked = ownership.ownership_checks(fn, source, ctx.kinds, ctx.resolver, ctx.externs,
                                        copied)
    checked |= ownership.insert_guards(fn, guards, ctx.externs)
    checked |= ownership.augmented_items(fn, source, ctx.kinds, ctx.externs)
    checked |= ownership.snapshot_views(fn, ctx.kinds, ctx.locals,
                                       ctx.resolver.is_module, ctx.externs, ctx.namer)
    ownership.drop_proven_part_checks(fn, ctx.kinds, ctx.locals,
                                     ctx.resolver.is_module)
    if copied:
        fn = aliasing.copy_on_entry(fn, copied, ctx.externs, ctx.namer)
    if copied or checked:
        ctx.analyse(fn, active_indices, input_kinds)
    return ctx, fn


def _aliasing(ctx, fn, source, options, func, guards=None):
    # A number, a string or a tuple passed in is never changed in place:
    # x += v on it rebinds x to a new object, whatever x becomes later.
    params = [p for p in ctx.params if ctx.entry_kinds.get(p) is None
              or ctx.entry_kinds[p].tag not in ("scalar", "const", "tuple")]
    return aliasing.check(fn, source, ctx.kinds, ctx.locals, params,
                          options.callee, ctx.resolver.is_module,
                          getattr(func, "__ad_owned_params__", ()), guards)


def assemble(result, ctx, fn):
    """Wrap the forward and adjoint sweeps into the generated function(s)."""
    tape = Tape(ctx.namer, ctx.externs)
    split = ctx.options.mode == "split"
    fwd, rev = tape.resolve(result.fwd, result.rev if split else result.seed + result.rev,
                            extra=result.grads)
    for s in rev:
        s.adjoint = True
    stacks = tape.init_stacks()
    if not split:
        return [_fused(result, ctx, fn, stacks + fwd, rev)]
    return _split(result, ctx, fn, stacks + fwd, rev)


def _fused(result, ctx, fn, fwd, rev):
    """``def f_grad(*inputs)``: both sweeps in one function, returning the
    gradients (and the value first, for ``value_and_grad``)."""
    body, value = list(fwd), N.tuple_(result.grads)
    if ctx.options.mode == "value_and_grad":
        # the reverse sweep restores overwritten names (an early return's
        # _ret among them), so the value is taken before it runs
        kept = ctx.namer.fresh("_value")
        body.append(N.assign(kept, N.copy(result.output), fn.body[-1]))
        value = N.tuple_([N.name(kept), value])
    body += rev
    body.append(N.located_as(gast.Return(value=value), fn.body[-1]))
    return codegen.function_def(ctx.source.name.strip("<>") + "_grad", ctx.inputs, body,
                                fn.lineno)


def _split(result, ctx, fn, fwd, rev):
    """``f_fwd(*inputs) -> (output, residuals)`` and ``f_bwd(residuals, b_output)``."""
    grads = N.tuple_(result.grads)
    seed_names = {s.targets[0].id for s in result.seed}
    out_adj = ctx.namer.adjoint(result.output.id) if isinstance(result.output, gast.Name) \
        else ctx.namer.fresh("_bout")
    residuals = _residuals(fwd, rev + [N.expr_stmt(grads)], ctx, seed_names)
    res_name = ctx.namer.fresh("_saved")
    # A residual assigned on one branch only must still exist when packed;
    # the optimiser drops these where every path assigns.
    inits = [N.assign(r, N.const(None)) for r in residuals if r not in ctx.inputs]
    fwd_body = inits + fwd + [gast.Return(value=N.tuple_([result.output,
                                                           N.tuple_(residuals)]))]
    unpack = [N.assign(N.tuple_([N.name(r, store=True) for r in residuals], store=True),
                       N.name(res_name))] if residuals else []
    bwd_body = unpack + rev + [gast.Return(value=grads)]
    base, line = ctx.source.name.strip("<>"), fn.lineno
    return [codegen.function_def(base + "_fwd", ctx.inputs, fwd_body, line),
            codegen.function_def(base + "_bwd", [res_name, out_adj], bwd_body, line)]


def assemble_jvp(body, ctx, fn):
    """``def f_jvp(*inputs, *tangents)``: tangents of the active inputs follow them."""
    for s in body:
        s.adjoint = True
    params = ctx.inputs + [ctx.namer.tangent(w) for w in ctx.wrt]
    return codegen.function_def(ctx.source.name.strip("<>") + "_jvp", params, body, fn.lineno)


def _residuals(fwd, bwd, ctx, exclude):
    defined = set(ctx.inputs)
    for s in fwd:
        for n in N.walk(s):
            if isinstance(n, gast.Name) and isinstance(n.ctx, gast.Store):
                defined.add(n.id)
    loaded = set()
    for s in bwd:
        loaded |= N.loaded_names(s)
    return sorted((loaded & defined) - set(exclude))
