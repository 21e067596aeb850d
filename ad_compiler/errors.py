"""The error hierarchy, importable as ``ad_compiler.errors``.

It is defined in :mod:`ad_compiler.runtime.core.errors`, the bottom layer,
so that every layer can raise it.
"""
from ad_compiler.runtime.core.errors import (ADError, ArgumentError,  # noqa: F401
                                             MissingReturnError, NoAdjointError,
                                             NonScalarOutputError, UnsupportedDerivativeError,
                                             UnsupportedSyntaxError)
