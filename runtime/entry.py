"""The runtime's one way to reach the compiler.

Generated code calls the runtime, and the runtime compiles the functions it
calls; so nothing in ``runtime/`` imports the compiler.  The compiler
installs itself here when it is imported (``import ad_compiler`` does it),
and the runtime calls ``entry.compiler.grad_function(...)`` and the like.
"""


class _NotInstalled:
    def __getattr__(self, name):
        raise RuntimeError("ad_compiler.runtime was used without the compiler; "
                           "import ad_compiler first")


compiler = _NotInstalled()


def install(hooks):
    """Make ``hooks`` (the compiler module) what the runtime calls."""
    global compiler
    compiler = hooks


_CLEARERS = []           # callables that empty the runtime's caches (plans, fast paths)


def on_clear(clear):
    """Register ``clear()`` to run when the compiler's caches are cleared."""
    _CLEARERS.append(clear)
    return clear


def clear_all():
    """Run every registered ``clear()`` (the compiler's ``clear_cache`` calls it)."""
    for clear in _CLEARERS:
        clear()
