"""The rewriting passes that shrink a block: copy propagation, folding a
temporary used once into its use, merging accumulations, dropping round
trips (``b = a`` after ``a = b``) and simplifying constants."""
import gast

from ad_compiler import nodes as N
from ad_compiler.optimize.facts import _COMPOUND, _SIMPLE, _header
from ad_compiler.optimize.simplify import Simplify


class Folding:
    """Copies, folding, accumulations, round trips and constants: a mixin
    over :class:`base.OptimizerBase`."""

    # ------------------------------------------------------------ copies

    def _deleting(self, stmts, step, delete_at):
        """The loop every deleting pass shares: ``step`` runs on the blocks
        nested in each statement first, then ``delete_at(stmts, i)`` may
        remove statement ``i`` (True if it did).  Whether anything changed."""
        changed = False
        i = 0
        while i < len(stmts):
            changed = self.nested(stmts[i], step) | changed
            if delete_at(stmts, i):
                changed = True
                continue
            i += 1
        return changed

    def copies(self, stmts):
        return self._deleting(stmts, self.copies, self._copy_at)

    def _copy_at(self, stmts, i):
        s = stmts[i]
        if (s.__class__ is gast.Assign and s.targets[0].__class__ is gast.Name
                and s.value.__class__ in (gast.Name, gast.Constant)
                and self.ours(s.targets[0].id) and self.counts.get(s.targets[0].id) == 1
                and self._propagate(stmts, i, s.targets[0].id, s.value)):
            self.counts[s.targets[0].id] = 0
            return True
        return False

    def _propagate(self, stmts, i, a, src):
        """Replace uses of ``a`` (defined by ``a = src`` at ``i``) by ``src``.

        Every use must come before anything writes ``src`` or mutates ``a``
        or ``src`` in place; then the copy is deleted.
        """
        want = self.uses.get(a, 0)
        watched = {a} | ({src.id} if src.__class__ is gast.Name else set())
        seen = 0
        last = i
        for j in range(i + 1, len(stmts)):
            if seen == want:
                break
            f = self.facts(stmts[j])
            seen += f.loads.get(a, 0)
            last = j
            if seen < want and f.touched & watched:
                return False
            if seen == want and f.mutated & watched:
                return False
            if seen == want and f.touched & watched and stmts[j].__class__ not in _SIMPLE:
                return False      # a loop or branch may write ``src`` before its use
        if seen != want:
            return False
        for j in range(i + 1, last + 1):
            _replace_name(stmts[j], a, src)
            self.changed(stmts[j])
        if src.__class__ is gast.Name:
            self.uses[src.id] = self.uses.get(src.id, 0) + want - 1
        del stmts[i]
        return True

    # ------------------------------------------------------------ folding

    def fold(self, stmts):
        return self._deleting(stmts, self.fold, self._fold_at)

    def _fold_at(self, stmts, i):
        s = stmts[i]
        if not self._foldable(s):
            return False
        name = s.targets[0].id
        j = self._use_site(name, stmts, i, s.value)
        if j is None:
            return False
        _replace_name(stmts[j], name, s.value, once=True)
        self.changed(stmts[j])
        del stmts[i]
        self.counts[name] = 0
        return True

    def _foldable(self, s):
        if not (s.__class__ is gast.Assign and s.targets[0].__class__ is gast.Name):
            return False
        name = s.targets[0].id
        return (self.ours(name) and self.counts.get(name) == 1 and self.uses.get(name) == 1
                and s.value.__class__ not in (gast.List, gast.Dict) and self.pure(s.value))

    def _use_site(self, name, stmts, i, expr):
        reads = self.viewed(self.facts(stmts[i]).loads)
        for j in range(i + 1, len(stmts)):
            s = stmts[j]
            f = self.facts(s)
            if s.__class__ not in _COMPOUND:
                if name in f.loads:         # (a simple statement is its own header)
                    return j
            elif name in N.loaded_names(_header(s)):
                return j if s.__class__ is gast.If else None
            elif name in f.loads:
                return None            # used deeper inside a compound statement
            if f.touched & (reads | {name}) or not self._barrier_free(s, reads):
                return None
        return None

    def _barrier_free(self, s, reads):
        cls = s.__class__
        if cls is gast.Assign or cls is gast.AugAssign:
            if _is_stack_call(s.value, "pop"):
                return True
            return self.pure(s.value) and not (self.facts(s).mutated & reads)
        if cls is gast.Pass:
            return True
        # Pushing onto one of our stacks touches nothing an expression reads.
        return cls is gast.Expr and _is_stack_call(s.value, "append") and \
            not (self.facts(s).mutated & reads)

    # ------------------------------------------------------------ accumulations

    def merge_accumulations(self, stmts):
        """``a = e1`` then ``a = a + e2`` becomes ``a = e1 + e2``."""
        return self._deleting(stmts, self.merge_accumulations, self._merge_at)

    def _merge_at(self, stmts, i):
        s = stmts[i]
        nxt = stmts[i + 1] if i + 1 < len(stmts) else None
        if (_plain_assign(s) and _plain_assign(nxt) and s.targets[0].id == nxt.targets[0].id
                and self.ours(s.targets[0].id) and nxt.value.__class__ is gast.BinOp
                and nxt.value.op.__class__ is gast.Add
                and nxt.value.left.__class__ is gast.Name
                and nxt.value.left.id == s.targets[0].id
                and s.targets[0].id not in N.loaded_names(nxt.value.right)):
            nxt.value.left = s.value
            self.changed(nxt)
            del stmts[i]
            return True
        return False

    def round_trips(self, stmts):
        """Drop ``b = a`` when ``a = b`` was the last thing to touch either."""
        changed = False
        equal = set()
        out = []
        for s in stmts:
            changed = self.nested(s, self.round_trips) | changed
            if _plain_assign(s) and s.value.__class__ is gast.Name:
                pair = (s.targets[0].id, s.value.id)
                if (pair[1], pair[0]) in equal or pair[0] == pair[1]:
                    changed = True
                    continue
                equal = {p for p in equal if not (set(p) & self.facts(s).touched)}
                equal.add(pair)
                out.append(s)
                continue
            if s.__class__ not in (gast.Assign, gast.AugAssign, gast.Expr):
                equal = set()
            touched = self.facts(s).touched
            equal = {p for p in equal if not (set(p) & touched)}
            out.append(s)
        stmts[:] = out
        return changed

    # ------------------------------------------------------------ constants

    def constants(self):
        any_change = False
        for s in self.fdef.body:
            if s.__dict__.get("_simple"):
                continue                        # unchanged since it was simplified
            if not self.facts(s).ops:
                s._simple = True                # no operator: nothing to simplify
                continue
            simplify = Simplify(getattr(s, "adjoint", False), self.numeric)
            simplify.statement(s)
            if simplify.changed:
                self.changed(s)
                any_change = True
            s._simple = True
        return any_change


def _is_stack_call(call, method):
    return (call.__class__ is gast.Call and call.func.__class__ is gast.Attribute
            and call.func.attr == method and call.func.value.__class__ is gast.Name
            and call.func.value.id.startswith("_stack"))


def _plain_assign(s):
    return s.__class__ is gast.Assign and s.targets[0].__class__ is gast.Name


def _replace_name(node, name, value, once=False):
    done = [False]

    def replace(n):
        if (n.__class__ is gast.Name and n.id == name and n.ctx.__class__ is gast.Load
                and not (once and done[0])):
            done[0] = True
            return N.copy(value)
        return n

    N.transform(node, replace)

