"""Per-user on-disk cache for expensive catalog products (content-keyed, atomic writes).

The cache directory is ``$SHAMINFER_CACHE_DIR`` when set, otherwise
``$XDG_CACHE_HOME/shaminfer`` (default ``~/.cache/shaminfer``). Entries are
keyed by a hash of everything that determines their content plus a schema
version, so a change of any input or of the file layout gives a new key;
nothing is ever looked up by name alone. Files are written to a temporary
file in the same directory and moved into place with :func:`os.replace`, so a
reader never sees a partial file. The cache only stores ``.npz`` archives
loaded with ``allow_pickle=False``.
"""
from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Mapping

import numpy as np

from .._atomic import atomic_write

__all__ = ["cache_dir", "cache_key", "atomic_write", "hash_arrays"]


def cache_dir(subdir: str = "") -> Path:
    """Return (and create) the per-user cache directory, optionally a sub-directory of it."""
    root = os.environ.get("SHAMINFER_CACHE_DIR")
    if root:
        base = Path(root).expanduser()
    else:
        xdg = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
        base = Path(xdg) / "shaminfer"
    path = base / subdir if subdir else base
    path.mkdir(parents=True, exist_ok=True)
    return path


def hash_arrays(*arrays: np.ndarray) -> str:
    """Hex digest of the dtype, shape and bytes of each array (order matters)."""
    h = hashlib.blake2b(digest_size=16)
    for arr in arrays:
        arr = np.ascontiguousarray(arr)
        h.update(f"{arr.dtype.str}{arr.shape}".encode())
        h.update(memoryview(arr).cast("B"))
    return h.hexdigest()


def cache_key(params: Mapping, *, schema_version: int) -> str:
    """Deterministic 32-hex-digit key of a JSON-serialisable parameter mapping and a schema version."""
    payload = json.dumps({"schema_version": schema_version, "params": params}, sort_keys=True, default=repr)
    return hashlib.blake2b(payload.encode(), digest_size=16).hexdigest()
