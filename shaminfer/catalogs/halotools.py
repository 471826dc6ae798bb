"""Loader for halotools cached halo catalogs (HDF5).

halotools stores a cached halo catalog as an HDF5 file whose ``data`` entry
is a table (an astropy compound dataset, or a group of one dataset per
column) with columns such as ``halo_x``, ``halo_y``, ``halo_z`` [comoving
Mpc/h], ``halo_mpeak`` [Msun/h], ``halo_id`` and ``halo_upid`` (-1 for host
halos), and attributes ``Lbox`` (a scalar or three equal sides, Mpc/h) and
``redshift`` on the file (or on the table). Only the needed columns are
read, in chunks of rows, with the mass cut applied per chunk, after every row
is checked (a non-finite position or a mass that is not positive is an error
naming the file, row and column; nothing is dropped silently and ``meta``
counts the rows cut). ``halo_id``, ``halo_upid`` and any further columns asked
for are kept as per-subhalo properties. h5py is used directly; halotools
itself is not needed.
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from ._loading import check_rows, hosts_from_upid, require_columns, wrap_edges
from .catalog import SubhaloCatalog

__all__ = ["load_halotools_catalog"]


def _attr(f, table, name, source):
    for holder in (f, table):
        if name in holder.attrs:
            val = holder.attrs[name]
            return val.decode() if isinstance(val, bytes) else val
    raise ValueError(f"{source}: missing attribute {name!r}; found attributes "
                     f"{sorted(set(f.attrs) | set(table.attrs))}")


def load_halotools_catalog(path: os.PathLike, *, logmpeak_min=None, mass_column="halo_mpeak", columns=(),
                           table="data", chunk_rows=1_000_000, missing_host="central", progress=None
                           ) -> SubhaloCatalog:
    """Load a halotools cached halo catalog (HDF5) into a :class:`SubhaloCatalog`.

    Parameters
    ----------
    path : path-like
        The cached catalog ``.hdf5`` file.
    logmpeak_min : float or None, keyword-only
        Keep rows with ``log10 mass_column >= logmpeak_min`` [Msun/h].
    mass_column : str, keyword-only
        Column used as Mpeak (default ``"halo_mpeak"``).
    columns : sequence of str, keyword-only
        Further columns to keep as per-subhalo properties (e.g. ``("halo_vpeak",)``).
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
    if not path.is_file():
        raise FileNotFoundError(f"{path}: halotools catalog not found")
    try:
        f = h5py.File(path, "r")
    except OSError as exc:
        raise ValueError(f"{path}: unreadable halotools catalog, expected an HDF5 file ({exc})") from None
    with f:
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
        extra = require_columns(names, {f"col:{c}": c for c in columns}, source=source)
        cols.update({role: name for role, name in extra.items() if name not in cols.values()})
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
                check_rows(chunk, roles=list(cols), names=cols, lines=np.arange(start, stop), source=source,
                           unit="row")
                if logmpeak_min is not None:
                    keep = np.log10(chunk["mass"].astype(np.float64)) >= float(logmpeak_min)
                    chunk = {role: val[keep] for role, val in chunk.items()}
                for role, val in chunk.items():
                    parts[role].append(val)
                bar.update(stop - start)
    data = {role: (np.concatenate(v) if v else np.zeros(0)) for role, v in parts.items()}
    logm = np.log10(data["mass"].astype(np.float64))
    box = float(lbox[0])
    pos, n_wrapped = wrap_edges(np.stack([data["x"], data["y"], data["z"]], axis=1).astype(np.float64), box)
    host, n_orphan = hosts_from_upid(data["id"], data["upid"], missing_host=missing_host, source=source)
    meta = dict(origin="halotools", source=source, mass_column=cols["mass"], n_rows_read=int(nrow),
                n_rows_kept=int(logm.size), n_rows_cut=int(nrow - logm.size), n_edge_wrapped=n_wrapped,
                n_orphan_satellites=n_orphan)
    props = {cols["id"]: data["id"], cols["upid"]: data["upid"]}
    by_name = {name: role for role, name in cols.items()}
    props.update({extra[f"col:{c}"]: data[by_name[extra[f"col:{c}"]]] for c in columns})
    if logmpeak_min is not None:
        meta["logmpeak_min"] = float(logmpeak_min)
    return SubhaloCatalog(pos=pos, logmpeak=logm, box_size=box, redshift=redshift, host_index=host, meta=meta,
                          properties=props)
