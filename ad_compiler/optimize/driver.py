"""Stage 6: optimise generated functions.

* dead code: pure assignments whose targets are never read;
* copy propagation: ``ba = bz`` followed by uses of ``ba``;
* folding: a temporary used once is substituted into its use, so
  ``_t1 = x ** 2; _t2 = 3 * _t1`` reads ``_t2 = 3 * x ** 2``;
* accumulations: ``a = e1; a = a + e2`` becomes ``a = e1 + e2``;
* constants: ``1.0 * 3`` is ``3.0``, ``e * 1.0`` is ``e``, ``x ** 1`` is ``x``;
* common subexpressions (:mod:`cse`): ``math.cos(x)`` evaluated once.

Only compiler-made names (temporaries and adjoints) are ever renamed or
folded away: user variables keep their names because nested functions
may read them.  Nothing is moved into a loop, across a statement that
writes a name it reads, or across a call that may have side effects.

Each pass reports whether it changed anything; per-statement facts
(names read, written and mutated in place) are computed once per pass.

The per-statement facts live in :mod:`facts`, the state every pass asks
(counts, kinds, purity, views) in :mod:`base`, the passes in :mod:`dce`
and :mod:`folding`; this module puts them together and says their order.
"""
from ad_compiler import nodes as N
from ad_compiler.optimize.base import OptimizerBase
from ad_compiler.optimize.cse import cse
from ad_compiler.optimize.dce import DeadCode
from ad_compiler.optimize.folding import Folding
from ad_compiler.optimize.hoist import hoist_products
from ad_compiler.optimize.residuals import shape_residuals
from ad_compiler.optimize.branches import tidy_branches
from ad_compiler.optimize.stack_loops import walk_stacks


def optimize(fdef, ctx):
    """Optimise one generated FunctionDef in place and return it."""
    opt = Optimizer(fdef, ctx)
    opt.new_pass()
    cse(fdef, opt)              # once: later passes only remove and fold
    _fixpoint(fdef, opt)
    opt.new_pass()
    if hoist_products(fdef, opt):
        _fixpoint(fdef, opt)
    walk_stacks(fdef, ctx.externs)
    tidy_branches(fdef, ctx.externs)
    for s in N.statements(fdef.body):
        opt.changed(s, deep=False)          # (branches were rewritten in place)
    opt.new_pass()
    shape_residuals(fdef, opt)        # last: it rebinds names the passes assume fixed
    return fdef


def _fixpoint(fdef, opt):
    stale = True                    # the use counts are not those of fdef now
    for _ in range(8):
        changed = opt.constants()
        stale = stale or changed
        for step in (opt.copies, opt.fold, opt.merge_accumulations, opt.round_trips, opt.dce):
            if stale:
                # (recounting after a step that changed nothing would count
                # the same again: a fifth of the optimiser's time)
                opt.new_pass()
            stale = step(fdef.body)
            changed = changed or stale
        if not changed:
            break


class Optimizer(Folding, DeadCode, OptimizerBase):
    """The optimiser's state (:class:`base.OptimizerBase`) with its passes."""
