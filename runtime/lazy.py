"""Modules imported on first use, then read as plain attributes.

The runtime and the compiler import each other (generated code calls the
runtime; the runtime compiles callees), so the runtime cannot import the
compiler at load time.  A function-level ``import`` would do, but it costs
a microsecond on every call of code that runs once per derivative.
"""
import importlib


class Lazy:
    def __init__(self, package):
        self._package = package

    def __getattr__(self, name):
        if name.startswith("_"):        # hasattr(x, "__array__") and the like
            raise AttributeError(name)
        module = importlib.import_module("%s.%s" % (self._package, name))
        setattr(self, name, module)
        return module


ad = Lazy("ad_compiler")     # ad.compiler, ad.api, ad.tree, ad.errors
rt = Lazy("ad_compiler.runtime")         # rt.dispatch, rt.transforms
