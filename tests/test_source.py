"""Finding the right source: lambdas, nested functions, methods, decorators."""
import functools
import linecache

import numpy as np
import pytest

from ad_compiler import ADError, gradient
from ad_compiler.front import locate, source
from ad_compiler.codegen import unparse

double, square = (lambda x: 2 * x), (lambda x: x * x)
triple, cube = (lambda x: 3 * x), (lambda y: y * y * y)


def test_two_lambdas_on_one_line_same_signature():
    assert gradient(double, 5.0) == (2.0,)
    assert gradient(square, 5.0) == (10.0,)


def test_two_lambdas_on_one_line_different_names():
    assert gradient(triple, 2.0) == (3.0,)
    assert gradient(cube, 2.0) == (12.0,)


def test_nested_lambda_picks_the_inner_one():
    outer = lambda x: (lambda y: y * 4.0)(x) + 1.0  # noqa: E731
    inner = (lambda x: (lambda y: y * 4.0))(0)
    assert gradient(outer, 1.0) == (4.0,)
    assert gradient(inner, 1.0) == (4.0,)


def test_multiline_lambda_inside_a_call():
    fns = dict(a=lambda x:
               x * 5.0,
               b=lambda x: x * 7.0)
    assert gradient(fns["a"], 1.0) == (5.0,)
    assert gradient(fns["b"], 1.0) == (7.0,)


# Python < 3.11 has no column positions, so these are told apart by compiling
# each lambda on the line and comparing code objects.
halve, negate, plus = (lambda x: x / 2.0), (lambda x: -x), (lambda x: x + 1.0)
mul3, add3 = (lambda a: (lambda x: x * a))(3.0), (lambda a: (lambda x: x * x + a))(3.0)
pairs = [(lambda x: x * k, lambda x: x * x * k) for k in (2.0, 3.0)]
twin_a, twin_b = (lambda x: x * 6.0), (lambda x: x * 6.0)
zero_a, zero_b = (lambda x: x * 0.0), (lambda x: x * -0.0)   # equal consts, not the same


def with_defaults(x, f=lambda y: y * 3.0, g=lambda y: y * y):
    return f(x) + g(x)


def test_two_lambdas_on_one_line_different_bodies():
    assert gradient(halve, 3.0) == (0.5,)
    assert gradient(negate, 3.0) == (-1.0,)
    assert gradient(plus, 3.0) == (1.0,)


def test_nested_lambdas_on_one_line_with_closures():
    assert gradient(mul3, 2.0) == (3.0,)
    assert gradient(add3, 2.0) == (4.0,)


def test_closures_on_one_line_inside_a_function():
    scale = 3.0
    f, g = (lambda x: x * scale), (lambda x: x * x * scale)
    assert gradient(f, 2.0) == (3.0,)
    assert gradient(g, 2.0) == (12.0,)


def test_lambdas_in_a_comprehension_on_one_line():
    # Every lambda sees the last k (3.0): Python closures bind late.
    assert [gradient(f, 2.0) for f, _ in pairs] == [(3.0,), (3.0,)]
    assert [gradient(g, 2.0) for _, g in pairs] == [(12.0,), (12.0,)]


def test_lambdas_in_default_arguments():
    f, g = with_defaults.__defaults__
    assert gradient(f, 2.0) == (3.0,)
    assert gradient(g, 2.0) == (4.0,)


def test_lambdas_found_from_their_statement_or_the_whole_file(monkeypatch):
    # the statement around the line is parsed alone; the whole file is the fallback
    monkeypatch.setattr(locate, "_lambdas_near", lambda lines, line: None)
    test_lambda_matching_with_and_without_column_positions(monkeypatch, True)


def test_lambda_statement_search_gives_up_on_a_partial_statement():
    lines = ["x = [1,\n", "     2]\n", "else:\n", "    f = (lambda t: t,\n", "         0)\n"]
    assert locate._lambdas_near(lines, 4) is None               # 'else:' is no statement
    found = locate._lambdas_near(["g = (0,\n", "     lambda t: t * 2)\n"], 2)
    assert [n.lineno for n in found] == [2]


def test_identical_lambdas_on_one_line_are_interchangeable():
    assert gradient(twin_a, 1.0) == gradient(twin_b, 1.0) == (6.0,)


def _picked(fn):
    """The body of the lambda node that lambda_definition picks for ``fn``."""
    code = fn.__code__
    lines = linecache.getlines(code.co_filename)
    return unparse(locate.lambda_definition(code, lines).body[0].value)


@pytest.mark.parametrize("positions", [True, False], ids=["positions", "code-objects"])
def test_lambda_matching_with_and_without_column_positions(monkeypatch, positions):
    if not positions:       # what Python < 3.11 does, checked on every version
        monkeypatch.setattr(locate, "_match_positions", lambda code, lambdas: [])
    assert [_picked(f) for f in (double, square, triple, cube)] == \
        ["2 * x", "x * x", "3 * x", "y * y * y"]
    assert [_picked(f) for f in (halve, negate, plus)] == ["x / 2.0", "-x", "x + 1.0"]
    assert [_picked(f) for f in (mul3, add3)] == ["x * a", "x * x + a"]
    assert [_picked(f) for f in pairs[0]] == ["x * k", "x * x * k"]
    assert [_picked(f) for f in with_defaults.__defaults__] == ["y * 3.0", "y * y"]
    assert [_picked(f) for f in (zero_a, zero_b)] == ["x * 0.0", "x * -0.0"]
    assert _picked(twin_b) == "x * 6.0"
    scale = 2.0
    f, g = (lambda x: x * scale), (lambda x: scale * x)
    assert [_picked(f), _picked(g)] == ["x * scale", "scale * x"]


def test_lambda_matching_by_code_refuses_code_from_elsewhere():
    code = halve.__code__
    parsed = locate.parse_file(code.co_filename, linecache.getlines(code.co_filename))
    lambdas = parsed.lambdas_at(code.co_firstlineno)
    assert locate._match_code(code, lambdas) == [lambdas[0]]
    assert locate._match_code(square.__code__, lambdas) == []


def test_nested_function():
    def outer():
        def inner(x):
            return x ** 3
        return inner

    assert gradient(outer(), 2.0) == (12.0,)


def counting(fn):
    """A decorator with a side effect, to show it is not re-run."""
    counting.calls += 1

    @functools.wraps(fn)
    def wrapper(*args):
        return fn(*args)
    return wrapper


counting.calls = 0


@counting
def decorated(x):
    return x * x


def test_decorated_function_is_differentiated_without_rerunning_decorators():
    before = counting.calls
    assert gradient(decorated.__wrapped__, 3.0) == (6.0,)
    assert gradient(decorated, 3.0) == (6.0,)
    assert counting.calls == before


class Model:
    scale = 3.0

    def __init__(self, w):
        self.w = w

    def loss(self, x):
        return np.sum(self.w * x * x)

    @staticmethod
    def static(x):
        return x * 5.0

    @classmethod
    def klass(cls, x):
        return cls.scale * x


def test_methods_static_and_class_methods():
    m = Model(np.array([1.0, 2.0]))
    (gx,) = gradient(m.loss, np.array([1.0, 1.0]))
    np.testing.assert_allclose(gx, [2.0, 4.0])
    assert gradient(Model.static, 1.0) == (5.0,)
    assert gradient(Model.klass, 1.0) == (3.0,)


def test_function_made_by_exec_has_no_source():
    namespace = {}
    exec("def h(x):\n    return x * 2\n", namespace)
    with pytest.raises(ADError, match="no source"):
        gradient(namespace["h"], 1.0)


def test_function_whose_source_is_in_linecache():
    text = "def h(x):\n    return x * 9.0\n"
    filename = "<notebook-cell-1>"
    linecache.cache[filename] = (len(text), None, text.splitlines(True), filename)
    namespace = {}
    exec(compile(text, filename, "exec"), namespace)
    assert gradient(namespace["h"], 1.0) == (9.0,)


def test_redefined_function_never_gets_a_stale_adjoint():
    text1 = "def h(x):\n    return x * 2.0\n"
    text2 = "def h(x):\n    return x * 3.0\n"
    results = []
    for i, text in enumerate((text1, text2)):
        filename = "<cell-%d>" % i
        linecache.cache[filename] = (len(text), None, text.splitlines(True), filename)
        ns = {}
        exec(compile(text, filename, "exec"), ns)
        results.append(gradient(ns["h"], 1.0)[0])
    assert results == [2.0, 3.0]


# ---------------------------------------------------------------- parsing fast, as gast would

def _defs_of(module):
    """Code objects of every def in ``module``'s file (nested ones included)."""
    import types
    found, todo = [], [compile(open(module.__file__).read(), module.__file__, "exec")]
    while todo:
        code = todo.pop()
        for c in code.co_consts:
            if isinstance(c, types.CodeType):
                todo.append(c)
                if not c.co_name.startswith("<"):
                    found.append(c)
    return found


_MODULES = ["ad_compiler.front.source", "ad_compiler.optimize.folding", "layers.basic",
            "layers.losses", "runtime.rules.linalg", "tests.test_semantics", "json.decoder",
            "textwrap", "argparse", "dataclasses", "inspect"]


@pytest.mark.parametrize("name", _MODULES)
def test_definitions_are_what_tokenizing_and_gast_give(name):
    """The quick block (ended by the code's last line) and the direct
    converter give what inspect.getblock and gast.ast_to_gast do, for every
    def of a module of ours and of the standard library."""
    import ast
    import gast
    import importlib
    import textwrap
    module = importlib.import_module(name)
    lines = linecache.getlines(module.__file__)
    checked = 0
    for code in _defs_of(module):
        first = code.co_firstlineno
        block = "".join(__import__("inspect").getblock(lines[first - 1:]))
        try:
            tree = ast.parse(textwrap.dedent(block))
        except SyntaxError:
            continue
        if not isinstance(tree.body[0], (ast.FunctionDef, ast.AsyncFunctionDef)):
            continue        # a class body
        ast.increment_lineno(tree, first - 1)
        expected = gast.ast_to_gast(tree.body[0])
        expected.decorator_list = []
        got = locate.definition(code, lines)
        assert gast.dump(got, include_attributes=True) == \
            gast.dump(expected, include_attributes=True), (name, code.co_name, first)
        checked += 1
    assert checked > 5


def test_a_block_that_ends_without_an_instruction_is_read_whole():
    """A trailing ``pass``, string or comment: the last instruction is not
    the last line, so the block is read to its end all the same."""
    namespace = {}
    text = ("def f(x):\n    y = x * 2\n    if y:\n        pass\n"
            "def g(x):\n    return (x\n)\n"
            "def h(x):\n    return x\n    'trailing'\n")
    filename = "<test trailing block>"
    linecache.cache[filename] = (len(text), None, text.splitlines(True), filename)
    exec(compile(text, filename, "exec"), namespace)
    lines = text.splitlines(True)
    try:
        bodies = {name: len(locate.definition(namespace[name].__code__, lines).body)
                  for name in "fgh"}
    finally:
        del linecache.cache[filename]
    assert bodies == {"f": 2, "g": 1, "h": 2}
