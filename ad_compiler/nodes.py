"""Small builders for gast nodes, so passes read as what they build."""
import gast


def name(id_, store=False):
    return gast.Name(id=id_, ctx=gast.Store() if store else gast.Load(),
                     annotation=None, type_comment=None)


def const(value):
    return gast.Constant(value=value, kind=None)


def assign(target, value, like=None):
    if isinstance(target, str):
        target = name(target, store=True)
    node = gast.Assign(targets=[target], value=value, type_comment=None)
    return located_as(node, like)


def call(func, args=(), keywords=()):
    if isinstance(func, str):
        func = dotted(func)
    return gast.Call(func=func, args=[as_node(a) for a in args],
                     keywords=[gast.keyword(arg=k, value=as_node(v)) for k, v in keywords])


def dotted(path):
    """``"np.linalg.inv"`` as a chain of Attribute nodes."""
    parts = path.split(".")
    node = name(parts[0])
    for p in parts[1:]:
        node = gast.Attribute(value=node, attr=p, ctx=gast.Load())
    return node


def attribute(value, attr, store=False):
    return gast.Attribute(value=as_node(value), attr=attr,
                          ctx=gast.Store() if store else gast.Load())


def subscript(value, index, store=False):
    return gast.Subscript(value=as_node(value), slice=as_node(index),
                          ctx=gast.Store() if store else gast.Load())


def tuple_(elts, store=False):
    return gast.Tuple(elts=[as_node(e) for e in elts],
                      ctx=gast.Store() if store else gast.Load())


def binop(left, op, right):
    return gast.BinOp(left=as_node(left), op=op, right=as_node(right))


def expr_stmt(value, like=None):
    return located_as(gast.Expr(value=value), like)


def if_(test, body, orelse=(), like=None):
    return located_as(gast.If(test=as_node(test), body=list(body) or [gast.Pass()],
                              orelse=list(orelse)), like)


def for_(target, iter_, body, like=None):
    if isinstance(target, str):
        target = name(target, store=True)
    return located_as(gast.For(target=target, iter=as_node(iter_), body=list(body),
                               orelse=[], type_comment=None), like)


def as_node(v):
    """Strings are names, other Python values are constants, nodes stay."""
    if isinstance(v, gast.AST):
        return v
    if isinstance(v, str):
        return name(v)
    return const(v)


def located_as(node, like):
    """Give ``node`` the source line of ``like`` (for errors and comments)."""
    if like is not None and getattr(like, "lineno", None) is not None:
        node.lineno = like.lineno
        node.col_offset = getattr(like, "col_offset", 0)
    return node


def is_atom(node):
    return isinstance(node, (gast.Name, gast.Constant))


_AST = gast.AST


def statements(stmts):
    """Every statement of ``stmts`` and of the if/for/while blocks inside them,
    in program order (nested function bodies are not entered)."""
    for s in stmts:
        yield s
        if isinstance(s, (gast.If, gast.For, gast.While)):
            yield from statements(s.body)
            yield from statements(s.orelse)


def walk(node, into=None):
    """Every node under ``node`` (or under each node of a list), in no set order;
    with ``into``, the nodes for which ``into(n)`` is false are given but not
    entered (a nested function's own scope, say).

    Contexts and operators (``Load``, ``Add``, ``Eq``...) are not given: they
    are read through their parent's ``ctx``, ``op`` and ``ops``, and they were
    two nodes in five.  A plain stack over the fields that can hold nodes (the
    class's ``_CHILDREN``): several times faster than ``gast.walk``, which
    matters because the optimiser walks statements many times.
    """
    stack = list(node) if isinstance(node, list) else [node]
    pop, extend = stack.pop, stack.extend
    while stack:
        n = pop()
        yield n
        if into is not None and not into(n):
            continue
        fields = _CHILDREN.get(n.__class__)
        if fields is None:
            fields = _children(n.__class__)
        for field in fields:
            v = getattr(n, field, None)
            if v.__class__ is list:
                extend([x for x in v if isinstance(x, _AST)])
            elif v is not None and isinstance(v, _AST):
                stack.append(v)


# Fields that hold a name, a number or a flag in every gast class, never a
# node, and those that hold only a context or operators (see ``walk``).
_LEAF_FIELDS = frozenset(["id", "attr", "kind", "type_comment", "arg", "asname", "module",
                          "level", "is_async", "conversion", "n", "s", "simple",
                          "ctx", "op", "ops"])
_CHILDREN = {gast.Constant: ()}      # (its value is a Python object, never a node)


_STATELESS = frozenset(c for c in vars(gast).values() if isinstance(c, type) and issubclass(
    c, (gast.expr_context, gast.operator, gast.cmpop, gast.unaryop, gast.boolop)))


def _children(cls):
    fields = _CHILDREN[cls] = tuple(f for f in cls._fields if f not in _LEAF_FIELDS)
    return fields


def transform(node, fn):
    """Rewrite ``node`` bottom-up: children first, then ``fn(node)`` replaces it.

    Contexts and operators are not given to ``fn`` (as in :func:`walk`).  Much
    faster than ``ast.NodeTransformer``, whose generic visitor dominates
    compile time otherwise.
    """
    fields = _CHILDREN.get(node.__class__)
    if fields is None:
        fields = _children(node.__class__)
    for field in fields:
        v = getattr(node, field, None)
        if v.__class__ is list:
            for i, x in enumerate(v):
                if isinstance(x, _AST):
                    v[i] = transform(x, fn)
        elif v is not None and isinstance(v, _AST):
            setattr(node, field, transform(v, fn))
    return fn(node)


def names_in(node):
    """Every Name id read or written anywhere under ``node``."""
    return {n.id for n in walk(node) if n.__class__ is gast.Name}


def loaded_names(node):
    return {n.id for n in walk(node)
            if n.__class__ is gast.Name and n.ctx.__class__ is gast.Load}


def copy(node):
    """A deep copy of an AST (or a list of them): faster than ``copy.deepcopy``.
    Contexts and operators are shared, not copied: they hold no state."""
    if node.__class__ is list:
        return [copy(x) for x in node]
    if node.__class__ in _STATELESS or not isinstance(node, _AST):
        return node
    new = node.__class__.__new__(node.__class__)
    d = new.__dict__
    for k, v in node.__dict__.items():
        d[k] = copy(v) if (v.__class__ is list or isinstance(v, _AST)) else v
    return new


def index_value(index, slice_name="slice"):
    """An index as an ordinary expression: ``1:3`` becomes ``slice(1, 3, None)``.

    Subscripts may contain slices, call arguments may not.
    """
    if isinstance(index, gast.Slice):
        return call(name(slice_name), [copy(p) if p is not None else const(None)
                                       for p in (index.lower, index.upper, index.step)])
    if isinstance(index, gast.Tuple):
        return tuple_([index_value(e, slice_name) for e in index.elts])
    return copy(index)


def rewrite_blocks(stmts, fn):
    """Each statement, inner blocks first, replaced by the list ``fn(s)`` returns."""
    out = []
    for s in stmts:
        if isinstance(s, (gast.If, gast.For, gast.While)):
            s.body = rewrite_blocks(s.body, fn)
            s.orelse = rewrite_blocks(s.orelse, fn)
        out.extend(fn(s))
    return out
