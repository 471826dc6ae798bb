"""Per-object lensing profiles (App. F) split over MPI ranks by slabs (:mod:`shaminfer.parallel`).

Rank ``r`` computes Eq. F4 for the objects of its slab ``[lo, hi)`` along the
split axis, from the particles of ``[lo - R, hi + R)`` where ``R`` is the
outer lensing radius (every particle within ``R`` of an object in projection
lies there); the profiles are then gathered on every rank in catalog order.
Each profile is the same sum of per-particle terms as on one process, only
over cells visited in another order, so results agree to round-off.
"""
from __future__ import annotations

import numpy as np

from .. import parallel
from .cache import hash_arrays

__all__ = ["distributed_delta_sigma"]


def distributed_delta_sigma(comm, catalog, index: np.ndarray, rbins: np.ndarray, los_axis: int, per_object,
                            progress=None) -> np.ndarray:
    """Profiles ``(index.size, nR)`` of ``catalog``'s objects ``index``, computed over the ranks of ``comm``.

    ``per_object(object_pos, particle_pos, particle_mass, box_size, rbins=, los_axis=, progress=)`` is the
    one-process kernel (:func:`shaminfer.catalogs.lensing.delta_sigma_per_object`).

    Raises
    ------
    shaminfer.parallel.MPIError
        When ranks disagree about the catalog, the ghost zone is wider than
        half a slab, or this rank's particles do not cover its slab and ghosts.
    """
    box = float(catalog.box_size)
    rmax = float(rbins[-1])
    parallel.agree(comm, "catalog (checksum of the lensing objects' positions, options)",
                   (hash_arrays(catalog.pos[index]), float(catalog.particle_mass), box, rbins.tolist(),
                    int(los_axis)))
    slabs = parallel.slabs(box, los_axis=los_axis, ghost=rmax, n=comm.Get_size(), rank_=comm.Get_rank(),
                           what="lensing profiles")
    lo, hi = slabs.region()
    ppos = catalog.particle_pos
    region = catalog.particle_region
    if region is not None:
        axis, rlo, rhi = region
        covered = axis == slabs.axis and (rhi - rlo >= box or ((lo - rlo) % box) + (hi - lo) <= rhi - rlo + 1e-9)
        if not covered:
            raise parallel.MPIError(
                f"catalog.particle_region = {region}: rank {comm.Get_rank()} needs the particles of [{lo:g}, "
                f"{hi:g}) along axis {slabs.axis} (its slab plus the outer lensing radius {rmax:g} Mpc/h on both "
                "sides); load the catalog with load_catalog(..., particle_ghost=<at least that radius>)")
    keep = parallel.periodic_interval_mask(ppos[:, slabs.axis], lo, hi, box)
    if not keep.all():
        ppos = ppos[keep]
    del keep
    mine = np.flatnonzero(slabs.owns(catalog.pos[index, slabs.axis]))
    nR = rbins.size - 1
    ds_mine = per_object(catalog.pos[index[mine]], ppos, catalog.particle_mass, box, rbins=rbins,
                         los_axis=los_axis, progress=progress and comm.Get_rank() == 0)
    counts = np.asarray(comm.allgather(int(mine.size)), dtype=np.int64)
    rows = np.empty(int(counts.sum()), dtype=np.int64)
    comm.Allgatherv(np.ascontiguousarray(mine, dtype=np.int64), [rows, counts])
    gathered = np.empty((rows.size, nR))
    comm.Allgatherv(np.ascontiguousarray(ds_mine, dtype=np.float64), [gathered, counts * nR])
    if rows.size != index.size or np.unique(rows).size != index.size:
        raise parallel.MPIError(f"lensing profiles: the ranks' slabs covered {rows.size} objects, expected "
                                f"{index.size} (each exactly once)")
    out = np.empty((index.size, nR))
    out[rows] = gathered
    return out
