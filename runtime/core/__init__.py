"""The bottom layer: what every other layer needs, importing nothing of ours.

* :mod:`.errors`: the ``ADError`` hierarchy and how errors name user code;
* :mod:`.kinds`: the kind lattice (``Kind``, ``kind_of``, ``join``);
* :mod:`.tree`: structures of values (pytrees), ``Struct`` gradients;
* :mod:`.registry`: the rule registry (``defvjp``, ``defjvp``, ...);
* :mod:`.options`: how the compiler is asked to generate code.
"""
