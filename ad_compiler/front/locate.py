"""Where in a file's lines a code object's definition is, parsed to gast.

A ``def`` is parsed from its own block of lines; a lambda from the
top-level statement around its line (or the whole file), picked among the
lambdas that start on that line by matching the code object.
"""
import ast
import bisect
import copy
import dis
import hashlib
import inspect
import os
import re
import textwrap
import types

from ad_compiler.front.convert import to_gast
from ad_compiler.runtime.core.errors import ADError
from ad_compiler.runtime.core.lru import LRU

# Bounded (see runtime/core/lru.py): keyed by the file's text, rebuilt when evicted.
_PARSED_FILES = LRU(64)


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
            got = self._lambdas[line] = _lambdas_on(ast.Module(spanning, []), line)
        return got


def parse_file(filename, lines):
    text = "".join(lines)
    key = (filename, hashlib.sha1(text.encode("utf-8", "replace")).hexdigest())
    parsed = _PARSED_FILES.get(key)
    if parsed is None:
        parsed = _PARSED_FILES[key] = _File(text, filename)
    return parsed


def definition(code, lines):
    """The gast FunctionDef (decorators dropped) of the def that ``code``
    was compiled from, with the file's line numbers."""
    first = code.co_firstlineno
    candidates = _in_block(code, lines)
    if not candidates:
        tree = parse_file(code.co_filename, lines).tree
        candidates = [n for n in ast.walk(tree)
                      if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))
                      and n.name == code.co_name and _first_line(n) == first]
    if not candidates:
        raise ADError("%s:%d: cannot locate the definition of %s; its source file may have "
                      "changed since it was imported: reload the module (importlib.reload) "
                      "or restart" % (os.path.basename(code.co_filename), first, code.co_name))
    node = to_gast(candidates[0])
    node.decorator_list = []
    return node


def _in_block(code, lines):
    """The defs parsed from the block of lines that starts at the def.

    The block ends at the last line any of its instructions spans, when
    the next line holding code is no deeper than the def and the text up
    to there parses (a trailing ``pass`` or string has no instruction);
    otherwise ``inspect.getblock`` finds the end, which tokenizes every
    line (a third of finding a method's source)."""
    first = code.co_firstlineno
    last = _last_line(code)
    quick = (last is not None and last >= first
             and _ends_before(lines, last, _indent(lines[first - 1])))
    for attempt in ("quick", "tokenized") if quick else ("tokenized",):
        try:
            block = lines[first - 1:last] if attempt == "quick" else \
                inspect.getblock(lines[first - 1:])
            # (blank lines above it: the tree has the file's line numbers)
            tree = ast.parse("\n" * (first - 1) + textwrap.dedent("".join(block)))
        except (SyntaxError, IndentationError, IndexError):
            continue
        found = [n for n in tree.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))]
        if found:
            return found
    return []


def _last_line(code):
    """The last source line that ``code`` or a code object nested in it spans."""
    last = None
    positions = getattr(code, "co_positions", None)
    if positions is not None:
        ends = [p[1] for p in positions() if p[1] is not None]
    else:
        ends = [line for _, line in dis.findlinestarts(code) if line is not None]
    if ends:
        last = max(ends)
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            inner = _last_line(const)
            if inner is not None and (last is None or inner > last):
                last = inner
    return last


def _ends_before(lines, last, indent):
    """Whether the first line after ``last`` that holds code is indented no
    deeper than ``indent`` (or there is none)."""
    for text in lines[last:]:
        stripped = text.strip()
        if stripped and not stripped.startswith("#"):
            return _indent(text) <= indent
    return True


def _indent(text):
    return len(text) - len(text.lstrip())


def _first_line(node):
    return min([node.lineno] + [d.lineno for d in node.decorator_list])


def _lambdas_on(tree, line):
    """The lambdas under ``tree`` that start on ``line``, in ``ast.walk``'s
    order (breadth first), without its generators (a fifth of a cold
    process's template parsing)."""
    found, todo, i = [], [tree], 0
    while i < len(todo):
        n = todo[i]
        i += 1
        if n.__class__ is ast.Lambda and n.lineno == line:
            found.append(n)
        for field in n._fields:
            v = getattr(n, field, None)
            if v.__class__ is list:
                todo.extend([x for x in v if isinstance(x, ast.AST)])
            elif isinstance(v, ast.AST):
                todo.append(v)
    return found


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
            # (blank lines above it: the tree has the file's line numbers)
            tree = ast.parse("\n" * (start - 1) + "".join(lines[start - 1:end]))
        except SyntaxError:
            continue        # the statement goes on
        return _lambdas_on(tree, line) or None
    return None


def lambda_definition(code, lines):
    line = code.co_firstlineno
    lambdas = _lambdas_near(lines, line)
    if lambdas is None:
        lambdas = list(parse_file(code.co_filename, lines).lambdas_at(line))
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
    return to_gast(fdef)


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
