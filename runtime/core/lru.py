"""Bounded caches: every cache of generated code or of what it was built
from is an :class:`LRU`, so a program that differentiates ever new
functions (lambdas made in a loop, notebooks re-running cells) runs in
flat memory.  Evicted entries are rebuilt on next use.

>>> cache = LRU(2)
>>> cache["a"] = 1; cache["b"] = 2
>>> cache.get("a")          # "a" is now the most recently used
1
>>> cache["c"] = 3          # evicts "b", the least recently used
>>> sorted(cache.keys()), cache.get("b")
(['a', 'c'], None)
"""
import threading

_MISSING = object()


class LRU:
    """A mapping bounded to ``maxsize`` entries; the least recently used
    entry goes first.  Thread-safe: writes take one short lock (never held
    while a value is being built); lookups take none."""

    def __init__(self, maxsize, on_evict=None):
        self.maxsize = maxsize
        self.on_evict = on_evict        # on_evict(key, value), after it left
        self._data = {}                 # (dicts keep insertion order: oldest first)
        self._lock = threading.Lock()

    def get(self, key, default=None):
        # No lock: a lookup is on the path of every call of a nested function.
        # A thread that looks for the key between the pop and the re-insert
        # misses it and builds it again: wasted work, never a wrong entry.
        data = self._data
        value = data.pop(key, _MISSING)
        if value is _MISSING:
            return default
        data[key] = value               # re-inserted last: the most recently used
        return value

    def __getitem__(self, key):
        value = self.get(key, _MISSING)
        if value is _MISSING:
            raise KeyError(key)
        return value

    def __setitem__(self, key, value):
        with self._lock:
            self._data.pop(key, None)
            self._data[key] = value
            evicted = self._trim()
        self._evicted(evicted)

    def setdefault(self, key, value, keep=None):
        """The value already cached under ``key`` if there is one and
        ``keep(it)`` (by default any is kept: another thread may have built it
        meanwhile), else ``value``, now cached.  One step under the lock, so
        threads that built the same thing at once all get the first one."""
        with self._lock:
            old = self._data.get(key, _MISSING)
            if old is not _MISSING and (keep is None or keep(old)):
                return old
            self._data.pop(key, None)
            self._data[key] = value
            evicted = self._trim()
        self._evicted(evicted)
        return value

    def pop(self, key, default=None):
        with self._lock:
            return self._data.pop(key, default)

    def resize(self, maxsize):
        """Change the bound (evicting at once if it shrinks)."""
        with self._lock:
            self.maxsize = maxsize
            evicted = self._trim()
        self._evicted(evicted)

    def clear(self):
        with self._lock:
            evicted = list(self._data.items())
            self._data.clear()
        self._evicted(evicted)

    def keys(self):
        with self._lock:
            return list(self._data)

    def __contains__(self, key):
        return key in self._data

    def __len__(self):
        return len(self._data)

    def _trim(self):
        evicted = []
        data = self._data
        while len(data) > self.maxsize:
            try:
                key = next(iter(data))
            except (RuntimeError, StopIteration):   # a lock-free get moved an entry
                continue
            value = data.pop(key, _MISSING)
            if value is not _MISSING:
                evicted.append((key, value))
        return evicted

    def _evicted(self, items):
        # (outside the lock: a callback may touch other caches)
        if self.on_evict is not None:
            for key, value in items:
                self.on_evict(key, value)
