"""The compiler pipeline and its cache.

    source -> syntax check -> ANF -> structured control flow
           -> kinds + activity -> reverse -> optimise -> codegen

Each stage is its own module with a plain function interface; options
live in one frozen dataclass.  A compiled artifact is cached per code
object, active inputs, input kinds and options, and is re-validated
against the globals its static decisions relied on.
"""
import contextlib
import contextvars
import os
import sys
import threading
from dataclasses import dataclass

import gast
import numpy as np

from ad_compiler import codegen, nodes as N
from ad_compiler.analysis import (activity, aliases, aliasing, calls, kinds as infer, mutating,
                                  ownership)
from ad_compiler.forward import sweep as forward
from ad_compiler.front import anf, cflow, queries, syntax
from ad_compiler.front.resolve import MISSING, Resolver
from ad_compiler.front.source import (Source, check_returns as source_check_returns, get_source,
                                      remember_origin)
from ad_compiler.naming import Externs, Namer
from ad_compiler.optimize import driver as optimize
from ad_compiler.reverse import sweep as reverse
from ad_compiler.reverse.tape import Tape
from ad_compiler.runtime import entry
from ad_compiler.runtime.core import kinds
from ad_compiler.runtime.core.lru import LRU
from ad_compiler.runtime.core.errors import (ADError, NoAdjointError, UnsupportedSyntaxError,
                                             is_library)
from ad_compiler.runtime.core.options import Options


class Context:
    """Everything the passes share while compiling one function."""

    def __init__(self, func, source, options):
        self.func = func
        self.source = source
        self.options = options
        code = func.__code__
        generated = getattr(func, "__ad_generated__", False)
        self.cells = [] if generated else list(code.co_freevars)
        self.params = _param_names(source.node)
        self.inputs = self.cells + self.params
        self.namer = Namer(N.names_in(source.node) | set(self.inputs))
        self.resolver = Resolver(func, anf.local_names(source.node))
        self.externs = Externs(self.namer, self.resolver.lookup)
        self.resolver.externs = self.externs.bound
        if generated and func.__closure__:
            # The runtime names a generated function closes over resolve
            # statically, as globals would; they are bound again in its factory.
            for name, cell in zip(code.co_freevars, func.__closure__):
                self.externs.bound[name] = cell.cell_contents
                self.externs.by_id[id(cell.cell_contents)] = name
            self.resolver.locals -= set(code.co_freevars)
        self.kinds = {}
        self.active = set()
        self.wrt = []
        self.deposits = []        # params mode: globals and cells whose gradients are kept

    def classify(self, node, env=None):
        return calls.classify(node, self.kinds if env is None else env, self.resolver)

    def free_names(self, fdef):
        return activity.free_names(fdef)

    def analyse(self, fn, active_indices, input_kinds):
        self.entry_kinds = dict(zip(self.inputs, input_kinds))
        self.wrt = [self.inputs[i] for i in active_indices]
        env = {}
        for name, k in zip(self.inputs, input_kinds):
            env[name] = kinds.array(k.ndim, name) if kinds.is_array(k) else k
        self.kinds = infer.KindInference(self.resolver, env,
                                         lambda n, e: self.classify(n, e)).run(fn)
        roots = list(self.wrt)
        if self.options.params:
            self.deposits = [c for c in self.cells if c not in roots and
                             (kinds.is_array(env.get(c)) or env.get(c) == kinds.OTHER)]
            self.deposits += self.param_globals(fn)
            roots += self.deposits
        self.active = activity.analyse(fn, roots, lambda n: self.classify(n),
                                       calls_varied=self.options.params)

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
    """Run the whole pipeline for ``func``; returns a :class:`Compiled`."""
    source = syntax.check(get_source(func))
    ctx, fn = _checked(func, source, options, active_indices, input_kinds)
    if options.mode == "jvp":
        functions = [assemble_jvp(forward.Forward(ctx, fn).function(fn), ctx, fn)]
    else:
        functions = assemble(reverse.Reverse(ctx).function(fn), ctx, fn)
    if options.optimize:
        functions = [optimize.optimize(f, ctx) for f in functions]
    header = "generated by ad_compiler from %s:%d (%s), %s w.r.t. %s" % (
        os.path.basename(source.filename), source.lineno, source.name,
        "tangent-only jvp" if options.tangent_only else options.mode,
        ", ".join(ctx.wrt) or "()")
    used = set()
    for f in functions:
        used |= N.names_in(f)
    externs = {k: v for k, v in ctx.externs.bound.items() if k in used}
    text = codegen.render(functions, externs, header, source.filename)
    compiled_fns, filename = codegen.compile_module(text, externs, func.__globals__,
                                                    source.name)
    remember_origin(filename, source.filename)
    return Compiled(ctx, compiled_fns, text, filename)


def _analysed(func, source, options, active_indices, input_kinds):
    """Source -> ANF -> structured control flow -> kinds and activity."""
    ctx = Context(func, source, options)
    fn = anf.normalise(source, ctx.namer, ctx.externs, ctx.resolver.is_module)
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
            source = Source(node, source.filename, source.name, source.lineno, source.code)
            ctx, fn = _analysed(func, source, options, active_indices, input_kinds)
    checked = ownership.ownership_checks(fn, source, ctx.kinds, ctx.resolver, ctx.externs,
                                        copied)
    checked |= ownership.insert_guards(fn, guards, ctx.externs)
    checked |= ownership.snapshot_views(fn, ctx.kinds, anf.local_names(source.node),
                                       ctx.resolver.is_module, ctx.externs, ctx.namer)
    ownership.drop_proven_part_checks(fn, ctx.kinds, anf.local_names(source.node),
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
    return aliasing.check(fn, source, ctx.kinds, anf.local_names(source.node), params,
                          options.callee, ctx.resolver.is_module,
                          getattr(func, "__ad_owned_params__", ()), guards)


def assemble(result, ctx, fn):
    """Wrap the forward and adjoint sweeps into the generated function(s)."""
    tape = Tape(ctx.namer, ctx.externs)
    split = ctx.options.mode == "split"
    grads_stmt_exprs = result.grads
    fwd, rev = tape.resolve(result.fwd, result.rev if split else result.seed + result.rev,
                            extra=grads_stmt_exprs)
    for s in rev:
        s.adjoint = True
    stacks = tape.init_stacks()
    grads = N.tuple_(grads_stmt_exprs)
    base = ctx.source.name.strip("<>")
    line = fn.lineno
    if ctx.options.mode in ("grad", "value_and_grad"):
        body = stacks + fwd
        value = grads
        if ctx.options.mode == "value_and_grad":
            # the reverse sweep restores overwritten names (an early return's
            # _ret among them), so the value is taken before it runs
            kept = ctx.namer.fresh("_value")
            body.append(N.assign(kept, N.copy(result.output), fn.body[-1]))
            value = N.tuple_([N.name(kept), grads])
        body += rev
        body.append(N.located_as(gast.Return(value=value), fn.body[-1]))
        return [codegen.function_def(base + "_grad", ctx.inputs, body, line)]
    seed_names = {s.targets[0].id for s in result.seed}
    out_adj = ctx.namer.adjoint(result.output.id) if isinstance(result.output, gast.Name) \
        else ctx.namer.fresh("_bout")
    bwd_body = rev
    residuals = _residuals(stacks + fwd, bwd_body + [N.expr_stmt(grads)], ctx, seed_names)
    res_name = ctx.namer.fresh("_saved")
    # A residual assigned on one branch only must still exist when packed;
    # the optimiser drops these where every path assigns.
    inits = [N.assign(r, N.const(None)) for r in residuals if r not in ctx.inputs]
    fwd_body = inits + stacks + fwd + [gast.Return(value=N.tuple_([result.output,
                                                                   N.tuple_(residuals)]))]
    unpack = [N.assign(N.tuple_([N.name(r, store=True) for r in residuals], store=True),
                       N.name(res_name))] if residuals else []
    bwd_body = unpack + bwd_body + [gast.Return(value=grads)]
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


# ------------------------------------------------------------------ cache

# The compiled specialisations, bounded: a program that differentiates ever
# new functions runs in flat memory (an evicted one is compiled again).
COMPILED_LIMIT = 1024
_CACHE = LRU(COMPILED_LIMIT)
_LOCK = threading.Lock()        # clear_cache only: no lock is held while compiling
# adjoint_source collects the generated functions used by its own call (a
# context variable, so other threads' compilations stay out); RECORDERS
# counts the collections open anywhere, so fast paths, which skip the
# lookup that records, can step aside with one list test.
_RECORDING = contextvars.ContextVar("ad_compiler_recording", default=None)
RECORDERS = []


def _get(func, active, values, options):
    input_kinds = tuple(kinds.kind_of(v) for v in values)
    code = func.__code__
    # (equal code objects from two files are the same key without the name)
    key = (code, code.co_filename, active, input_kinds, options)
    hit = _CACHE.get(key)
    if hit is None or not _still_holds(hit, func):
        built = _build(func, active, input_kinds, options)
        # Another thread may have built the same meanwhile: keep the first
        # that still holds, so every caller shares one specialisation.
        hit = _CACHE.setdefault(key, built, keep=lambda now: _still_holds(now, func))
    note_used(hit)
    return hit


def _still_holds(compiled, func):
    return compiled.globals is func.__globals__ and compiled.valid()


def _build(func, active, input_kinds, options):
    """:func:`build`, except that a library function (an installed package, the
    standard library) whose own source cannot be compiled asks for a rule:
    the user cannot, and should not, rewrite a library's code."""
    try:
        return build(func, active, input_kinds, options)
    except ADError as e:
        if not is_library(func.__code__.co_filename) or isinstance(e, NoAdjointError):
            raise
        raise NoAdjointError.for_library(func, e) from None


def recording_now():
    """Whether ``adjoint_source`` is collecting anywhere (fast paths then step aside)."""
    return bool(RECORDERS)


def note_used(compiled):
    """Record a cached specialisation found without a compiler lookup."""
    if RECORDERS:
        used = _RECORDING.get()
        if used is not None:
            used.append(compiled)


@contextlib.contextmanager
def recording():
    """Collect every generated function this context looks up inside the
    block, in order."""
    used = []
    token = _RECORDING.set(used)
    RECORDERS.append(used)
    try:
        yield used
    finally:
        RECORDERS.remove(used)
        _RECORDING.reset(token)


_SPLIT = Options(mode="split", callee=True)


_SPLIT_PARAMS = Options(mode="split", callee=True, params=True)


def vjp_function(func, active, values, params=False):
    """Forward/backward pair for ``func`` (used by ``call_fwd``)."""
    return _get(func, active, values, _SPLIT_PARAMS if params else _SPLIT)


_JVP = Options(mode="jvp", callee=True)
_TANGENT = Options(mode="jvp", callee=True, tangent_only=True)


_JVP_TOP = Options(mode="jvp")
_TOP = contextvars.ContextVar("ad_compiler_top_jvp", default=None)


@contextlib.contextmanager
def top_level(func):
    """The next forward-mode lookup of ``func`` is the caller's own function:
    its arguments may be copied on entry (it may change them in place),
    which a call from other differentiated code must not do."""
    token = _TOP.set(getattr(func, "__code__", None))
    try:
        yield
    finally:
        _TOP.reset(token)


def jvp_function(func, active, values, tangent_only=False):
    """The forward-mode function of ``func`` for the inputs at ``active``."""
    top = _TOP.get()
    if top is not None and not tangent_only and top is func.__code__:
        _TOP.set(None)
        return _get(func, active, values, _JVP_TOP)
    return _get(func, active, values, _TANGENT if tangent_only else _JVP)


def grad_function(func, active, values, options):
    return _get(func, active, values, options)


def clear_cache():
    """Forget every generated function, and every cache that holds one or
    what it was built from: plans and fast paths of ``gradient``/``grad``,
    parsed function sources, helpers' mutating forms (all are rebuilt on
    next use).  Parsed files and rule templates stay: they are keyed by
    their text, so they cannot go stale.

    >>> clear_cache()
    """
    from ad_compiler.front import source
    with _LOCK:
        _CACHE.clear()
        source._SOURCES.clear()
        # helpers' mutating forms: their sources went too
        mutating._FORMS.clear()
        mutating._POSITIONS.clear()
        entry.clear_all()


# The runtime reaches the compiler only through this hook (it imports nothing
# above itself): grad_function, vjp_function, jvp_function, note_used and
# check_returns are what it calls.
check_returns = source_check_returns
entry.install(sys.modules[__name__])
