"""docs/errors.md is tested: every example raises the documented class, its
message has the quoted phrases and names the example's line marked
``# <- reported``; phrases of entries without an example exist in the
source.  Also: the command line's one-line errors, and the generated
line plus the user's file:line in an uncaught error under plain python."""
import builtins
import glob
import linecache
import os
import re
import subprocess
import sys

import numpy as np
import pytest

import ad_compiler
from ad_compiler import (ADError, ArgumentError, MissingReturnError, NoAdjointError, grad,
                         gradient)

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DOC = os.path.join(ROOT, "docs", "errors.md")
HEADER = "import functools, math\nimport numpy as np\nfrom ad_compiler import *\n"
MARK = "# <- reported"


class Entry:
    """One ``### `` section of the catalogue."""

    def __init__(self, title, text):
        self.title = title
        self.key = title.split(".")[0]
        blocks = re.findall(r"```python\n(.*?)```", text, re.S)
        self.code = blocks[0] if blocks else None
        m = re.search(r"\*\*Raises\*\* `(\w+)`(.*)", text)
        assert m, "entry %r has no **Raises** line" % title
        self.raises = m.group(1)
        rest = m.group(2)
        self.says = re.findall(r"`([^`]+)`", rest.split("**says**", 1)[1]) \
            if "**says**" in rest else []
        notes = re.search(r"\*\*Note says\*\*(.*)", text)
        self.notes = re.findall(r"`([^`]+)`", notes.group(1)) if notes else []
        self.rare = "*rare*" in title

    def __repr__(self):
        return self.key


def read_entries():
    text = open(DOC).read()
    out = []
    for part in re.split(r"^### ", text, flags=re.M)[1:]:
        part = re.split(r"^## ", part, flags=re.M)[0]
        title, _, body = part.partition("\n")
        out.append(Entry(title.strip(), body))
    return out


ENTRIES = read_entries()
EXAMPLES = [e for e in ENTRIES if e.code is not None]
RARE = [e for e in ENTRIES if e.code is None]


@pytest.fixture
def fakelib(tmp_path, monkeypatch):
    """A stand-in for an installed library (SciPy) whose source uses ``with``."""
    package = tmp_path / "site-packages" / "fakelib"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("from ._impl import logsumexp\n")
    (package / "_impl.py").write_text(
        "import numpy as np\n\n\n"
        "def logsumexp(a):\n"
        "    with np.errstate(all='ignore'):\n"
        "        m = np.max(a)\n"
        "        return m + np.log(np.sum(np.exp(a - m)))\n")
    monkeypatch.syspath_prepend(str(tmp_path / "site-packages"))
    yield
    for name in [n for n in sys.modules if n == "fakelib" or n.startswith("fakelib.")]:
        del sys.modules[name]


def run_example(entry, folder):
    """Run an entry's example as a file; returns (exception, file name, marked lines)."""
    path = os.path.join(str(folder), "example_%s.py" % entry.key.lower())
    with open(path, "w") as fh:
        fh.write(HEADER + entry.code)
    marked = [i + 1 + HEADER.count("\n") for i, line in enumerate(entry.code.splitlines())
              if line.rstrip().endswith(MARK)]
    code = compile(open(path).read(), path, "exec")
    try:
        exec(code, {"__name__": "example_%s" % entry.key.lower(), "__file__": path})
    except Exception as e:                       # noqa: BLE001 (what we test)
        return e, os.path.basename(path), marked
    return None, os.path.basename(path), marked


def test_the_catalogue_is_big_and_covers_every_error_class():
    assert len(ENTRIES) >= 25 and len(EXAMPLES) >= 25
    keys = [e.key for e in ENTRIES]
    assert len(keys) == len(set(keys)), keys
    documented = {e.raises for e in ENTRIES}
    classes = {name for name in dir(ad_compiler) if isinstance(getattr(ad_compiler, name), type)
               and issubclass(getattr(ad_compiler, name), ADError)}
    assert classes <= documented, classes - documented


@pytest.mark.parametrize("entry", EXAMPLES, ids=[e.key for e in EXAMPLES])
def test_each_example_raises_what_the_catalogue_says(entry, tmp_path, fakelib):
    err, filename, marked = run_example(entry, tmp_path)
    assert err is not None, "%s raised nothing" % entry.key
    cls = getattr(ad_compiler, entry.raises, None) or getattr(builtins, entry.raises)
    assert isinstance(err, cls), (type(err), err)
    message = str(err)
    for phrase in entry.says:
        assert phrase in message, (phrase, message)
    for line in marked:
        assert message.startswith("%s:%d: " % (filename, line)), message
    if isinstance(err, ADError):
        assert re.match(r"^[^\s:]+:\d+: ", message), "names no file:line: " + message
        assert re.search(r"; |: |register|instead|called as|use ", message.split(": ", 1)[1]), \
            "says nothing to do: " + message
    notes = "\n".join(getattr(err, "__notes__", []))
    for phrase in entry.notes:
        assert phrase in notes, (phrase, notes)


def _sources():
    """The package's source, with string literals split over lines joined."""
    files = glob.glob(os.path.join(ROOT, "ad_compiler", "**", "*.py"), recursive=True) + \
        glob.glob(os.path.join(ROOT, "runtime", "**", "*.py"), recursive=True)
    text = "\n".join(open(f).read() for f in files)
    return re.sub(r"(\"|')\s*\n\s*(\"|')", "", text)


@pytest.mark.parametrize("entry", RARE, ids=[e.key for e in RARE])
def test_rare_entries_quote_messages_that_exist(entry):
    """Entries no user code reaches today still quote the code's own words."""
    assert entry.rare, entry.title
    source = _sources()
    for phrase in entry.says:
        assert phrase in source, (entry.key, phrase)


def test_scipy_logsumexp_asks_for_a_rule_not_for_an_edit():
    special = pytest.importorskip("scipy.special")

    def f(x):
        return special.logsumexp(x) * 2.0

    try:
        gradient(f, np.ones(3))
    except NoAdjointError as e:
        assert "register one with @adjoint" in str(e)
        assert "move the 'with'" not in str(e)
    else:       # a SciPy without `with` in logsumexp: then it must be right
        np.testing.assert_allclose(gradient(f, np.ones(3))[0], np.full(3, 2.0 / 3.0))


# ---------------------------------------------------------------- API misuse, directly

def test_grad_with_a_point_says_how_to_call_it():
    with pytest.raises(ArgumentError) as e:
        grad(np.sin, 3.0)
    assert isinstance(e.value, TypeError)
    assert "call the result: grad(sin)(3.0)" in str(e.value)
    assert str(e.value).startswith("test_errors_catalogue.py:")


def test_missing_return_names_the_function_and_its_line():
    def forgot(x):
        x * 2.0

    with pytest.raises(MissingReturnError) as e:
        gradient(forgot, 1.0)
    line = forgot.__code__.co_firstlineno
    assert str(e.value).startswith("test_errors_catalogue.py:%d: forgot returns None" % line)


# ---------------------------------------------------------------- tracebacks

SCRIPT = """\
import numpy as np
from ad_compiler import gradient


def loss(W, x):
    h = W @ x
    return np.sum(h * np.ones(4))


gradient(loss, np.ones((3, 2)), np.ones(2))
"""


def test_plain_python_shows_generated_line_and_user_line(tmp_path):
    script = tmp_path / "model_script.py"
    script.write_text(SCRIPT)
    env = dict(os.environ, PYTHONPATH=ROOT)
    run = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                         env=env, cwd=str(tmp_path), timeout=120)
    assert run.returncode == 1
    err = run.stderr
    assert "ValueError: operands could not be broadcast" in err
    assert "in generated code <ad_compiler loss" in err
    assert "bh = unbroadcast(" in err or "h * _t" in err              # the generated line
    assert "model_script.py:7: return np.sum(h * np.ones(4))" in err   # the user's line


def test_generated_source_survives_linecache_checks_and_clears():
    from ad_compiler import adjoint_source, compiler

    def cube(x):
        return x ** 3

    text = adjoint_source(cube, 2.0)
    name = [n for n in linecache.cache if n.startswith("<ad_compiler cube")][-1]
    linecache.checkcache()
    assert linecache.getline(name, 1).startswith("# generated by ad_compiler")
    linecache.clearcache()
    compiler.clear_cache()
    # the second derivative compiles the generated code again from its source
    assert gradient(lambda x: gradient(cube, x)[0], 2.0) == (12.0,)
    assert "cube" in text


# ---------------------------------------------------------------- command line

def _cli(*args):
    env = dict(os.environ, PYTHONPATH=ROOT)
    return subprocess.run([sys.executable, "-m", "ad_compiler"] + list(args),
                          capture_output=True, text=True, env=env, cwd=ROOT, timeout=120)


@pytest.mark.parametrize("args, phrase", [
    (["show", "nosuchmodule:f"], "cannot import nosuchmodule"),
    (["show", "benchmarks/workloads.py:nosuch"], "has no attribute 'nosuch'"),
    (["show", "no/such/file.py:f"], "no such file"),
    (["show", "benchmarks/workloads.py"], "expected module:function"),
    (["show", "benchmarks/workloads.py:scalar_loop", "--args", "np.ones("], "--args"),
    (["show", "benchmarks/workloads.py:scalar_loop", "--args", "1.0", "2.0"],
     "too many positional arguments"),
    (["show", "benchmarks/workloads.py:scalar_loop", "--order", "x"], "invalid int value"),
    (["shw", "x:y"], "invalid choice"),
])
def test_cli_mistakes_are_one_line_and_exit_2(args, phrase):
    run = _cli(*args)
    assert run.returncode == 2, run.stderr
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1, run.stderr
    assert phrase in lines[0] and "Traceback" not in run.stderr


def test_cli_still_shows_code():
    run = _cli("show", "benchmarks/workloads.py:scalar_loop")
    assert run.returncode == 0 and "def scalar_loop_grad" in run.stdout


def test_examples_are_written_as_files_with_their_header(tmp_path):
    entry = EXAMPLES[0]
    err, filename, marked = run_example(entry, tmp_path)
    assert open(os.path.join(str(tmp_path), filename)).read().startswith(HEADER)
    assert marked and isinstance(err, ADError)
