"""Safety of a run folder: one fit at a time, clean exits on SIGTERM, and a fingerprint that survives a move.

* :func:`run_folder_lock` holds ``<run_dir>/.lock`` (JSON: pid, host, start time)
  for the duration of a fit. The file is created with ``O_CREAT | O_EXCL``, so
  of two fits started into one folder exactly one gets it; the other fails at
  once naming the owner. A lock whose owner is gone (same host, pid no longer
  running) is taken over with a message.
* :func:`exit_on_sigterm` turns SIGTERM into :class:`Terminated` (a
  ``SystemExit`` with status 143) for the duration of a fit, so ``finally``
  blocks run: the lock is released and the last checkpoint, written
  atomically after every chunk, stays valid.
* :func:`portable_config` rewrites the path-valued entries of a fit's
  configuration for the resume fingerprint: a path inside the run folder
  enters relative to it, any other path by its file name only (its content
  enters the fingerprint through the data arrays), so a run folder that is
  moved or copied (rsync to a cluster) resumes.
"""
from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import threading
import time
import uuid
from pathlib import Path
from typing import Any, Callable, Iterator

from .. import parallel

__all__ = ["LOCK_NAME", "Terminated", "run_folder_lock", "exit_on_sigterm", "portable_config"]

LOCK_NAME = ".lock"
#: A lock file that cannot be parsed and is older than this (seconds) is left over from a crash.
_UNREADABLE_LOCK_AGE = 5.0


class Terminated(SystemExit):
    """Raised in the main thread when the process receives SIGTERM during a fit (exit status 143)."""


def _pid_running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # a process of another user
        return True
    return True


def _read_owner(path: Path) -> dict | None:
    """The lock's owner record, or None when the file is unreadable (empty, torn, not JSON)."""
    try:
        owner = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    if not isinstance(owner, dict) or not isinstance(owner.get("pid"), int):
        return None
    return owner


def _try_create(path: Path, record: dict) -> bool:
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    except FileExistsError:
        return False
    with os.fdopen(fd, "w") as fh:
        fh.write(json.dumps(record) + "\n")
    return True


@contextlib.contextmanager
def run_folder_lock(run_dir: str | os.PathLike, *, log: Callable[[str], None]) -> Iterator[Path]:
    """Hold the lock of ``run_dir`` for the duration of the block; released on any exit.

    Raises
    ------
    ValueError
        If another running process holds the lock (the message names the
        folder, the owner's pid and host, and how to proceed).
    """
    run_dir = Path(run_dir)
    path = run_dir / LOCK_NAME
    if not parallel.is_root():  # under MPI rank 0 holds the lock for the job (the other ranks write nothing)
        yield path
        return
    host = socket.gethostname()
    record = {"pid": os.getpid(), "host": host, "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
              "token": uuid.uuid4().hex}
    for _ in range(3):
        if _try_create(path, record):
            break
        owner = _read_owner(path)
        if owner is None:
            try:
                age = time.time() - path.stat().st_mtime
            except FileNotFoundError:
                continue  # released meanwhile: try again
            if age < _UNREADABLE_LOCK_AGE:
                raise ValueError(f"{run_dir}: expected a free run folder, found a lock file {path} being written "
                                 "by another fit starting now; wait for it, or use another run folder")
            log(f"[{run_dir}] taking over an unreadable lock file left over from a crash ({path})")
        elif owner.get("host") == host and not _pid_running(owner["pid"]):
            log(f"[{run_dir}] taking over the lock of process {owner['pid']}, which is no longer running "
                f"(started {owner.get('started', '?')})")
        else:
            raise ValueError(
                f"{run_dir}: expected a run folder no other fit is using, found it locked by process "
                f"{owner['pid']} on host {owner.get('host', '?')} (started {owner.get('started', '?')}); "
                f"wait for that fit to finish, or, if that process is gone, remove {path}")
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
    else:
        raise ValueError(f"{run_dir}: expected to take the lock {path}, found other fits taking it at the same "
                         "time; use one run folder per fit")
    try:
        yield path
    finally:
        owner = _read_owner(path)
        if owner is not None and owner.get("token") == record["token"]:
            with contextlib.suppress(FileNotFoundError):
                path.unlink()


@contextlib.contextmanager
def exit_on_sigterm() -> Iterator[None]:
    """Within the block, SIGTERM raises :class:`Terminated` in the main thread; the old handler comes back after.

    From another thread than the main one (where Python cannot install signal
    handlers) the block runs unchanged.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum, frame):
        raise Terminated(128 + signal.SIGTERM)

    previous = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous if previous is not None else signal.SIG_DFL)


def portable_config(config: Any, run_dir: str | os.PathLike) -> Any:
    """``config`` (parsed JSON) with every absolute path made location-free, for the resume fingerprint.

    A path inside ``run_dir`` becomes relative to it (``"."`` for the folder
    itself); any other absolute path becomes its file name. Relative paths and
    other values are unchanged; dicts and lists are walked.
    """
    root = os.path.realpath(run_dir)

    def walk(value):
        if isinstance(value, dict):
            return {k: walk(v) for k, v in value.items()}
        if isinstance(value, list):
            return [walk(v) for v in value]
        if isinstance(value, str) and os.path.isabs(value):
            real = os.path.realpath(value)
            if real == root or real.startswith(root + os.sep):
                return Path(os.path.relpath(real, root)).as_posix()
            return os.path.basename(os.path.normpath(value))
        return value

    return walk(config)
