"""Minimise a failing program while it keeps failing the same way.

Greedy and simple: enumerate one-step simplifications of the module's AST
(delete a statement, replace a compound statement by one of its bodies, drop
an ``else``, replace an expression by one of its operands), re-check each
candidate with the same arguments, keep the first that still shows the same
failure, and start again until no candidate does (or the budget runs out).
A candidate that breaks the program in plain Python is ``skipped`` by the
checker, so it is rejected automatically: no typing rules are needed here.
"""
import ast
import copy
import dataclasses
import time

from .check import check

_BLOCKS = ("body", "orelse")


def signature(outcome):
    """What must stay the same: status, stage, and exception type or reason."""
    first = outcome.first
    if first is None:
        return (outcome.status,)
    detail = first.exc_type if first.status == "crash" else first.reason
    return (first.status, first.stage, detail)


def _parents(tree):
    """(parent, field, index or None, child) for every child node, walk order."""
    for parent in ast.walk(tree):
        for name, value in ast.iter_fields(parent):
            if isinstance(value, list):
                for i, child in enumerate(value):
                    if isinstance(child, ast.AST):
                        yield parent, name, i, child
            elif isinstance(value, ast.AST):
                yield parent, name, None, value


def _statement_edits(node):
    """Smaller replacements for the statement ``node`` (lists of statements)."""
    yield []                                            # delete it
    if isinstance(node, (ast.If, ast.For, ast.While)):
        yield node.body                                 # run a body unconditionally
        if node.orelse:
            yield node.orelse
            bare = copy.copy(node)
            bare.orelse = []
            yield [bare]


def _expression_edits(node):
    """Simpler stand-ins for the expression ``node``: its operands, or 1.0."""
    if isinstance(node, ast.BinOp):
        yield from (node.left, node.right)
    elif isinstance(node, ast.UnaryOp):
        yield node.operand
    elif isinstance(node, ast.IfExp):
        yield from (node.body, node.orelse)
    elif isinstance(node, ast.BoolOp):
        yield from (node.values[0], node.values[-1])
    elif isinstance(node, ast.Compare) and len(node.ops) > 1:
        yield ast.Compare(node.left, node.ops[:1], node.comparators[:1])
    elif isinstance(node, ast.Call):
        yield from (a for a in node.args if not isinstance(a, ast.Starred))
    if isinstance(node, (ast.BinOp, ast.Call, ast.Subscript)):
        yield ast.Constant(1.0)


def _edits(tree):
    """Every one-step edit as (site number, replacement); the site is rebuilt per copy."""
    for k, (parent, name, i, child) in enumerate(_parents(tree)):
        if name in _BLOCKS and i is not None and isinstance(child, ast.stmt):
            if isinstance(child, (ast.Import, ast.ImportFrom)) or \
                    (isinstance(child, ast.FunctionDef) and child.name == "f"):
                continue                                # keep imports and f itself
            for new in _statement_edits(child):
                yield k, new
        elif isinstance(child, ast.expr) and not isinstance(getattr(child, "ctx", None),
                                                            (ast.Store, ast.Del)):
            for new in _expression_edits(child):
                yield k, new


def _apply(tree, k, new):
    """A copy of ``tree`` with site ``k`` replaced by ``new`` (as source text)."""
    tree = copy.deepcopy(tree)
    for j, (parent, name, i, child) in enumerate(_parents(tree)):
        if j != k:
            continue
        if isinstance(new, list):                       # statements replace a statement
            block = getattr(parent, name)
            block[i:i + 1] = copy.deepcopy(new)
            if not block:
                block.append(ast.Pass())
        elif i is None:
            setattr(parent, name, copy.deepcopy(new))
        else:
            getattr(parent, name)[i] = copy.deepcopy(new)
        break
    return ast.unparse(ast.fix_missing_locations(tree)) + "\n"


def candidates(source):
    """Every one-step simplification of ``source`` (module text), biggest first."""
    tree = ast.parse(source)
    edits = list(_edits(tree))
    # statement deletions first: they shrink fastest
    edits.sort(key=lambda e: 0 if isinstance(e[1], list) else 1)
    seen = {source}
    for k, new in edits:
        text = _apply(tree, k, new)
        if text not in seen:
            seen.add(text)
            yield text


def _check_for(outcome, order2):
    """Which checks a candidate needs to show the same failure (fewer = faster)."""
    stage = outcome.first.stage if outcome.first else ""
    second = order2 and stage in ("nested", "grad2", "hessian")
    return {"order2": second, "jvp": stage == "jvp"}


def shrink(program, outcome, order2=False, api=None, max_checks=400, max_seconds=60.0,
           loader=None):
    """The smallest variant of ``program`` that still fails like ``outcome``.

    After a success the next round resumes at the same candidate position
    (earlier candidates were just rejected and mostly stay so), and stops
    after a full round without success.  Returns ``(program, outcome,
    checks)``: the minimised program, its outcome and candidates checked.
    """
    want, options = signature(outcome), _check_for(outcome, order2)
    deadline, checks, pos = time.monotonic() + max_seconds, 0, 0
    best, best_outcome = program, outcome
    while checks < max_checks and time.monotonic() < deadline:
        texts = list(candidates(best.source))
        for step in range(len(texts)):
            if checks >= max_checks or time.monotonic() > deadline:
                return best, best_outcome, checks
            i, checks = (pos + step) % len(texts), checks + 1
            trial = dataclasses.replace(best, source=texts[i])
            result = check(trial, api=api, loader=loader, **options)
            if signature(result) == want:
                best, best_outcome, pos = trial, result, i
                break
        else:
            break                                   # a whole round without progress
    return best, best_outcome, checks
