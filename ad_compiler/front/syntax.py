"""Stage 2: reject constructs we cannot differentiate, at compile time.

Each error names the file, line and construct and says what to write
instead.  What is not rejected here must work end to end.
"""
import gast

from ad_compiler import nodes as N
from ad_compiler.runtime.core.errors import unsupported

_ADVICE = {
    gast.Yield: ("'yield'", "return a list instead of yielding"),
    gast.YieldFrom: ("'yield from'", "return a list instead of yielding"),
    gast.Await: ("'await'", "differentiate a synchronous function"),
    gast.AsyncFunctionDef: ("'async def'", "differentiate a synchronous function"),
    gast.AsyncFor: ("'async for'", "use a plain for loop"),
    gast.AsyncWith: ("'async with'", "move the context manager outside the function"),
    gast.Global: ("'global'", "return the new value instead of assigning a global"),
    gast.Nonlocal: ("'nonlocal'", "return the new value instead of assigning an outer variable"),
    gast.Delete: ("'del'", "let the variable go out of scope, or rebind it"),
    gast.With: ("'with'", "move the 'with' block outside the differentiated function"),
    gast.ClassDef: ("a class definition", "define the class at module level"),
    gast.Import: ("'import' inside a function", "import at module level"),
    gast.ImportFrom: ("'import' inside a function", "import at module level"),
}

if hasattr(gast, "Match"):
    _ADVICE[gast.Match] = ("'match'", "use if/elif")

_FORBIDDEN_CALLS = {
    "exec": "write the code directly in the function",
    "eval": "write the expression directly in the function",
    "setattr": "build a new object instead of mutating one",
    "delattr": "build a new object instead of mutating one",
    "globals": "pass the values as arguments",
    "locals": "pass the values as arguments",
    "vars": "pass the values as arguments",
}


def check(source, local_names=()):
    """Raise UnsupportedSyntaxError for the first unsupported construct."""
    errors = []
    if isinstance(source.node, gast.AsyncFunctionDef):
        raise unsupported(source.node, source, *_ADVICE[gast.AsyncFunctionDef])
    for node in N.walk(source.node):
        if node is source.node:
            continue
        advice = _ADVICE.get(type(node))
        if advice:
            errors.append(unsupported(node, source, *advice))
        if isinstance(node, gast.Call) and isinstance(node.func, gast.Name):
            hint = _FORBIDDEN_CALLS.get(node.func.id)
            if hint and node.func.id not in local_names:
                errors.append(unsupported(node, source, "'%s()'" % node.func.id, hint))
    if errors:
        # Report the construct that comes first in the file.
        raise min(errors, key=lambda e: e.location.lineno)
    return source
