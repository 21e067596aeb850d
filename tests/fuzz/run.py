"""Command line: generate N programs, check them in parallel, shrink failures, report.

    python -m tests.fuzz.run --n 10000 --seed 0 --report tests/fuzz/REPORT.md
    python -m tests.fuzz.run --show 1000000042      # one program, verbosely

Program ``i`` of run seed ``S`` has seed ``S * 10**9 + i``, so any program
in a report can be regenerated alone with ``--show``.
"""
import argparse
import collections
import multiprocessing
import os
import random
import sys
import shutil
import tempfile
import time
import warnings

from .check import Loader, check
from .gen import generate
from .shrink import shrink

FAILURES = ("wrong", "crash", "mutated")
_WORKER = {}


def program_seed(run_seed, i):
    return run_seed * 10 ** 9 + i


def wants_order2(seed, fraction):
    """Whether program ``seed`` gets the second-order checks (deterministic)."""
    return random.Random(seed ^ 0x5EED).random() < fraction


def _init_worker(parent=None):
    """Per process: one module directory (under ``parent``, which the parent removes)."""
    warnings.simplefilter("ignore")       # overflow etc. in generated code: not our business
    _WORKER["loader"], _WORKER["done"] = Loader(tempfile.mkdtemp(dir=parent)), 0


def _check_one(task):
    """Worker: check one program; a small picklable record (no source unless failing)."""
    seed, fraction, timeout = task
    _WORKER["done"] += 1
    if _WORKER["done"] % 250 == 0:        # bound the compiler's caches in long runs
        from ad_compiler import clear_cache
        clear_cache()
    program, order2 = generate(seed), wants_order2(seed, fraction)
    start = time.monotonic()
    outcome = check(program, order2=order2, loader=_WORKER["loader"], timeout=timeout)
    return {"seed": seed, "outcome": outcome, "tags": sorted(program.tags),
            "order2": order2, "seconds": time.monotonic() - start}


def _shrink_one(task):
    """Worker: minimise one failing program (same order-2 setting as when found)."""
    seed, order2, outcome, budget = task
    small, small_outcome, checks = shrink(generate(seed), outcome, order2=order2,
                                          max_seconds=budget, loader=_WORKER["loader"])
    return seed, small.source, small_outcome, checks


def _parallel(function, tasks, jobs, ordered=False):
    """``function`` over ``tasks`` in ``jobs`` processes; yields results.

    Generated modules live in one temporary directory, removed at the end.
    """
    parent = tempfile.mkdtemp(prefix="adfuzz_")
    try:
        if jobs == 1:
            _init_worker(parent)
            yield from map(function, tasks)
            return
        ctx = multiprocessing.get_context("fork")
        with ctx.Pool(jobs, initializer=_init_worker, initargs=(parent,)) as pool:
            if ordered:
                yield from pool.map(function, tasks, chunksize=1)
            else:
                yield from pool.imap_unordered(function, tasks, chunksize=8)
    finally:
        _WORKER.clear()
        shutil.rmtree(parent, ignore_errors=True)


def run_programs(n, seed, fraction=0.3, jobs=None, timeout=10.0, progress=None):
    """Check ``n`` programs; the records, in seed order."""
    tasks = [(program_seed(seed, i), fraction, timeout) for i in range(n)]
    records, counts, start = [], collections.Counter(), time.monotonic()
    for record in _parallel(_check_one, tasks, jobs or os.cpu_count() or 1):
        records.append(record)
        counts[record["outcome"].status] += 1
        if progress and (len(records) % progress == 0 or len(records) == n):
            _print_progress(len(records), n, counts, time.monotonic() - start)
    return sorted(records, key=lambda r: r["seed"])


def _print_progress(done, n, counts, elapsed):
    parts = " ".join("%s %d" % (s, counts[s]) for s in
                     ("ok", "refused", "wrong", "crash", "mutated", "skipped"))
    print("[%d/%d] %s  (%.1f programs/s)" % (done, n, parts, done / max(elapsed, 1e-9)),
          flush=True)


def pick_for_shrinking(records, limit):
    """Failures to minimise: one per family first, then more, up to ``limit``."""
    by_family = collections.OrderedDict()
    for r in records:
        if r["outcome"].status in FAILURES:
            by_family.setdefault(r["outcome"].family(), []).append(r)
    chosen, depth = [], 0
    while len(chosen) < limit and any(len(v) > depth for v in by_family.values()):
        chosen += [v[depth] for v in by_family.values() if len(v) > depth]
        depth += 1
    return chosen[:limit]


def shrink_failures(records, limit, jobs=None, budget=60.0):
    """{seed: (shrunk source, its outcome, checks)} for up to ``limit`` failures."""
    tasks = [(r["seed"], r["order2"], r["outcome"], budget)
             for r in pick_for_shrinking(records, limit)]
    if not tasks:
        return {}
    jobs = min(jobs or os.cpu_count() or 1, len(tasks))
    done = list(_parallel(_shrink_one, tasks, jobs, ordered=True))
    return {seed: (source, outcome, checks) for seed, source, outcome, checks in done}


def summarize(records):
    """Counts used by the console summary, the report and the pytest entry."""
    status = collections.Counter(r["outcome"].status for r in records)
    refusals = collections.Counter(r["outcome"].first.reason for r in records
                                   if r["outcome"].status == "refused")
    families = collections.Counter(r["outcome"].family() for r in records
                                   if r["outcome"].status in FAILURES)
    features = collections.defaultdict(collections.Counter)
    for r in records:
        for tag in r["tags"]:
            features[tag]["programs"] += 1
            features[tag][r["outcome"].status] += 1
    slots = collections.Counter(s for r in records for s in r["outcome"].int_slots)
    order2 = sum(1 for r in records if r["outcome"].order2)
    return {"status": status, "refusals": refusals, "families": families,
            "features": features, "int_slots": slots, "order2_checked": order2,
            "programs": len(records)}


def print_summary(summary, elapsed, jobs):
    n, status = summary["programs"], summary["status"]
    print("\nprograms %d in %.0fs (%.1f programs/s on %d processes)"
          % (n, elapsed, n / max(elapsed, 1e-9), jobs))
    for s in ("ok", "refused", "wrong", "crash", "mutated", "skipped"):
        print("  %-8s %6d  %5.1f%%" % (s, status[s], 100.0 * status[s] / max(n, 1)))
    print("second-order comparisons made: %d; int-argument gradient slots: %s"
          % (summary["order2_checked"], dict(summary["int_slots"])))
    print("top refusals:")
    for reason, count in summary["refusals"].most_common(10):
        print("  %5d  %s" % (count, reason))
    print("failure families:")
    for family, count in summary["families"].most_common():
        print("  %5d  %s" % (count, family[:150]))
    bad = {t: sum(c[s] for s in FAILURES) for t, c in summary["features"].items()}
    print("failures per feature: " + ", ".join(
        "%s %d" % (t, c) for t, c in sorted(bad.items(), key=lambda kv: -kv[1]) if c))


def show(seed, order2):
    """Print one program, its arguments and every finding (for reproducing a failure)."""
    program = generate(seed)
    print(program.source)
    print("params:", program.params)
    print("args:", [a.tolist() if hasattr(a, "tolist") else a for a in program.args])
    print("tags:", " ".join(sorted(program.tags)))
    outcome = check(program, order2=order2)
    print("status:", outcome.status)
    for finding in outcome.findings:
        print("  [%s/%s] %s" % (finding.status, finding.stage, finding.detail))
    return outcome


def _args_text(program):
    return "(%s)" % ", ".join("np.array(%r)" % a.tolist() if hasattr(a, "tolist") else repr(a)
                              for a in program.args)


def _table(header, rows):
    out = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return out + ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]


def _summary_section(args, summary, elapsed):
    n, status = summary["programs"], summary["status"]
    refused = status["refused"]
    lines = ["# ad_compiler differential fuzzing report", "",
             "`python -m tests.fuzz.run --n %d --seed %d --order2-fraction %g` — %.0f s on %d "
             "processes, %.1f programs/s." % (n, args.seed, args.order2_fraction, elapsed,
                                              args.jobs, n / max(elapsed, 1e-9)), ""]
    lines += _table(["status", "programs", "%"], [
        (s, status[s], "%.1f" % (100.0 * status[s] / max(n, 1)))
        for s in ("ok", "refused", "wrong", "crash", "mutated", "skipped")])
    lines += ["", "Refusal rate %.1f%%. Second-order comparisons made: %d. Gradient slot of "
              "int arguments: %s." % (100.0 * refused / max(n, 1), summary["order2_checked"],
                                      dict(summary["int_slots"]) or "none seen"), ""]
    lines += ["## Top refusal reasons", ""] + _table(["count", "message (normalised)"], [
        (c, "`%s`" % r.replace("|", "\\|")) for r, c in summary["refusals"].most_common(20)])
    lines += ["", "## Failure families", ""] + _table(["count", "family"], [
        (c, "`%s`" % f.replace("|", "\\|")) for f, c in summary["families"].most_common()])
    return lines


def _feature_section(summary):
    rows = []
    for tag, c in summary["features"].items():
        bad = sum(c[s] for s in FAILURES)
        rows.append((tag, c["programs"], c["ok"], c["refused"], bad,
                     "%.1f" % (100.0 * bad / max(c["programs"], 1))))
    rows.sort(key=lambda r: (-r[4], -r[3], r[0]))
    return ["", "## Per feature", "", "Programs using each feature, by outcome "
            "(failures = wrong + crash + mutated).", ""] + _table(
        ["feature", "programs", "ok", "refused", "failures", "failure %"], rows)


def _failure_section(records, shrunk):
    lines = ["", "## Failures", ""]
    for r in records:
        outcome = r["outcome"]
        if outcome.status not in FAILURES:
            continue
        program = generate(r["seed"])
        lines += ["### seed %d: %s" % (r["seed"], outcome.family()), "",
                  "- found: %s" % outcome.first.detail[:600],
                  "- tags: %s; second order: %s" % (" ".join(r["tags"]), r["order2"]),
                  "- args: `%s`" % _args_text(program)]
        if r["seed"] in shrunk:
            source, small, checks = shrunk[r["seed"]]
            lines += ["- shrunk (%d checks): %s" % (checks, small.first.detail[:600]), "",
                      "```python", source.rstrip(), "```", ""]
        else:
            lines += ["- not shrunk; original: `python -m tests.fuzz.run --show %d`" % r["seed"],
                      ""]
    return lines


def _save_failures(directory, records, shrunk):
    """One runnable file per failure: the (shrunk) program and a reproducer."""
    os.makedirs(directory, exist_ok=True)
    for r in records:
        if r["outcome"].status not in FAILURES:
            continue
        program = generate(r["seed"])
        source = shrunk.get(r["seed"], (program.source,))[0]
        with open(os.path.join(directory, "fuzz_%d.py" % r["seed"]), "w") as fh:
            fh.write("# %s\n# %s\n" % (r["outcome"].family(), r["outcome"].first.detail[:300]
                                         .replace("\n", " ")))
            fh.write(source + "\n\nif __name__ == '__main__':\n"
                     "    from ad_compiler import gradient, jvp\n"
                     "    args = %s\n    print(f(*args), gradient(f, *args))\n"
                     % _args_text(program))


def write_report(args, records, summary, shrunk, elapsed):
    """The Markdown report (``--report``) and the failure files (``--save-failures``)."""
    if args.report:
        lines = _summary_section(args, summary, elapsed) + _feature_section(summary)
        lines += _failure_section(records, shrunk)
        with open(args.report, "w") as fh:
            fh.write("\n".join(lines) + "\n")
    if args.save_failures:
        _save_failures(args.save_failures, records, shrunk)


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m tests.fuzz.run", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=1000, help="number of programs")
    parser.add_argument("--seed", type=int, default=0, help="run seed")
    parser.add_argument("--report", help="write a Markdown report here")
    parser.add_argument("--order2-fraction", type=float, default=0.3,
                        help="fraction of programs that also get second-order checks")
    parser.add_argument("--save-failures", metavar="DIR",
                        help="write each failing program (original and shrunk) here")
    parser.add_argument("--jobs", type=int, default=os.cpu_count(), help="worker processes")
    parser.add_argument("--timeout", type=float, default=10.0, help="CPU seconds per program")
    parser.add_argument("--shrink", type=int, default=30, help="failures to minimise (max)")
    parser.add_argument("--shrink-seconds", type=float, default=60.0,
                        help="time budget per minimised failure")
    parser.add_argument("--show", type=int, metavar="PROGRAM_SEED",
                        help="check one program verbosely and exit")
    args = parser.parse_args(argv)
    warnings.simplefilter("ignore")
    if args.show is not None:
        show(args.show, wants_order2(args.show, args.order2_fraction))
        return 0
    start = time.monotonic()
    records = run_programs(args.n, args.seed, args.order2_fraction, args.jobs, args.timeout,
                           progress=max(1, min(500, args.n // 20)))
    elapsed = time.monotonic() - start
    summary = summarize(records)
    print_summary(summary, elapsed, args.jobs)
    shrunk = shrink_failures(records, args.shrink, args.jobs, args.shrink_seconds)
    if args.report or args.save_failures:
        write_report(args, records, summary, shrunk, elapsed)
    return 1 if any(summary["status"][s] for s in FAILURES) else 0


if __name__ == "__main__":
    sys.exit(main())
