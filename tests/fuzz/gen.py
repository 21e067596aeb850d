"""Random, well-typed Python/NumPy programs for differential fuzzing.

``generate(seed)`` returns a :class:`Program`: the text of a module defining
``f`` (plus module-level helpers), the kinds of ``f``'s parameters, sampled
arguments and the set of feature tags the program uses.  Everything is a
pure function of the seed.

Typing discipline (why programs never fail in plain Python):

* every variable has a kind: ``s`` float scalar, ``v`` array (3,), ``m``
  array (2, 3), ``n`` the int argument (1..3), ``i`` a loop counter (0..2);
* variables created inside a block are forgotten when the block ends, so
  nothing is read that a branch may not have bound;
* arrays are changed in place only when they are *owned*: made by
  ``.copy()`` (or views/aliases of such), so the caller's arguments are
  never changed by the program itself;
* divisions are by ``1 + t*t``, ``exp``/``log``/``sqrt`` only see safe
  arguments, and loops run at most 3 times.
"""
import random
from dataclasses import dataclass

import numpy as np

# Every tag the generator can emit; test_fuzz checks all of them show up.
FEATURES = frozenset("""
arith div pow neg np_unary exp log_sqrt math_call reduce reduce_axis dot outer where
maximum abs index broadcast matmul ifexp boolop boolop_loop boolop_ifexp boolop_filter
not chained_cmp if elif else early_return early_return_nested dead_code for while break
continue aug_assign list_append neg_index comp comp_append comp_filter dict_iter
dict_values dict_index dict_merge tuple nested_unpack zip enumerate reversed copy index_store
aug_inplace view chained_store alias mask_store mutating_helper const_helper helper
default_arg recursion closure closure_2nd lambda lambda_in_loop int_arg int_range
int_index int_ones
""".split())

SHAPES = {"s": (), "v": (3,), "m": (2, 3)}


@dataclass
class Program:
    """One generated test case: module source, parameter kinds, arguments, tags."""
    seed: int
    source: str
    params: tuple          # ((name, kind), ...), kind in 's', 'v', 'm', 'n'
    args: tuple
    tags: frozenset

    def fresh_args(self):
        """Deep copies of the arguments, so no check sees another's changes."""
        return tuple(a.copy() if isinstance(a, np.ndarray) else a for a in self.args)


def _ind(lines):
    return ["    " + ln for ln in lines]


def _binop(g, a, b):
    return "(%s %s %s)" % (a, g.r.choice("+-*"), b)


# Expression tables: (tag, weight, builder(gen, depth) -> source text).
_SCALAR = [
    ("arith", 10, lambda g, d: _binop(g, g.s(d), g.s(d))),
    ("div", 2, lambda g, d: "%s / (1.0 + %s * %s)" % ((g.s(d),) + (g.s(0),) * 2)),
    ("pow", 2, lambda g, d: "%s ** %d" % (g.s(0), g.r.choice((2, 3)))),
    ("neg", 2, lambda g, d: "-%s" % g.s(0)),
    ("np_unary", 4, lambda g, d: "np.%s(%s)" % (g.r.choice(("sin", "cos", "tanh")), g.s(d))),
    ("exp", 2, lambda g, d: g.r.choice(("np.exp(np.tanh(%s))", "np.exp(0.5 * np.sin(%s))"))
     % g.s(d)),
    ("log_sqrt", 2, lambda g, d: "np.%s(1.0 + %s ** 2)" % (g.r.choice(("log", "sqrt")),
                                                           g.s(0))),
    ("math_call", 2, lambda g, d: g.r.choice(("math.sin(%s)", "math.cos(%s)",
                                              "math.exp(0.5 * math.cos(%s))")) % g.s(d)),
    ("reduce", 4, lambda g, d: "np.%s(%s)" % (g.r.choice(("sum", "mean", "max")),
                                              g.arr(d))),
    ("dot", 2, lambda g, d: "np.dot(%s, %s)" % (g.vec(d), g.vec(0))),
    ("abs", 1, lambda g, d: "np.abs(%s)" % g.s(d)),
    ("maximum", 1, lambda g, d: "np.maximum(%s, %s)" % (g.s(d), g.const())),
    ("ifexp", 2, lambda g, d: "(%s if %s else %s)" % (g.s(d), g.cond(1, "ifexp"), g.s(d))),
    ("index", 3, lambda g, d: g.element()),
    (None, 3, lambda g, d: g.helper_call(d)),
    ("int_ones", 1, lambda g, d: "np.sum(np.ones(n) * %s)" % g.s(d) if g.has("n") else None),
]
_VECTOR = [
    ("arith", 6, lambda g, d: _binop(g, g.vec(d), g.vec(d))),
    ("broadcast", 4, lambda g, d: _binop(g, g.vec(d), g.s(d))),
    ("np_unary", 3, lambda g, d: "np.%s(%s)" % (g.r.choice(("sin", "cos", "tanh")), g.vec(d))),
    ("exp", 1, lambda g, d: "np.exp(np.tanh(%s))" % g.vec(d)),
    ("where", 2, lambda g, d: "np.where(%s > %s, %s, %s)" % (g.vec(0), g.const(), g.vec(d),
                                                            g.s(0))),
    ("maximum", 2, lambda g, d: "np.maximum(%s, %s)" % (g.vec(d), g.const())),
    ("abs", 1, lambda g, d: "np.abs(%s)" % g.vec(d)),
    ("index", 2, lambda g, d: "%s[%d]" % (g.mat(0), g.r.randint(0, 1))),
    ("reduce_axis", 1, lambda g, d: "np.%s(%s, axis=0)" % (g.r.choice(("sum", "mean")),
                                                           g.mat(d))),
    ("matmul", 1, lambda g, d: "(%s.T @ %s[:, 0]) * 0.5" % (g.mat(0), g.mat(0))),
]
_MATRIX = [
    ("arith", 4, lambda g, d: _binop(g, g.mat(d), g.mat(d))),
    ("broadcast", 3, lambda g, d: _binop(g, g.mat(d), g.r.choice((g.vec, g.s))(d))),
    ("np_unary", 2, lambda g, d: "np.%s(%s)" % (g.r.choice(("sin", "cos", "tanh")), g.mat(d))),
    ("outer", 2, lambda g, d: "np.outer(%s[:, 1], %s)" % (g.mat(0), g.vec(d))),
    ("where", 1, lambda g, d: "np.where(%s > %s, %s, 0.0)" % (g.mat(0), g.const(), g.mat(d))),
]


class _Gen:
    """Builds one program; ``env`` maps visible variable names to kinds."""

    def __init__(self, seed):
        self.r = random.Random(seed)
        self.tags, self.helpers, self.env, self.owned = set(), [], {}, set()
        self.count, self.depth, self.loops = 0, 0, 0

    # -- small utilities -------------------------------------------------
    def fresh(self, prefix):
        self.count += 1
        return "%s%d" % (prefix, self.count)

    def has(self, kind):
        return any(k == kind for k in self.env.values())

    def names(self, kind):
        return [n for n, k in self.env.items() if k == kind]

    def const(self, lo=-1.0, hi=1.0):
        c = round(self.r.uniform(lo, hi), 2)
        return "(%r)" % c if c < 0 else repr(c)

    def pick(self, table):
        """A weighted choice from an expression table: (tag, builder)."""
        tag, _, build = self.r.choices(table, weights=[w for _, w, _ in table])[0]
        return tag, build

    def table_expr(self, table, d, atom):
        """An expression from ``table`` of depth <= d (an atom at the leaves)."""
        if d <= 0 or self.r.random() < 0.3:
            return atom()
        tag, build = self.pick(table)
        text = build(self, d - 1)
        if text is None:
            return atom()
        if tag:
            self.tags.add(tag)
        return text

    # -- expressions -----------------------------------------------------
    def s(self, d=2):
        return self.table_expr(_SCALAR, d, self.scalar_atom)

    def vec(self, d=1):
        return self.table_expr(_VECTOR, d, self.vec_atom)

    def mat(self, d=1):
        return self.table_expr(_MATRIX, d, self.mat_atom)

    def arr(self, d=1):
        return self.mat(d) if self.has("m") and self.r.random() < 0.4 else self.vec(d)

    def expr(self, kind, d=2):
        return {"s": self.s, "v": self.vec, "m": self.mat}[kind](d)

    def scalar_atom(self):
        names = self.names("s")
        if self.has("i") and self.r.random() < 0.2:
            return "(0.25 * %s)" % self.r.choice(self.names("i"))
        return self.r.choice(names) if names and self.r.random() < 0.85 else self.const()

    def vec_atom(self):
        names = self.names("v")
        if names and self.r.random() < 0.9:
            return self.r.choice(names)
        return "(np.ones(3) * %s)" % self.scalar_atom()

    def mat_atom(self):
        names = self.names("m")
        if names and self.r.random() < 0.9:
            return self.r.choice(names)
        return "np.outer(np.array([1.0, -0.5]), %s)" % self.vec_atom()

    def element(self):
        """One element of an array: constant, loop-counter or int-argument index."""
        if self.has("m") and self.r.random() < 0.3:
            fmt = self.r.choice(("%s[%d, %d]", "%s[%d][%d]"))
            return fmt % (self.mat_atom(), self.r.randint(0, 1), self.r.randint(0, 2))
        if self.has("n") and self.r.random() < 0.4:
            self.tags.add("int_index")
            return "%s[n - 1]" % self.vec_atom()
        if self.has("i") and self.r.random() < 0.4:
            return "%s[%s]" % (self.vec_atom(), self.r.choice(self.names("i")))
        return "%s[%d]" % (self.vec_atom(), self.r.choice((0, 1, 2, -1)))

    def cond(self, d=1, ctx=None):
        """A condition on values: comparison, chained comparison, and/or/not."""
        roll = self.r.random()
        if d > 0 and roll < 0.3:
            self.tags.add("boolop")
            if ctx:
                self.tags.add("boolop_" + ctx)
            op = self.r.choice(("and", "or"))
            return "%s %s %s" % (self.cond(0, ctx), op, self.cond(0, ctx))
        if d > 0 and roll < 0.4:
            self.tags.add("not")
            return "not %s" % self.cond(0, ctx)
        if roll < 0.6:
            self.tags.add("chained_cmp")
            lo = self.r.uniform(-1.0, 0.5)
            return "%.2f < %s < %.2f" % (lo, self.s(1), lo + self.r.uniform(0.3, 1.5))
        return "%s %s %s" % (self.s(1), self.r.choice(("<", ">", "<=", ">=")), self.const())

    # -- helpers at module level ------------------------------------------
    def add_helper(self, tag, head, body):
        """A module-level ``def``; ``{name}`` in the body is its own name."""
        name = self.fresh("_h")
        lines = [ln.format(name=name) for ln in body]
        self.helpers.append("\n".join(["def %s%s" % (name, head)] + _ind(lines)))
        self.tags.add(tag)
        return name

    def helper_call(self, d):
        kind = self.r.choice(("helper", "const_helper", "default_arg", "recursion"))
        if kind == "helper":
            h = self.add_helper(kind, "(t, u):", ["return np.sin(t) * u + 0.5 * t"])
            return "%s(%s, %s)" % (h, self.s(d), self.s(0))
        if kind == "const_helper":
            h = self.add_helper(kind, "(t):", ["return %s" % self.const(0.5, 2.0)])
            return "(%s(%s) * %s)" % (h, self.s(0), self.s(d))
        if kind == "default_arg":
            h = self.add_helper(kind, "(t, k=2.0):", ["return t * k + np.cos(t)"])
            return self.r.choice(("%s(%s)", "%s(%s, 0.5)", "%s(%s, k=-1.0)")) % (h, self.s(d))
        h = self.add_helper(kind, "(x, k):", ["return x if k == 0 else {name}(x * 0.9 + 0.1, k - 1)"])
        count = "n" if self.has("n") and self.r.random() < 0.5 else str(self.r.randint(0, 3))
        return "%s(%s, %s)" % (h, self.s(d), count)

    # -- statements --------------------------------------------------------
    def block(self, lo=1, hi=2):
        """A nested block: its new names are dropped afterwards (may be unbound)."""
        saved_env, saved_owned = dict(self.env), set(self.owned)
        self.depth += 1
        lines = []
        for _ in range(self.r.randint(lo, hi)):
            lines += self.stmt(top=False)
        self.depth -= 1
        self.env, self.owned = saved_env, saved_owned
        return _ind(lines)   # lo >= 1: never empty where a body is needed

    def stmt(self, top):
        """One statement (or a few) chosen from the makers fit for this place."""
        fit = [(m, w) for m, w, where in MAKERS
               if where == "any" or (where == "top" and top)
               or (where == "nest" and self.depth < 2) or (where == "loop" and self.loops)]
        maker = self.r.choices([m for m, _ in fit], weights=[w for _, w in fit])[0]
        return maker(self)

    def bounded(self, text):
        """Inside loops, squash what feeds a loop-carried update: repeated
        ``x *= x`` grows doubly exponentially, and huge intermediates that
        cancel later make finite differences meaningless."""
        return "np.tanh(%s)" % text if self.loops else text

    def loop_cond(self, d=1):
        return self.cond(d, "loop" if self.loops else None)

    def ret_expr(self):
        """A scalar summary of up to three recent values: what ``f`` returns."""
        recent = [n for n, k in self.env.items() if k in "svm"][-3:]
        parts = [n if self.env[n] == "s" else "np.sum(%s)" % n for n in recent]
        return " + ".join(parts + [self.s(1)])

    def owned_names(self):
        # sorted: set order depends on the string hash seed of the process
        return sorted(n for n in self.owned if n in self.env)


# -- statement makers: gen -> list of source lines ---------------------------
def m_new_var(g):
    """A new variable of a random kind."""
    kind = g.r.choice("sssvm" if g.has("m") else "ssssv")
    name = g.fresh({"s": "s", "v": "y", "m": "w"}[kind])
    line = "%s = %s" % (name, g.expr(kind))
    g.env[name] = kind
    return [line]


def m_update(g):
    """Rebind (or augment) an existing variable, keeping its kind."""
    name = g.r.choice([n for n, k in g.env.items() if k in "svm"])
    kind, e = g.env[name], g.bounded(g.expr(g.env[name], 1))
    if kind == "s" and g.r.random() < 0.4:
        g.tags.add("aug_assign")
        return ["%s %s= %s" % (name, g.r.choice("+-*"), e)]
    if kind != "s" and name in g.owned and g.r.random() < 0.5:
        g.tags.add("aug_inplace")
        return ["%s %s= %s" % (name, g.r.choice("+-*"), g.r.choice((e, g.bounded(g.s(1)))))]
    return [g.r.choice(("%s = %s * 0.5 + %s", "%s = np.tanh(%s + %s)")) % (name, name, e)]


def m_if(g):
    """if / elif / else on values."""
    g.tags.add("if")
    lines = ["if %s:" % g.loop_cond()] + g.block()
    if g.r.random() < 0.4:
        g.tags.add("elif")
        lines += ["elif %s:" % g.loop_cond()] + g.block()
    if g.r.random() < 0.6:
        g.tags.add("else")
        lines += ["else:"] + g.block()
    return lines


def m_return(g):
    """An early return inside an if (sometimes two deep, with dead code after it)."""
    g.tags.add("early_return")
    body = ["return " + g.ret_expr()]
    if g.r.random() < 0.3:
        g.tags.add("dead_code")
        body.append("%s = 1.0" % g.fresh("dead"))
    if g.r.random() < 0.35:
        g.tags.add("early_return_nested")
        body = ["if %s:" % g.loop_cond()] + _ind(body)
    return ["if %s:" % g.loop_cond()] + _ind(body)


def _range(g):
    """range(k) with a constant k, or range(n) with the int argument."""
    if g.has("n") and g.r.random() < 0.4:
        g.tags.add("int_range")
        return "range(n)"
    return "range(%d)" % g.r.randint(1, 3)


def m_for(g):
    """A for loop over range(k) or range(n)."""
    g.tags.add("for")
    i = g.fresh("i")
    g.env[i], g.loops = "i", g.loops + 1
    lines = ["for %s in %s:" % (i, _range(g))] + g.block()
    del g.env[i]
    g.loops -= 1
    return lines


def m_while(g):
    """A while loop with a bounded counter, sometimes combined with a value test."""
    g.tags.add("while")
    j = g.fresh("j")
    cond = "%s < %d" % (j, g.r.randint(1, 3))
    g.loops += 1
    if g.r.random() < 0.4:
        g.tags.update(("boolop", "boolop_loop"))
        cond += g.r.choice((" and ", " or %s < 0 and " % j)) + g.cond(0, "loop")
    # the counter moves first, so a later `continue` cannot loop forever
    lines = ["%s = 0" % j, "while %s:" % cond, "    %s += 1" % j] + g.block()
    g.loops -= 1
    return lines


def m_break(g):
    """break / continue under a condition (inside loops only)."""
    word = g.r.choice(("break", "continue"))
    g.tags.add(word)
    return ["if %s:" % g.cond(1, "loop"), "    " + word]


def m_list(g):
    """A list built by append in a loop, then sum(l) and l[-1]."""
    l, acc, i = g.fresh("l"), g.fresh("s"), g.fresh("i")
    g.tags.update(("list_append", "neg_index", "for"))
    rng = _range(g)
    g.env[i] = "i"
    e = g.s(1)
    del g.env[i]
    lines = ["%s = []" % l, "for %s in %s:" % (i, rng), "    %s.append(%s)" % (l, e),
             "%s = sum(%s) + %s[-1]" % (acc, l, l)]
    if g.r.random() < 0.3:
        g.tags.add("reversed")
        t = g.fresh("t")
        lines += ["for %s in reversed(%s):" % (t, l), "    %s = %s * 0.5 + %s" % (acc, acc, t)]
    g.env[acc] = "s"
    return lines


def m_comp(g):
    """A list comprehension (sometimes filtered), then append and sum."""
    l, acc, t = g.fresh("l"), g.fresh("s"), g.fresh("t")
    g.tags.add("comp")
    src = g.vec_atom()
    g.env[t] = "s"
    e, filt = g.s(1), ""
    if g.r.random() < 0.4:
        g.tags.add("comp_filter")
        filt = " if " + g.cond(1, "filter")
    del g.env[t]
    lines = ["%s = [%s for %s in %s%s]" % (l, e, t, src, filt)]
    if g.r.random() < 0.6:
        g.tags.add("comp_append")
        lines.append("%s.append(%s)" % (l, g.s(1)))
    g.env[acc] = "s"
    return lines + ["%s = sum(%s)" % (acc, l)]


def m_dict(g):
    """A dict iterated by .items() or .values(), then indexed."""
    d, acc, k, val = g.fresh("d"), g.fresh("s"), g.fresh("k"), g.fresh("u")
    g.tags.add("dict_iter")
    lines = ["%s = {'a': %s, 'b': %s}" % (d, g.s(1), g.s(1)), "%s = 0.0" % acc]
    if g.r.random() < 0.35:
        # entries that later ones override: Python keeps the last of each key
        g.tags.add("dict_merge")
        lines.append(g.r.choice((
            "%s = {**%s, 'b': %s}" % (d, d, g.s(1)),
            "%s = {'a': %s, **%s}" % (d, g.s(1), d),
            "%s = {**%s, **{'a': %s}}" % (d, d, g.s(1)),
            "%s['a'] = %s" % (d, g.s(1)))))
    if g.r.random() < 0.5:
        lines.append("for %s, %s in %s.items():" % (k, val, d))
    else:
        g.tags.add("dict_values")
        lines.append("for %s in %s.values():" % (val, d))
    lines.append("    %s = %s + %s * %s" % (acc, acc, val, g.const()))
    if g.r.random() < 0.6:
        g.tags.add("dict_index")
        lines.append("%s = %s + %s['%s']" % (acc, acc, d, g.r.choice("ab")))
    g.env[acc] = "s"
    return lines


def m_tuple(g):
    """A tuple indexed, or nested tuple unpacking."""
    if g.r.random() < 0.5:
        g.tags.add("tuple")
        tp, a = g.fresh("tp"), g.fresh("s")
        lines = ["%s = (%s, %s)" % (tp, g.s(1), g.vec(1)),
                 "%s = %s[0] * np.sum(%s[1])" % (a, tp, tp)]
        g.env[a] = "s"
        return lines
    g.tags.add("nested_unpack")
    p, q, r = g.fresh("s"), g.fresh("s"), g.fresh("y")
    line = "%s, (%s, %s) = %s, (%s, %s)" % (p, q, r, g.s(1), g.s(1), g.vec(1))
    g.env.update({p: "s", q: "s", r: "v"})
    return [line]


def m_iter(g):
    """A loop over zip, enumerate or reversed."""
    acc, p, q = g.fresh("s"), g.fresh("p"), g.fresh("q")
    kind = g.r.choice(("zip", "enumerate", "reversed"))
    g.tags.update((kind, "for"))
    lines = ["%s = %s" % (acc, g.s(1))]
    if kind == "zip":
        lines.append("for %s, %s in zip(%s, %s):" % (p, q, g.vec_atom(), g.vec_atom()))
        g.env.update({p: "s", q: "s"})
    elif kind == "enumerate":
        lines.append("for %s, %s in enumerate(%s):" % (q, p, g.vec_atom()))
        g.env.update({p: "s", q: "i"})
    else:
        src = g.r.choice((g.vec_atom(), "range(3)"))
        lines.append("for %s in reversed(%s):" % (p, src))
        g.env[p] = "i" if src == "range(3)" else "s"
    g.loops += 1
    lines += ["    %s = %s * 0.5 + %s" % (acc, acc, g.s(1))] + g.block(0, 1)
    g.loops -= 1
    for name in (p, q):
        g.env.pop(name, None)
    g.env[acc] = "s"
    return lines


def m_copy(g):
    """An owned copy of an array, then an in-place change of it."""
    kind = g.r.choice("vm" if g.has("m") else "v")
    y = g.fresh("y")
    g.tags.add("copy")
    lines = ["%s = %s.copy()" % (y, g.vec_atom() if kind == "v" else g.mat_atom())]
    g.env[y] = kind
    g.owned.add(y)
    return lines + _inplace_on(g, y)


def m_inplace(g):
    """An in-place change of some owned array (a copy if none exists)."""
    owned = g.owned_names()
    if not owned:
        return m_copy(g) if g.depth == 0 else m_update(g)
    return _inplace_on(g, g.r.choice(owned))


def _mutating_helper(g, y):
    """Call a module-level helper that changes its array argument in place
    (variant 3: through a name the compiler cannot resolve, its result
    bound to a name nothing reads)."""
    variant = g.r.choice((0, 2, 3) if g.loops else (0, 1, 2, 3))   # no p *= p in loops
    if variant == 3:
        h = g.add_helper("mutating_helper", "(p, c):", ["p[0] = c", "return None"])
        fn, out = g.fresh("fn"), g.fresh("r")
        return ["%s = (%s,)[0]" % (fn, h), "%s = %s(%s, %s)" % (out, fn, y, g.s(1))]
    if variant == 0:
        h = g.add_helper("mutating_helper", "(p, c):", ["p += c", "return None"])
        return ["%s(%s, %s)" % (h, y, g.s(1))]
    if variant == 1:
        h = g.add_helper("mutating_helper", "(p):", ["p *= p", "return 1.0"])
        return ["%s(%s)" % (h, y)]
    h = g.add_helper("mutating_helper", "(p, c):", ["p[0] = c", "return np.sum(p)"])
    out, line = g.fresh("s"), "%s(%s, %s)" % (h, y, g.s(1))
    g.env[out] = "s"
    return ["%s = %s" % (out, line)]


def _inplace_on(g, y):
    """An in-place change of the owned array ``y`` (never a caller's argument)."""
    kind = g.env[y]
    ops = ["index_store", "aug_inplace", "mask_store", "view", "alias", "mutating_helper"]
    op = g.r.choice(ops + ["chained_store"] * (kind == "m"))
    g.tags.add(op)
    k = g.r.randint(0, 1)
    if op == "index_store":
        if kind == "m":
            return [g.r.choice(("%s[%d, 1] = %s" % (y, k, g.s(1)), "%s[%d] = %s" % (y, k, g.vec(1))))]
        if g.has("n"):
            g.tags.add("int_index")
        return ["%s[%s] = %s" % (y, "n - 1" if g.has("n") else k + 1, g.s(1))]
    if op == "aug_inplace":
        e = g.r.choice((g.s(1), g.expr(kind, 1)))
        return ["%s %s= %s" % (y, g.r.choice("*+-"), g.bounded(e))]
    if op == "mask_store":
        return ["%s[%s > %s] = %s" % (y, y, g.const(), g.s(1))]
    if op == "chained_store":
        return ["%s[%d][%d] = %s" % (y, k, g.r.randint(0, 2), g.s(1))]
    if op == "mutating_helper":
        return _mutating_helper(g, y)
    w = g.fresh("y")
    if op == "alias":
        lines = ["%s = %s" % (w, y), "%s += %s" % (y, g.s(1))]
    elif kind == "v":
        return ["%s = %s[1:]" % (w, y), "%s *= %s" % (w, g.bounded(g.s(1)))]
    else:
        lines = ["%s = %s[%d]" % (w, y, k), "%s %s= %s" % (w, g.r.choice("*+"),
                                                          g.bounded(g.s(1)))]
        kind = "v"
    g.env[w] = kind
    g.owned.add(w)
    return lines


def m_closure(g):
    """A closure, a closure in a closure, a lambda, or a lambda made in a loop."""
    kind = g.r.choice(("closure", "closure_2nd", "lambda", "lambda_in_loop"))
    g.tags.add(kind)
    h, out = g.fresh("g"), g.fresh("s")
    outer = g.r.choice(g.names("s") or [g.const()])     # an outer local, read late
    if kind == "closure":
        lines = ["def %s(t):" % h, "    return t * %s + np.sin(t)" % outer,
                 "%s = %s(%s)" % (out, h, g.s(1))]
    elif kind == "closure_2nd":
        lines = ["def %s(t):" % h, "    def inner(u):", "        return u * t + %s" % outer,
                 "    return inner(t * 0.5) + t", "%s = %s(%s)" % (out, h, g.s(1))]
    elif kind == "lambda":
        lines = ["%s = lambda t: t * t * 0.5 + %s" % (h, outer),
                 "%s = %s(%s) + %s(%s)" % (out, h, g.s(1), h, g.s(0))]
    else:
        i = g.fresh("i")
        lines = ["%s = 0.0" % out, "for %s in %s:" % (i, _range(g)),
                 "    %s = lambda t: t * %s + 0.1 * %s" % (h, outer, i),
                 "    %s = %s + %s(%s)" % (out, out, h, g.s(1))]
    g.env[out] = "s"
    return lines


# (maker, weight, where): where is 'any', 'top' (function body only),
# 'nest' (opens a block: at most two deep) or 'loop' (inside a loop only)
MAKERS = [
    (m_new_var, 10, "top"), (m_update, 8, "any"), (m_if, 6, "nest"), (m_return, 3, "any"),
    (m_for, 5, "nest"), (m_while, 3, "nest"), (m_break, 4, "loop"), (m_list, 3, "top"),
    (m_comp, 3, "top"), (m_dict, 2, "top"), (m_tuple, 2, "top"), (m_iter, 3, "top"),
    (m_copy, 3, "top"), (m_inplace, 5, "any"), (m_closure, 3, "top"),
]


def _params(r):
    """Parameter kinds: 1-3 floats (scalar or array), sometimes the int ``n``."""
    kinds = [r.choice("ssvm") for _ in range(r.randint(1, 3))]
    if r.random() < 0.35:
        kinds.insert(r.randint(0, len(kinds)), "n")
    names, counts = [], {}
    for k in kinds:
        counts[k] = counts.get(k, 0) + 1
        base = {"s": "x", "v": "a", "m": "b", "n": "n"}[k]
        names.append(base if k == "n" else "%s%d" % (base, counts[k]))
    return tuple(zip(names, kinds))


def _sample(r, kind):
    """One argument value of the given kind."""
    if kind == "n":
        return r.randint(1, 3)
    if kind == "s":
        return r.uniform(-1.5, 1.5)
    return np.array([r.uniform(-1.5, 1.5) for _ in range(int(np.prod(SHAPES[kind])))]
                    ).reshape(SHAPES[kind])


def generate(seed):
    """The program for ``seed`` (deterministic)."""
    g = _Gen(seed)
    params = _params(g.r)
    g.env.update(params)
    if g.has("n"):
        g.tags.add("int_arg")
    body = []
    for _ in range(g.r.randint(2, 5)):
        body += g.stmt(top=True)
    body.append("return " + g.ret_expr())
    if g.r.random() < 0.1:
        g.tags.add("dead_code")
        body.append("%s = 0.0" % g.fresh("dead"))
    head = "def f(%s):" % ", ".join(n for n, _ in params)
    parts = ["import math", "import numpy as np", ""] + [h + "\n" for h in g.helpers]
    source = "\n".join(parts + [head] + _ind(body)) + "\n"
    args = tuple(_sample(g.r, k) for _, k in params)
    return Program(seed, source, params, args, frozenset(g.tags))
