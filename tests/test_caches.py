"""Every cache is bounded, and the compile cache holds no lock while it builds."""
import gc
import importlib
import linecache
import sys
import threading
import tracemalloc

import numpy as np
import pytest

from ad_compiler import clear_cache, compiler, gradient, grad
from ad_compiler.runtime import generated, plan
from ad_compiler.front import source
from ad_compiler.runtime.core.lru import LRU

LIMITS = {}


def test_lru_evicts_the_least_recently_used():
    gone = []
    cache = LRU(3, on_evict=lambda k, v: gone.append(k))
    for k in "abc":
        cache[k] = k.upper()
    assert cache.get("a") == "A"            # a is now the most recent
    cache["d"] = "D"
    assert gone == ["b"] and sorted(cache.keys()) == ["a", "c", "d"]
    assert cache.setdefault("a", "other") == "A" and cache.setdefault("e", "E") == "E"
    assert gone == ["b", "c"] and len(cache) == 3
    with pytest.raises(KeyError):
        cache["b"]
    cache.resize(1)
    assert cache.keys() == ["e"]
    cache.clear()
    assert len(cache) == 0 and gone[-1] == "e"


def _many_lambdas(tmp_path, n, name):
    """A module of ``n`` distinct one-line lambdas (``f_i(x) = (i + 0.5) x + x^2``)."""
    (tmp_path / (name + ".py")).write_text("".join(
        "f%d = lambda x: x * %d.5 + x * x\n" % (i, i) for i in range(n)))
    sys.path.insert(0, str(tmp_path))
    try:
        return importlib.import_module(name)
    finally:
        sys.path.remove(str(tmp_path))


def _differentiate_and_drop(module, indices):
    """Each lambda's gradient, then the lambda goes (as ever new functions do)."""
    for i in indices:
        assert gradient(getattr(module, "f%d" % i), 2.0) == (i + 4.5,)
        delattr(module, "f%d" % i)


def _generated_in_linecache():
    return sum(1 for k in list(linecache.cache) if k.startswith("<ad_compiler"))


BOUNDED = [(compiler, "_CACHE"), (plan, "PLANS"), (source, "_SOURCES"), (source, "_ORIGINS"),
           (generated, "GENERATED")]
LIMITS.update({(m, name): getattr(m, name).maxsize for m, name in BOUNDED})


def test_memory_is_flat_over_ten_thousand_distinct_lambdas(tmp_path, monkeypatch):
    # Smaller bounds than the defaults, so the caches fill early on.
    for module, name in BOUNDED:
        getattr(module, name).resize(200)
    monkeypatch.setattr(plan, "FAST_LIMIT", 200)
    clear_cache()
    module = _many_lambdas(tmp_path, 10000, "ten_thousand_lambdas")
    objects = {}
    try:
        for start in range(0, 9000, 1000):     # (9,000 here, 1,000 traced below)
            _differentiate_and_drop(module, range(start, start + 1000))
            gc.collect()
            # (each dropped lambda is one object fewer: count them back in)
            objects[start + 1000] = len(gc.get_objects()) + start + 1000
        assert all(len(getattr(m, name)) <= 200 for m, name in BOUNDED)
        assert len(plan.FAST) <= 200 and _generated_in_linecache() <= 200 + 50
        # The live objects stay level once the caches are full (before they
        # were bounded, each lambda kept about 11 kB)...
        level = [n for done, n in objects.items() if done >= 2000]
        assert max(level) - min(level) < 500, objects
        # ...and nothing outside the caches grows: traced from empty caches to
        # empty caches, the last 1,000 lambdas keep under 0.5 kB each (CPython
        # itself keeps each compiled file name, about 0.1 kB).
        clear_cache()
        gc.collect()
        tracemalloc.start()
        before = tracemalloc.get_traced_memory()[0]
        _differentiate_and_drop(module, range(9000, 10000))
        clear_cache()
        gc.collect()
        grown = tracemalloc.get_traced_memory()[0] - before
        assert grown < 5e5, "%.2f MB kept by the last 1,000 lambdas" % (grown / 1e6)
    finally:
        tracemalloc.stop()
        for m, name in BOUNDED:
            getattr(m, name).resize(LIMITS[m, name])
        clear_cache()


def test_evicted_generated_text_comes_back_for_higher_orders():
    clear_cache()
    f = lambda x: x ** 3              # noqa: E731
    df = grad(f)
    assert df(2.0) == 12.0
    generated.GENERATED.resize(0)       # every generated text leaves linecache
    try:
        assert _generated_in_linecache() == 0
        assert grad(df)(2.0) == 12.0    # its source is found on the function itself
    finally:
        generated.GENERATED.resize(generated.GENERATED_LIMIT)


def test_compiling_holds_no_lock_another_thread_waits_on(monkeypatch):
    clear_cache()
    slow_started, release = threading.Event(), threading.Event()
    real_build = compiler.build

    def build(func, *args):
        if func.__name__ == "slow":
            slow_started.set()
            assert release.wait(10)
        return real_build(func, *args)

    monkeypatch.setattr(compiler, "build", build)

    def slow(x):
        return np.sin(x) * 2.0

    def quick(x):
        return x * 3.0

    results = {}
    t = threading.Thread(target=lambda: results.setdefault("slow", gradient(slow, 1.0)))
    t.start()
    assert slow_started.wait(10)
    results["quick"] = gradient(quick, 1.0)     # compiles while `slow` is being built
    release.set()
    t.join(10)
    assert results == {"quick": (3.0,), "slow": (2 * np.cos(1.0),)}


def test_threads_building_one_function_at_once_share_the_first(monkeypatch):
    clear_cache()
    together = threading.Barrier(4)
    real_build = compiler.build

    def build(func, *args):
        together.wait(10)           # all four are compiling at the same time
        return real_build(func, *args)

    monkeypatch.setattr(compiler, "build", build)

    def h(x):
        return x * x + np.tanh(x)

    found = []
    options = compiler.Options(mode="grad")
    threads = [threading.Thread(target=lambda: found.append(compiler._get(h, (0,), (1.0,),
                                                                           options)))
               for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert len(found) == 4 and all(c is found[0] for c in found)
    assert compiler._get(h, (0,), (1.0,), options) is found[0]
