"""Reading ``.npz`` files safely: never unpickling, and every way a file can be wrong is one clear error.

Every ``.npz`` the package reads (SHAMNet weights, catalogs, mock data,
covariances, checkpoints, caches) goes through :func:`read_npz`. A missing
file, a folder, an empty, truncated or bit-flipped file, a text file, an
array stored as Python objects (pickled), or a NaN where the caller wants
finite values, each raise one ``ValueError`` (``FileNotFoundError`` for a
missing file) naming the file and what is wrong, before any computation.
"""
from __future__ import annotations

import os
import zipfile
import zlib
from pathlib import Path

import numpy as np

__all__ = ["read_npz"]


def read_npz(path: str | os.PathLike, *, what: str = "file", required=(), finite=()) -> dict[str, np.ndarray]:
    """Load every array of an ``.npz`` file into memory, checked.

    Parameters
    ----------
    path : path-like
        The file.
    what : str
        What the file is, for messages ("SHAMNet weights", "mock data", ...).
    required : sequence of str
        Arrays that must be present.
    finite : sequence of str or True
        Arrays (of those present) that must hold only finite numbers; ``True`` checks every
        floating-point array.

    Returns
    -------
    dict of str to ndarray

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist.
    ValueError
        If ``path`` is a folder or not a readable ``.npz``, an array needs unpickling, a required
        array is missing, or a checked array holds NaN or inf; the message names the file.
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path}: {what} not found")
    if path.is_dir():
        raise ValueError(f"{path}: expected a {what} (.npz file), found a folder")
    size = path.stat().st_size
    if size == 0:
        raise ValueError(f"{path}: expected a {what} (.npz file), found an empty file")
    if not zipfile.is_zipfile(path):
        with open(path, "rb") as fh:
            head = fh.read(64)
        kind = "a text file" if _looks_like_text(head) else "a file that is not an .npz (zip) archive"
        raise ValueError(f"{path}: expected a {what} (.npz file), found {kind} ({size} bytes); "
                         "it may be truncated or of another format")
    try:
        with np.load(path, allow_pickle=False) as data:
            arrays = {name: data[name] for name in data.files}
    except ValueError as exc:
        if "pickle" in str(exc).lower():
            raise ValueError(f"{path}: a {what} holds an array of Python objects, which is never unpickled; "
                             "store plain numeric or string arrays") from None
        raise ValueError(f"{path}: unreadable {what} ({exc})") from None
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError, KeyError) as exc:
        raise ValueError(f"{path}: unreadable {what}, the file is corrupt or truncated "
                         f"({type(exc).__name__}: {exc})") from None
    missing = [k for k in required if k not in arrays]
    if missing:
        raise ValueError(f"{path}: {what}: expected arrays {list(required)}, missing {missing}; "
                         f"found {sorted(arrays)}")
    names = [k for k, a in arrays.items() if np.issubdtype(a.dtype, np.floating)] if finite is True else finite
    for name in names:
        if name in arrays and np.issubdtype(arrays[name].dtype, np.number):
            bad = ~np.isfinite(arrays[name])
            if bad.any():
                raise ValueError(f"{path}: {what}: array {name!r} expected finite values, found "
                                 f"{int(bad.sum())} NaN or inf of {bad.size}")
    return arrays


def _looks_like_text(head: bytes) -> bool:
    try:
        head.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return all(c >= 32 or c in (9, 10, 13) for c in head)
