"""Per-object galaxy-galaxy lensing profiles from simulation particles (App. F, Eq. F4).

For an object at projected distance ``R`` from a particle of mass ``m_p``, the
excess surface density averaged over the annulus ``[Rmin, Rmax)`` is (Eq. F4)

    <Delta Sigma> = m_p / A_ann * G(R),   A_ann = pi (Rmax^2 - Rmin^2),
    G = 2 ln(Rmax/Rmin)       if R < Rmin,
        2 ln(Rmax/R) - 1      if Rmin <= R < Rmax,
        0                     if R >= Rmax,

and the profile of one object is the sum of Eq. F4 over all particles. One
box axis is the line of sight: every particle in the full periodic depth
counts, and ``R`` is the minimum-image distance in the two other axes.

The sum is done by a numba kernel, parallel over objects (``prange``), with
the particles sorted into a 2-D cell grid of the projected plane so each
object only visits the cells that can lie within the outer radius. Objects
are processed in chunks so that long runs show a progress bar.
:func:`lensing_profiles` is the catalog-level shell: it picks the objects
above a mass cut, validates once, and caches the result on disk keyed by the
content of the catalog and the options. The kernel uses numba's thread
pool (``NUMBA_NUM_THREADS`` sets its size).

Units: positions and radii in comoving Mpc/h, particle mass in Msun/h,
Delta Sigma in h Msun / pc^2.
"""
from __future__ import annotations

import math
import sys

import numba
import numpy as np
from tqdm.auto import tqdm

from .. import parallel
from .._npz import read_npz
from .cache import atomic_write, cache_dir, cache_key, hash_arrays
from .catalog import LensingProfiles, SubhaloCatalog

__all__ = [
    "DEFAULT_RBINS",
    "PC2_PER_MPC2",
    "default_rbins",
    "delta_sigma_per_object",
    "lensing_profiles",
]

#: (pc/h)^2 per (Mpc/h)^2: Msun/h / (Mpc/h)^2 / PC2_PER_MPC2 = h Msun / pc^2.
PC2_PER_MPC2 = 1e12
_SCHEMA_VERSION = 1


def default_rbins(n_bins: int = 15, rmin: float = 0.1, rmax: float = 10.0) -> np.ndarray:
    """Log-spaced projected-radius bin edges [Mpc/h], shape (n_bins + 1,); default 0.1-10 Mpc/h."""
    return np.logspace(np.log10(rmin), np.log10(rmax), n_bins + 1)


#: Default radial bin edges: 15 log-spaced bins from 0.1 to 10 Mpc/h.
DEFAULT_RBINS = default_rbins()


@numba.njit(parallel=True, cache=True)
def _delta_sigma_kernel(ox, oy, px, py, cell_start, ncell, cell_size, box, rbins, offx, offy, cell_shift, m_p,
                        out):
    """Fill ``out[i, j]`` with Eq. F4 summed over all particles for object ``i`` (see module docstring).

    With ``cell_shift`` (all offsets within less than half the box), the
    periodic image is chosen once per visited cell (shift by +-box when the
    cell index wraps), which leaves a branch-free distance computation in the
    inner loop; otherwise each particle takes its minimum image. The annulus
    of a particle is found from ``ln R^2`` (needed anyway) through a
    lookup table on a uniform grid in ``ln R^2``, then corrected exactly
    against the squared edges, so any increasing ``rbins`` work.
    """
    nobj = ox.size
    nR = rbins.size - 1
    rb2 = rbins * rbins
    rmin2 = rb2[0]
    rmax2 = rb2[nR]
    half = 0.5 * box
    log_rb = np.log(rbins)
    noff = offx.size
    # lookup table: bin of the lower end of each of ntab cells in ln R^2
    ntab = 64 * nR
    lmin2 = math.log(rmin2)
    scale = ntab / (math.log(rmax2) - lmin2)
    table = np.empty(ntab + 1, dtype=np.int64)
    j = 0
    for t in range(ntab + 1):
        r2 = math.exp(lmin2 + t / scale)
        while j < nR - 1 and r2 >= rb2[j + 1]:
            j += 1
        table[t] = j
    for i in numba.prange(nobj):
        x0 = ox[i]
        y0 = oy[i]
        cx = min(int(x0 / cell_size), ncell - 1)
        cy = min(int(y0 / cell_size), ncell - 1)
        n_inner = 0
        gsum = np.zeros(nR)
        cnt = np.zeros(nR, dtype=np.int64)
        for k in range(noff):
            ux = cx + offx[k]
            uy = cy + offy[k]
            gx = ux % ncell
            gy = uy % ncell
            c = gx * ncell + gy
            sx = 0.0
            sy = 0.0
            if cell_shift:
                if ux < 0:
                    sx = -box
                elif ux >= ncell:
                    sx = box
                if uy < 0:
                    sy = -box
                elif uy >= ncell:
                    sy = box
            for p in range(cell_start[c], cell_start[c + 1]):
                dx = px[p] - x0
                dy = py[p] - y0
                if cell_shift:
                    dx += sx
                    dy += sy
                else:
                    if dx > half:
                        dx -= box
                    elif dx < -half:
                        dx += box
                    if dy > half:
                        dy -= box
                    elif dy < -half:
                        dy += box
                r2 = dx * dx + dy * dy
                if r2 >= rmax2:
                    continue
                if r2 < rmin2:
                    n_inner += 1
                    continue
                lr2 = math.log(r2)
                jb = table[min(max(int((lr2 - lmin2) * scale), 0), ntab)]
                while jb > 0 and r2 < rb2[jb]:
                    jb -= 1
                while jb < nR - 1 and r2 >= rb2[jb + 1]:
                    jb += 1
                cnt[jb] += 1
                gsum[jb] += 2.0 * log_rb[jb + 1] - lr2 - 1.0
        # particles inside Rmin_j: those inside rbins[0] plus those in bins below j
        below = n_inner
        for jj in range(nR):
            area = math.pi * (rb2[jj + 1] - rb2[jj])
            g = below * 2.0 * (log_rb[jj + 1] - log_rb[jj]) + gsum[jj]
            out[i, jj] = m_p / area * g
            below += cnt[jj]


def _cell_offsets(ncell: int, reach: int, cell_size: float, rmax: float):
    """Cell offsets (dx, dy) whose cells can hold a particle within ``rmax`` of any point of cell (0, 0)."""
    if 2 * reach + 1 >= ncell:  # every cell is within reach: visit each exactly once
        ax = np.arange(ncell)
        offx, offy = np.meshgrid(ax, ax, indexing="ij")
        return offx.ravel().astype(np.int64), offy.ravel().astype(np.int64)
    ax = np.arange(-reach, reach + 1)
    offx, offy = np.meshgrid(ax, ax, indexing="ij")
    gapx = np.maximum(np.abs(offx) - 1, 0) * cell_size
    gapy = np.maximum(np.abs(offy) - 1, 0) * cell_size
    keep = gapx**2 + gapy**2 < rmax**2
    return offx[keep].astype(np.int64), offy[keep].astype(np.int64)


def _check_inputs(object_pos, particle_pos, particle_mass, box_size, rbins, los_axis):
    box = float(box_size)
    if not np.isfinite(box) or box <= 0:
        raise ValueError(f"box_size: expected a positive finite value [Mpc/h], found {box_size!r}")
    rbins = np.asarray(rbins, dtype=np.float64)
    if rbins.ndim != 1 or rbins.size < 2 or not np.all(np.isfinite(rbins)) or rbins[0] <= 0 \
            or np.any(np.diff(rbins) <= 0):
        raise ValueError(f"rbins: expected >= 2 positive, strictly increasing edges [Mpc/h], found {rbins!r}")
    if rbins[-1] >= 0.5 * box:
        raise ValueError(f"rbins: expected the outer edge below box_size/2 = {0.5 * box:g} Mpc/h (one periodic "
                         f"image per particle), found {rbins[-1]:g}")
    if los_axis not in (0, 1, 2) or isinstance(los_axis, bool):
        raise ValueError(f"los_axis: expected 0, 1 or 2, found {los_axis!r}")
    mp = float(particle_mass)
    if not np.isfinite(mp) or mp <= 0:
        raise ValueError(f"particle_mass: expected a positive finite value [Msun/h], found {particle_mass!r}")
    out = []
    for name, arr in (("object_pos", object_pos), ("particle_pos", particle_pos)):
        arr = np.asarray(arr, dtype=np.float64)
        if arr.ndim != 2 or arr.shape[1] != 3:
            raise ValueError(f"{name}: expected an array of shape (n, 3) [Mpc/h], found shape {arr.shape}")
        bad = ~np.all(np.isfinite(arr) & (arr >= 0) & (arr < box), axis=1)
        if bad.any():
            raise ValueError(f"{name}: expected finite coordinates in [0, {box:g}) Mpc/h, found {int(bad.sum())} "
                             "row(s) outside")
        out.append(arr)
    return out[0], out[1], mp, box, rbins


def delta_sigma_per_object(object_pos, particle_pos, particle_mass, box_size, *, rbins=DEFAULT_RBINS,
                           los_axis=2, cells_per_rmax=4, chunk_size=4096, progress=None):
    """Annulus-averaged Delta Sigma of Eq. F4 about each object, summed over all particles (App. F).

    Parameters
    ----------
    object_pos : array (M, 3)
        Object (lens) positions [Mpc/h] in ``[0, box_size)``.
    particle_pos : array (Np, 3)
        Particle positions [Mpc/h] in ``[0, box_size)``.
    particle_mass : float
        Mass of each particle [Msun/h].
    box_size : float
        Periodic box side [Mpc/h].
    rbins : array (nR + 1,), keyword-only
        Projected-radius bin edges [Mpc/h]; positive, increasing, outer edge < box_size/2.
    los_axis : int, keyword-only
        Line-of-sight axis (the full periodic depth along it is projected).
    cells_per_rmax : int, keyword-only
        Cell-grid resolution: the projected cell side is about ``rbins[-1] / cells_per_rmax``.
    chunk_size : int, keyword-only
        Objects per kernel call (granularity of the progress bar).
    progress : bool or None, keyword-only
        Show a tqdm progress bar; None shows it only when stderr is a terminal.

    Returns
    -------
    delta_sigma : array (M, nR)
        ``<Delta Sigma>`` per object and annulus [h Msun / pc^2].
    """
    opos, ppos, mp, box, rbins = _check_inputs(object_pos, particle_pos, particle_mass, box_size, rbins, los_axis)
    axes = [a for a in range(3) if a != los_axis]
    rmax = float(rbins[-1])
    ncell = max(1, int(np.floor(box / (rmax / max(1, int(cells_per_rmax))))))
    cell_size = box / ncell
    reach = int(np.ceil(rmax / cell_size))
    offx, offy = _cell_offsets(ncell, reach, cell_size, rmax)
    cell_shift = 2 * reach + 1 < ncell and (reach + 1) * cell_size < 0.5 * box

    # sort the particles into projected cells (counting sort)
    pcx = np.minimum((ppos[:, axes[0]] / cell_size).astype(np.int64), ncell - 1)
    pcy = np.minimum((ppos[:, axes[1]] / cell_size).astype(np.int64), ncell - 1)
    pcell = pcx * ncell + pcy
    order = np.argsort(pcell, kind="stable")
    px = np.ascontiguousarray(ppos[order, axes[0]])
    py = np.ascontiguousarray(ppos[order, axes[1]])
    cell_start = np.zeros(ncell * ncell + 1, dtype=np.int64)
    np.cumsum(np.bincount(pcell, minlength=ncell * ncell), out=cell_start[1:])
    del pcx, pcy, pcell, order

    # visit objects cell by cell (memory locality), then restore the input order
    ocx = np.minimum((opos[:, axes[0]] / cell_size).astype(np.int64), ncell - 1)
    ocy = np.minimum((opos[:, axes[1]] / cell_size).astype(np.int64), ncell - 1)
    oorder = np.argsort(ocx * ncell + ocy, kind="stable")
    ox = np.ascontiguousarray(opos[oorder, axes[0]])
    oy = np.ascontiguousarray(opos[oorder, axes[1]])

    nobj = ox.size
    nR = rbins.size - 1
    sorted_ds = np.empty((nobj, nR))
    if progress is None:
        progress = sys.stderr.isatty()
    step = max(1, int(chunk_size))
    with tqdm(total=nobj, desc="Delta Sigma per object", unit="obj", disable=not progress) as bar:
        for start in range(0, nobj, step):
            stop = min(nobj, start + step)
            _delta_sigma_kernel(ox[start:stop], oy[start:stop], px, py, cell_start, ncell, cell_size, box,
                                rbins, offx, offy, cell_shift, mp / PC2_PER_MPC2, sorted_ds[start:stop])
            bar.update(stop - start)
    out = np.empty_like(sorted_ds)
    out[oorder] = sorted_ds
    return out


def lensing_profiles(catalog: SubhaloCatalog, *, logmpeak_min=11.5, rbins=DEFAULT_RBINS, los_axis=2,
                     cache=True, progress=None) -> LensingProfiles:
    """Per-object Delta Sigma profiles (Eq. F4) for every subhalo with ``logmpeak >= logmpeak_min``.

    Parameters
    ----------
    catalog : SubhaloCatalog
        Must carry particles (``particle_pos``, ``particle_mass``).
    logmpeak_min : float, keyword-only
        Mass cut [log10 Msun/h]; objects below it get no profile.
    rbins : array (nR + 1,), keyword-only
        Projected-radius bin edges [Mpc/h].
    los_axis : int, keyword-only
        Line-of-sight axis.
    cache : bool, keyword-only
        Reuse / store the result in the per-user cache (keyed by the content
        of the positions, particles and every option). Under MPI the ranks
        split the objects by slab (:mod:`shaminfer.catalogs.lensing_mpi`) and
        the cache is not used (no rank holds all particles to key it).
    progress : bool or None, keyword-only
        Progress bar (None: only on a terminal).

    Returns
    -------
    LensingProfiles
        ``index`` lists the selected objects in catalog order.
    """
    if catalog.particle_pos is None:
        raise ValueError("catalog.particle_pos: expected dark-matter particles to compute lensing profiles, "
                         "found None")
    rbins = np.asarray(rbins, dtype=np.float64)
    index = np.flatnonzero(catalog.logmpeak >= float(logmpeak_min))
    comm = parallel.world()
    if comm is not None:  # each rank its slab's objects, from its particles and ghost zones; no cache
        from .lensing_mpi import distributed_delta_sigma

        ds = distributed_delta_sigma(comm, catalog, index, rbins, int(los_axis), delta_sigma_per_object,
                                     progress=progress)
        return LensingProfiles(rbins=rbins, index=index, delta_sigma=ds, los_axis=los_axis)
    if catalog.particle_region is not None:
        raise ValueError(f"catalog.particle_region = {catalog.particle_region}: the catalog holds one MPI rank's "
                         "particles, but this process runs alone; load the full catalog")
    path = None
    if cache:
        key = cache_key(dict(content=hash_arrays(catalog.pos[index], catalog.particle_pos, rbins),
                             particle_mass=catalog.particle_mass, box_size=catalog.box_size,
                             los_axis=int(los_axis)), schema_version=_SCHEMA_VERSION)
        path = cache_dir("lensing") / f"profiles-{key}.npz"
        if path.exists():
            try:  # a damaged cache entry is recomputed, never trusted
                f = read_npz(path, what="lensing-profile cache",
                             required=("rbins", "index", "delta_sigma", "los_axis"))
                return LensingProfiles(rbins=f["rbins"], index=f["index"], delta_sigma=f["delta_sigma"],
                                       los_axis=int(f["los_axis"]))
            except ValueError:
                pass
    ds = delta_sigma_per_object(catalog.pos[index], catalog.particle_pos, catalog.particle_mass,
                                catalog.box_size, rbins=rbins, los_axis=los_axis, progress=progress)
    prof = LensingProfiles(rbins=rbins, index=index, delta_sigma=ds, los_axis=los_axis)
    if path is not None:
        atomic_write(path, lambda tmp: np.savez(tmp, rbins=prof.rbins, index=prof.index,
                                                delta_sigma=prof.delta_sigma, los_axis=prof.los_axis))
    return prof
