"""The bottom layer: what every other layer needs, importing nothing of ours.

* :mod:`.errors`: the ``ADError`` hierarchy and how errors name user code;
* :mod:`.kinds`: the kind lattice (``Kind``, ``kind_of``, ``join``);
* :mod:`.tree`: structures of values (pytrees), ``Struct`` gradients;
* :mod:`.rule` and :mod:`.registry`: rules as records, and the registry
  (``defvjp``, ``defjvp``, ``def_linear``, ``def_unary``, ``def_binary``,
  ``nondifferentiable``);
* :mod:`.options`: how the compiler is asked to generate code.
"""
