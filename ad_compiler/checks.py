"""``check_grads``: compare gradients with central finite differences.

Every rule and every construct in the test suite goes through this.  In
float64 a central difference with step 1e-6 is accurate to about 1e-9
relative for smooth functions, far below the tolerances used here.
"""
import numpy as np

from ad_compiler import api, transforms
from ad_compiler.runtime.core.errors import ADError

_SMALL = 64     # arrays up to this size are checked element by element


def _leaves(x, path=()):
    """(path, value) for every float leaf of a structure."""
    if isinstance(x, np.ndarray):
        if x.dtype.kind == "f":
            yield path, x
        return
    if isinstance(x, float):
        yield path, x
        return
    if isinstance(x, dict):
        for k in x:
            yield from _leaves(x[k], path + (k,))
    elif isinstance(x, (tuple, list)):
        for i, v in enumerate(x):
            yield from _leaves(v, path + (i,))
    elif hasattr(x, "__dict__") and not callable(x):
        for k, v in vars(x).items():
            yield from _leaves(v, path + (k,))


def _get(x, path):
    for p in path:
        x = x[p] if isinstance(x, (dict, tuple, list)) else getattr(x, p)
    return x


def _replace(x, path, value):
    """A copy of structure ``x`` with the leaf at ``path`` replaced."""
    if not path:
        return value
    head, rest = path[0], path[1:]
    if isinstance(x, dict):
        out = dict(x)
        out[head] = _replace(x[head], rest, value)
        return out
    if isinstance(x, tuple):
        items = list(x)
        items[head] = _replace(x[head], rest, value)
        return type(x)(*items) if hasattr(x, "_fields") else tuple(items)
    if isinstance(x, list):
        items = list(x)
        items[head] = _replace(x[head], rest, value)
        return items
    import copy
    out = copy.copy(x)
    object.__setattr__(out, head, _replace(getattr(x, head), rest, value))
    return out


def _scalar(y):
    if isinstance(y, tuple):
        y = y[0]
    arr = np.asarray(y)
    if arr.shape != ():
        raise ADError("check_grads needs a scalar-valued function; got shape %s" % (arr.shape,))
    return float(arr)


def numerical_gradient(f, args, i, path, eps=1e-6):
    """Central differences of ``f`` with respect to the leaf ``args[i]`` at ``path``.

    >>> round(float(numerical_gradient(lambda x, y: x * y, (2.0, 3.0), 0, ())), 6)
    3.0
    """
    leaf = _get(args[i], path)

    def at(value):
        new = list(args)
        new[i] = _replace(args[i], path, value)
        return _scalar(f(*new))

    if isinstance(leaf, float):
        return (at(leaf + eps) - at(leaf - eps)) / (2 * eps)
    out = np.zeros(leaf.shape)
    for idx in np.ndindex(*leaf.shape):
        plus, minus = leaf.copy(), leaf.copy()
        plus[idx] += eps
        minus[idx] -= eps
        out[idx] = (at(plus) - at(minus)) / (2 * eps)
    return out


def _directional(f, args, i, path, v, eps=1e-6):
    leaf = _get(args[i], path)

    def at(value):
        new = list(args)
        new[i] = _replace(args[i], path, value)
        return _scalar(f(*new))

    return (at(leaf + eps * v) - at(leaf - eps * v)) / (2 * eps)


def _as_float(x):
    if isinstance(x, int) and not isinstance(x, bool):
        return float(x)
    if isinstance(x, np.ndarray) and x.dtype.kind in "iu":
        return x.astype(float)
    return x


def check_grads(f, *args, order=1, rtol=1e-5, atol=1e-6, eps=1e-6, seed=0,
                modes=("rev", "fwd")):
    """Assert that ``gradient(f, *args)`` matches central finite differences.

    With ``"fwd"`` in ``modes`` (the default), forward mode is checked too:
    ``jvp`` in a random direction must equal the (checked) gradient dotted
    with that direction.  ``order=2`` also checks the derivatives of the
    gradient itself (a random directional derivative of ``f``), and so on
    for higher orders.  Raises AssertionError naming the argument, the
    element and both values.

    >>> import numpy as np
    >>> check_grads(lambda x: np.sum(np.sin(x)), np.array([0.1, 0.2]))
    """
    args = tuple(_as_float(a) for a in args)
    grads = api.gradient(f, *args)
    for i, a in enumerate(args):
        for path, leaf in _leaves(a):
            g = _get_grad(grads[i], path)
            _compare(f, args, i, path, leaf, g, rtol, atol, eps, seed)
    if "fwd" in modes:
        _check_forward(f, args, grads, rtol, atol, seed)
    if order > 1:
        rng = np.random.RandomState(seed)
        directions = tuple(_random_like(a, rng) for a in args)

        def directional(*xs):
            gs = api.gradient(f, *xs)
            return _dot(gs, directions)

        check_grads(directional, *args, order=order - 1, rtol=rtol * 10, atol=atol * 10,
                    eps=eps * 10, seed=seed + 1, modes=modes)


def _check_forward(f, args, grads, rtol, atol, seed):
    """``jvp`` along a random direction against the checked gradient."""
    rng = np.random.RandomState(seed + 1000)
    directions = tuple(_random_like(a, rng) for a in args)
    if all(d is None for d in directions):
        return
    _, tangent = transforms.jvp(f, args, directions)
    if isinstance(tangent, tuple):          # f returns (loss, aux): its first element
        tangent = tangent[0]
    expected = _dot(grads, directions)
    tangent = 0.0 if tangent is None else float(np.asarray(tangent))
    if not np.isclose(tangent, expected, rtol=rtol, atol=atol * max(1.0, abs(expected))):
        raise AssertionError("forward mode: jvp in a random direction is %r, but the "
                             "gradient gives %r" % (tangent, float(expected)))


def _compare(f, args, i, path, leaf, g, rtol, atol, eps, seed):
    where = "argument %d%s" % (i, "".join("[%r]" % p for p in path))
    if g is None:
        g = 0.0 if isinstance(leaf, float) else np.zeros_like(leaf)
    if isinstance(leaf, np.ndarray) and leaf.size > _SMALL:
        rng = np.random.RandomState(seed)
        for _ in range(3):
            v = rng.randn(*leaf.shape)
            num = _directional(f, args, i, path, v, eps)
            ana = float(np.sum(np.asarray(g) * v))
            if not np.isclose(ana, num, rtol=rtol, atol=atol * max(1.0, abs(num))):
                raise AssertionError("gradient of %s in a random direction: analytic %r, "
                                     "numerical %r" % (where, ana, num))
        return
    num = numerical_gradient(f, args, i, path, eps)
    ana = np.asarray(g, dtype=float)
    if np.shape(ana) != np.shape(num):
        raise AssertionError("gradient of %s has shape %s, expected %s"
                             % (where, np.shape(ana), np.shape(num)))
    bad = ~np.isclose(ana, num, rtol=rtol, atol=atol)
    if np.any(bad):
        idx = np.argwhere(np.atleast_1d(bad))[0]
        a_v = np.atleast_1d(ana)[tuple(idx)]
        n_v = np.atleast_1d(num)[tuple(idx)]
        at = "" if np.ndim(num) == 0 else " at %s" % (tuple(int(j) for j in idx),)
        raise AssertionError("gradient of %s%s: analytic %r, numerical %r"
                             % (where, at, float(a_v), float(n_v)))


def _get_grad(g, path):
    for p in path:
        if g is None:
            return None
        g = g[p] if isinstance(g, (dict, tuple, list)) else getattr(g, p, None)
    return g


def _random_like(x, rng):
    if isinstance(x, float):
        return rng.randn()
    if isinstance(x, np.ndarray) and x.dtype.kind == "f":
        return rng.randn(*x.shape)
    if isinstance(x, (tuple, list)):
        items = [_random_like(v, rng) for v in x]
        return type(x)(*items) if hasattr(x, "_fields") else type(x)(items)
    if isinstance(x, dict):
        return {k: _random_like(v, rng) for k, v in x.items()}
    return None


def _dot(gs, vs):
    total = 0.0
    for g, v in zip(gs, vs):
        if g is None or v is None:
            continue
        if isinstance(g, (tuple, list)):
            total = total + _dot(g, v)
        elif isinstance(g, dict):
            total = total + _dot([g[k] for k in g], [v[k] for k in g])
        else:
            total = total + np.sum(g * v)
    return total
