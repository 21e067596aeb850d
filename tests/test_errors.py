"""Bad input gets a clear error naming file, line and construct: never a wrong answer."""
import inspect
import math

import numpy as np
import pytest

from ad_compiler import ADError, NoAdjointError, UnsupportedSyntaxError, gradient

COUNTER = 0


def line_of(fn, text):
    """The file line of the first source line of ``fn`` containing ``text``."""
    lines, start = inspect.getsourcelines(fn)
    for i, line in enumerate(lines):
        if text in line:
            return start + i
    raise AssertionError(text)


def uses_yield(x):
    yield x * 2


def uses_global(x):
    global COUNTER
    COUNTER = x
    return x


def uses_nonlocal(x):
    y = x

    def inner():
        nonlocal y
        y = y * 2
    inner()
    return y


def uses_del(x):
    y = x * 2
    del y
    return x


def uses_with(x):
    with open(__file__) as fh:
        fh.read()
    return x


def uses_exec(x):
    exec("z = 1")
    return x


def uses_eval(x):
    return eval("x * 2")


def uses_setattr(x):
    class_ = type("C", (), {})
    setattr(class_, "v", x)
    return x


async def uses_async(x):
    return x


def uses_lambda_yield(x):
    gen = (lambda: (yield x))  # noqa: F841
    return x


def uses_import(x):
    import os  # noqa: F401
    return x


def uses_class(x):
    class Local:
        pass
    return x


CASES = [
    (uses_yield, "yield x", "'yield' is not supported"),
    (uses_global, "global COUNTER", "'global' is not supported"),
    (uses_nonlocal, "nonlocal y", "'nonlocal' is not supported"),
    (uses_del, "del y", "'del' is not supported"),
    (uses_with, "with open", "'with' is not supported"),
    (uses_exec, 'exec("', "'exec()' is not supported"),
    (uses_eval, 'eval("', "'eval()' is not supported"),
    (uses_setattr, "setattr(class_", "'setattr()' is not supported"),
    (uses_lambda_yield, "(yield x)", "'yield' is not supported"),
    (uses_import, "import os", "'import' inside a function is not supported"),
    (uses_class, "class Local", "a class definition is not supported"),
]


@pytest.mark.parametrize("fn, text, message", CASES, ids=[c[0].__name__ for c in CASES])
def test_unsupported_syntax_names_file_line_and_advice(fn, text, message):
    with pytest.raises(UnsupportedSyntaxError) as e:
        gradient(fn, 1.0)
    msg = str(e.value)
    assert msg.startswith("test_errors.py:%d: " % line_of(fn, text)), msg
    assert message in msg
    assert "; " in msg.split("supported", 1)[1]       # says what to do instead
    assert isinstance(e.value, ADError)


def test_async_function_is_rejected():
    with pytest.raises(UnsupportedSyntaxError, match="'async def' is not supported") as e:
        gradient(uses_async, 1.0)
    assert str(e.value).startswith("test_errors.py:%d:" % line_of(uses_async, "async def"))


def test_no_adjoint_for_numpy_function_names_it_and_how_to_register():
    def f(x):
        return np.sum(np.fft.fft(x).real)

    with pytest.raises(NoAdjointError) as e:
        gradient(f, np.ones(4))
    msg = str(e.value)
    assert "test_errors.py:%d" % line_of(f, "fft") in msg
    assert "numpy.fft" in msg and "@adjoint(" in msg


def test_no_adjoint_for_builtin_without_source():
    def f(x):
        return math.gamma(x)

    with pytest.raises(NoAdjointError, match=r"math\.gamma.*@adjoint"):
        gradient(f, 2.0)


def test_nondifferentiable_builtin_on_inactive_value_is_fine():
    def f(x):
        n = len([1, 2, 3])
        return x * n

    assert gradient(f, 2.0) == (3.0,)


def test_attribute_mutation_of_differentiated_value_is_rejected():
    class Box:
        pass

    def f(x):
        b = Box()
        b.v = x * 2
        return b.v

    with pytest.raises(UnsupportedSyntaxError) as e:
        gradient(f, 1.0)
    assert "test_errors.py:%d" % line_of(f, "b.v = x * 2") in str(e.value)
    assert "attribute 'v'" in str(e.value)


def test_not_callable():
    with pytest.raises(ADError, match="not callable"):
        gradient(3.0, 1.0)


def test_rule_that_does_not_name_a_keyword_is_an_error_not_a_silent_drop():
    def f(x):
        return np.sum(np.sin(x, out=None))

    with pytest.raises(NoAdjointError) as e:
        gradient(f, np.ones(3))
    assert "does not handle keyword 'out'" in str(e.value)
    assert "test_errors.py:%d" % line_of(f, "np.sin(x, out=None)") in str(e.value)


def test_keepdims_reduction_is_not_mistaken_for_a_scalar():
    from ad_compiler import NonScalarOutputError
    with pytest.raises(NonScalarOutputError, match=r"shape \(1,\)"):
        gradient(lambda x: np.sum(x, keepdims=True) * 2.0, np.ones(3))
