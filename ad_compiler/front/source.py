"""Stage 1: find a function's source and parse it into a gast FunctionDef.

Handles module-level functions, nested functions, methods (dedented),
decorated functions (decorators are dropped, never re-run), lambdas (the
right one is picked by matching the code object, even when two share a
line) and functions whose source lives only in :mod:`linecache` (IPython
cells, and our own generated code).
"""
import ast
import bisect
import copy
import hashlib
import inspect
import linecache
import os
import re
import textwrap
import types

import gast

from ad_compiler import nodes as N
from ad_compiler.runtime.callee import unwrap  # noqa: F401  (re-exported)
from ad_compiler.runtime.core.errors import ADError, MissingReturnError, public_name
from ad_compiler.runtime.core.lru import LRU
from ad_compiler.runtime.generated import GENERATED, register_source  # noqa: F401


class Source:
    """A parsed function: the gast node plus where it came from."""

    __slots__ = ("node", "filename", "name", "lineno", "code", "origin")

    def __init__(self, node, filename, name, lineno, code, origin=None):
        self.node = node
        self.filename = filename
        self.name = name
        self.lineno = lineno
        self.code = code
        # (def line, name) of the user's function this one stands for, which
        # generated headers cite: itself, unless it is generated code or one
        # of our wrappers (``grad(f)``'s twin)
        self.origin = origin or (lineno, name)

    def __repr__(self):
        return "<Source %s at %s:%d>" % (self.name, self.filename, self.lineno)


# Bounded (see runtime/core/lru.py): parsed files are keyed by their text,
# sources by code object; both are rebuilt when evicted.
_PARSED_FILES = LRU(64)
_SOURCES = LRU(2048)


def get_source(func):
    """The :class:`Source` of a plain Python function (cached per code object)."""
    code = func.__code__
    # (equal code objects may come from two files; grad's twin shares one code
    # object among every user function, and cites the one it stands for)
    key = (code, code.co_filename, origin_key(func))
    hit = _SOURCES.get(key)
    if hit is not None:
        return hit
    lines = linecache.getlines(code.co_filename, func.__globals__)
    if not lines:
        # our own generated code, dropped by linecache.clearcache() or by the
        # bounded cache of generated texts: put it back
        text = GENERATED.get(code.co_filename) or getattr(func, "__ad_source__", None)
        if text is not None:
            register_source(code.co_filename, text)
            lines = linecache.getlines(code.co_filename)
    if not lines:
        raise ADError(
            "%s:%d: cannot find the source of %s: functions made by exec() or typed at a "
            "plain REPL have no source to differentiate; define it in a file or a notebook "
            "cell, or register a rule with @adjoint" % (
                os.path.basename(code.co_filename), code.co_firstlineno, code.co_name))
    if code.co_name == "<lambda>":
        node = _find_lambda(code, lines)
    else:
        node = _parse_block(code, lines)
    filename, origin = _cited_origin(func, key[2], node, lines)
    src = Source(node, filename, code.co_name, node.lineno, code, origin)
    _SOURCES[key] = src
    return src


# file name of generated code -> (the user's file it came from, Source.origin)
_ORIGINS = LRU(8192)
_CITED = re.compile(r"^\s*# [^:]+:(\d+): ")


def _cited_origin(func, twin_of, node, lines):
    """The file and ``origin`` that ``func``'s code cites, ``node`` renumbered
    to the user's lines where it is generated code or grad's twin."""
    cited = _ORIGINS.get(func.__code__.co_filename)   # (one look-up: another thread may evict)
    if cited is not None:
        # generated code: its errors and its own derivatives cite the user's lines
        _to_user_lines(node, lines)
        return cited
    if twin_of is None:
        return func.__code__.co_filename, None
    # grad's twin, standing for the user's function: its code cites the
    # user's def line, never our wrapper's file
    filename, origin = _user_origin(func)
    for n in N.walk(node):
        if getattr(n, "lineno", None) is not None:
            n.lineno = n.end_lineno = origin[0]
    return filename, origin


def remember_origin(generated, source):
    """Generated code in ``generated`` was derived from ``source`` (the user's
    function, or code that itself cites one)."""
    _ORIGINS[generated] = (source.filename, source.origin)


def _user_function(f):
    """The user's function under grad's twins (and the grad() results they
    wrap), and how many grads deep it sits."""
    depth = 0
    while True:
        if getattr(f, "__ad_twin__", None) is not None:
            f = f.__ad_twin__
        elif getattr(f, "__ad_origin__", None) is not None:
            f, depth = f.__ad_origin__, depth + 1
        else:
            opened = unwrap(f)
            return (opened[0] if opened else f), depth


def origin_key(func):
    """``(code, depth)`` of the user's function that grad's twin ``func``
    stands for (for one without Python code, ``grad(grad(np.sin))``: the
    place grad was called); None for any other function, or when there is
    neither (the twin then cites itself)."""
    if getattr(func, "__ad_origin__", None) is None:
        return None
    f, depth = _user_function(func)
    code = getattr(f, "__code__", None)
    if code is not None:
        return code, depth
    site = getattr(func, "__ad_site__", None)
    return None if site is None else ((site.filename, site.lineno, public_name(f)), depth)


def _user_origin(func):
    """``(file, (def line, "grad(name)"))`` of the user's function under a twin,
    or of the line that called grad for a function with no source."""
    f, depth = _user_function(func)
    code = getattr(f, "__code__", None)
    if code is None:
        site = func.__ad_site__
        filename, (line, name) = site.filename, (site.lineno, public_name(f))
    else:
        filename, (line, name) = _ORIGINS.get(code.co_filename) or (
            code.co_filename, (code.co_firstlineno, code.co_name))
    return filename, (line, "grad(" * depth + name + ")" * depth)


def _to_user_lines(node, lines):
    """Renumber ``node`` (parsed from generated code) with the user's lines that
    the generated code cites in its ``# file.py:12: ...`` comments."""
    user, cited = {}, None
    for i, text in enumerate(lines, 1):
        m = _CITED.match(text)
        if m:
            cited = int(m.group(1))
        user[i] = cited
    first = next((v for v in user.values() if v is not None), None)
    for n in N.walk(node):
        if getattr(n, "lineno", None) is not None:
            n.lineno = user.get(n.lineno) or first or n.lineno


class _File:
    """A parsed source file; :meth:`lambdas_at` finds its lambdas by line."""

    def __init__(self, text, filename):
        self.tree = ast.parse(text, filename)
        # (a decorated statement starts at its first decorator)
        self._starts = [min([s.lineno] + [d.lineno for d in getattr(s, "decorator_list", ())])
                        for s in self.tree.body]
        self._lambdas = {}

    def lambdas_at(self, line):
        """The lambdas that start on ``line``.  Only the top-level statements
        spanning it are walked: a rule table is one statement per rule, and
        walking whole rule modules was a fifth of a fresh process's first
        gradient."""
        got = self._lambdas.get(line)
        if got is None:
            body = self.tree.body
            i = bisect.bisect_right(self._starts, line) - 1
            spanning = [body[i]] if i >= 0 and body[i].end_lineno >= line else []
            got = self._lambdas[line] = [n for n in ast.walk(ast.Module(spanning, []))
                                         if isinstance(n, ast.Lambda) and n.lineno == line]
        return got


def _parse_file(filename, lines):
    text = "".join(lines)
    key = (filename, hashlib.sha1(text.encode("utf-8", "replace")).hexdigest())
    parsed = _PARSED_FILES.get(key)
    if parsed is None:
        parsed = _PARSED_FILES[key] = _File(text, filename)
    return parsed


def _parse_block(code, lines):
    first = code.co_firstlineno
    try:
        block = inspect.getblock(lines[first - 1:])
        tree = ast.parse(textwrap.dedent("".join(block)))
        ast.increment_lineno(tree, first - 1)
        candidates = [n for n in tree.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))]
    except (SyntaxError, IndentationError, IndexError):
        candidates = []
    if not candidates:
        tree = _parse_file(code.co_filename, lines).tree
        candidates = [n for n in ast.walk(tree)
                      if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))
                      and n.name == code.co_name and _first_line(n) == first]
    if not candidates:
        raise ADError("%s:%d: cannot locate the definition of %s; its source file may have "
                      "changed since it was imported: reload the module (importlib.reload) "
                      "or restart" % (os.path.basename(code.co_filename), first, code.co_name))
    node = _to_gast(candidates[0])
    node.decorator_list = []
    return node


def _first_line(node):
    return min([node.lineno] + [d.lineno for d in node.decorator_list])


_TOP_LEVEL = re.compile(r"[^\s#)\]}]")      # a line that may start a top-level statement


def _lambdas_near(lines, line, reach=60):
    """The lambdas starting on ``line``, parsed from the top-level statement
    around it alone (a rule table's one line, not the whole module: parsing
    the rule modules whole was a third of a fresh process's first
    gradient); None where that statement is not found within ``reach``
    lines, and the whole file is parsed instead."""
    start = line
    while start > 1 and line - start < reach and not _TOP_LEVEL.match(lines[start - 1]):
        start -= 1
    if not _TOP_LEVEL.match(lines[start - 1]):
        return None
    for end in range(line, min(len(lines), start + reach) + 1):
        try:
            tree = ast.parse("".join(lines[start - 1:end]))
        except SyntaxError:
            continue        # the statement goes on
        ast.increment_lineno(tree, start - 1)
        found = [n for n in ast.walk(tree) if isinstance(n, ast.Lambda) and n.lineno == line]
        return found or None
    return None


def _find_lambda(code, lines):
    line = code.co_firstlineno
    lambdas = _lambdas_near(lines, line)
    if lambdas is None:
        lambdas = list(_parse_file(code.co_filename, lines).lambdas_at(line))
    if len(lambdas) > 1:
        lambdas = (_match_positions(code, lambdas) or _match_code(code, lambdas)
                   or _match_signature(code, lambdas))
    if len(lambdas) != 1:
        raise ADError("%s:%d: cannot tell which lambda on this line is being differentiated; "
                      "put each lambda on its own line or use def" % (code.co_filename, line))
    lam = lambdas[0]
    fdef = ast.FunctionDef(name="_lambda", args=lam.args, body=[ast.Return(lam.body)],
                           decorator_list=[], returns=None, type_comment=None)
    if hasattr(ast.FunctionDef, "type_params") or "type_params" in ast.FunctionDef._fields:
        fdef.type_params = []
    ast.copy_location(fdef, lam)
    ast.copy_location(fdef.body[0], lam.body)
    return _to_gast(fdef)


def _match_positions(code, lambdas):
    """Keep the innermost lambda whose span contains every instruction."""
    positions = getattr(code, "co_positions", None)
    if positions is None:
        return []
    spots = [(p[0], p[2]) for p in positions()
             if p[0] is not None and p[2] is not None and (p[2], p[3]) != (0, 0)]
    if not spots:
        return []

    def contains(n):
        start, end = (n.lineno, n.col_offset), (n.end_lineno, n.end_col_offset)
        return all(start <= s <= end for s in spots)

    inside = [n for n in lambdas if contains(n)]
    inside.sort(key=lambda n: (n.end_lineno - n.lineno, n.end_col_offset - n.col_offset))
    return inside[:1]


def _match_code(code, lambdas):
    """Keep the first lambda that compiles to the same code as ``code``.

    The fallback where column positions are missing (Python < 3.11). Each
    candidate is compiled on its own, inside a function that binds the
    target's free variables so that they compile as free variables again
    (not globals); equal code means equal behaviour, so when two lambdas on
    the line compile alike, either one is right.
    """
    want = _code_key(code)
    for lam in lambdas:
        try:
            got = _compile_lambda(lam, code)
        except (SyntaxError, ValueError, TypeError):
            continue
        if got is not None and _code_key(got) == want:
            return [lam]
    return []


def _compile_lambda(lam, code):
    """The code object of ``lam`` compiled alone, with ``code``'s free variables as closure."""
    binds = [ast.Assign(targets=[ast.Name(id=name, ctx=ast.Store())],
                        value=ast.Constant(value=None), type_comment=None)
             for name in code.co_freevars]
    wrapper = ast.FunctionDef(
        name="_lambda_scope", body=binds + [ast.Return(copy.deepcopy(lam))],
        args=ast.arguments(posonlyargs=[], args=[], vararg=None, kwonlyargs=[], kw_defaults=[],
                           kwarg=None, defaults=[]),
        decorator_list=[], returns=None, type_comment=None)
    if "type_params" in ast.FunctionDef._fields:
        wrapper.type_params = []
    module = ast.Module(body=[wrapper], type_ignores=[])
    ast.copy_location(wrapper, lam)
    ast.fix_missing_locations(module)
    compiled = compile(module, code.co_filename, "exec", dont_inherit=True)
    for outer in compiled.co_consts:
        if isinstance(outer, types.CodeType):
            for inner in outer.co_consts:
                if isinstance(inner, types.CodeType) and inner.co_name == "<lambda>":
                    return inner
    return None


# Flags that change what a code object does (not CO_NESTED and friends, which
# only say where it was compiled).
_CODE_FLAGS = (inspect.CO_VARARGS | inspect.CO_VARKEYWORDS | inspect.CO_GENERATOR
               | inspect.CO_COROUTINE | inspect.CO_ASYNC_GENERATOR)
_CODE_FIELDS = ("co_code", "co_names", "co_varnames", "co_freevars", "co_cellvars",
                "co_argcount", "co_posonlyargcount", "co_kwonlyargcount", "co_nlocals",
                "co_stacksize", "co_exceptiontable")


def _code_key(code):
    """What a code object does, minus where it came from (lines, file, qualified name)."""
    fields = tuple(getattr(code, f, None) for f in _CODE_FIELDS)
    return (code.co_name, code.co_flags & _CODE_FLAGS, fields,
            tuple(_const_key(c) for c in code.co_consts))


def _const_key(value):
    if isinstance(value, types.CodeType):
        return ("code", _code_key(value))
    if isinstance(value, (tuple, frozenset)):
        items = tuple(_const_key(v) for v in value)
        return (type(value).__name__, tuple(sorted(items, key=repr)) if isinstance(value, frozenset)
                else items)
    if isinstance(value, (float, complex)):
        return (type(value).__name__, repr(value))         # 0.0 and -0.0 differ, nan equals nan
    return (type(value).__name__, value)


def _match_signature(code, lambdas):
    argnames = code.co_varnames[:code.co_argcount]
    same = [n for n in lambdas if tuple(a.arg for a in n.args.args) == argnames]
    return same if len(same) == 1 else []


def _to_gast(node):
    return gast.ast_to_gast(node)


def remember(code, source):
    """Use ``source`` for ``code``: a function the compiler built from a syntax
    tree (a helper's mutating form), whose errors cite the helper's own lines."""
    _SOURCES[(code, code.co_filename, None)] = source


def check_returns(func):
    """A function with no ``return <value>`` returns None: say so, with its
    file and line, instead of differentiating nothing."""
    if func.__code__.co_name == "<lambda>" or getattr(func, "__ad_generated__", False):
        return
    todo = list(get_source(func).node.body)
    while todo:
        node = todo.pop()
        if isinstance(node, gast.Return) and node.value is not None and not (
                isinstance(node.value, gast.Constant) and node.value.value is None):
            return
        if not isinstance(node, (gast.FunctionDef, gast.Lambda, gast.ClassDef)):
            todo.extend(gast.iter_child_nodes(node))
    raise MissingReturnError.for_function(func)
