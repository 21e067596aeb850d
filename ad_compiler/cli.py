"""Command line: show the generated code for a function.

    python -m ad_compiler show mymodule:loss --args "np.ones(3)" 2.0

Arguments are Python expressions evaluated with ``np`` (NumPy) in scope;
without ``--args`` every parameter is taken to be a float.
"""
import argparse
import importlib
import os
import sys

import numpy as np


def _load(spec):
    if ":" not in spec:
        raise SystemExit("expected module:function, got %r" % spec)
    module_name, attr = spec.split(":", 1)
    if module_name.endswith(".py") or os.sep in module_name:
        # a file: import it by its dotted name from the top of its package
        path = os.path.abspath(module_name)
        folder, parts = os.path.dirname(path), [os.path.splitext(os.path.basename(path))[0]]
        while os.path.exists(os.path.join(folder, "__init__.py")):
            folder, package = os.path.split(folder)
            parts.insert(0, package)
        sys.path.insert(0, folder)
        module_name = ".".join(parts)
    else:
        sys.path.insert(0, os.getcwd())
    obj = importlib.import_module(module_name)
    for part in attr.split("."):
        obj = getattr(obj, part)
    return obj


def main(argv=None):
    parser = argparse.ArgumentParser(prog="ad-compiler", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    show = sub.add_parser("show", help="print the generated adjoint source of a function")
    show.add_argument("function", help="module:function or path/to/file.py:function")
    show.add_argument("--args", nargs="*", default=None,
                      help="example arguments, as Python expressions (np is NumPy)")
    show.add_argument("--order", type=int, default=1, help="derivative order")
    opts = parser.parse_args(argv)
    from . import adjoint_source
    fn = _load(opts.function)
    args = [eval(a, {"np": np}) for a in opts.args] if opts.args else []
    kwargs = {"order": opts.order} if opts.order != 1 else {}
    print(adjoint_source(fn, *args, **kwargs))
    return 0


if __name__ == "__main__":
    sys.exit(main())
