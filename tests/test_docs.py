"""The runnable examples in public docstrings run."""
import doctest
import importlib

import pytest

MODULES = ["ad_compiler", "ad_compiler.api", "ad_compiler.transforms", "ad_compiler.checks", "ad_compiler.custom",
           "ad_compiler.params", "ad_compiler.runtime.core.tree", "ad_compiler.runtime.core.lru",
           "ad_compiler.runtime.generated", "ad_compiler.runtime.helpers",
           "ad_compiler.runtime.rules.numpy"] + ["ad_compiler.layers." + m for m in (
               "printing", "walk", "core", "utils", "basic", "conv", "normalise", "activations",
               "losses", "optimise", "rules", "train", "data", "saving", "init", "devices", "mode")]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0


def test_public_functions_have_examples():
    import ad_compiler
    missing = []
    for name in ad_compiler.__all__ if hasattr(ad_compiler, "__all__") else dir(ad_compiler):
        obj = getattr(ad_compiler, name)
        if name.startswith("_") or not callable(obj) or isinstance(obj, type):
            continue
        if getattr(obj, "__module__", "").startswith("ad_compiler") and \
                ">>>" not in (obj.__doc__ or ""):
            missing.append(name)
    assert not missing, missing
