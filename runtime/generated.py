"""Generated source registered with :mod:`linecache`, so tracebacks and pdb
show the generated lines (with the user's ``file:line`` comments above them).

>>> register_source("<ad_compiler example>", "x = 1\\n")
>>> import linecache; linecache.getline("<ad_compiler example>", 1)
'x = 1\\n'
"""
import linecache

GENERATED = {}      # file name of generated code -> its text


def register_source(filename, text):
    """Put generated source into linecache so tracebacks and pdb can show it.

    The entry has no modification time, so ``linecache.checkcache()`` keeps
    it; a copy is kept here for after ``linecache.clearcache()``.
    """
    GENERATED[filename] = text
    lines = text.splitlines(True)
    linecache.cache[filename] = (len(text), None, lines, filename)
