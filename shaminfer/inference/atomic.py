"""Atomic file writes and pickle-free ``.npz`` I/O for the inference shell.

Every file the inference layer writes goes through here: the content is written
to a temporary file in the destination directory, flushed to disk, and moved
into place with :func:`os.replace`, so a reader (or an interrupted run) only
ever sees the old complete file or the new complete file, never a torn one.
"""
from __future__ import annotations

import contextlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any, Callable, Iterator, Mapping

import numpy as np

__all__ = [
    "atomic_path",
    "atomic_write_text",
    "atomic_save_npz",
    "load_npz",
    "json_dumps",
]


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike, *, suffix: str | None = None) -> Iterator[Path]:
    """Yield a temporary path next to ``path``; on success move it onto ``path``.

    The temporary file lives in the same directory (same file system), so the
    final :func:`os.replace` is atomic. On an exception the temporary file is
    removed and ``path`` is left untouched.

    Parameters
    ----------
    path : path-like
        Final destination.
    suffix : str, optional
        Suffix of the temporary file (some writers infer the format from it);
        defaults to the suffix of ``path``.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(
        dir=path.parent, prefix=f".{path.name}.", suffix=(path.suffix if suffix is None else suffix) + ".tmp"
    )
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        with open(tmp_path, "rb+") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp_path, path)
    finally:
        if tmp_path.exists():
            tmp_path.unlink()


def atomic_write_text(path: str | os.PathLike, text: str) -> Path:
    """Write ``text`` (UTF-8) to ``path`` atomically and return the path."""
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return Path(path)


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


def load_npz(path: str | os.PathLike) -> dict[str, np.ndarray]:
    """Load every array of an ``.npz`` file into a dict, never unpickling."""
    with np.load(path, allow_pickle=False) as data:
        return {name: data[name] for name in data.files}


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
