"""Our own on-disk schema for :class:`SubhaloCatalog`, as NPZ or HDF5 (writer and loader).

Schema ``shaminfer.SubhaloCatalog``, version 1. The same names are used in
both containers; optional groups are simply absent.

====================  ==============  =========================================
name                  dtype / shape   meaning
====================  ==============  =========================================
schema                str             ``"shaminfer.SubhaloCatalog"``
schema_version        int             1
box_size              float64 ()      periodic box side [Mpc/h]
redshift              float64 ()      snapshot redshift
meta_json             str             JSON object with provenance (``meta``)
pos                   float64 (N, 3)  positions [Mpc/h] in [0, box_size)
logmpeak              float64 (N,)    log10 Mpeak [Msun/h]
host_index            int64 (N,)      -1 central, else row of the host (opt.)
particle_pos          float64 (Np,3)  particle positions [Mpc/h] (optional)
particle_mass         float64 ()      particle mass [Msun/h] (with the above)
particle_x_start      int64 (nc+1,)   HDF5 only: particles are stored in order
                                      of x cell (``nc`` cells of width
                                      ``box_size / nc``); rows of cell ``c``
                                      are ``[start[c], start[c+1])``
lensing_rbins         float64 (nR+1,) radial bin edges [Mpc/h] (optional)
lensing_index         int64 (M,)      rows that have a profile
lensing_delta_sigma   float64 (M, nR) <Delta Sigma> [h Msun / pc^2]
lensing_los_axis      int ()          line-of-sight axis
prop_<name>           (N,)            per-subhalo property ``<name>`` (optional)
====================  ==============  =========================================

In NPZ every entry is an array of the archive (strings as numpy unicode
scalars, loaded with ``allow_pickle=False``). In HDF5 the scalars and strings
are attributes of the root group and the arrays are datasets at the root.
Files are written atomically (temporary file + ``os.replace``); the loader
re-validates everything through the :class:`SubhaloCatalog` constructor.

In HDF5 the particles are written in order of their x coordinate's cell (the
order of particles carries no meaning), so that under MPI each rank reads
only the contiguous rows of its slab and ghost zones
(:func:`load_catalog`, :mod:`shaminfer.parallel`).
"""
from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np

from .._npz import read_npz
from .cache import atomic_write
from .catalog import LensingProfiles, SubhaloCatalog

__all__ = ["SCHEMA_NAME", "SCHEMA_VERSION", "save_catalog", "load_catalog", "load_particles"]

SCHEMA_NAME = "shaminfer.SubhaloCatalog"
SCHEMA_VERSION = 1
_ARRAYS = ("pos", "logmpeak", "host_index", "particle_pos", "particle_x_start", "lensing_rbins", "lensing_index",
           "lensing_delta_sigma")
#: Width [Mpc/h] of the x cells that index the particles of an HDF5 catalog (about; the box is cut evenly).
X_CELL = 1.0


def _x_cells(box: float) -> int:
    return max(1, int(np.ceil(box / X_CELL)))


def _sorted_by_x_cell(ppos: np.ndarray, box: float):
    """Particles in order of x cell (stable) and the start row of each cell, shape (nc + 1,)."""
    nc = _x_cells(box)
    cell = np.minimum((ppos[:, 0] * (nc / box)).astype(np.int64), nc - 1)
    order = np.argsort(cell, kind="stable")
    start = np.zeros(nc + 1, dtype=np.int64)
    np.cumsum(np.bincount(cell, minlength=nc), out=start[1:])
    return ppos[order], start


def _read_particle_rows(dset, start: np.ndarray, box: float, lo: float, hi: float) -> np.ndarray:
    """Rows of ``dset`` (sorted by x cell) whose x lies in the periodic interval ``[lo, hi)``."""
    from ..parallel import periodic_interval_mask

    nc = start.size - 1
    if hi - lo >= box:
        return dset[()]
    c0 = int(np.floor(lo * nc / box))
    c1 = int(np.ceil(hi * nc / box))
    parts = []
    for a, b in ((c0, min(c1, 0)), (max(c0, 0), min(c1, nc)), (max(c0, nc), c1)):  # below 0, inside, above box
        if b > a:
            shift = (a // nc) * nc
            parts.append(dset[start[a - shift]:start[b - shift]])
    rows = np.concatenate(parts) if parts else np.zeros((0, 3))
    return rows[periodic_interval_mask(rows[:, 0], lo, hi, box)]


def _to_records(cat: SubhaloCatalog) -> dict:
    rec = dict(schema=SCHEMA_NAME, schema_version=SCHEMA_VERSION, box_size=cat.box_size, redshift=cat.redshift,
               meta_json=json.dumps({k: (v.item() if isinstance(v, np.generic) else v) for k, v in cat.meta.items()},
                                    sort_keys=True),
               pos=cat.pos, logmpeak=cat.logmpeak)
    if cat.host_index is not None:
        rec["host_index"] = cat.host_index
    if cat.particle_pos is not None:
        rec["particle_pos"] = cat.particle_pos
        rec["particle_mass"] = cat.particle_mass
    for name, values in cat.properties.items():
        rec[f"prop_{name}"] = values
    if cat.lensing is not None:
        rec.update(lensing_rbins=cat.lensing.rbins, lensing_index=cat.lensing.index,
                   lensing_delta_sigma=cat.lensing.delta_sigma, lensing_los_axis=cat.lensing.los_axis)
    return rec


def _from_records(rec: dict, source, particle_region=None) -> SubhaloCatalog:
    schema = str(rec.get("schema", ""))
    if schema != SCHEMA_NAME:
        raise ValueError(f"{source}: expected a {SCHEMA_NAME!r} file, found schema {schema!r}")
    version = int(rec["schema_version"])
    if version != SCHEMA_VERSION:
        raise ValueError(f"{source}: expected schema_version {SCHEMA_VERSION}, found {version}")
    missing = [k for k in ("box_size", "redshift", "pos", "logmpeak") if k not in rec]
    if missing:
        raise ValueError(f"{source}: missing required entries {missing}; found {sorted(rec)}")
    lensing = None
    if "lensing_rbins" in rec:
        lensing = LensingProfiles(rbins=rec["lensing_rbins"], index=rec["lensing_index"],
                                  delta_sigma=rec["lensing_delta_sigma"], los_axis=int(rec["lensing_los_axis"]))
    pmass = rec.get("particle_mass")
    return SubhaloCatalog(
        pos=rec["pos"], logmpeak=rec["logmpeak"], box_size=float(rec["box_size"]), redshift=float(rec["redshift"]),
        host_index=rec.get("host_index"), particle_pos=rec.get("particle_pos"),
        particle_mass=None if pmass is None else float(pmass), lensing=lensing, particle_region=particle_region,
        meta=json.loads(str(rec.get("meta_json", "{}"))),
        properties={k[len("prop_"):]: v for k, v in rec.items() if k.startswith("prop_")})


def _format_of(path: Path, fmt):
    if fmt is None:
        suffix = path.suffix.lower()
        fmt = {".npz": "npz", ".h5": "hdf5", ".hdf5": "hdf5", ".hdf": "hdf5"}.get(suffix)
        if fmt is None:
            raise ValueError(f"path: expected a .npz, .h5 or .hdf5 file name (or pass format=), found {path.name!r}")
    if fmt not in ("npz", "hdf5"):
        raise ValueError(f"format: expected 'npz' or 'hdf5', found {fmt!r}")
    return fmt


def save_catalog(catalog: SubhaloCatalog, path: os.PathLike, *, format=None) -> Path:
    """Write ``catalog`` to ``path`` in the shaminfer schema (atomic); format from the suffix unless given."""
    path = Path(path)
    fmt = _format_of(path, format)
    if catalog.particle_region is not None:
        raise ValueError(f"catalog.particle_region = {catalog.particle_region}: this catalog holds one MPI rank's "
                         "particles only; save the full catalog instead")
    rec = _to_records(catalog)
    if fmt == "npz":
        def write(tmp):
            np.savez(tmp, **{k: np.asarray(v) for k, v in rec.items()})
    else:
        import h5py

        if "particle_pos" in rec:
            rec["particle_pos"], rec["particle_x_start"] = _sorted_by_x_cell(rec["particle_pos"], float(catalog.box_size))

        def write(tmp):
            with h5py.File(tmp, "w") as f:
                for k, v in rec.items():
                    if k in _ARRAYS or k.startswith("prop_"):
                        f.create_dataset(k, data=np.asarray(v))
                    else:
                        f.attrs[k] = v
    return atomic_write(path, write)


def load_catalog(path: os.PathLike, *, format=None, particle_ghost: float | None = None, los_axis: int = 2
                 ) -> SubhaloCatalog:
    """Read a catalog written by :func:`save_catalog` (NPZ or HDF5) and validate it.

    Under MPI (:mod:`shaminfer.parallel`, more than one rank) each rank keeps
    every subhalo but only the particles of its slab (along the first axis
    other than ``los_axis``), plus ``particle_ghost`` [Mpc/h] on both sides
    if given (the lensing profiles need none: each rank sums its own
    particles' share of every nearby object's profile,
    :mod:`shaminfer.catalogs.lensing_mpi`); the catalog's ``particle_region``
    says which. From an HDF5 file a rank reads just those rows; an NPZ file is
    read whole and then cut.
    """
    from .. import parallel

    path = Path(path)
    fmt = _format_of(path, format)
    if not path.exists():
        raise FileNotFoundError(f"path: no such catalog file {str(path)!r}")
    comm = parallel.world()
    region = None
    if fmt == "npz":
        rec = read_npz(path, what="catalog")
    else:
        import h5py

        try:
            with h5py.File(path, "r") as f:
                rec = {k: f[k][()] for k in f.keys() if k != "particle_pos"}
                for k, v in f.attrs.items():
                    rec[k] = v.decode() if isinstance(v, bytes) else v
                if "particle_pos" in f:
                    region = _slab_region(comm, rec, particle_ghost, los_axis, path)
                    if region is not None and region[0] == 0 and "particle_x_start" in rec:
                        rec["particle_pos"] = _read_particle_rows(f["particle_pos"], rec["particle_x_start"],
                                                                  float(rec["box_size"]), region[1], region[2])
                    else:
                        rec["particle_pos"] = f["particle_pos"][()]
        except OSError as exc:
            raise ValueError(f"{path}: unreadable catalog, expected an HDF5 file ({exc})") from None
    if region is None and "particle_pos" in rec:
        region = _slab_region(comm, rec, particle_ghost, los_axis, path)
    if region is not None and rec["particle_pos"].shape[0] and not (region[0] == 0 and "particle_x_start" in rec):
        p = np.asarray(rec["particle_pos"])
        rec["particle_pos"] = p[parallel.periodic_interval_mask(p[:, region[0]], region[1], region[2],
                                                                float(rec["box_size"]))]
    rec.pop("particle_x_start", None)
    catalog = _from_records(rec, path.name, particle_region=region)
    if comm is not None:
        from .cache import hash_arrays

        parallel.agree(comm, f"{path.name}: catalog checksum (positions, log10 Mpeak, box)",
                       (hash_arrays(catalog.pos, catalog.logmpeak), catalog.box_size))
    return catalog


def _slab_region(comm, rec: dict, ghost, los_axis: int, path: Path):
    """``(axis, lo, hi)`` of the particles this rank needs, or None (one rank: all of them)."""
    if comm is None:
        return None
    from .. import parallel

    ghost = 0.0 if ghost is None else float(ghost)
    if not (np.isfinite(ghost) and ghost >= 0):
        raise ValueError(f"particle_ghost: expected a width >= 0 [Mpc/h], found {ghost!r}")
    slabs = parallel.slabs(float(rec["box_size"]), los_axis=los_axis, ghost=ghost, n=comm.Get_size(),
                           rank_=comm.Get_rank(), what=f"{path.name}: particle slabs")
    lo, hi = slabs.region()
    return slabs.axis, lo, hi


def load_particles(path: os.PathLike, *, box_size: float, particle_mass: float | None = None
                   ) -> tuple[np.ndarray, float]:
    """Dark-matter particles for Delta Sigma: ``(positions (Np, 3) [Mpc/h], particle mass [Msun/h])``.

    The file is an ``.npz`` or HDF5 (``.h5``/``.hdf5``) holding ``pos`` (Np, 3), or ``x``, ``y`` and ``z``,
    in comoving Mpc/h inside ``[0, box_size)`` (round-off at the faces is wrapped), and ``particle_mass``
    [Msun/h] (an entry, or an attribute of the HDF5 file) unless ``particle_mass`` is given here.

    Raises
    ------
    ValueError
        Naming the file and what is missing or wrong (no positions, no particle mass, NaN, outside the box).
    """
    from ._loading import wrap_edges

    path = Path(path)
    fmt = _format_of(path, None)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: particle file not found")
    if fmt == "npz":
        rec = read_npz(path, what="particle file", finite=True)
    else:
        import h5py

        try:
            with h5py.File(path, "r") as f:
                rec = {k: f[k][()] for k in f.keys() if k in ("pos", "x", "y", "z", "particle_mass")}
                rec.update({k: v for k, v in f.attrs.items() if k == "particle_mass"})
        except OSError as exc:
            raise ValueError(f"{path}: unreadable particle file, expected an HDF5 file ({exc})") from None
    if "pos" in rec:
        pos = np.asarray(rec["pos"], dtype=np.float64)
    elif all(k in rec for k in ("x", "y", "z")):
        pos = np.stack([np.asarray(rec[k], dtype=np.float64) for k in ("x", "y", "z")], axis=1)
    else:
        raise ValueError(f"{path}: particle file: expected 'pos' (Np, 3) or 'x', 'y', 'z' [Mpc/h], found "
                         f"{sorted(rec)}")
    if pos.ndim != 2 or pos.shape[1] != 3 or pos.shape[0] == 0:
        raise ValueError(f"{path}: particle file: expected positions of shape (Np > 0, 3), found {pos.shape}")
    if not np.all(np.isfinite(pos)):
        raise ValueError(f"{path}: particle file: expected finite positions, found "
                         f"{int((~np.isfinite(pos)).any(axis=1).sum())} row(s) with NaN or inf")
    if not particle_mass:
        if "particle_mass" not in rec:
            raise ValueError(f"{path}: particle file: expected a 'particle_mass' entry [Msun/h], found none; "
                             "give the particle mass in the configuration (catalog.particle_mass)")
        particle_mass = float(np.asarray(rec["particle_mass"]))
    if not (np.isfinite(particle_mass) and particle_mass > 0):
        raise ValueError(f"{path}: particle_mass: expected a positive mass [Msun/h], found {particle_mass!r}")
    pos, _ = wrap_edges(pos, float(box_size))
    out = (pos < 0) | (pos >= box_size)
    if out.any():
        raise ValueError(f"{path}: particle file: expected positions in [0, {box_size:g}) Mpc/h (the catalog's box), "
                         f"found {int(out.any(axis=1).sum())} particle(s) outside (max {pos.max():.6g})")
    return pos, float(particle_mass)
