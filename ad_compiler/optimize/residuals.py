"""Free big forward values early when the adjoint needs only their shape.

``_t1 = x @ W1; h = np.tanh(_t1 + b1)`` keeps the pre-activation alive
until the adjoint's ``unbroadcast(bh, _t1)``, which reads nothing but its
shape.  Holding such buffers through the adjoint costs memory, and time
too: the allocator cannot reuse them (the float32 MLP gradient runs 2-3%
slower).  After the value's last use in the forward sweep, this pass
rebinds it to ``shape_only(_t1)``, a one-element view with the same shape
and dtype.  Only straight-line, once-assigned values qualify, and a user's own
variables only where no nested function could read them later.
"""
import gast

from ad_compiler import nodes as N
from ad_compiler.runtime import helpers as H
from ad_compiler.runtime.core import kinds as K


def shape_residuals(fdef, opt):
    """Insert ``v = shape_only(v)`` where it is safe; True if any was."""
    if opt.ctx.options.mode == "jvp":
        return False
    body = fdef.body
    unbroadcast = opt.ctx.externs.by_id.get(id(H.unbroadcast))
    if unbroadcast is None:
        return False
    start = next((i for i, s in enumerate(body) if getattr(s, "adjoint", False)), len(body))
    forward, adjoint = body[:start], body[start:]      # (the return belongs to the adjoint)
    assigned = {}
    for s in body:
        for name, n in opt.facts(s).stores.items():
            assigned[name] = assigned.get(name, 0) + n
    candidates = {s.targets[0].id for s in forward if _plain(s)
                  and assigned.get(s.targets[0].id) == 1
                  and K.is_array(opt.ctx.kinds.get(s.targets[0].id))}
    candidates &= _shape_only_uses(adjoint, unbroadcast)
    if not candidates:
        return False
    # A nested function may read a user's variable later through its closure.
    users = {c for c in candidates if not opt.ours(c)}
    if users and any(n.__class__ in (gast.FunctionDef, gast.Lambda) for n in N.walk(body)):
        candidates -= users
        if not candidates:
            return False
    last = {}
    for i, s in enumerate(forward):
        for name in N.loaded_names(s) & candidates:
            last[name] = i
    stub = opt.ctx.externs.ref(H.shape_only, "shape_only")
    for name, i in sorted(last.items(), key=lambda item: -item[1]):
        new = N.assign(name, N.call(N.name(stub), [N.name(name)]), body[i])
        body.insert(i + 1, new)
    return bool(last)


def _plain(s):
    return s.__class__ is gast.Assign and s.targets[0].__class__ is gast.Name


def _shape_only_uses(stmts, unbroadcast):
    """Names read in ``stmts`` only as ``unbroadcast``'s second argument."""
    shape_only, witnesses, loads = set(), set(), []
    for n in N.walk(stmts):
        cls = n.__class__
        if cls is gast.Name:
            if n.ctx.__class__ is gast.Load:
                loads.append(n)
        elif (cls is gast.Call and n.func.__class__ is gast.Name
              and n.func.id == unbroadcast and len(n.args) == 2
              and n.args[1].__class__ is gast.Name):
            witnesses.add(id(n.args[1]))
            shape_only.add(n.args[1].id)
    return shape_only - {n.id for n in loads if id(n) not in witnesses}
