"""Pytest entry of the differential fuzzer, plus tests of the fuzzer itself.

``test_fuzz_fixed_seed`` checks 300 generated programs against finite
differences and fails on any wrong answer, crash or mutated argument; its
message lists every failing program so it can become a regression test.
The other tests pin down the generator, the oracle and the shrinker with
fake derivative functions, so they do not depend on the compiler's state.
"""
import os
import subprocess
import sys
import time

import numpy as np
import pytest

from ad_compiler import ADError
from tests.fuzz.check import Api, Loader, check, normalise
from tests.fuzz.gen import FEATURES, Program, generate
from tests.fuzz.run import FAILURES, run_programs, summarize
from tests.fuzz.shrink import shrink

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _failure_message(records):
    parts = []
    for r in records:
        outcome = r["outcome"]
        if outcome.status not in FAILURES:
            continue
        program = generate(r["seed"])
        parts.append("--- seed %d: %s\n%s\nargs: %r\nreproduce: python -m tests.fuzz.run "
                     "--show %d\n%s" % (r["seed"], outcome.family(),
                                        "\n".join("  [%s/%s] %s" % (x.status, x.stage, x.detail)
                                                  for x in outcome.findings),
                                        program.args, r["seed"], program.source))
    return "\n".join(parts)


def test_fuzz_fixed_seed():
    """300 programs, seed 0: no wrong answer, no crash, no changed argument.
    (CI runs the first 60 of them on the Pythons other than the default one,
    through AD_FUZZ_PROGRAMS, to stay within its time.)"""
    n = int(os.environ.get("AD_FUZZ_PROGRAMS", "300"))
    records = run_programs(n, seed=0, fraction=0.3, jobs=min(2, os.cpu_count() or 1))
    status = summarize(records)["status"]
    bad = {s: status[s] for s in FAILURES if status[s]}
    assert not bad, "fuzzer found %s in %d programs:\n%s" % (bad, n, _failure_message(records))


# -- the generator -----------------------------------------------------------
def test_generator_is_deterministic():
    for seed in range(30):
        a, b = generate(seed), generate(seed)
        assert (a.source, a.params, a.tags) == (b.source, b.params, b.tags)
        assert all(np.array_equal(x, y) for x, y in zip(a.args, b.args))


def test_generator_ignores_the_hash_seed():
    """Same programs in processes with different string hashing."""
    code = "from tests.fuzz.gen import generate; print([generate(s).source for s in range(40)])"
    outs = [subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                           text=True, env=dict(os.environ, PYTHONHASHSEED=h)).stdout
            for h in ("1", "2")]
    assert outs[0] and outs[0] == outs[1]


def test_every_feature_appears():
    seen = set()
    for seed in range(500):
        seen |= generate(seed).tags
    assert FEATURES <= seen, "never generated: %s" % sorted(FEATURES - seen)


def test_generated_programs_run_in_plain_python(tmp_path):
    loader, good = Loader(str(tmp_path)), 0
    for seed in range(300):
        program = generate(seed)
        module = loader.load(program.source, program.params)
        with np.errstate(all="ignore"):
            y = module.f(*program.fresh_args())
        good += np.ndim(y) == 0 and bool(np.isfinite(y))
        loader.unload(module)
    assert good >= 0.97 * 300


def test_programs_do_not_change_their_arguments(tmp_path):
    loader = Loader(str(tmp_path))
    for seed in range(100):
        program = generate(seed)
        args = program.fresh_args()
        with np.errstate(all="ignore"):
            module = loader.load(program.source, program.params)
            module.f(*args)
        loader.unload(module)
        assert all(np.array_equal(a, b) for a, b in zip(args, program.args)), program.source


# -- the oracle, with fake derivative functions --------------------------------
SQUARE = Program(1, "import numpy as np\n\ndef f(x1, a1):\n    return x1 * np.sum(a1 * a1)\n",
                 (("x1", "s"), ("a1", "v")), (0.7, np.array([0.1, -0.2, 0.3])), frozenset())


def _true_grad(f, x, a):
    return (float(np.sum(a * a)), 2 * x * a)


def _true_jvp(f, primals, tangents):
    (x, a), (dx, da) = primals, tangents
    return f(x, a), dx * np.sum(a * a) + np.sum(2 * x * a * da)


def _verdict(gradient=_true_grad, jvp=_true_jvp, program=SQUARE, **kw):
    outcome = check(program, api=Api(gradient=gradient, jvp=jvp), **kw)
    return outcome.status, outcome.first


def test_oracle_accepts_true_derivatives():
    assert _verdict()[0] == "ok"


def test_oracle_flags_a_wrong_gradient():
    status, finding = _verdict(gradient=lambda f, x, a: (1.1 * np.sum(a * a), 2 * x * a))
    assert (status, finding.stage) == ("wrong", "gradient")


def test_oracle_flags_a_wrong_tangent_and_primal():
    status, finding = _verdict(jvp=lambda f, p, t: (_true_jvp(f, p, t)[0], 0.0))
    assert (status, finding.stage, finding.reason) == ("wrong", "jvp", "jvp tangent")
    status, finding = _verdict(jvp=lambda f, p, t: (1.0, _true_jvp(f, p, t)[1]))
    assert finding.reason == "jvp primal"


def test_oracle_flags_a_changed_argument():
    def mutating(f, x, a):
        out = _true_grad(f, x, a)
        a[0] = 5.0
        return out
    assert _verdict(gradient=mutating)[0] == "mutated"


def test_oracle_sorts_exceptions():
    def refuse(f, *args):
        raise ADError("adfuzz_1_2.py:7: 'y12' is a view; take a copy at line 9")

    def crash(f, *args):
        raise ValueError("boom")
    status, finding = _verdict(gradient=refuse)
    assert status == "refused" and finding.reason == "'y#' is a view; take a copy at line #"
    assert _verdict(gradient=crash)[0] == "crash"


def test_oracle_counts_cpu_timeouts_as_crashes():
    def spin(f, *args):
        while True:
            pass
    status, finding = _verdict(gradient=spin, timeout=0.3)
    assert (status, finding.reason) == ("crash", "timeout")


def test_oracle_counts_blocking_hangs_as_crashes():
    def slow(f, *args):
        time.sleep(3)
    status, finding = _verdict(gradient=slow, timeout=0.2)    # wall backstop: 1.2 s
    assert (status, finding.reason) == ("crash", "timeout")


def test_oracle_discards_branch_switch_inside_the_step():
    jump = Program(2, "def f(x1):\n    return x1 + (1.0 if x1 > 0.7 else 0.0)\n",
                   (("x1", "s"),), (0.7 + 2e-7,), frozenset())
    status, finding = _verdict(gradient=lambda f, x: (1.0,),
                               jvp=lambda f, p, t: (f(*p), t[0]), program=jump)
    assert (status, finding.stage) == ("skipped", "fd")


def test_oracle_checks_the_int_slot():
    counted = Program(3, "def f(x1, n):\n    return x1 * n\n", (("x1", "s"), ("n", "n")),
                      (0.5, 2), frozenset())
    jvp = lambda f, p, t: (f(*p), t[0] * p[1])  # noqa: E731
    ok = check(counted, api=Api(gradient=lambda f, x, n: (float(n), None), jvp=jvp))
    assert (ok.status, ok.int_slots) == ("ok", ["None"])
    bad = check(counted, api=Api(gradient=lambda f, x, n: (float(n), 1.0), jvp=jvp))
    assert bad.status == "wrong" and bad.first.reason == "int slot not 0.0/None"


def test_normalise_strips_places_and_generated_names():
    text = "adfuzz_9_3.py:12: <mutating form of _h3>:4: cannot find the source of _h3\nmore"
    assert normalise(text) == "cannot find the source of _h#"


# -- the shrinker ----------------------------------------------------------------
def test_shrinker_keeps_the_failure_and_drops_the_rest():
    """A fake gradient 'crashes' whenever np.sin is in f: the shrunk f keeps np.sin only."""
    def fake(f, *args):
        import inspect
        if "np.sin" in inspect.getsource(f):
            raise ValueError("sin is broken")
        raise ADError("refused")
    program = next(p for p in map(generate, range(200)) if "np.sin(" in p.source
                   and p.source.count("\n") > 15)
    api = Api(gradient=fake, jvp=fake)
    outcome = check(program, api=api)
    assert outcome.status == "crash"
    small, small_outcome, _ = shrink(program, outcome, api=api, max_seconds=30)
    assert small_outcome.status == "crash" and "np.sin(" in small.source
    assert small.source.count("\n") < program.source.count("\n") / 2


if __name__ == "__main__":
    sys.exit(pytest.main([__file__, "-q"]))
