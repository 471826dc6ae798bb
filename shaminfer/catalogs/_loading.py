"""Shared steps of the real-catalog loaders: column lookup, edge wrapping and host matching.

Private module; the public loaders are :mod:`shaminfer.catalogs.hlist` and
:mod:`shaminfer.catalogs.halotools`.
"""
from __future__ import annotations

import warnings
from typing import Iterable, Mapping

import numpy as np

__all__ = ["require_columns", "check_rows", "wrap_edges", "hosts_from_upid"]

#: Positions within this fraction of the box outside [0, L) are wrapped (printing round-off);
#: anything further out is left for the SubhaloCatalog validation to reject.
EDGE_TOLERANCE = 1e-5


def require_columns(found: Iterable[str], wanted: Mapping[str, str], *, source: str) -> dict:
    """Map each role in ``wanted`` (role -> column name) to the column actually found (case-insensitive).

    Raises ``ValueError`` naming the missing column(s) and listing what was found.
    """
    found = list(found)
    lower = {name.lower(): name for name in found}
    out, missing = {}, []
    for role, name in wanted.items():
        if name in found:
            out[role] = name
        elif name.lower() in lower:
            out[role] = lower[name.lower()]
        else:
            missing.append(name)
    if missing:
        raise ValueError(f"{source}: missing column(s) {missing}; found columns: {found}")
    return out


def check_rows(data, *, roles, names: Mapping[str, str], lines=None, source: str, unit: str = "line") -> None:
    """Refuse rows with a non-finite float field or a mass that is not positive, naming row and column.

    ``data`` maps each role to an array (a structured array or a dict); ``names`` maps roles to the
    source's column names; ``lines`` gives the ``unit`` ("line" of a text file, "row" of a table) of each
    row (default: the row number, from 0).
    """
    for role in roles:
        values = np.asarray(data[role])
        if not np.issubdtype(values.dtype, np.floating):
            continue
        bad = ~np.isfinite(values)
        what = "finite values"
        if role == "mass":
            bad |= ~(values > 0)
            what = "a positive, finite mass [Msun/h]"
        if bad.any():
            first = int(np.flatnonzero(bad)[0])
            where = f"{unit} {int(lines[first])}" if lines is not None else f"row {first}"
            raise ValueError(f"{source}: {where}, column '{names[role]}': expected {what}, found "
                             f"{float(values[first])!r} ({int(bad.sum())} such row(s) in this block)")


def wrap_edges(pos: np.ndarray, box_size: float) -> tuple[np.ndarray, int]:
    """Wrap coordinates within ``EDGE_TOLERANCE * box_size`` outside [0, L) back into the box.

    Returns the new positions and the number of rows changed.
    """
    tol = EDGE_TOLERANCE * box_size
    near = ((pos < 0) & (pos >= -tol)) | ((pos >= box_size) & (pos <= box_size + tol))
    if not near.any():
        return pos, 0
    pos = pos.copy()
    pos[near] = np.mod(pos[near], box_size)
    pos[near & (pos >= box_size)] = 0.0
    return pos, int(near.any(axis=1).sum())


def hosts_from_upid(ids: np.ndarray, upid: np.ndarray, *, missing_host: str, source: str):
    """Host row index (-1 for centrals) from halo ``id`` and ``upid`` (-1 marks a host halo).

    Satellites whose host is not among the loaded rows (e.g. below the mass
    cut) become centrals with a warning when ``missing_host == "central"``, or
    raise when ``missing_host == "raise"``. Returns (host_index, n_orphans).
    """
    if missing_host not in ("central", "raise"):
        raise ValueError(f"missing_host: expected 'central' or 'raise', found {missing_host!r}")
    ids = np.asarray(ids, dtype=np.int64)
    upid = np.asarray(upid, dtype=np.int64)
    if np.unique(ids).size != ids.size:
        raise ValueError(f"{source}: expected unique halo ids, found {ids.size - np.unique(ids).size} duplicate(s)")
    host = np.full(ids.size, -1, dtype=np.int64)
    sat = np.flatnonzero(upid != -1)
    order = np.argsort(ids)
    pos = np.searchsorted(ids, upid[sat], sorter=order)
    pos = np.minimum(pos, ids.size - 1)
    found = ids[order[pos]] == upid[sat] if ids.size else np.zeros(0, bool)
    host[sat[found]] = order[pos[found]]
    # an upid must point at a host halo (upid == -1); anything else is a broken file
    nested = found.copy()
    nested[found] = upid[order[pos[found]]] != -1
    if nested.any():
        raise ValueError(f"{source}: expected upid to point at host halos (upid == -1), found {int(nested.sum())} "
                         "satellite(s) whose upid is itself a satellite")
    n_orphan = int((~found).sum())
    if n_orphan:
        msg = (f"{source}: {n_orphan} satellite(s) have their host (upid) outside the loaded rows "
               "(below the mass cut or absent)")
        if missing_host == "raise":
            raise ValueError(msg + "; pass missing_host='central' to keep them as centrals")
        warnings.warn(msg + "; they are kept as centrals (host_index = -1)", UserWarning, stacklevel=3)
    return host, n_orphan
