"""Stage 1: find a function's source and parse it into a gast FunctionDef.

Handles module-level functions, nested functions, methods (dedented),
decorated functions (decorators are dropped, never re-run), lambdas (the
right one is picked by matching the code object, even when two share a
line; :mod:`locate`) and functions whose source lives only in :mod:`linecache` (IPython
cells, and our own generated code).
"""
import linecache
import os
import re

import gast

from ad_compiler import nodes as N
from ad_compiler.front import locate
from ad_compiler.runtime.callee import unwrap  # noqa: F401  (re-exported)
from ad_compiler.runtime.core.errors import ADError, MissingReturnError, public_name
from ad_compiler.runtime.core.lru import LRU
from ad_compiler.runtime.generated import GENERATED, register_source  # noqa: F401


class Source:
    """A parsed function: the gast node plus where it came from."""

    __slots__ = ("node", "filename", "name", "lineno", "code", "origin", "scope")

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
        # (every name in it, its local names): set by the first build that
        # asks, shared by the builds after (the tree is never changed in place)
        self.scope = None

    def __repr__(self):
        return "<Source %s at %s:%d>" % (self.name, self.filename, self.lineno)


# Bounded (see runtime/core/lru.py): sources keyed by code object, rebuilt
# when evicted.
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
        node = locate.lambda_definition(code, lines)
    else:
        node = locate.definition(code, lines)
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
