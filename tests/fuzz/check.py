"""The oracle: compiled derivatives of a generated program vs finite differences.

``check(program)`` returns an :class:`Outcome` whose ``status`` is one of
``ok``, ``refused`` (an ``ADError``), ``wrong`` (a number differs), ``crash``
(any other exception, an ``ADError`` that calls itself an internal error, or
a timeout), ``mutated`` (the caller's data changed) or ``skipped`` (the
function itself raised, or finite differences are not trustworthy there).

Finite differences and control flow: the reference derivative is the central
difference with step ``h`` *and* with step ``h/2``; if the two disagree, a
branch (or a kink such as ``abs``/``max``) lies within the step and the sample
is discarded as ``skipped``.  A jump of size J inside the step moves the
estimate by about J/h, so any real branch switch is caught; a kink moves the
two estimates by different fractions of the slope change.  Second-order
references are central differences of the compiled gradient (already checked
against first-order differences at the same point), with the same two-step
test.
"""
import atexit
import importlib.util
import os
import re
import shutil
import signal
import sys
import tempfile
import threading
from dataclasses import dataclass, field

import numpy as np

import ad_compiler
from ad_compiler import ADError

H1, H2 = 1e-6, 1e-5            # first-order and second-order FD steps
RTOL = ATOL = 1e-4             # agreement needed between AD and FD
EPS = np.finfo(float).eps
SEVERITY = ("wrong", "crash", "mutated", "refused")
_HARNESS_MARK = "# --- fuzz harness (not part of the program) ---"


class Timeout(BaseException):
    """Raised by the alarm; a BaseException so ``except Exception`` can't eat it."""


@dataclass
class Api:
    """The functions under test; tests substitute fakes to check the oracle."""
    gradient: object = ad_compiler.gradient
    withgradient: object = ad_compiler.withgradient
    jvp: object = ad_compiler.jvp
    hessian: object = ad_compiler.hessian
    grad: object = ad_compiler.grad


@dataclass
class Finding:
    """One non-ok result of one check stage."""
    status: str
    stage: str
    detail: str
    exc_type: str = ""
    reason: str = ""


@dataclass
class Outcome:
    """The verdict on one program (``findings`` holds every non-ok stage)."""
    status: str
    findings: list = field(default_factory=list)
    int_slots: list = field(default_factory=list)
    order2: bool = False

    @property
    def first(self):
        """The finding that decided ``status`` (None when ok)."""
        return next((x for x in self.findings if x.status == self.status), None)

    def family(self):
        """A grouping key: same family = probably the same bug or limitation."""
        x = self.first
        if x is None:
            return self.status
        if x.status == "refused":
            return "refused: " + x.reason
        if x.status == "crash":
            return "crash/%s: %s: %s" % (x.stage, x.exc_type, x.reason)
        return "%s/%s: %s" % (x.status, x.stage, x.reason)


def normalise(message):
    """First line of an error, without file names, line numbers or generated names."""
    line = str(message).strip().splitlines()[0] if str(message).strip() else ""
    line = re.sub(r"(<[^>]*>|[\w./\\-]+\.py)(:\d+)+:?\s*", "", line)
    line = re.sub(r"\badfuzz_\w+", "<module>", line)
    line = re.sub(r"\bline \d+", "line #", line)
    line = re.sub(r"shape \(\d+(, \d+)*,?\)", "shape (...)", line)
    line = re.sub(r"-?\b\d+\.\d+(e[-+]?\d+)?", "<num>", line)
    line = re.sub(r"\b([A-Za-z_]+)\d+\b", r"\1#", line)     # y12 -> y#, _t8 -> _t#
    return re.sub(r"0x[0-9a-f]+", "0x#", line)[:160]


# -- loading programs as real modules (the compiler reads their source) ----
def _binders(params):
    """Module text binding all arguments but one, with explicit positions.

    Explicit lambdas rather than ``f(*(pre + (t,) + post))``: starred calls
    with a differentiated element are themselves fuzz material, not harness.
    """
    names = [n for n, _ in params]
    lines = ["", _HARNESS_MARK, "from ad_compiler import gradient as _fz_gradient", ""]
    for i, (name, kind) in enumerate(params):
        if kind == "n":
            continue
        others = ", ".join(["_f"] + names[:i] + names[i + 1:])
        call = ", ".join(names[:i] + ["_t"] + names[i + 1:])
        lines += ["def _fz_bind_%d(%s):" % (i, others), "    return lambda _t: _f(%s)" % call,
                  "", "def _fz_gbind_%d(%s):" % (i, others),
                  "    return lambda _t: _fz_gradient(_f, %s)[%d]" % (call, i), ""]
    return "\n".join(lines) + "\n"


class Loader:
    """Writes each program to a uniquely named module in a private temp dir.

    Without ``directory`` the loader makes its own and removes it at exit.
    """

    def __init__(self, directory=None):
        self.dir = directory or tempfile.mkdtemp(prefix="adfuzz_")
        if directory is None:
            atexit.register(shutil.rmtree, self.dir, True)
        self.count = 0

    def load(self, source, params):
        """Import ``source`` (+ harness binders) as a fresh module; return it."""
        self.count += 1
        name = "adfuzz_%d_%d" % (os.getpid(), self.count)
        path = os.path.join(self.dir, name + ".py")
        with open(path, "w") as fh:
            fh.write(source + _binders(params))
        spec = importlib.util.spec_from_file_location(name, path)
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module          # inspect.getmodule needs it
        spec.loader.exec_module(module)
        return module

    @staticmethod
    def unload(module):
        """Forget the module and delete its file (its code was compiled already)."""
        sys.modules.pop(module.__name__, None)
        try:
            os.remove(module.__file__)
        except OSError:
            pass


# -- numerics --------------------------------------------------------------
def _replace(args, i, value):
    out = [a.copy() if isinstance(a, np.ndarray) else a for a in args]
    out[i] = value
    return out


def _perturbations(x, h):
    """(flat index, x + h e_j, x - h e_j) for each element of scalar/array x."""
    if np.ndim(x) == 0:
        yield 0, x + h, x - h
        return
    for j in range(x.size):
        up, down = x.copy(), x.copy()
        up.flat[j] += h
        down.flat[j] -= h
        yield j, up, down


def _central(fn, x, h):
    """Central differences of the (scalar or array valued) ``fn`` at ``x``; max |fn|."""
    cols, scale = [], 0.0
    for _, up, down in _perturbations(x, h):
        a, b = np.asarray(fn(up), float), np.asarray(fn(down), float)
        scale = max(scale, float(np.max(np.abs(a))), float(np.max(np.abs(b))))
        cols.append((a - b) / (2 * h))
    d = np.stack(cols, axis=-1).reshape(np.shape(cols[0]) + np.shape(x))
    return d, scale


def stable_difference(fn, x, h):
    """Two-step central difference of ``fn`` at ``x``: (estimate, ok, max |fn|)."""
    d1, s1 = _central(fn, x, h)
    d2, s2 = _central(fn, x, h / 2)
    scale = max(s1, s2)
    if not (np.all(np.isfinite(d1)) and np.all(np.isfinite(d2))):
        return d1, False, scale
    noise = 8 * EPS * scale / (h / 2)
    ok = bool(np.all(np.abs(d1 - d2) <= 1e-6 * (1 + np.abs(d1)) + noise))
    return d1, ok, scale


def close(got, want, scale=0.0, h=H1, mag=None):
    """AD ``got`` agrees with FD ``want`` (tolerance widened by FD round-off).

    ``mag`` replaces ``|want|`` as the size the relative tolerance scales with
    (a jvp tangent is a sum whose terms may cancel).
    """
    try:
        got, want = np.asarray(got, float), np.asarray(want, float)
    except (TypeError, ValueError):
        return False
    if got.shape != want.shape:
        return False
    tol = ATOL + RTOL * (np.abs(want) if mag is None else mag) + 8 * EPS * scale / h
    return bool(np.all(np.abs(got - want) <= tol))


def same_data(a, b):
    """Bitwise-equal argument values (arrays: dtype, shape and contents)."""
    if isinstance(b, np.ndarray):
        return isinstance(a, np.ndarray) and a.dtype == b.dtype and a.shape == b.shape \
            and bool(np.array_equal(a, b, equal_nan=True))
    return type(a) is type(b) and a == b


def _alarm(seconds):
    """Arm (or, with 0, disarm) the per-program timers; main thread only.

    The limit is CPU time (ITIMER_PROF), so a loaded machine does not turn
    slowness into 'timeouts'; a wall-clock timer at 6x catches blocking hangs.
    """
    if threading.current_thread() is threading.main_thread() and hasattr(signal, "setitimer"):
        signal.setitimer(signal.ITIMER_PROF, seconds)
        signal.setitimer(signal.ITIMER_REAL, 6 * seconds)


def _on_alarm(signum, frame):
    raise Timeout()


def _fmt(x):
    return np.array2string(np.asarray(x, float), precision=6) if x is not None else "None"


def _moderate_scalar(y):
    """A finite real number of moderate size (FD loses accuracy on huge values)."""
    return isinstance(y, (int, float, np.integer, np.floating)) and not isinstance(y, bool) \
        and bool(np.isfinite(y)) and abs(y) < 1e8


def _first_line(e):
    text = str(e).strip()
    return "%s: %s" % (type(e).__name__, text.splitlines()[0] if text else "")


class _Run:
    """The checks on one loaded program; each stage adds findings."""

    def __init__(self, program, module, api, rng):
        self.p, self.mod, self.f, self.api, self.rng = program, module, module.f, api, rng
        self.findings, self.int_slots, self.stage, self.order2 = [], [], "load", False
        self.floats = [i for i, (_, k) in enumerate(program.params) if k != "n"]

    def note(self, status, stage, detail, exc_type="", reason=""):
        self.findings.append(Finding(status, stage, detail, exc_type, reason or detail))

    def call(self, stage, fn, *args):
        """``fn(*args)``, turning exceptions into refused/crash findings: (ok, value)."""
        self.stage = stage
        try:
            return True, fn(*args)
        except ADError as e:
            # an ADError that admits to being an internal error is a compiler bug
            status = "crash" if "internal error" in str(e) else "refused"
            self.note(status, stage, _first_line(e), type(e).__name__, normalise(e))
        except Exception as e:  # noqa: BLE001 - any other exception is a crash
            self.note("crash", stage, _first_line(e), type(e).__name__, normalise(e))
        return False, None

    def unchanged(self, stage, work, tangents=(), sent=()):
        """Caller-side data must be untouched by the API call."""
        for (name, _), a, b in zip(self.p.params, work, self.p.args):
            if not same_data(a, b):
                self.note("mutated", stage, "argument %s changed: %s -> %s" % (name, _fmt(b),
                          _fmt(a)), reason="argument changed")
        for t, s in zip(tangents, sent):
            if s is not None and not same_data(t, s):
                self.note("mutated", stage, "tangent changed", reason="tangent changed")

    def at(self, i, xi):
        """f with argument ``i`` replaced by ``xi`` (other arguments copied)."""
        return self.f(*_replace(self.p.args, i, xi))

    def run(self, order2, jvp):
        """Every stage, in order; later stages need the earlier references."""
        self.stage = "plain"
        try:
            self.y0 = self.f(*self.p.fresh_args())
        except Exception as e:  # noqa: BLE001
            return self.plain_failed(e)
        if not _moderate_scalar(self.y0):
            return self.note("skipped", "plain", "value %r is not a moderate scalar" % (self.y0,))
        self.stage = "fd"
        refs = self.reference()
        if refs is None:
            self.note("skipped", "fd", "finite differences unstable (branch or kink in step)")
        grads = self.check_gradient(refs)
        if grads is not None:
            self.check_withgradient(grads)
        if jvp:
            self.check_jvp(refs)
        if order2 and grads is not None:
            self.check_order2()

    def plain_failed(self, error):
        """f raised: gradient must raise as well (returning a value is wrong)."""
        ok, got = self.call("gradient", self.api.gradient, self.f, *self.p.fresh_args())
        self.findings = []      # any exception is the right answer here
        if ok:
            return self.note("wrong", "plain", "f raises %s but gradient returned %s"
                             % (_first_line(error), got), reason="value where f raises")
        self.note("skipped", "plain", "f raises " + _first_line(error))

    def reference(self):
        """Two-step FD gradient per float argument: ({i: grad}, scale) or None."""
        refs, scale = {}, 0.0
        try:
            for i in self.floats:
                d, ok, s = stable_difference(lambda xi, i=i: self.at(i, xi), self.p.args[i], H1)
                if not ok:
                    return None
                refs[i], scale = d, max(scale, s)
        except Exception:  # noqa: BLE001 - f fails near x: no reference
            return None
        return refs, scale

    def int_slot(self, g):
        """An int argument's gradient slot must be None or a float zero."""
        kind = "None" if g is None else "0.0" if isinstance(g, (float, np.floating)) and g == 0 \
            else "other: %r" % (g,)
        self.int_slots.append(kind)
        if kind.startswith("other"):
            self.note("wrong", "gradient", "int argument's gradient is %r" % (g,),
                      reason="int slot not 0.0/None")

    def check_gradient(self, refs):
        """gradient(f, *args) against the FD reference; the gradients or None."""
        work = self.p.fresh_args()
        ok, got = self.call("gradient", self.api.gradient, self.f, *work)
        self.unchanged("gradient", work)
        if not ok or refs is None:
            return None
        refs, scale = refs
        if not isinstance(got, tuple) or len(got) != len(work):
            return self.note("wrong", "gradient", "returned %r" % (got,), reason="result shape")
        for i, (name, kind) in enumerate(self.p.params):
            if kind == "n":
                self.int_slot(got[i])
            elif got[i] is None or not close(got[i], refs[i], scale):
                return self.note("wrong", "gradient", "d/d%s: AD %s, FD %s" % (
                    name, _fmt(got[i]), _fmt(refs[i])), reason="gradient value")
        return got

    def check_withgradient(self, grads):
        """withgradient(f, *args): f's value and the same gradients."""
        work = self.p.fresh_args()
        ok, got = self.call("withgradient", self.api.withgradient, self.f, *work)
        self.unchanged("withgradient", work)
        if not ok:
            return
        if not close(got[0], self.y0):
            return self.note("wrong", "withgradient", "value %s, f gives %s" % (
                _fmt(got[0]), _fmt(self.y0)), reason="withgradient value")
        for i, (name, kind) in enumerate(self.p.params):
            if kind != "n" and not close(got[1][i], grads[i]):
                return self.note("wrong", "withgradient", "d/d%s: %s, gradient gives %s" % (
                    name, _fmt(got[1][i]), _fmt(grads[i])), reason="withgradient gradient")

    def direction(self, x):
        d = self.rng.standard_normal(np.shape(x))
        return float(d) if np.ndim(x) == 0 else d

    def check_jvp(self, refs):
        """jvp along a random direction: primal = f(x), tangent = FD grad . dir."""
        work = self.p.fresh_args()
        dirs = [None if k == "n" else self.direction(a) for a, (_, k) in zip(work, self.p.params)]
        sent = [d.copy() if isinstance(d, np.ndarray) else d for d in dirs]
        ok, out = self.call("jvp", self.api.jvp, self.f, tuple(work), tuple(dirs))
        self.unchanged("jvp", work, dirs, sent)
        if not ok or refs is None:
            return
        refs, scale = refs
        if not (isinstance(out, tuple) and len(out) == 2):
            return self.note("wrong", "jvp", "returned %r" % (out,), reason="result shape")
        terms = [np.sum(refs[i] * sent[i]) for i in self.floats]
        want, mag = float(np.sum(terms)), float(np.sum(np.abs(terms)))
        if np.ndim(out[0]) != 0 or not abs(out[0] - self.y0) <= 1e-8 * (1 + abs(self.y0)):
            self.note("wrong", "jvp", "primal %s, f gives %r" % (_fmt(out[0]), self.y0),
                      reason="jvp primal")
        elif not close(out[1], want, scale * len(terms), mag=mag):
            self.note("wrong", "jvp", "tangent %s, FD %r (direction %s)" % (
                _fmt(out[1]), want, [_fmt(s) for s in sent]), reason="jvp tangent")

    def gradient_difference(self, i):
        """FD (step H2, two-step checked) of the compiled gradient's slot i."""
        try:
            d, ok, scale = stable_difference(
                lambda xi: self.api.gradient(self.f, *_replace(self.p.args, i, xi))[i],
                self.p.args[i], H2)
        except Exception:  # noqa: BLE001 - reported by the first-order stage already
            return None
        return (d, scale) if ok else None

    def second(self, stage, fn, x, i):
        """One second-order result against FD of the verified gradient."""
        work = self.p.fresh_args()
        ok, got = self.call(stage, fn, x if np.ndim(x) == 0 else x.copy())
        self.unchanged(stage, work)
        ref = self.gradient_difference(i) if ok else None
        if ref is None:
            return
        self.order2 = True
        got = got[0] if stage == "nested" else got
        if got is None or not close(got, ref[0], ref[1], h=H2):
            self.note("wrong", stage, "d2/d%s2: AD %s, FD %s" % (
                self.p.params[i][0], _fmt(got), _fmt(ref[0])), reason="second derivative")

    def check_order2(self):
        """Nested gradient, grad(grad) and hessian, each where it applies."""
        kinds = [k for _, k in self.p.params]
        scalars = [i for i in self.floats if kinds[i] == "s"]
        arrays = [i for i in self.floats if kinds[i] != "s"]
        others = lambda i: [a for j, a in enumerate(self.p.fresh_args()) if j != i]  # noqa
        if scalars:
            i = scalars[self.rng.integers(len(scalars))]
            inner = getattr(self.mod, "_fz_gbind_%d" % i)(self.f, *others(i))
            self.second("nested", lambda x: self.api.gradient(inner, x), self.p.args[i], i)
            if len(kinds) == 1:
                self.second("grad2", self.api.grad(self.api.grad(self.f)), self.p.args[i], i)
        if arrays:
            i = arrays[self.rng.integers(len(arrays))]
            bound = getattr(self.mod, "_fz_bind_%d" % i)(self.f, *others(i))
            self.second("hessian", lambda x: self.api.hessian(bound, x), self.p.args[i], i)

    def outcome(self):
        statuses = {x.status for x in self.findings}
        status = next((s for s in SEVERITY + ("skipped",) if s in statuses), "ok")
        return Outcome(status, self.findings, self.int_slots, self.order2)


_DEFAULT = []
_SIGNALS = (signal.SIGPROF, signal.SIGALRM)


def _default_loader():
    """One loader per process for callers that do not bring their own."""
    if not _DEFAULT:
        _DEFAULT.append(Loader())
    return _DEFAULT[0]


def check(program, order2=False, api=None, loader=None, timeout=10.0, jvp=True):
    """Load ``program`` and run every check on it; an :class:`Outcome`.

    ``jvp=False`` skips the forward-mode stage (the shrinker uses it when the
    failure it keeps is elsewhere).
    """
    loader = loader or _default_loader()
    try:
        module = loader.load(program.source, program.params)
        module.f  # noqa: B018 - a shrink candidate may have lost f
    except Exception as e:  # noqa: BLE001 - e.g. a shrink candidate that no longer loads
        return Outcome("skipped", [Finding("skipped", "load", _first_line(e))])
    run = _Run(program, module, api or Api(), np.random.default_rng(program.seed))
    main = threading.current_thread() is threading.main_thread()
    previous = [signal.signal(sig, _on_alarm) for sig in _SIGNALS] if main else None
    _alarm(timeout)
    try:
        with np.errstate(all="ignore"):
            run.run(order2, jvp)
    except Timeout:
        status = "skipped" if run.stage in ("plain", "fd") else "crash"
        run.note(status, run.stage, "timeout after %gs of CPU" % timeout, "Timeout", "timeout")
    finally:
        _alarm(0)
        if main:
            for sig, handler in zip(_SIGNALS, previous):
                signal.signal(sig, handler)
        loader.unload(module)
    return run.outcome()
