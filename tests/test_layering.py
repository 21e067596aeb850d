"""Imports go one way: runtime/core <- runtime <- compiler <- API <- layers.

Every ``import`` in every module is read (function-level ones too), so a
new upward import or a cycle fails here instead of growing quietly.
"""
import ast
import os

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# (folder, the package it installs as)
PACKAGES = [("runtime", "ad_compiler.runtime"), ("layers", "ad_compiler.layers"),
            ("ad_compiler", "ad_compiler")]
API = {"ad_compiler", "ad_compiler.api", "ad_compiler.transforms", "ad_compiler.params", "ad_compiler.custom",
       "ad_compiler.cli", "ad_compiler.checks", "ad_compiler.__main__",
       "ad_compiler.errors", "ad_compiler.tree"}
RANK = {"core": 0, "runtime": 1, "compiler": 2, "api": 3, "layers": 4}


def modules():
    """module name -> file, for every module we ship."""
    found = {}
    for folder, package in PACKAGES:
        base = os.path.join(ROOT, folder)
        for dirpath, dirnames, files in os.walk(base):
            dirnames[:] = [d for d in dirnames if d not in ("runtime", "layers", "__pycache__")
                           or dirpath != os.path.join(ROOT, "ad_compiler")]
            for f in files:
                if f.endswith(".py"):
                    rel = os.path.relpath(os.path.join(dirpath, f), base)[:-3].split(os.sep)
                    if rel[-1] == "__init__":
                        rel = rel[:-1]
                    found[".".join([package] + rel)] = os.path.join(dirpath, f)
    return found


def layer(name):
    if name.startswith("ad_compiler.runtime.core"):
        return "core"
    if name.startswith("ad_compiler.runtime"):
        return "runtime"
    if name.startswith("ad_compiler.layers"):
        return "layers"
    return "api" if name in API else "compiler"


def imports(name, path, known):
    """The modules of ours that ``name`` imports, anywhere in its body."""
    is_package = path.endswith("__init__.py")
    package = name if is_package else name.rpartition(".")[0]
    out = set()
    for node in ast.walk(ast.parse(open(path).read())):
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                parts = parts[:len(parts) - node.level + 1]
                base = ".".join(parts + ([base] if base else []))
            targets = [base + "." + a.name for a in node.names] + [base]
        else:
            continue
        for t in targets:
            while t and t not in known:
                t = t.rpartition(".")[0]
            if t and t != name and not name.startswith(t + "."):
                out.add(t)
    return out


def graph():
    known = modules()
    return {name: imports(name, path, known) for name, path in known.items()}


def test_no_upward_imports():
    upward = sorted("%s (%s) imports %s (%s)" % (m, layer(m), t, layer(t))
                    for m, targets in graph().items() for t in targets
                    if RANK[layer(t)] > RANK[layer(m)])
    assert not upward, "\n".join(upward)


def test_no_import_cycles():
    g = graph()
    cycles, state = [], {}

    def visit(m, stack):
        state[m] = "open"
        for t in sorted(g.get(m, ())):
            if state.get(t) == "open":
                cycles.append(" -> ".join(stack[stack.index(t):] + [t]))
            elif t not in state:
                visit(t, stack + [t])
        state[m] = "done"

    for m in sorted(g):
        if m not in state:
            visit(m, [m])
    assert not cycles, "\n".join(cycles)
