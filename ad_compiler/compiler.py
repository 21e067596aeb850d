"""The compile cache and the entry points the runtime calls.

A compiled specialisation (:func:`ad_compiler.pipeline.build`) is cached per
code object, active inputs, input kinds and options, and is re-validated
against the globals its static decisions relied on.  The runtime reaches
this module through ``runtime.entry`` (it imports nothing above itself):
``grad_function``, ``vjp_function``, ``jvp_function``, ``note_used`` and
``check_returns``.
"""
import contextlib
import contextvars
import sys
import threading

from ad_compiler.analysis import mutating
from ad_compiler.front.source import check_returns as source_check_returns, origin_key
from ad_compiler.pipeline import build
from ad_compiler.runtime import entry
from ad_compiler.runtime.core import kinds
from ad_compiler.runtime.core.errors import ADError, NoAdjointError, is_library
from ad_compiler.runtime.core.lru import LRU
from ad_compiler.runtime.core.options import Options

# ------------------------------------------------------------------ cache

# The compiled specialisations, bounded: a program that differentiates ever
# new functions runs in flat memory (an evicted one is compiled again).
COMPILED_LIMIT = 1024
_CACHE = LRU(COMPILED_LIMIT)
_LOCK = threading.Lock()        # clear_cache only: no lock is held while compiling
# adjoint_source collects the generated functions used by its own call (a
# context variable, so other threads' compilations stay out); RECORDERS
# counts the collections open anywhere, so fast paths, which skip the
# lookup that records, can step aside with one list test.
_RECORDING = contextvars.ContextVar("ad_compiler_recording", default=None)
RECORDERS = []


def _get(func, active, values, options):
    input_kinds = tuple(kinds.kind_of(v) for v in values)
    code = func.__code__
    # (equal code objects from two files are the same key without the name;
    # grad's twin is compiled once per user function, whose lines it cites)
    key = (code, code.co_filename, origin_key(func), active, input_kinds, options)
    hit = _CACHE.get(key)
    if hit is None or not _still_holds(hit, func):
        built = _build(func, active, input_kinds, options)
        # Another thread may have built the same meanwhile: keep the first
        # that still holds, so every caller shares one specialisation.
        hit = _CACHE.setdefault(key, built, keep=lambda now: _still_holds(now, func))
    note_used(hit)
    return hit


def _still_holds(compiled, func):
    return compiled.globals is func.__globals__ and compiled.valid()


def _build(func, active, input_kinds, options):
    """:func:`build`, except that a library function (an installed package, the
    standard library) whose own source cannot be compiled asks for a rule:
    the user cannot, and should not, rewrite a library's code."""
    try:
        return build(func, active, input_kinds, options)
    except ADError as e:
        if not is_library(func.__code__.co_filename) or isinstance(e, NoAdjointError):
            raise
        raise NoAdjointError.for_library(func, e) from None


def recording_now():
    """Whether ``adjoint_source`` is collecting anywhere (fast paths then step aside)."""
    return bool(RECORDERS)


def note_used(compiled):
    """Record a cached specialisation found without a compiler lookup."""
    if RECORDERS:
        used = _RECORDING.get()
        if used is not None:
            used.append(compiled)


@contextlib.contextmanager
def recording():
    """Collect every generated function this context looks up inside the
    block, in order."""
    used = []
    token = _RECORDING.set(used)
    RECORDERS.append(used)
    try:
        yield used
    finally:
        RECORDERS.remove(used)
        _RECORDING.reset(token)


_SPLIT = Options(mode="split", callee=True)


_SPLIT_PARAMS = Options(mode="split", callee=True, params=True)


def vjp_function(func, active, values, params=False):
    """Forward/backward pair for ``func`` (used by ``call_fwd``)."""
    return _get(func, active, values, _SPLIT_PARAMS if params else _SPLIT)


_JVP = Options(mode="jvp", callee=True)
_TANGENT = Options(mode="jvp", callee=True, tangent_only=True)


_JVP_TOP = Options(mode="jvp")
_TOP = contextvars.ContextVar("ad_compiler_top_jvp", default=None)


@contextlib.contextmanager
def top_level(func):
    """The next forward-mode lookup of ``func`` is the caller's own function:
    its arguments may be copied on entry (it may change them in place),
    which a call from other differentiated code must not do."""
    token = _TOP.set(getattr(func, "__code__", None))
    try:
        yield
    finally:
        _TOP.reset(token)


def jvp_function(func, active, values, tangent_only=False):
    """The forward-mode function of ``func`` for the inputs at ``active``."""
    top = _TOP.get()
    if top is not None and not tangent_only and top is func.__code__:
        _TOP.set(None)
        return _get(func, active, values, _JVP_TOP)
    return _get(func, active, values, _TANGENT if tangent_only else _JVP)


def grad_function(func, active, values, options):
    return _get(func, active, values, options)


def clear_cache():
    """Forget every generated function, and every cache that holds one or
    what it was built from: plans and fast paths of ``gradient``/``grad``,
    parsed function sources, helpers' mutating forms (all are rebuilt on
    next use).  Parsed files and rule templates stay: they are keyed by
    their text, so they cannot go stale.

    >>> clear_cache()
    """
    from ad_compiler.front import source
    with _LOCK:
        _CACHE.clear()
        source._SOURCES.clear()
        # helpers' mutating forms: their sources went too
        mutating._FORMS.clear()
        mutating._POSITIONS.clear()
        entry.clear_all()


# The runtime reaches the compiler only through this hook (it imports nothing
# above itself): grad_function, vjp_function, jvp_function, note_used and
# check_returns are what it calls.
check_returns = source_check_returns
entry.install(sys.modules[__name__])
