"""Per-object lensing profiles (App. F) split over MPI ranks by slabs (:mod:`shaminfer.parallel`).

Each particle belongs to exactly one rank: the one whose slab ``[lo, hi)``
along the split axis holds it. Rank ``r`` evaluates Eq. F4 from its own
particles for every object within the outer lensing radius ``R`` of its slab
(the objects of ``[lo - R, hi + R)``: the ghost zone is on the objects, which
are few, not on the particles), and the partial profiles are summed over the
ranks. A profile is a sum of per-particle terms, so the sum of the ranks'
partial sums is the one-process profile up to round-off, and each rank holds
``1 / K`` of the particles, with no ghost copies.
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
        When ranks disagree about the catalog, the outer lensing radius is
        wider than half a slab, or this rank's particles do not cover its slab.
    """
    box = float(catalog.box_size)
    rmax = float(rbins[-1])
    parallel.agree(comm, "catalog (checksum of the lensing objects' positions, options)",
                   (hash_arrays(catalog.pos[index]), float(catalog.particle_mass), box, rbins.tolist(),
                    int(los_axis)))
    slabs = parallel.slabs(box, los_axis=los_axis, ghost=rmax, n=comm.Get_size(), rank_=comm.Get_rank(),
                           what="lensing profiles")
    ppos = catalog.particle_pos
    region = catalog.particle_region
    if region is not None:
        axis, rlo, rhi = region
        covered = axis == slabs.axis and (rhi - rlo >= box or ((slabs.lo - rlo) % box) + (slabs.hi - slabs.lo)
                                          <= rhi - rlo + 1e-9)
        if not covered:
            raise parallel.MPIError(
                f"catalog.particle_region = {region}: rank {comm.Get_rank()} needs the particles of its slab "
                f"[{slabs.lo:g}, {slabs.hi:g}) along axis {slabs.axis}; load the catalog with load_catalog() under "
                "the same number of ranks")
    keep = slabs.owns(ppos[:, slabs.axis])  # each particle counted by one rank only (ghost copies dropped)
    if not keep.all():
        ppos = ppos[keep]
    del keep
    lo, hi = slabs.region()
    near = np.flatnonzero(parallel.periodic_interval_mask(catalog.pos[index, slabs.axis], lo, hi, box))
    nR = rbins.size - 1
    out = np.zeros((index.size, nR))
    if near.size and ppos.shape[0]:
        out[near] = per_object(catalog.pos[index[near]], ppos, catalog.particle_mass, box, rbins=rbins,
                               los_axis=los_axis, progress=progress and comm.Get_rank() == 0)
    return parallel.allreduce_sum(comm, out)
