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
the particles sorted into a 2-D cell grid of the projected plane (cells of
about a twelfth of the outer radius) so each object only visits the runs of
cells that meet its circle of the outer radius. Objects
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


@numba.njit(cache=True)
def _sort_into_cells(ppos, ax0, ax1, cell_size, ncell):
    """Projected coordinates of the particles sorted by cell ``ix * ncell + iy`` (a stable counting sort), and
    the start of each cell's run, shape (ncell^2 + 1,)."""
    n = ppos.shape[0]
    cell_start = np.zeros(ncell * ncell + 1, dtype=np.int64)
    for p in range(n):
        c = min(int(ppos[p, ax0] / cell_size), ncell - 1) * ncell + min(int(ppos[p, ax1] / cell_size), ncell - 1)
        cell_start[c + 1] += 1
    for c in range(ncell * ncell):
        cell_start[c + 1] += cell_start[c]
    fill = cell_start[:-1].copy()
    px = np.empty(n)
    py = np.empty(n)
    for p in range(n):
        c = min(int(ppos[p, ax0] / cell_size), ncell - 1) * ncell + min(int(ppos[p, ax1] / cell_size), ncell - 1)
        px[fill[c]] = ppos[p, ax0]
        py[fill[c]] = ppos[p, ax1]
        fill[c] += 1
    return px, py, cell_start


@numba.njit(inline="always")
def _bin_of(r2, rb2, table, rmin2, scale):
    """Annulus of ``R^2`` in ``[rb2[0], rb2[-1])``: lookup table uniform in ``R^2``, corrected exactly."""
    nR = rb2.size - 1
    jb = table[min(int((r2 - rmin2) * scale), table.size - 1)]
    while jb > 0 and r2 < rb2[jb]:
        jb -= 1
    while jb < nR - 1 and r2 >= rb2[jb + 1]:
        jb += 1
    return jb


@numba.njit(cache=True, fastmath={"reassoc"})
def _two_annuli(px, py, p0, p1, ax, ay, edge, rmax2, inv_a, inv_b):
    """Products of ``R^2 / R_j^2`` and counts over particles ``p0:p1`` that lie in annulus a (``R^2 < edge``) or
    b (``edge <= R^2 < rmax2``); branch-free, and reassociable so that the loop runs in SIMD lanes (round-off
    only: the same factors, multiplied in another order)."""
    qa = 1.0
    qb = 1.0
    na = 0
    nb = 0
    for p in range(p0, p1):
        dx = px[p] + ax
        dy = py[p] + ay
        r2 = dx * dx + dy * dy
        ina = r2 < edge
        inb = (r2 >= edge) & (r2 < rmax2)
        qa *= r2 * inv_a if ina else 1.0
        qb *= r2 * inv_b if inb else 1.0
        na += ina
        nb += inb
    return qa, qb, na, nb


@numba.njit(parallel=True, cache=True)
def _delta_sigma_kernel(ox, oy, px, py, cell_start, ncell, cell_size, box, rbins, m_p, out):
    """Fill ``out[i, j]`` with Eq. F4 summed over all particles for object ``i`` (see module docstring).

    Cells are visited column by column of the projected grid, in each column only those that meet the circle
    of radius ``rbins[-1]`` about the object, each wrapped periodic image with its own shift (an outer radius
    below half the box leaves at most one image of a particle inside it). A cell whose distance range from the
    object (widened by 1e-9 cell for round-off in the particles' cell index) lies inside ``rbins[0]`` is counted
    whole; one that lies in at most two adjacent annuli skips the annulus search (:func:`_two_annuli`, a
    branch-free loop in SIMD lanes). Otherwise a particle's annulus comes from a lookup table uniform in
    ``R^2``, corrected exactly against the squared edges. The logarithms of Eq. F4 are summed as logarithms of
    running products of ``R^2 / R_j^2`` (each factor in ``[1, R_{j+1}^2 / R_j^2)``), taken only when a product
    passes 1e200: one logarithm per few hundred particles instead of one per particle, equal to the sum of
    logarithms to round-off. Objects may come in any order; the caller passes them tile by tile for locality.
    """
    nobj = ox.size
    nR = rbins.size - 1
    rb2 = rbins * rbins
    rmin2 = rb2[0]
    rmax = rbins[nR]
    rmax2 = rb2[nR]
    inv_lo2 = 1.0 / rb2[:nR]
    log_rb = np.log(rbins)
    # lookup table: bin of the lower end of each of ntab equal cells in R^2 over [rmin^2, rmax^2)
    min_width = rmax2 - rmin2
    for jj in range(nR):
        min_width = min(min_width, rb2[jj + 1] - rb2[jj])
    ntab = min(max(int((rmax2 - rmin2) / min_width) + 1, nR), 1 << 16)
    scale = ntab / (rmax2 - rmin2)
    table = np.empty(ntab, dtype=np.int32)
    j = 0
    for t in range(ntab):
        r2 = rmin2 + t / scale
        while j < nR - 1 and r2 >= rb2[j + 1]:
            j += 1
        table[t] = j
    # particles per product block: a block's product stays below 1e100 (each factor < max R_{j+1}^2 / R_j^2)
    max_ratio2 = 1.0
    for jj in range(nR):
        max_ratio2 = max(max_ratio2, rb2[jj + 1] / rb2[jj])
    block = max(1, min(256, int(100.0 / math.log10(max_ratio2))))
    pad = 1e-9 * cell_size  # covers round-off in the cell index of a particle on a cell boundary
    for i in numba.prange(nobj):
        x0 = ox[i]
        y0 = oy[i]
        n_inner = 0
        cnt = np.zeros(nR, dtype=np.int64)
        prod = np.ones(nR)
        lsum = np.zeros(nR)
        ux_lo = int(math.floor((x0 - rmax - pad) / cell_size))
        ux_hi = int(math.floor((x0 + rmax + pad) / cell_size))
        for ux in range(ux_lo, ux_hi + 1):
            xa = ux * cell_size - x0 - pad  # the column's particles have x - x0 (shifted) in [xa, xb]
            xb = xa + cell_size + 2.0 * pad
            xnear = max(xa, -xb, 0.0)
            if xnear >= rmax:
                continue
            xfar2 = max(xa * xa, xb * xb)
            h = math.sqrt(rmax2 - xnear * xnear)
            uy_lo = int(math.floor((y0 - h - pad) / cell_size))
            uy_hi = int(math.floor((y0 + h + pad) / cell_size))
            gx = ux
            ax = -x0
            if ux < 0:
                gx += ncell
                ax -= box
            elif ux >= ncell:
                gx -= ncell
                ax += box
            base = gx * ncell
            for uy in range(uy_lo, uy_hi + 1):
                gy = uy
                ay = -y0
                if uy < 0:
                    gy += ncell
                    ay -= box
                elif uy >= ncell:
                    gy -= ncell
                    ay += box
                p0 = cell_start[base + gy]
                p1 = cell_start[base + gy + 1]
                if p1 == p0:
                    continue
                ya = uy * cell_size - y0 - pad
                yb = ya + cell_size + 2.0 * pad
                ynear = max(ya, -yb, 0.0)
                near2 = xnear * xnear + ynear * ynear
                far2 = xfar2 + max(ya * ya, yb * yb)
                if near2 >= rmax2:
                    continue
                if far2 < rmin2:  # the whole cell inside the innermost edge
                    n_inner += p1 - p0
                    continue
                jb = -1
                if near2 >= rmin2:
                    jb = _bin_of(near2, rb2, table, rmin2, scale)
                    if min(far2, rmax2) > rb2[min(jb + 2, nR)]:
                        jb = -1
                if jb >= 0:  # the whole cell (within rmax) in annuli jb and jb + 1: branch-free products
                    jn = min(jb + 1, nR - 1)  # for the last annulus, the second one stays empty (r2 >= rmax2)
                    edge = rb2[jb + 1]
                    inv_a = inv_lo2[jb]
                    inv_b = inv_lo2[jn]
                    qa = prod[jb]
                    qb = prod[jn] if jn > jb else 1.0
                    ca = 0
                    cb = 0
                    for b0 in range(p0, p1, block):
                        fa, fb, na, nb = _two_annuli(px, py, b0, min(b0 + block, p1), ax, ay, edge, rmax2, inv_a,
                                                     inv_b)
                        qa *= fa
                        qb *= fb
                        ca += na
                        cb += nb
                        if qa > 1e200:
                            lsum[jb] += math.log(qa)
                            qa = 1.0
                        if qb > 1e200:
                            lsum[jn] += math.log(qb)
                            qb = 1.0
                    prod[jb] = qa
                    cnt[jb] += ca
                    if jn > jb:
                        prod[jn] = qb
                        cnt[jn] += cb
                    continue
                for p in range(p0, p1):
                    dx = px[p] + ax
                    dy = py[p] + ay
                    r2 = dx * dx + dy * dy
                    if r2 >= rmax2:
                        continue
                    if r2 < rmin2:
                        n_inner += 1
                        continue
                    jp = _bin_of(r2, rb2, table, rmin2, scale)
                    cnt[jp] += 1
                    q = prod[jp] * (r2 * inv_lo2[jp])
                    if q > 1e200:
                        lsum[jp] += math.log(q)
                        q = 1.0
                    prod[jp] = q
        # particles inside Rmin_j: those inside rbins[0] plus those in bins below j
        below = n_inner
        for jj in range(nR):
            area = math.pi * (rb2[jj + 1] - rb2[jj])
            dlog = log_rb[jj + 1] - log_rb[jj]
            # sum over the annulus of 2 ln(Rmax_j / R) - 1 = cnt (2 dlog - 1) - sum ln(R^2 / Rmin_j^2)
            g = below * 2.0 * dlog + cnt[jj] * (2.0 * dlog - 1.0) - (lsum[jj] + math.log(prod[jj]))
            out[i, jj] = m_p / area * g
            below += cnt[jj]


def _check_inputs(object_pos, particle_pos, particle_mass, box_size, rbins, los_axis):
    box = float(box_size)
    if not np.isfinite(box) or box <= 0:
        raise ValueError(f"box_size: expected a positive finite value [Mpc/h], found {box_size!r}")
    rbins = np.asarray(rbins, dtype=np.float64)
    if rbins.ndim != 1 or rbins.size < 2 or not np.all(np.isfinite(rbins)) or rbins[0] <= 0 \
            or np.any(np.diff(rbins) <= 0):
        raise ValueError(f"rbins: expected >= 2 positive, strictly increasing edges [Mpc/h], found {rbins!r}")
    if rbins[-1] / rbins[0] > 1e50:  # the kernel's running products of (R / R_j)^2 must stay finite
        raise ValueError(f"rbins: expected an outer / inner edge ratio below 1e50, found {rbins[-1] / rbins[0]:g}")
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
                           los_axis=2, cells_per_rmax=12, chunk_size=4096, progress=None):
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

    px, py, cell_start = _sort_into_cells(ppos, axes[0], axes[1], cell_size, ncell)

    # visit objects tile by tile (tiles of about rbins[-1] on a side), cell by cell within a tile, so that the
    # particles near consecutive objects stay in cache whatever the box size; then restore the input order
    ocx = np.minimum((opos[:, axes[0]] / cell_size).astype(np.int64), ncell - 1)
    ocy = np.minimum((opos[:, axes[1]] / cell_size).astype(np.int64), ncell - 1)
    tile = max(1, int(cells_per_rmax))
    ntile = ncell // tile + 1
    oorder = np.argsort(((ocx // tile) * ntile + ocy // tile) * (ncell * ncell) + ocx * ncell + ocy, kind="stable")
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
                                rbins, mp / PC2_PER_MPC2, sorted_ds[start:stop])
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
