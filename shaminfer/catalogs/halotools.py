"""Loader for halotools cached halo catalogs (HDF5).

halotools stores a cached halo catalog as an HDF5 file whose ``data`` entry
is a table (an astropy compound dataset, or a group of one dataset per
column) with columns such as ``halo_x``, ``halo_y``, ``halo_z`` [comoving
Mpc/h], ``halo_mpeak`` [Msun/h], ``halo_id`` and ``halo_upid`` (-1 for host
halos), and attributes ``Lbox`` (a scalar or three equal sides, Mpc/h) and
``redshift`` on the file (or on the table). Only the needed columns are
read, in chunks of rows, with the mass cut applied per chunk. h5py is used
directly; halotools itself is not needed.
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from ._loading import hosts_from_upid, require_columns, wrap_edges
from .catalog import SubhaloCatalog

__all__ = ["load_halotools_catalog"]


def _attr(f, table, name, source):
    for holder in (f, table):
        if name in holder.attrs:
            val = holder.attrs[name]
            return val.decode() if isinstance(val, bytes) else val
    raise ValueError(f"{source}: missing attribute {name!r}; found attributes "
                     f"{sorted(set(f.attrs) | set(table.attrs))}")


def load_halotools_catalog(path: os.PathLike, *, logmpeak_min=None, mass_column="halo_mpeak", table="data",
                           chunk_rows=1_000_000, missing_host="central", progress=None) -> SubhaloCatalog:
    """Load a halotools cached halo catalog (HDF5) into a :class:`SubhaloCatalog`.

    Parameters
    ----------
    path : path-like
        The cached catalog ``.hdf5`` file.
    logmpeak_min : float or None, keyword-only
        Keep rows with ``log10 mass_column >= logmpeak_min`` [Msun/h].
    mass_column : str, keyword-only
        Column used as Mpeak (default ``"halo_mpeak"``).
    table : str, keyword-only
        Name of the table in the file (default ``"data"``).
    chunk_rows : int, keyword-only
        Rows read per chunk.
    missing_host : {"central", "raise"}, keyword-only
        Satellites whose host is not loaded: keep as centrals (with a warning) or raise.
    progress : bool or None, keyword-only
        Progress bar over rows (None: only on a terminal).
    """
    import h5py

    path = Path(path)
    source = path.name
    with h5py.File(path, "r") as f:
        if table not in f:
            raise ValueError(f"{source}: missing table {table!r}; found entries {sorted(f.keys())}")
        tab = f[table]
        if isinstance(tab, h5py.Group):
            names = list(tab.keys())
            nrow = tab[names[0]].shape[0] if names else 0
        else:
            names = list(tab.dtype.names or ())
            nrow = tab.shape[0]
        cols = require_columns(names, dict(x="halo_x", y="halo_y", z="halo_z", mass=mass_column, id="halo_id",
                                           upid="halo_upid"), source=source)
        lbox = np.atleast_1d(np.asarray(_attr(f, tab, "Lbox", source), dtype=np.float64))
        if lbox.size not in (1, 3) or not np.all(lbox == lbox[0]):
            raise ValueError(f"{source}: expected Lbox to be one value or three equal sides, found {lbox.tolist()}")
        redshift = float(_attr(f, tab, "redshift", source))
        if progress is None:
            progress = sys.stderr.isatty()
        parts = {role: [] for role in cols}
        step = max(1, int(chunk_rows))
        with tqdm(total=nrow, unit="row", desc=f"reading {source}", disable=not progress) as bar:
            for start in range(0, nrow, step):
                stop = min(nrow, start + step)
                if isinstance(tab, h5py.Group):
                    chunk = {role: tab[name][start:stop] for role, name in cols.items()}
                else:
                    rec = tab.fields(list(cols.values()))[start:stop]
                    chunk = {role: rec[name] for role, name in cols.items()}
                if logmpeak_min is not None:
                    with np.errstate(divide="ignore", invalid="ignore"):
                        keep = np.log10(chunk["mass"].astype(np.float64)) >= float(logmpeak_min)
                    chunk = {role: val[keep] for role, val in chunk.items()}
                for role, val in chunk.items():
                    parts[role].append(val)
                bar.update(stop - start)
    data = {role: (np.concatenate(v) if v else np.zeros(0)) for role, v in parts.items()}
    with np.errstate(divide="ignore", invalid="ignore"):
        logm = np.log10(data["mass"].astype(np.float64))
    box = float(lbox[0])
    pos, n_wrapped = wrap_edges(np.stack([data["x"], data["y"], data["z"]], axis=1).astype(np.float64), box)
    host, n_orphan = hosts_from_upid(data["id"], data["upid"], missing_host=missing_host, source=source)
    meta = dict(origin="halotools", source=source, mass_column=cols["mass"], n_rows_read=int(nrow),
                n_rows_kept=int(logm.size), n_edge_wrapped=n_wrapped, n_orphan_satellites=n_orphan)
    if logmpeak_min is not None:
        meta["logmpeak_min"] = float(logmpeak_min)
    return SubhaloCatalog(pos=pos, logmpeak=logm, box_size=box, redshift=redshift, host_index=host, meta=meta)
