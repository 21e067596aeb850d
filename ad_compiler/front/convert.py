"""Python's ``ast`` to ``gast``, field by field.

gast's own converter is a generic ``NodeTransformer`` that builds each node
through keyword arguments; it was a third of finding a function's source,
and finding sources is paid for every function of a fresh model's first
step.  This one copies the fields directly and differs from gast's only
where gast's node classes differ from ``ast``'s (Python >= 3.10):

* a parameter is ``Name(id, Param(), annotation, type_comment)``, not ``arg``;
* ``Name`` carries ``annotation`` and ``type_comment`` (both None);
* an except handler's name is a ``Name`` in ``Store`` context;
* a def or class has ``type_params`` (empty before Python 3.12).

Any node class outside what was checked (type parameters, and every
class on Python < 3.10) goes through gast's converter instead, so the
result is always what gast would give: ``tests/test_source.py`` compares
the two on every function of the project and of part of the standard
library.
"""
import ast
import sys

import gast

# Classes whose gast form is "the same fields, converted": everything but
# the special cases below and type parameters (whose gast fields differ by
# Python version: gast's converter handles them).
_FAST = sys.version_info >= (3, 10)
_GAST_CLASS = {}
_SLOW = frozenset(["TypeVar", "TypeVarTuple", "ParamSpec"])


def to_gast(node):
    """The gast form of the ``ast`` tree ``node``.

    >>> import ast
    >>> to_gast(ast.parse("def f(x): return x").body[0]).args.args[0].id
    'x'
    """
    if not _FAST:
        return gast.ast_to_gast(node)
    return _convert(node)


def _convert(node):
    tp = node.__class__
    special = _SPECIAL.get(tp)
    if special is not None:
        return special(node)
    cls = _GAST_CLASS.get(tp)
    if cls is None:
        cls = None if tp.__name__ in _SLOW else getattr(gast, tp.__name__, None)
        if cls is None:
            return gast.ast_to_gast(node)
        _GAST_CLASS[tp] = cls
    new = cls.__new__(cls)
    for field in tp._fields:
        setattr(new, field, _value(getattr(node, field, None)))
    return _located(new, node)


def _value(value):
    """A field's value converted: a node, a list of them, or as it is."""
    if value.__class__ is list:
        return [_convert(v) if isinstance(v, ast.AST) else v for v in value]
    if isinstance(value, ast.AST):
        return _convert(value)
    return value


_MISSING = object()


def _located(new, node):
    for attr in node._attributes:
        value = getattr(node, attr, _MISSING)
        if value is not _MISSING:
            setattr(new, attr, value)
    return new


def _name(node):
    return _located(gast.Name(node.id, _convert(node.ctx), None, None), node)


def _arg(node):
    return _located(gast.Name(node.arg, gast.Param(), _value(node.annotation),
                              node.type_comment), node)


def _handler(node):
    name = gast.Name(node.name, gast.Store(), None, None) if node.name else None
    return _located(gast.ExceptHandler(_value(node.type), name, _value(node.body)), node)


def _with_type_params(tp):
    """A def or class: gast gives it ``type_params`` on every Python."""
    def convert(node):
        cls = getattr(gast, tp.__name__)
        new = cls.__new__(cls)
        for field in cls._fields:
            value = getattr(node, field, _MISSING)
            if value is _MISSING:
                value = [] if field == "type_params" else None
            setattr(new, field, _value(value))
        return _located(new, node)
    return convert


_SPECIAL = {ast.Name: _name, ast.arg: _arg, ast.ExceptHandler: _handler}
for _tp in (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef):
    _SPECIAL[_tp] = _with_type_params(_tp)
