"""Side-by-side timing: medians of per-round ratios, in one process.

Each round times the reference and every contender back to back, so slow
phases of a noisy machine hit all of them alike; the reported number is
the median over rounds of (contender time / reference time).
"""
import gc
import statistics
import time


def time_call(fn, number):
    gc.disable()
    try:
        start = time.perf_counter()
        for _ in range(number):
            fn()
        return (time.perf_counter() - start) / number
    finally:
        gc.enable()


def calibrate(fn, target=0.02):
    """How many calls take about ``target`` seconds."""
    number = 1
    while True:
        t = time_call(fn, number) * number
        if t >= target or number >= 1 << 20:
            return max(1, int(number * target / max(t, 1e-9)))
        number *= 4


def compare(reference, contenders, rounds=15, target=0.02, separate=()):
    """Median per-round ratios of each contender to ``reference``.

    ``contenders`` maps a name to a zero-argument callable.  Returns
    ``{name: (median_ratio, median_seconds)}`` plus the reference's time.

    Contenders named in ``separate`` (multi-threaded peers: PyTorch, JAX) are
    timed in a phase of their own after the interleaved rounds, against the
    reference's median: on a 2-core machine, interleaved with NumPy, their
    thread pool and OpenBLAS's spin-wait against each other and slow both
    (a PyTorch training step by 2.3x, the hand-written one by 1.3x).
    """
    together = {n: fn for n, fn in contenders.items() if n not in separate}
    numbers = {name: calibrate(fn, target) for name, fn in together.items()}
    n_ref = calibrate(reference, target)
    ratios = {name: [] for name in together}
    times = {name: [] for name in together}
    ref_times = []
    for _ in range(rounds):
        t_ref = time_call(reference, n_ref)
        ref_times.append(t_ref)
        for name, fn in together.items():
            t = time_call(fn, numbers[name])
            times[name].append(t)
            ratios[name].append(t / t_ref)
    t_ref = statistics.median(ref_times)
    out = {}
    for name, fn in contenders.items():
        if name in together:
            out[name] = (statistics.median(ratios[name]), statistics.median(times[name]))
        else:
            number = calibrate(fn, target)
            t = statistics.median([time_call(fn, number) for _ in range(rounds)])
            out[name] = (t / t_ref, t)
    return t_ref, out


def fmt_time(seconds):
    if seconds < 1e-6:
        return "%.0f ns" % (seconds * 1e9)
    if seconds < 1e-3:
        return "%.2f us" % (seconds * 1e6)
    return "%.3f ms" % (seconds * 1e3)
