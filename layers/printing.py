"""Flux-style printing of models: one line per layer with its parameter
count, containers indented, NaN/Inf and all-zero parameters flagged.

>>> from ad_compiler.layers import Chain, Dense
>>> print(show(Chain(Dense(3, 2), Dense(2, 1))))  # doctest: +ELLIPSIS
Chain(
  Dense(3 => 2),  # 8 parameters
...
"""
import types

import numpy as np

from .walk import Walk, field_names, is_array, is_layer

_COLUMN = 40        # where Flux starts the parameter comments of a listing


def show(model):
    """Flux's printing of a model: one line with its parameter count, or for
    a container an indented listing with a count per layer and a total.

    >>> from .core import layer
    >>> @layer
    ... class Scaled:
    ...     def __init__(self, n): self.s = np.ones(n)
    >>> print(show([Scaled(3), np.tanh]))
    [
      Scaled(s=float64[3]),                 # 3 parameters
      tanh,
    ]                   # Total: 1 array, 3 parameters, 24 bytes.
    """
    if not _expands(model):
        comment = _comment(model)
        return _head(model) + ("  " + comment if comment else "")
    lines = _block(model, "", "")
    total = _total(model)
    if total:
        lines[-1] = _pad(lines[-1], 20) + total
    return "\n".join(lines)


def _pad(line, column):
    return line.ljust(column) if len(line) <= column - 2 else line + "  "


def _block(x, label, indent):
    if isinstance(x, (tuple, list, dict)):
        brackets = "()" if isinstance(x, tuple) else "[]" if isinstance(x, list) else "{}"
    else:
        brackets = type(x).__name__ + "(", ")"
    lines = [indent + label + brackets[0]]
    for name, child in _entries(x):
        sub = "" if name is None else "%s = " % (name,)
        if _expands(child):
            inner = _block(child, sub, indent + "  ")
            inner[-1] += ","
            lines += inner
            continue
        line = indent + "  " + sub + _head(child) + ","
        comment = _comment(child)
        lines.append(_pad(line, _COLUMN) + comment if comment else line)
    lines.append(indent + brackets[1])
    return lines


def _entries(x):
    if hasattr(x, "_repr_children") and not isinstance(x, type):
        return list(x._repr_children())
    if isinstance(x, dict):
        return list(x.items())
    if isinstance(x, (tuple, list)):
        return [(None, v) for v in x]
    return [(k, getattr(x, k)) for k in field_names(x)]


def _layerish(x):
    if isinstance(x, (tuple, list)):
        return any(_layerish(v) for v in x)
    if isinstance(x, dict):
        return any(_layerish(v) for v in x.values())
    return is_layer(x) or hasattr(x, "_repr_children") or (
        callable(x) and not isinstance(x, (types.FunctionType, type)) and bool(field_names(x)))


def _expands(x):
    if isinstance(x, type):
        return False
    if hasattr(x, "_repr_children"):
        return True
    if isinstance(x, (tuple, list, dict)):
        return _layerish(x)
    if not is_layer(x) or hasattr(x, "_repr_head") or type(x).__repr__ is not _layer_repr:
        return False
    return any(_layerish(getattr(x, k)) for k in field_names(x))


def _head(x):
    """The one-line form of ``x``, without a parameter comment."""
    if hasattr(x, "_repr_head") and not isinstance(x, type):
        return x._repr_head()
    if is_array(x):
        return "%s[%s]" % (x.dtype, ", ".join(str(d) for d in x.shape))
    if isinstance(x, (tuple, list)):
        inner = ", ".join(_head(v) for v in x)
        return ("(%s,)" if len(x) == 1 else "(%s)") % inner if isinstance(x, tuple) \
            else "[%s]" % inner
    if isinstance(x, dict):
        return "{%s}" % ", ".join("%r: %s" % (k, _head(v)) for k, v in x.items())
    if callable(x) and hasattr(x, "__name__") and not field_names(x):
        return x.__name__
    own = type(x).__repr__
    if own is not _layer_repr and own is not object.__repr__:
        return repr(x).split("\n")[0].split("  # ")[0]
    names = field_names(x)
    if not names and own is object.__repr__:
        return type(x).__name__ + "()"
    return "%s(%s)" % (type(x).__name__,
                       ", ".join("%s=%s" % (k, _head(getattr(x, k))) for k in names))


def _stats(x):
    walk = Walk(x)
    return walk.arrays(True), walk.arrays(False)


def _count(arrays):
    return sum(int(a.size) for a in arrays)


def _plural(n, word):
    return "%s %s%s" % (format(n, "_"), word, "" if n == 1 else "s")


def _flags(arrays):
    """Flux's warnings on printed parameters: all zero, some NaN, some Inf."""
    arrays = [a for a in arrays if a.size]
    if not arrays:
        return ""
    if all(not a.any() for a in arrays):
        return "  (all zero)"
    if any(bool(np.isnan(a).any()) for a in arrays):
        return "  (some NaN)"
    if any(bool(np.isinf(a).any()) for a in arrays):
        return "  (some Inf)"
    return ""


def _comment(x):
    trained, fixed = _stats(x)
    if not trained and not fixed:
        return ""
    text = "# " + _plural(_count(trained), "parameter")
    if fixed:
        text += ", plus %s non-trainable" % format(_count(fixed), "_")
    return text + _flags(trained)


def _total(x):
    trained, fixed = _stats(x)
    if not trained and not fixed:
        return ""
    nbytes = sum(int(a.nbytes) for a in trained + fixed)
    text = "# Total: %s, %s" % (_plural(len(trained), "trainable array" if fixed else "array"),
                                _plural(_count(trained), "parameter"))
    if fixed:
        text += ", plus %d non-trainable, %s" % (len(fixed),
                                                 _plural(_count(fixed), "parameter"))
    return text + ", %s.%s" % (_bytes(nbytes), _flags(trained))


def _bytes(nbytes):
    if nbytes < 1024:
        return "%d bytes" % nbytes
    for unit in ("KiB", "MiB", "GiB"):
        nbytes /= 1024.0
        if nbytes < 1024 or unit == "GiB":
            return "%.3g %s" % (nbytes, unit)


def _layer_repr(self):
    return show(self)
