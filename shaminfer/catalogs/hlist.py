"""Loader for Rockstar / ConsistentTrees ``hlist`` ASCII subhalo catalogs.

An ``hlist`` file starts with a header line naming every column with its
index, e.g. ``#scale(0) id(1) desc_scale(2) ... upid(6) ... x(17) y(18) z(19)
... Mpeak(60) ...``, followed by ``#`` comment lines (among them
``#a = 1.00000`` and ``#Full box size = 250.000000 Mpc/h``) and one row per
halo. Columns are found by name from the header (case-insensitive), never by
position, so files from different ConsistentTrees versions load alike.

The file is streamed in chunks of lines (parsed by ``numpy.loadtxt``) with a
progress bar over bytes, and the ``Mpeak`` cut is applied per chunk, so
only the kept rows are ever held in memory. Positions are comoving Mpc/h,
``Mpeak`` Msun/h, ``upid = -1`` marks host halos.
"""
from __future__ import annotations

import itertools
import os
import re
import sys
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from ._loading import hosts_from_upid, require_columns, wrap_edges
from .catalog import SubhaloCatalog

__all__ = ["read_hlist_header", "load_hlist"]

_COLUMN = re.compile(r"^(.+)\((\d+)\)$")
_SCALE = re.compile(r"^#\s*a\s*=\s*([0-9.eE+-]+)")
_BOX = re.compile(r"^#\s*(?:Full box size|Box size)\s*[=:]\s*([0-9.eE+-]+)\s*Mpc/h", re.IGNORECASE)


def read_hlist_header(path: os.PathLike) -> dict:
    """Parse the header of an ``hlist`` file.

    Returns
    -------
    dict
        ``columns`` (name -> column index), ``scale`` (float or None),
        ``box_size`` (float or None, Mpc/h) and ``n_header_lines``.
    """
    path = Path(path)
    columns, scale, box, n = None, None, None, 0
    with open(path, "r") as f:
        for line in f:
            if not line.startswith("#"):
                break
            n += 1
            if columns is None:
                tokens = line[1:].split()
                parsed = [_COLUMN.match(t) for t in tokens]
                if tokens and all(parsed):
                    columns = {m.group(1): int(m.group(2)) for m in parsed}
                    continue
            m = _SCALE.match(line)
            if m:
                scale = float(m.group(1))
            m = _BOX.match(line)
            if m:
                box = float(m.group(1))
    if columns is None:
        raise ValueError(f"{path.name}: expected a header line of names like '#scale(0) id(1) ... x(17) ...', "
                         "found none")
    return dict(columns=columns, scale=scale, box_size=box, n_header_lines=n)


def load_hlist(path: os.PathLike, *, logmpeak_min=None, box_size=None, redshift=None, mass_column="Mpeak",
               chunk_lines=200_000, missing_host="central", progress=None) -> SubhaloCatalog:
    """Load a Rockstar / ConsistentTrees ``hlist`` file into a :class:`SubhaloCatalog`.

    Parameters
    ----------
    path : path-like
        The ``hlist_*.list`` file.
    logmpeak_min : float or None, keyword-only
        Keep rows with ``log10 Mpeak >= logmpeak_min`` [Msun/h] (applied while reading).
    box_size : float or None, keyword-only
        Box side [Mpc/h]; default from the ``#Full box size = ...`` comment.
    redshift : float or None, keyword-only
        Default ``1/a - 1`` from the ``#a = ...`` comment.
    mass_column : str, keyword-only
        Name of the mass column used as Mpeak (default ``"Mpeak"``).
    chunk_lines : int, keyword-only
        Lines parsed per chunk.
    missing_host : {"central", "raise"}, keyword-only
        What to do with satellites whose host is not loaded (see
        :func:`shaminfer.catalogs._loading.hosts_from_upid`).
    progress : bool or None, keyword-only
        Progress bar over bytes read (None: only on a terminal).

    Returns
    -------
    SubhaloCatalog
        With ``host_index`` from ``upid``/``id``; ``meta`` records the source,
        the cut and the number of rows read, kept, edge-wrapped and orphaned.
    """
    path = Path(path)
    header = read_hlist_header(path)
    cols = require_columns(header["columns"], dict(id="id", upid="upid", x="x", y="y", z="z", mass=mass_column),
                           source=path.name)
    if box_size is None:
        box_size = header["box_size"]
        if box_size is None:
            raise ValueError(f"box_size: not given and no '#Full box size = ... Mpc/h' comment in {path.name}")
    if redshift is None:
        if header["scale"] is None:
            raise ValueError(f"redshift: not given and no '#a = ...' comment in {path.name}")
        redshift = 1.0 / header["scale"] - 1.0
    redshift = max(float(redshift), 0.0) if abs(float(redshift)) < 1e-9 else float(redshift)

    roles = ("id", "upid", "x", "y", "z", "mass")
    usecols = [header["columns"][cols[r]] for r in roles]
    dtype = np.dtype([("id", "i8"), ("upid", "i8"), ("x", "f8"), ("y", "f8"), ("z", "f8"), ("mass", "f8")])
    # loadtxt fills structured fields in usecols order; sort to keep the mapping explicit
    order = np.argsort(usecols)
    sorted_cols = [usecols[i] for i in order]
    sorted_dtype = np.dtype([dtype.descr[i] for i in order])

    if progress is None:
        progress = sys.stderr.isatty()
    kept, n_read = [], 0
    with open(path, "r") as f, tqdm(total=os.path.getsize(path), unit="B", unit_scale=True,
                                    desc=f"reading {path.name}", disable=not progress) as bar:
        while True:
            lines = list(itertools.islice(f, int(chunk_lines)))
            if not lines:
                break
            bar.update(sum(len(line) for line in lines))
            rows = [line for line in lines if line.strip() and not line.startswith("#")]
            if not rows:
                continue
            try:
                data = np.loadtxt(rows, dtype=sorted_dtype, usecols=sorted_cols, ndmin=1)
            except ValueError as exc:
                raise ValueError(f"{path.name}: could not parse rows {n_read}..{n_read + len(rows)}: {exc}") from None
            n_read += data.size
            if logmpeak_min is not None:
                with np.errstate(divide="ignore", invalid="ignore"):
                    data = data[np.log10(data["mass"]) >= float(logmpeak_min)]
            kept.append(data)
    data = np.concatenate(kept) if kept else np.zeros(0, dtype=sorted_dtype)
    with np.errstate(divide="ignore", invalid="ignore"):
        logm = np.log10(data["mass"])
    pos, n_wrapped = wrap_edges(np.stack([data["x"], data["y"], data["z"]], axis=1), float(box_size))
    host, n_orphan = hosts_from_upid(data["id"], data["upid"], missing_host=missing_host, source=path.name)
    meta = dict(origin="hlist", source=path.name, mass_column=cols["mass"], n_rows_read=int(n_read),
                n_rows_kept=int(data.size), n_edge_wrapped=n_wrapped, n_orphan_satellites=n_orphan)
    if logmpeak_min is not None:
        meta["logmpeak_min"] = float(logmpeak_min)
    return SubhaloCatalog(pos=pos, logmpeak=logm, box_size=float(box_size), redshift=redshift, host_index=host,
                          meta=meta)
