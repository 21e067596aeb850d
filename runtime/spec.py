"""Call specs: which parts of a call in generated code are differentiated.

A spec is a tuple of entries, written into generated code as a literal
(``call_fwd(m, ('fn', 0), x)``):

* ``"fn"``: the callable itself (its closure cells, its bound ``self``);
* an int ``i``: positional argument ``i`` (negative: counted from the end,
  after a ``*args``);
* a str ``k``: keyword argument ``k``;
* ``("*", i, n)``: a starred argument written at position ``i`` of ``n``:
  every position it expanded to;
* ``("**", named)``: a ``**mapping``: its keys, except the keywords written
  out (``named``).

:func:`places` is the one decoder of an entry: every user of a spec (the
parameter slots of a callee, a constructor's fields, forward mode's
tangents) maps its places.

>>> places(("*", 1, 3), 5, {})
('star', [1, 2, 3])
>>> places(("**", ("a",)), 2, {"a": 1, "b": 2})
('dstar', ['b'])
"""


def places(entry, n_args, kwargs):
    """``(form, places)`` of a spec entry other than ``"fn"``, for a call with
    ``n_args`` positional arguments and the keywords ``kwargs``: ``form`` is
    ``"one"`` (one argument), ``"star"`` (a tuple of positions) or ``"dstar"``
    (a dict of keywords); a place is a position (int) or a keyword (str)."""
    if isinstance(entry, int):
        return "one", [entry if entry >= 0 else n_args + entry]
    if isinstance(entry, str):
        return "one", [entry]
    if entry[0] == "*":
        _, i, n = entry
        return "star", list(range(i, n_args - (n - 1 - i)))
    named = set(entry[1])
    return "dstar", [k for k in kwargs if k not in named]


def gathered(form, places_, value_at):
    """The value of an entry from the values of its places: one value, a tuple
    for ``*args``, a dict for ``**kwargs``."""
    if form == "one":
        return value_at(places_[0])
    if form == "star":
        return tuple(value_at(p) for p in places_)
    return {k: value_at(k) for k in places_}


def scattered(form, places_, value):
    """``(place, value)`` pairs of an entry's value over its places (the
    inverse of :func:`gathered`; one value given for a ``*args`` is
    every position's, and a ``**kwargs`` value True marks every key)."""
    if form == "one":
        return [(places_[0], value)]
    if form == "star":
        items = value if isinstance(value, (tuple, list)) else [value] * len(places_)
        return list(zip(places_, items))
    if value is True:
        return [(k, True) for k in places_]
    return [(k, value.get(k)) for k in places_ if value.get(k) is not None]


def shifted(entry):
    """The entry of ``x.method(*args)`` in the call ``method(x, *args)``: the
    callable becomes argument 0, and every position moves by one."""
    if entry == "fn":
        return 0
    if isinstance(entry, int):
        return entry + 1 if entry >= 0 else entry
    if isinstance(entry, tuple) and entry[0] == "*":
        return ("*", entry[1] + 1, entry[2] + 1)
    return entry
