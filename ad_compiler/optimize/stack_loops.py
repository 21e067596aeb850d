"""Reverse loops that walk a stack instead of popping it.

A loop whose every iteration saved one value before it was overwritten is
undone by popping it back::

    for i in _range1[::-1]:             for x in reversed(_stack_x):
        x = _stack_x.pop()       ->         bx = bx * (0.1 + 1.01 * math.cos(x))
        bx = bx * (...)

when the stack belongs to this loop pair alone (one push, directly in the
body of a top-level loop, and one pop) and ``i`` is read nowhere: the stack
is filled once and read once, back to front, so walking it gives the same
values as popping it, one call per iteration cheaper.
"""
import gast

from ad_compiler import nodes as N


def _pop_of(s):
    """``(target, stack)`` for ``x = _stack_x.pop()``, else None."""
    if not (isinstance(s, gast.Assign) and isinstance(s.targets[0], gast.Name)):
        return None
    call = s.value
    if isinstance(call, gast.Call) and not call.args and not call.keywords and \
            isinstance(call.func, gast.Attribute) and call.func.attr == "pop" and \
            isinstance(call.func.value, gast.Name) and call.func.value.id.startswith("_stack"):
        return s.targets[0].id, call.func.value.id
    return None


def _is_reversed_range(loop):
    it = loop.iter
    return isinstance(loop.target, gast.Name) and isinstance(it, gast.Subscript) and \
        isinstance(it.slice, gast.Slice) and it.slice.lower is None and \
        it.slice.upper is None and _minus_one(it.slice.step)


def _minus_one(node):
    if isinstance(node, gast.UnaryOp) and isinstance(node.op, gast.USub):
        return isinstance(node.operand, gast.Constant) and node.operand.value == 1
    return isinstance(node, gast.Constant) and node.value == -1


def _pushed_once_per_iteration(fdef, stack):
    """The stack's one push stands directly in the body of a top-level loop."""
    pushes = [s for loop in fdef.body if isinstance(loop, (gast.For, gast.While))
              for s in N.statements(loop.body)
              if isinstance(s, gast.Expr) and isinstance(s.value, gast.Call)
              and isinstance(s.value.func, gast.Attribute)
              and s.value.func.attr == "append"
              and isinstance(s.value.func.value, gast.Name) and s.value.func.value.id == stack]
    if len(pushes) != 1:
        return False
    return any(pushes[0] in loop.body for loop in fdef.body
               if isinstance(loop, (gast.For, gast.While)))


def walk_stacks(fdef, externs):
    """Rewrite the top-level reverse loops of ``fdef`` that can walk their stack."""
    loops = [loop for loop in fdef.body
             if isinstance(loop, gast.For) and _is_reversed_range(loop) and loop.body
             and all(isinstance(s, gast.Pass) for s in loop.orelse)]
    if not loops:
        return          # (no walk over the whole function for its loads)
    loads = {}
    for n in N.walk(fdef):
        if isinstance(n, gast.Name) and isinstance(n.ctx, gast.Load):
            loads[n.id] = loads.get(n.id, 0) + 1
    for loop in loops:
        if loads.get(loop.target.id, 0) != 0:
            continue
        popped = _pop_of(loop.body[0])
        if popped is None or loads.get(popped[1]) != 2 or \
                not _pushed_once_per_iteration(fdef, popped[1]):
            continue
        loop.target = N.name(popped[0], store=True)
        loop.iter = N.call(N.name(externs.ref(reversed, "reversed")), [N.name(popped[1])])
        loop.body = loop.body[1:] or [gast.Pass()]
