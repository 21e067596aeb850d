"""Benchmark CLI: ratios to hand-written NumPy, measured side by side.

    python -m benchmarks                 # all workloads
    python -m benchmarks poly mlp        # some of them
    python -m benchmarks --record        # also write benchmarks/RESULTS.md

Peers (autograd, jax, torch) are included when installed
(``pip install -e '.[peers]'``).
"""
import argparse
import os
import platform
import sys

import numpy as np

from . import higher_order, training, workloads
from .harness import compare, fmt_time

WORKLOADS = {
    "poly": workloads.workload_poly,
    "mlp64": lambda: workloads.workload_mlp(np.float64),
    "mlp32": lambda: workloads.workload_mlp(np.float32),
    "scalar_loop": workloads.workload_scalar_loop,
    "rnn": workloads.workload_rnn,
    "second_derivative": higher_order.workload_second_derivative,
    "hvp": higher_order.workload_hvp,
    "train_step": training.workload_train_step,
}
CODEGEN = [("gradient of a 20-line function", workloads.codegen_times),
           ("gradient of a 40-line function with loops and 3 helpers",
            workloads.codegen_loop_times),
           ("second derivative of the 100-step scalar loop",
            higher_order.second_derivative_codegen_times),
           ("training step of the MLP 784-512-512-10 (fresh model)",
            training.first_step_times),
           ("training step of the MLP 784-512-512-10 (fresh model, in a new process)",
            training.cold_first_step_times)]


def _versus_torch(results):
    """The first contender (ours) against each PyTorch contender, as the ratio
    of their median ratios to the hand-written reference."""
    ours_name, (ours, _) = next(iter(results.items()))
    found = ["%s / %s: %.2fx" % (ours_name, name, ours / ratio)
             for name, (ratio, _) in results.items() if name.startswith("torch")]
    return found + [""] if found else []


def run(names, rounds):
    lines = []
    for name in names:
        reference, contenders, note = WORKLOADS[name]()
        # (PyTorch and JAX run thread pools: timed in a phase of their own)
        peers_apart = [n for n in contenders if n.startswith(("torch", "jax"))]
        ref_time, results = compare(reference, contenders, rounds=rounds, separate=peers_apart)
        lines.append("### %s: %s" % (name, note))
        lines.append("")
        lines.append("| contender | median ratio to hand-written | median time |")
        lines.append("|---|---|---|")
        lines.append("| hand-written NumPy | 1.00x | %s |" % fmt_time(ref_time))
        for cname, (ratio, t) in results.items():
            apart = " (timed apart)" if cname in peers_apart else ""
            lines.append("| %s%s | %.2fx | %s |" % (cname, apart, ratio, fmt_time(t)))
        lines.append("")
        start = len(lines) - len(results) - 6
        lines.extend(_versus_torch(results))
        print("\n".join(lines[start:]), flush=True)
    for label, fn in CODEGEN:
        times = fn()
        text = ("### codegen: first call, %s\n\n"
                "median %s, best %s, worst %s over %d runs\n"
                % (label, fmt_time(times[len(times) // 2]), fmt_time(times[0]),
                   fmt_time(times[-1]), len(times)))
        print(text)
        lines.append(text)
    peak = higher_order.checkpoint_memory()
    text = ("### checkpoint: peak memory of one RNN gradient (T=50, batch 64, 64->256)\n\n"
            "plain %.1f MB, checkpointed %.1f MB: %.0f%% less\n"
            % (peak["plain"] / 1e6, peak["checkpoint"] / 1e6,
               100 * (1 - peak["checkpoint"] / peak["plain"])))
    print(text)
    lines.append(text)
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("workloads", nargs="*", choices=sorted(WORKLOADS) + [[]],
                        default=[], help="which workloads (default: all)")
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--record", action="store_true",
                        help="write the results to benchmarks/RESULTS.md")
    opts = parser.parse_args(argv)
    names = opts.workloads or list(WORKLOADS)
    body = run(names, opts.rounds)
    if opts.record:
        header = ("# Benchmark results\n\nMedians of per-round ratios to hand-written NumPy, "
                  "one process, `python -m benchmarks --record` on %s, Python %s, NumPy %s, "
                  "%d CPU cores.\n\n" % (platform.machine(), platform.python_version(),
                                          np.__version__, os.cpu_count()))
        with open(os.path.join(os.path.dirname(__file__), "RESULTS.md"), "w") as fh:
            fh.write(header + body)
    return 0


if __name__ == "__main__":
    sys.exit(main())
