"""Command line: show the generated code for a function.

    python -m ad_compiler show mymodule:loss --args "np.ones(3)" 2.0

Arguments are Python expressions evaluated with ``np`` (NumPy) in scope;
without ``--args`` every parameter is taken to be a float.  A mistake (a
module or function that cannot be found, an argument that does not
evaluate, a function the compiler refuses) is one line on stderr and exit
status 2, without a traceback.
"""
import argparse
import importlib
import os
import sys

import numpy as np

USAGE_ERROR = 2


class UsageError(Exception):
    """A mistake on the command line: reported in one line."""


class _Parser(argparse.ArgumentParser):
    def error(self, message):
        raise UsageError(message)


def _load(spec):
    if ":" not in spec:
        raise UsageError("expected module:function or path/to/file.py:function, got %r" % spec)
    module_name, attr = spec.split(":", 1)
    if module_name.endswith(".py") or os.sep in module_name:
        # a file: import it by its dotted name from the top of its package
        path = os.path.abspath(module_name)
        if not os.path.isfile(path):
            raise UsageError("no such file: %s" % module_name)
        folder, parts = os.path.dirname(path), [os.path.splitext(os.path.basename(path))[0]]
        while os.path.exists(os.path.join(folder, "__init__.py")):
            folder, package = os.path.split(folder)
            parts.insert(0, package)
        sys.path.insert(0, folder)
        module_name = ".".join(parts)
    else:
        sys.path.insert(0, os.getcwd())
    try:
        obj = importlib.import_module(module_name)
    except ImportError as e:
        raise UsageError("cannot import %s: %s" % (module_name, e)) from None
    except Exception as e:
        raise UsageError("importing %s failed: %s: %s" % (module_name, type(e).__name__,
                                                          _one_line(e))) from None
    for part in attr.split("."):
        if not hasattr(obj, part):
            raise UsageError("%s has no attribute %r (looking up %s)"
                             % (getattr(obj, "__name__", module_name), part, attr))
        obj = getattr(obj, part)
    return obj


def _arguments(texts):
    out = []
    for text in texts or []:
        try:
            out.append(eval(text, {"np": np}))
        except Exception as e:
            raise UsageError("--args %r: %s: %s (arguments are Python expressions; np is "
                             "NumPy)" % (text, type(e).__name__, _one_line(e))) from None
    return out


def _one_line(e):
    return " ".join(str(e).split())


def _parser():
    parser = _Parser(prog="python -m ad_compiler", description=__doc__,
                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    show = sub.add_parser("show", help="print the generated adjoint source of a function")
    show.add_argument("function", help="module:function or path/to/file.py:function")
    show.add_argument("--args", nargs="*", default=None,
                      help="example arguments, as Python expressions (np is NumPy)")
    show.add_argument("--order", type=int, default=1, help="derivative order")
    return parser


def main(argv=None):
    try:
        opts = _parser().parse_args(argv)
        from ad_compiler import adjoint_source
        fn = _load(opts.function)
        args = _arguments(opts.args)
        kwargs = {"order": opts.order} if opts.order != 1 else {}
        try:
            text = adjoint_source(fn, *args, **kwargs)
        except Exception as e:      # a refused function, or arguments it does not take
            raise UsageError("%s: %s" % (type(e).__name__, _one_line(e))) from None
    except UsageError as e:
        print("python -m ad_compiler: error: %s" % e, file=sys.stderr)
        return USAGE_ERROR
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
