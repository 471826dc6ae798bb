"""Shell-side validation of parameter tuples and arrays.

The pure JAX functions never validate (they must trace); the shell functions
call :func:`check_params` once, before anything is traced. Concrete values are
checked; JAX tracers are passed through untouched so that the same public
function can still be jitted and differentiated.
"""
from __future__ import annotations

from typing import Mapping, NamedTuple

import jax
import numpy as np

__all__ = ["check_params", "check_finite_array", "is_traced"]


def is_traced(value) -> bool:
    """True when ``value`` (or any leaf of it) is a JAX tracer."""
    return any(isinstance(leaf, jax.core.Tracer) for leaf in jax.tree_util.tree_leaves(value))


def check_params(params: NamedTuple, bounds: Mapping[str, tuple[float, float]], *, what: str) -> None:
    """Raise ``ValueError`` naming the first non-finite or out-of-range field.

    Parameters
    ----------
    params : NamedTuple
        Parameter tuple; each field is a scalar or an array.
    bounds : mapping field -> (lo, hi)
        Closed interval allowed for each field. Fields absent from ``bounds``
        are only checked for finiteness.
    what : str
        Name of the parameter set, used in the message.
    """
    if is_traced(params):
        return
    for name, value in zip(params._fields, params):
        arr = np.asarray(value, dtype=float)
        bad = ~np.isfinite(arr)
        if bad.any():
            raise ValueError(
                f"{what}.{name}: expected finite values, found {int(bad.sum())} non-finite "
                f"(value {value!r})"
            )
        if name in bounds:
            lo, hi = bounds[name]
            out = (arr < lo) | (arr > hi)
            if out.any():
                raise ValueError(
                    f"{what}.{name}: expected values in [{lo}, {hi}], found "
                    f"{int(out.sum())} outside (value {np.asarray(value).tolist()!r})"
                )


def check_finite_array(name: str, value, *, ndim: int | None = None) -> np.ndarray:
    """Return ``value`` as a float64 array after checking it is finite (and its ndim)."""
    if is_traced(value):
        return value
    arr = np.asarray(value, dtype=np.float64)
    if ndim is not None and arr.ndim != ndim:
        raise ValueError(f"{name}: expected a {ndim}-d array, found shape {arr.shape}")
    bad = ~np.isfinite(arr)
    if bad.any():
        raise ValueError(f"{name}: expected finite values, found {int(bad.sum())} non-finite entries")
    return arr
