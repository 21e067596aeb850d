"""Stage 7: unparse and compile generated code.

Unparsing uses the standard library's ``ast.unparse`` (Python >= 3.9),
which renders NumPy subscripts such as ``x[:, 1]`` correctly; on Python
3.8, where it does not exist, ``astunparse`` is used instead (its output
is valid there, since subscripts of slices are still ``ExtSlice`` nodes).
``astunparse`` gives invalid code for ``x[:, 1]`` on Python >= 3.9, so it
is never used there.

Generated functions share the user's module globals (so globals stay
live) and receive everything else they need through a factory closure.
Each source line of the user's code is shown as a comment above the
generated code that came from it, and the text is registered with
``linecache`` so tracebacks and ``pdb`` show it.
"""
import ast
import hashlib
import linecache
import os
import sys

import gast

from ad_compiler.front.source import register_source

INDENT = "    "


def unparse(node):
    """Source text for one gast or ast node."""
    tree = _to_ast(node) if type(node).__module__.startswith("gast") else node
    if sys.version_info >= (3, 9):
        return ast.unparse(tree)
    import astunparse  # pragma: no cover - Python 3.8
    return astunparse.unparse(tree).strip()


def _to_ast(node, used=None):
    """gast to ast; statements the compiler made have no line (``None``: no comment).
    Every name read or written is added to the set ``used`` (when given).

    A direct copy, field by field (gast's own converter, a generic visitor
    plus ``copy_location`` and a walk to mark missing lines, was two thirds
    of rendering and a sixth of a small function's compile time).  gast
    differs from ast (Python >= 3.9) only in parameters (``Name`` nodes in
    ``Param`` context there, ``arg`` here) and in an except handler's name.
    """
    tp = node.__class__
    convert = _SPECIAL.get(tp)
    if convert is not None:
        return convert(node, used)
    cls = _AST_CLASS.get(tp)
    if cls is None:
        cls = _AST_CLASS[tp] = getattr(ast, tp.__name__)
        _STATEMENT[cls] = issubclass(cls, ast.stmt)
    new = cls.__new__(cls)     # (no __init__: Python 3.13 warns about fields set after it)
    for field in cls._fields:
        value = getattr(node, field, None)
        if value.__class__ is list:
            value = [_to_ast(v, used) if isinstance(v, gast.AST) else v for v in value]
        elif isinstance(value, gast.AST):
            value = _to_ast(value, used)
        setattr(new, field, value)
    if _STATEMENT[cls]:         # (only statements' lines are read: for the comments)
        _locate(new, node)
    return new


def _locate(new, node):
    new.lineno = getattr(node, "lineno", None)
    new.end_lineno = getattr(node, "end_lineno", None)
    new.col_offset = getattr(node, "col_offset", 0)
    new.end_col_offset = getattr(node, "end_col_offset", 0)


def _name(node, used):
    if used is not None:
        used.add(node.id)
    return ast.Name(node.id, _CONTEXTS[node.ctx.__class__])


def _arg(node, used):
    if node is None:
        return None
    new = ast.arg(node.id, node.annotation and _to_ast(node.annotation, used), node.type_comment)
    _locate(new, node)
    return new


def _arguments(node, used):
    return ast.arguments([_arg(a, used) for a in node.posonlyargs],
                         [_arg(a, used) for a in node.args],
                         _arg(node.vararg, used), [_arg(a, used) for a in node.kwonlyargs],
                         [d if d is None else _to_ast(d, used) for d in node.kw_defaults],
                         _arg(node.kwarg, used), [_to_ast(d, used) for d in node.defaults])


def _handler(node, used):
    new = ast.ExceptHandler(node.type and _to_ast(node.type, used),
                            node.name.id if node.name is not None else None,
                            [_to_ast(s, used) for s in node.body])
    _locate(new, node)
    return new


_AST_CLASS = {}
_STATEMENT = {}     # ast class -> whether it is a statement
_CONTEXTS = {gast.Load: ast.Load(), gast.Store: ast.Store(), gast.Del: ast.Del()}
_SPECIAL = {gast.Name: _name, gast.arguments: _arguments, gast.ExceptHandler: _handler}


class Printer:
    """Prints statements, with ``# file:line: source`` above each user line."""

    def __init__(self, filename):
        self.filename = filename
        self.lines = []
        self.last = None

    def comment(self, node, depth):
        lineno = getattr(node, "lineno", None)
        if lineno is None or lineno == self.last or self.filename is None:
            return
        self.last = lineno
        text = linecache.getline(self.filename, lineno).strip()
        where = "%s:%d" % (os.path.basename(self.filename), lineno)
        self.lines.append(INDENT * depth + "# %s: %s" % (where, text) if text else
                          INDENT * depth + "# " + where)

    def block(self, stmts, depth):
        if not stmts:
            self.lines.append(INDENT * depth + "pass")
        for s in stmts:
            self.stmt(s, depth)

    def stmt(self, s, depth):
        pad = INDENT * depth
        if isinstance(s, ast.If):
            self.comment(s, depth)
            self.lines.append(pad + "if %s:" % unparse(s.test))
            self.block(s.body, depth + 1)
            while (len(s.orelse) == 1 and isinstance(s.orelse[0], ast.If)
                   and getattr(s.orelse[0], "lineno", None) == getattr(s, "lineno", None)):
                s = s.orelse[0]
                self.lines.append(pad + "elif %s:" % unparse(s.test))
                self.block(s.body, depth + 1)
            if s.orelse:
                self.lines.append(pad + "else:")
                self.block(s.orelse, depth + 1)
        elif isinstance(s, ast.For):
            self.comment(s, depth)
            self.lines.append(pad + "for %s in %s:" % (unparse(s.target), unparse(s.iter)))
            self.block(s.body, depth + 1)
        elif isinstance(s, ast.While):
            self.comment(s, depth)
            self.lines.append(pad + "while %s:" % unparse(s.test))
            self.block(s.body, depth + 1)
        elif isinstance(s, ast.FunctionDef) and getattr(s, "generated", False):
            self.lines.append(pad + "def %s(%s):" % (s.name, unparse(s.args)))
            self.last = None
            self.block(s.body, depth + 1)
        else:
            self.comment(s, depth)
            for line in unparse(s).splitlines():
                self.lines.append(pad + line)


def function_def(name, params, body, lineno=None):
    """A generated FunctionDef (printed with per-line comments)."""
    args = gast.arguments(args=[gast.Name(id=p, ctx=gast.Param(), annotation=None,
                                          type_comment=None) for p in params],
                          posonlyargs=[], vararg=None, kwonlyargs=[], kw_defaults=[],
                          kwarg=None, defaults=[])
    fdef = gast.FunctionDef(name=name, args=args, body=body, decorator_list=[], returns=None,
                            type_comment=None, type_params=[])
    fdef.generated = True
    if lineno is not None:
        fdef.lineno = lineno
    return fdef


def render(functions, candidates, header, filename):
    """``(text, externs)``: the full module text, a factory taking the externs
    and returning the functions, and the externs it takes: those of
    ``candidates`` (name -> object) that the functions use."""
    printer = Printer(filename)
    used = set()
    for fdef in functions:
        printer.last = None
        tree = _to_ast(fdef, used)
        tree.generated = True
        printer.stmt(tree, 1)
    names = sorted(k for k in candidates if k in used)
    result = ", ".join(f.name for f in functions)
    lines = ["# " + header, "def _factory(%s):" % ", ".join(names)] + printer.lines
    lines.append(INDENT + "return " + result + ("," if len(functions) == 1 else ""))
    return "\n".join(lines) + "\n", {k: candidates[k] for k in names}


def compile_module(text, externs, user_globals, label):
    """Compile ``text`` and return its functions (a tuple) and its file name."""
    digest = hashlib.sha1(text.encode("utf-8")).hexdigest()[:10]
    filename = "<ad_compiler %s %s>" % (label, digest)
    register_source(filename, text)
    code = compile(text, filename, "exec")
    namespace = {}
    exec(code, user_globals, namespace)        # defines only _factory, in ``namespace``
    names = sorted(externs)
    functions = namespace["_factory"](*[externs[n] for n in names])
    for f in functions:
        # Its cells are the factory's externs: constants, not inputs, when the
        # generated function is itself differentiated.
        f.__ad_generated__ = True
        # Its own text, for when the bounded GENERATED cache has dropped it
        # and the function is differentiated again (higher orders).
        f.__ad_source__ = text
    return functions, filename
