"""Saving and loading models (and optimiser states) as named arrays.

A model's arrays are named by dotted paths (``layers.0.weight``), as in
PyTorch's ``state_dict``.  ``save`` writes them to ``.npz`` (read back with
``allow_pickle=False``), or to ``.safetensors`` when that package is
installed, with a metadata record (format name and version).

>>> import tempfile, os
>>> model = {"w": np.ones(2, np.float32), "act": np.tanh}
>>> path = os.path.join(tempfile.mkdtemp(), "m.npz"); save(path, model)
>>> load(path, {"w": np.zeros(2, np.float32), "act": np.tanh})["w"]
array([1., 1.], dtype=float32)
"""
import copy
import json

import numpy as np

from ad_compiler.runtime.core import tree as _tree
from ad_compiler.runtime.core.tree import tree_flatten, tree_unflatten

from .errors import LayerError, StateError
from .optimise import Fields, Leaf, OptimiserChain

FORMAT, VERSION = "ad_compiler.layers", 1
_META = "__metadata__"


def state_dict(model):
    """Every array of ``model`` (trainable or not) by dotted path.  An array
    held twice appears under both names (as the same object).

    >>> class Affine:
    ...     def __init__(self): self.W, self.b, self.act = np.ones((2, 3)), np.zeros(2), abs
    >>> sorted(state_dict({"layers": [Affine(), Affine()]}))
    ['layers.0.W', 'layers.0.b', 'layers.1.W', 'layers.1.b']
    """
    out = {}
    _arrays(model, "", out, set())
    return out


def _arrays(x, prefix, out, active):
    if isinstance(x, np.ndarray):
        out[prefix] = x
        return
    found = _tree._children(x)
    if found is None or id(x) in active:
        return
    active.add(id(x))
    for key, child in found[1]:
        _arrays(child, "%s.%s" % (prefix, key) if prefix else str(key), out, active)
    active.discard(id(x))


def loadmodel(dst, src, strict=True):
    """Copy the arrays of ``src`` (a model, or a ``state_dict``) into those of
    ``dst`` **in place**, keeping ``dst``'s dtypes; returns ``dst`` (Flux's
    ``loadmodel!``).  Arrays whose shapes differ are an error naming them;
    with ``strict``, so are names missing from ``src`` or unexpected in it.
    Nothing is copied unless everything fits.

    >>> dst = {"w": np.zeros(2, np.float32)}
    >>> loadmodel(dst, {"w": np.array([1.0, 2.0])})["w"]
    array([1., 2.], dtype=float32)
    """
    want = state_dict(dst)
    have = src if _is_state_dict(src) else state_dict(src)
    problems = []
    if strict:
        for what, names in (("missing from the source", [k for k in want if k not in have]),
                            ("unexpected in the source", [k for k in have if k not in want])):
            if names:
                problems.append("%s: %s" % (what, _names(names)))
    for k in want:
        if k in have and np.shape(have[k]) != want[k].shape:
            problems.append("%s has shape %s in the source but %s in the model"
                            % (k, np.shape(have[k]), want[k].shape))
        elif k in have and not want[k].flags.writeable:
            problems.append("%s is read-only in the model" % k)
        elif k in have and not np.can_cast(np.asarray(have[k]).dtype, want[k].dtype,
                                           "same_kind"):
            problems.append("cannot store the %s values of %s in the model's %s array"
                            % (np.asarray(have[k]).dtype, k, want[k].dtype))
    if problems:
        raise StateError("loadmodel: the source does not fit the model: %s%s" % (
            "; ".join(problems), "; with strict=False only the names both have are copied"
            if strict else ""))
    for k, dest in want.items():
        if k in have:
            np.copyto(dest, have[k], casting="same_kind")
    return dst


def _is_state_dict(src):
    return isinstance(src, dict) and bool(src) and all(
        isinstance(k, str) and isinstance(v, np.ndarray) for k, v in src.items())


def _names(names, most=10):
    shown = ", ".join(names[:most])
    return shown + (" and %d more" % (len(names) - most) if len(names) > most else "")


# ---------------------------------------------------------------- files

def save(path, model, opt_state=None):
    """Write ``model``'s arrays (and ``opt_state``, the optimiser state, if
    given) to ``path``: ``.safetensors`` if the name ends so (needs the
    ``safetensors`` package), else ``.npz`` at exactly ``path``.

    >>> import tempfile, os
    >>> path = os.path.join(tempfile.mkdtemp(), "m.npz")
    >>> save(path, [np.arange(3.0)]); sorted(np.load(path))
    ['__metadata__', 'model/0']
    """
    arrays = {"model/" + k: v for k, v in state_dict(model).items()}
    meta = {"format": FORMAT, "version": VERSION, "model": type(model).__name__}
    if opt_state is not None:
        meta["opt"] = _pack_state(opt_state, arrays)
    for k, v in arrays.items():
        if v.dtype.kind in "OV":
            raise LayerError("save: the array %s has dtype %s, which cannot be stored without "
                             "pickling; keep only numeric arrays in the model" % (k, v.dtype))
    text = json.dumps(meta)
    if str(path).endswith(".safetensors"):
        _safetensors().save_file({k: np.ascontiguousarray(v) for k, v in arrays.items()},
                                 str(path), metadata={_META: text})
    else:
        with open(path, "wb") as f:
            np.savez(f, **arrays, **{_META: np.array(text)})


def load(path, like, opt_like=None):
    """A new model shaped like ``like`` holding the arrays saved at ``path``.

    With ``opt_like`` (a state from ``setup(rule, like)``) it returns
    ``(model, opt_state)``: the saved optimiser state (rules, moments,
    frozen flags) in ``opt_like``'s structure.

    >>> import tempfile, os
    >>> path = os.path.join(tempfile.mkdtemp(), "m.npz")
    >>> save(path, (np.ones(2),)); load(path, (np.zeros(2),))
    (array([1., 1.]),)
    """
    arrays, meta = _read(path)
    model = copy.deepcopy(like)
    loadmodel(model, {k[6:]: v for k, v in arrays.items() if k.startswith("model/")})
    if opt_like is None:
        return model
    if "opt" not in meta:
        raise StateError("load: %s holds no optimiser state (save(path, model, opt_state) "
                         "writes one); load without opt_like" % (path,))
    return model, _unpack_state(opt_like, meta["opt"], arrays, path)


def _read(path):
    if str(path).endswith(".safetensors"):
        st = _safetensors()
        arrays = st.load_file(str(path))
        from safetensors import safe_open
        with safe_open(str(path), framework="np") as f:
            text = (f.metadata() or {}).get(_META)
    else:
        with np.load(path, allow_pickle=False) as f:
            arrays = {k: f[k] for k in f.files}
        text = arrays.pop(_META, None)
        text = None if text is None else str(text)
    meta = json.loads(text) if text else {}
    if meta.get("format") != FORMAT:
        raise LayerError("load: %s was not written by ad_compiler.layers.save (no %r record); "
                         "to copy arrays from a plain dict use loadmodel" % (path, _META))
    if meta.get("version", 0) > VERSION:
        raise LayerError("load: %s has format version %s, newer than this library's %d; "
                         "upgrade ad_compiler" % (path, meta["version"], VERSION))
    return arrays, meta


def _safetensors():
    try:
        import safetensors.numpy
    except ImportError:
        raise LayerError("save/load: .safetensors files need the safetensors package (pip "
                         "install safetensors); or use a .npz path") from None
    return safetensors.numpy


# ---------------------------------------------------------------- optimiser state

def _state_leaves(st, prefix="", out=None, seen=None):
    """``{dotted path: Leaf}``, each leaf under the first path it appears at."""
    out, seen = ({}, set()) if out is None else (out, seen)
    if type(st) is Leaf:
        if id(st) not in seen:
            seen.add(id(st))
            out[prefix] = st
        return out
    kids = st._fields.items() if isinstance(st, Fields) else st.items() if isinstance(
        st, dict) else enumerate(st) if isinstance(st, (tuple, list)) else ()
    for k, v in kids:
        _state_leaves(v, "%s.%s" % (prefix, k) if prefix else str(k), out, seen)
    return out


def _pack_state(state, arrays):
    record = {}
    for name, leaf in _state_leaves(state).items():
        values, _ = tree_flatten(leaf.state)
        numbers = []
        for i, v in enumerate(values):
            if isinstance(v, np.ndarray):
                arrays["opt/%s/%d" % (name, i)] = v
                numbers.append(None)
            else:
                numbers.append(float(v))
        record[name] = {"rule": _rule_spec(leaf.rule), "frozen": leaf.frozen,
                        "numbers": numbers}
    return record


def _rule_spec(rule):
    if isinstance(rule, OptimiserChain):
        return {"type": "OptimiserChain", "rules": [_rule_spec(r) for r in rule.rules]}
    return {"type": type(rule).__name__, "fields": {k: getattr(rule, k) for k in rule.fields}}


def _restore_rule(spec, like, name):
    """The saved rule, of the same type as ``like`` (the rule in opt_like)."""
    if spec["type"] != type(like).__name__ or isinstance(like, OptimiserChain) and len(
            spec["rules"]) != len(like.rules):
        raise StateError("load: the optimiser state of %s was saved with %s, but opt_like "
                         "has %r there; build opt_like with the same rule" % (
                             name, spec["type"], like))
    if isinstance(like, OptimiserChain):
        return OptimiserChain(*[_restore_rule(s, r, name) for s, r in zip(spec["rules"],
                                                                           like.rules)])
    return type(like)(**spec["fields"])


def _unpack_state(opt_like, record, arrays, path):
    state = copy.deepcopy(opt_like)      # ties (one Leaf at two places) stay ties
    found = _state_leaves(state)
    if set(found) != set(record):
        raise StateError("load: the optimiser state in %s does not match opt_like: %s" % (
            path, "; ".join("%s: %s" % (what, _names(sorted(names))) for what, names in (
                ("only in the file", set(record) - set(found)),
                ("only in opt_like", set(found) - set(record))) if names)))
    for name, leaf in found.items():
        rec = record[name]
        leaf.rule, leaf.frozen = _restore_rule(rec["rule"], leaf.rule, name), rec["frozen"]
        values, treedef = tree_flatten(leaf.state)
        if len(values) != len(rec["numbers"]):
            raise StateError("load: the optimiser state of %s in %s has %d parts, opt_like's "
                             "has %d" % (name, path, len(rec["numbers"]), len(values)))
        new = [_saved_part(arrays, name, i, v, num, path)
               for i, (v, num) in enumerate(zip(values, rec["numbers"]))]
        leaf.state, leaf.scratch = tree_unflatten(treedef, new), None
    return state


def _saved_part(arrays, name, i, like, number, path):
    if number is not None:
        return number
    saved = arrays.get("opt/%s/%d" % (name, i))
    if saved is None or not isinstance(like, np.ndarray) or saved.shape != like.shape:
        raise StateError("load: part %d of the optimiser state of %s in %s has shape %s, "
                         "opt_like's has %s" % (i, name, path, None if saved is None else
                                                saved.shape, np.shape(like)))
    return np.array(saved, dtype=like.dtype)
