"""Python and NumPy idioms that A-normal form lowers to plainer code.

Each function takes the :class:`~ad_compiler.front.anf.Normaliser` (for its
temporaries and helpers) and returns the lowered expression, or None when
the call is not the idiom:

* ``np.f(..., out=y)`` and ``np.copyto(y, x)``: a fresh result stored with
  ``y[...] = r``, a change the aliasing checks see;
* ``zip``/``map``/``enumerate``/``reversed`` outside a ``for`` header: the
  list comprehension they are consumed as;
* ``np.r_[a, b]``/``np.c_[a, b]``: the join they build.
"""
import gast

from ad_compiler import nodes as N

# NumPy functions that change an argument in place and have no functional form here.
_WRITES_INTO = frozenset(["at", "put", "place", "putmask", "fill_diagonal", "put_along_axis"])


def numpy_in_place(norm, e, out):
    """NumPy calls that write into an argument, as a fresh result stored
    with ``y[...] = r``, a change of ``y`` the aliasing checks see:
    ``np.f(..., out=y)`` and ``np.copyto(y, x)``.  The name of ``y``."""
    attr = e.func.attr if isinstance(e.func, gast.Attribute) else None
    keywords = {k.arg: k.value for k in e.keywords}
    if attr in _WRITES_INTO:
        raise norm.refuse(e, "np.%s writes into its first argument in place, which has "
                          "no adjoint here; build the result as a new array (for "
                          "np.add.at(y, i, v): y = y + np.bincount(i, v, len(y)) in 1-D)"
                          % ("ufunc.at" if attr == "at" else attr))
    if attr == "copyto" and len(e.args) == 2 and not e.keywords:
        target, value = e.args[0], norm.atom(e.args[1], out)
    elif "out" in keywords and not (isinstance(keywords["out"], gast.Constant)
                                    and keywords["out"].value is None):
        target = keywords["out"]
        if isinstance(target, gast.Tuple) and len(target.elts) == 1:
            target = target.elts[0]
        if set(keywords) - {"out", "dtype"}:
            raise norm.refuse(e, "out= together with %s is not supported; compute the "
                              "result, then store it: y[...] = np.where(mask, r, y)"
                              % ", ".join(sorted(set(keywords) - {"out"})))
        call = gast.Call(func=e.func, args=e.args,
                         keywords=[k for k in e.keywords if k.arg != "out"])
        value = norm.atom(call, out)
    else:
        return None
    if not isinstance(target, gast.Name):
        raise norm.refuse(e, "out= must name an array variable; compute the result and "
                          "store it: y[...] = result")
    store = N.subscript(N.name(target.id), N.const(Ellipsis), store=True)
    out.append(N.assign(store, value, e))
    return N.name(target.id)


def lazy_sequence(norm, e, out):
    """``zip``, ``map``, ``enumerate`` and ``reversed`` outside a ``for``
    header, as the list comprehension they would be consumed as (a
    ``for`` over them is lowered to indexing, which has adjoints)."""
    kind = norm.builtin_call(e)
    if kind not in ("zip", "map", "enumerate", "reversed") or e.keywords or not e.args \
            or any(isinstance(a, gast.Starred) for a in e.args):
        return None
    if kind == "map" and len(e.args) < 2 or kind == "reversed" and len(e.args) != 1:
        return None
    args = [norm.atom(a, out) for a in e.args]
    func, seqs = (args[0], args[1:]) if kind == "map" else (None, args)
    n = len(seqs) if kind in ("zip", "map") else (2 if kind == "enumerate" else 1)
    names = [norm.namer.fresh("_v") for _ in range(n)]
    loads = [N.name(v) for v in names]
    if kind == "map":
        elt = gast.Call(func=func, args=loads, keywords=[])
    else:
        elt = loads[0] if n == 1 else N.tuple_(loads)
    target = N.name(names[0], store=True) if n == 1 else \
        N.tuple_([N.name(v, store=True) for v in names], store=True)
    over = N.call(N.name(kind if kind != "map" else "zip"), seqs) \
        if kind != "map" or len(seqs) > 1 else seqs[0]
    comp = gast.ListComp(elt=elt, generators=[gast.comprehension(
        target=target, iter=over, ifs=[], is_async=0)])
    return norm.expr_ListComp(N.located_as(comp, e), out)


def index_trick(norm, e, out):
    """``np.r_[a, b]``/``np.c_[a, b]`` build an array from their index: as
    the join it is (``join`` has adjoints), or refused for the slice and
    string forms, whose values carry no gradient we could prove."""
    from ad_compiler.runtime.rules.arrays import join
    parts = e.slice.elts if isinstance(e.slice, gast.Tuple) else [e.slice]
    if any(isinstance(p, (gast.Slice, gast.Starred)) or isinstance(p, gast.Constant)
           and isinstance(p.value, str) for p in parts):
        raise norm.refuse(e, "np.%s with slices or string directives has no adjoint; "
                          "build the array with np.concatenate, np.arange or np.stack"
                          % e.value.attr)
    items = norm.temp(N.tuple_([norm.atom(p, out) for p in parts]), out, e)
    return N.call(norm.helper(join, "join"), [items, N.copy(items), N.const(None),
                                              N.const(e.value.attr)])
