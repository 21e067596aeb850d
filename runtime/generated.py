"""Generated source registered with :mod:`linecache`, so tracebacks and pdb
show the generated lines (with the user's ``file:line`` comments above them).

>>> register_source("<ad_compiler example>", "x = 1\\n")
>>> import linecache; linecache.getline("<ad_compiler example>", 1)
'x = 1\\n'
"""
import linecache

from .core.lru import LRU

# The texts of the most recently generated modules; an evicted one leaves
# linecache too, so a program that differentiates ever new functions runs in
# flat memory.  Generated functions keep their own text (``__ad_source__``),
# from which get_source registers it again when it is needed.
GENERATED_LIMIT = 4096


def _forget(filename, text):
    entry = linecache.cache.get(filename)
    if entry is not None and entry[2] and "".join(entry[2]) == text:
        del linecache.cache[filename]


GENERATED = LRU(GENERATED_LIMIT, on_evict=_forget)   # file name -> generated text


def register_source(filename, text):
    """Put generated source into linecache so tracebacks and pdb can show it.

    The entry has no modification time, so ``linecache.checkcache()`` keeps
    it; a copy is kept here for after ``linecache.clearcache()``.
    """
    GENERATED[filename] = text
    lines = text.splitlines(True)
    linecache.cache[filename] = (len(text), None, lines, filename)
