"""Atomic file writes, shared by every layer that writes results (the thin I/O shell).

The content goes to a temporary file in the destination folder (same file
system), is flushed to disk, and is moved into place with :func:`os.replace`:
a reader, or an interrupted run, sees either the old complete file or the new
complete file, never a torn one. The temporary name ends with the
destination's suffix, so writers that infer the format from the name
(``numpy.savez`` appends ``.npz`` otherwise, matplotlib, h5py) work unchanged.
The file gets the permissions the process's umask allows (``0o666 & ~umask``,
as ``open`` would give), not the 0600 of :func:`tempfile.mkstemp`, so
collaborators on a shared disk can read the results.

Under MPI (:mod:`shaminfer.parallel`) only rank 0 writes: on the other ranks
the writer runs on a temporary file that is then removed, so every rank runs
the same code and exactly one complete file lands.
"""
from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path
from typing import Callable, Iterator

__all__ = ["atomic_path", "atomic_write", "atomic_write_bytes", "atomic_write_text", "current_umask"]


def _proc_umask() -> int | None:
    """The umask from ``/proc/self/status`` (Linux >= 4.7), read without changing it; None elsewhere."""
    try:
        with open("/proc/self/status", encoding="ascii", errors="replace") as fh:
            for line in fh:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    return None


def _swap_umask() -> int:
    old = os.umask(0o077)
    os.umask(old)
    return old


# Where /proc does not tell, read once at import (setting the umask to read it is not thread-safe).
_IMPORT_UMASK = _swap_umask() if _proc_umask() is None else None


def current_umask() -> int:
    """The process's file-creation mask (e.g. ``0o022``), read without changing it where the OS allows."""
    mask = _proc_umask()
    if mask is None:
        mask = _IMPORT_UMASK if _IMPORT_UMASK is not None else _swap_umask()
    return mask


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike, *, suffix: str | None = None) -> Iterator[Path]:
    """Yield a temporary path next to ``path``; when the block succeeds, move it onto ``path``.

    On an exception the temporary file is removed and ``path`` is untouched.
    ``suffix`` (default: the suffix of ``path``) ends the temporary name.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.",
                               suffix=".tmp" + (path.suffix if suffix is None else suffix))
    os.close(fd)
    tmp_path = Path(tmp)
    from . import parallel

    try:
        yield tmp_path
        if not parallel.is_root():
            return
        os.chmod(tmp_path, 0o666 & ~current_umask())  # mkstemp made it 0600
        with open(tmp_path, "rb+") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp_path, path)
    finally:
        if tmp_path.exists():
            tmp_path.unlink()


def atomic_write(path: str | os.PathLike, write: Callable[[str], None]) -> Path:
    """Call ``write(tmp)`` on a temporary file name, then move it onto ``path`` (see :func:`atomic_path`)."""
    with atomic_path(path) as tmp:
        write(str(tmp))
    return Path(path)


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically and return the path."""
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)
    return Path(path)


def atomic_write_text(path: str | os.PathLike, text: str) -> Path:
    """Write ``text`` (UTF-8) to ``path`` atomically and return the path."""
    return atomic_write_bytes(path, text.encode("utf-8"))
