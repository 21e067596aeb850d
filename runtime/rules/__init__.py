"""The rule tables: how to differentiate NumPy, ``math``, the operators and the
runtime's own helpers.  Importing this package registers every table.

* :mod:`.basic`: operators, builtins and ``math``;
* :mod:`.numpy`: elementwise NumPy, written against ``xp``;
* :mod:`.arrays`: shape operations, joins, casts, sorting, constructors;
* :mod:`.reductions`: sums, products, means, extrema;
* :mod:`.linalg` and :mod:`.matrix`: products, transposes, inverses, solves;
* :mod:`.complex`: complex values;
* :mod:`.runtime`: the helpers generated code calls.
"""
from . import arrays, basic, complex, linalg, matrix, numpy, reductions, runtime

__all__ = ["arrays", "basic", "complex", "linalg", "matrix", "numpy", "reductions", "runtime"]
