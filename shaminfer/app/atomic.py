"""Atomic file writes and pickle-free ``.npz`` I/O for the inference shell.

Every file the inference layer writes goes through here, and so through
:mod:`shaminfer._atomic` (temporary file in the destination folder, fsync,
:func:`os.replace`): a reader, or an interrupted run, never sees a torn file.
"""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Callable, Mapping

import numpy as np

from .._atomic import atomic_path, atomic_write_text
from .._npz import read_npz

__all__ = [
    "atomic_path",
    "atomic_write_text",
    "atomic_save_npz",
    "load_npz",
    "json_dumps",
]


def atomic_save_npz(path: str | os.PathLike, arrays: Mapping[str, Any]) -> Path:
    """Save ``arrays`` (name -> array-like, no objects) to an ``.npz`` file atomically."""
    clean = {}
    for name, value in arrays.items():
        arr = np.asarray(value)
        if arr.dtype == object:
            raise ValueError(f"{name}: expected a numeric or string array, found dtype=object")
        clean[name] = arr
    with atomic_path(path, suffix=".npz") as tmp:
        with open(tmp, "wb") as fh:
            np.savez(fh, **clean)
    return Path(path)


def load_npz(path: str | os.PathLike, *, what: str = "file", required=()) -> dict[str, np.ndarray]:
    """Load every array of an ``.npz`` file into a dict, never unpickling.

    An empty, truncated, bit-flipped or non-``.npz`` file, or one missing a
    ``required`` array, raises one ``ValueError`` naming the file and ``what``
    it should be (:func:`shaminfer._npz.read_npz`).
    """
    return read_npz(path, what=what, required=required)


def _json_default(obj: Any):
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, (np.floating, np.integer, np.bool_)):
        return obj.item()
    if hasattr(obj, "_asdict"):
        return dict(obj._asdict())
    if isinstance(obj, Path):
        return str(obj)
    raise TypeError(f"not JSON serializable: {type(obj).__name__}")


def json_dumps(obj: Any, *, default: Callable | None = None) -> str:
    """``json.dumps`` with sorted keys that also accepts NumPy scalars, arrays and NamedTuples."""
    return json.dumps(obj, sort_keys=True, default=default or _json_default)
