"""Weighted pair counts in (r_p, |pi| < pi_max) and per-point neighbour sums (Eqs. 14, 19).

For weights ``w`` on points in a periodic box, with ``S_i(a, b) = 1`` when the
pair's projected separation lies in ``[rp_edges[i], rp_edges[i+1])`` and its
line-of-sight separation obeys ``|pi| < pi_max`` (minimum image in every axis):

* ``G[a, i] = sum_{b != a} w_b S_i(a, b)``, the weighted neighbour sum of
  point ``a``;
* ``DD_i = sum_a w_a G[a, i] = sum_a sum_{b != a} w_a w_b S_i(a, b)`` (Eq. 14),
  over ordered pairs, as Corrfunc's ``DDrppi`` with ``weight_type="pair_product"``.

By symmetry of ``S_i``, Eq. 19 reads ``dDD_i = 2 sum_a dw_a G[a, i]``: one
pass over the pairs gives the derivative along every parameter.

Only points with non-zero weight enter the count; rows of ``G`` for zero
weights are left at zero. That is exact for the derivative whenever
``dw_a = 0`` where ``w_a = 0``, as for triweight selection weights (App. E).

Algorithm (:func:`neighbour_sums`): the points are sorted into columns of a
2-D grid in the plane of the sky (cells at least ``rp_max / reach`` wide) and
by line-of-sight coordinate within each column. For each point ``a`` and each
column within ``reach`` cells, the points within ``|pi| < pi_max`` form one
contiguous run of the column (taking the three periodic images along the line
of sight in turn) that two pointers track as ``a`` moves up its own column;
columns whose rectangle lies beyond ``rp_max`` from ``a`` are skipped. Each
unordered pair is visited once (a half shell of neighbour columns) and
credited to both points. Columns are processed in stripes; stripes that are
``reach + 1`` apart never write to the same rows, so each phase of stripes
runs in parallel (numba ``prange``) with no locks and a fixed summation
order: results do not depend on the number of threads. The r_p bin of a pair
comes from a lookup table on the leading bits of ``r_p^2`` followed by exact
comparisons with the squared edges, so binning is exact.

:func:`corrfunc_pair_counts` gives the same ``DD`` from Corrfunc (values only).
"""
from __future__ import annotations

import threading
from typing import NamedTuple

import numba
import numpy as np
from llvmlite import ir
from numba import prange, uint64
from numba.core import types
from numba.extending import intrinsic

from .. import parallel

__all__ = [
    "PairSums",
    "neighbour_sums",
    "pair_counts",
    "corrfunc_pair_counts",
    "grid_order",
    "DEFAULT_REACH",
    "SERIAL_BELOW",
    "WORLD",
]

#: Neighbour columns visited on each side; cells are at least ``rp_max / reach`` wide.
DEFAULT_REACH = 3
#: Below this many non-zero weights, ``nthreads=None`` counts on one thread (thread start-up costs more).
SERIAL_BELOW = 20000
# One pair count at a time: XLA may run independent callbacks concurrently, and numba's workqueue
# threading layer (used where OpenMP and TBB are missing) must not be entered from two threads.
_LOCK = threading.Lock()
_NLANE = 8  # independent accumulators per point (breaks store-to-load chains)
_MAX_NCELL = 2048
#: ``comm=WORLD``: use the MPI launcher's communicator when there is one (:func:`shaminfer.parallel.world`).
WORLD = "world"


class PairSums(NamedTuple):
    """Weighted pair counts and neighbour sums.

    Attributes
    ----------
    dd : array (nrp,)
        ``DD_i`` (Eq. 14), ordered pairs.
    g : array (N, nrp)
        ``G[a, i]``; zero rows where the weight is zero.
    """

    dd: np.ndarray
    g: np.ndarray


@intrinsic
def _f64_bits(typingctx, x):
    """Bit pattern of a float64 as int64 (monotone in x for x >= 0)."""
    sig = types.int64(types.float64)

    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], ir.IntType(64))

    return sig, codegen


def _bin_table(rp_edges: np.ndarray):
    """Slot edges and a lookup table from the leading bits of r_p^2 to a lower bound on the slot.

    Slot 0 is ``r_p < rp_edges[0]``, slot ``i + 1`` is bin ``i``, slot
    ``nrp + 1`` is ``r_p >= rp_edges[-1]``. ``edges2[s] <= r2 < edges2[s+1]``.
    """
    e2 = np.asarray(rp_edges, dtype=np.float64) ** 2
    bits = e2.view(np.int64)
    mbits = 12
    for m in range(4, 13):  # fewest mantissa bits that put every edge in its own cell
        if np.all(np.diff(bits >> (52 - m)) > 0):
            mbits = m
            break
    shift = 52 - mbits
    kmin = int(bits[0] >> shift) - 1  # cell 0 lies entirely below the first edge
    kmax = int(bits[-1] >> shift)
    keys = np.arange(kmin, kmax + 1, dtype=np.int64)
    low = (keys << shift).view(np.float64)
    edges2 = np.concatenate([[-np.inf], e2, [np.inf]])
    table = (np.searchsorted(edges2, low, side="right") - 1).astype(np.int64)
    return edges2, table, shift, kmin


@numba.njit(cache=True)
def grid_order(x, y, z, box, ncell):
    """Order of the points by (column, z) and the start of each column, shape (ncell^2 + 1,).

    The cell list shared by the pair kernels here and the tabulated engine's kernel: columns of
    ``ncell x ncell`` cells in (x, y) (coordinates in ``[0, box)``), points sorted by z within a column.
    """
    n = x.size
    f = ncell / box
    ncol = ncell * ncell
    col = np.empty(n, np.int64)
    start = np.zeros(ncol + 1, np.int64)
    for i in range(n):
        cx = min(int(x[i] * f), ncell - 1)
        cy = min(int(y[i] * f), ncell - 1)
        c = cx * ncell + cy
        col[i] = c
        start[c + 1] += 1
    for c in range(ncol):
        start[c + 1] += start[c]
    fill = start[:-1].copy()
    order = np.empty(n, np.int64)
    for i in range(n):
        order[fill[col[i]]] = i
        fill[col[i]] += 1
    for c in range(ncol):
        s = start[c]
        e = start[c + 1]
        if e - s > 1:
            idx = order[s:e].copy()
            o = np.argsort(z[idx], kind="mergesort")
            for k in range(e - s):
                order[s + k] = idx[o[k]]
    return order, start


@numba.njit(parallel=True, cache=True, fastmath=False)
def _half_shell_kernel(xs, ys, zs, ws, col_start, ncell, box, reach, edges2, table, shift, kmin, pimax, nphase,
                       cx_lo, cx_hi, gs):
    """Accumulate ``gs[a * nslot + slot] += w_b`` over unordered pairs (see the module docstring).

    Only pairs whose first point lies in a column ``cx_lo <= cx < cx_hi`` (along the first sky axis) are
    visited: one MPI rank's share (:mod:`shaminfer.parallel`); ``(0, ncell)`` visits every pair.
    """
    nslot = edges2.size - 1
    nbin = nslot - 2
    rmax2 = edges2[nbin + 1]
    ktop = table.size - 1
    cw = box / ncell
    eps = 1e-9 * box
    nstripe = ncell // nphase
    nlane_slots = _NLANE * nslot
    for p in range(nphase):
        for q in prange(nstripe):
            cx = p + q * nphase
            if cx < cx_lo or cx >= cx_hi:
                continue
            acc = np.zeros(nlane_slots)
            for cy in range(ncell):
                c = cx * ncell + cy
                a0 = col_start[c]
                a1 = col_start[c + 1]
                if a1 == a0:
                    continue
                for ox in range(0, reach + 1):
                    ux = cx + ox
                    bx = ux % ncell
                    sx = ((ux - bx) // ncell) * box
                    xlo = bx * cw + sx - eps
                    xhi = xlo + cw + 2.0 * eps
                    oy0 = -reach if ox > 0 else 0
                    for oy in range(oy0, reach + 1):
                        uy = cy + oy
                        by = uy % ncell
                        sy = ((uy - by) // ncell) * box
                        ylo = by * cw + sy - eps
                        yhi = ylo + cw + 2.0 * eps
                        b = bx * ncell + by
                        b0 = col_start[b]
                        nb = col_start[b + 1] - b0
                        if nb == 0:
                            continue
                        same = ox == 0 and oy == 0
                        # pointers into the column's three line-of-sight images: (image m, index)
                        lm = -1
                        li = 0
                        hm = -1
                        hi = 0
                        for a in range(a0, a1):
                            xa = xs[a]
                            ya = ys[a]
                            za = zs[a]
                            ddx = max(xlo - xa, 0.0, xa - xhi)
                            ddy = max(ylo - ya, 0.0, ya - yhi)
                            if ddx * ddx + ddy * ddy >= rmax2:
                                continue
                            while lm < 2:
                                if zs[b0 + li] + lm * box - za > -pimax:
                                    break
                                li += 1
                                if li == nb:
                                    li = 0
                                    lm += 1
                            if hm < lm or (hm == lm and hi < li):
                                hm = lm
                                hi = li
                            while hm < 2:
                                if zs[b0 + hi] + hm * box - za >= pimax:
                                    break
                                hi += 1
                                if hi == nb:
                                    hi = 0
                                    hm += 1
                            m = lm
                            j0 = li
                            if same:  # half shell within a column: images after a itself
                                ia = a - a0
                                if m < 0 or (m == 0 and j0 <= ia):
                                    m = 0
                                    j0 = ia + 1
                                    if j0 == nb:
                                        m = 1
                                        j0 = 0
                            if m > hm or (m == hm and j0 >= hi):
                                continue
                            for k in range(nlane_slots):
                                acc[k] = 0.0
                            wa = ws[a]
                            xa2 = xa - sx
                            ya2 = ya - sy
                            while m < hm or (m == hm and j0 < hi):
                                j1 = nb if m < hm else hi
                                for jj in range(b0 + j0, b0 + j1):
                                    j = uint64(jj)
                                    dx = xs[j] - xa2
                                    dy = ys[j] - ya2
                                    r2 = dx * dx + dy * dy
                                    key = (_f64_bits(r2) >> shift) - kmin
                                    key = uint64(min(max(key, 0), ktop))
                                    s = uint64(table[key])
                                    while r2 >= edges2[s + uint64(1)]:
                                        s += uint64(1)
                                    acc[(j & uint64(_NLANE - 1)) * uint64(nslot) + s] += ws[j]
                                    gs[j * uint64(nslot) + s] += wa
                                m += 1
                                j0 = 0
                            for s in range(nslot):
                                t = 0.0
                                for lane in range(_NLANE):
                                    t += acc[lane * nslot + s]
                                gs[a * nslot + s] += t


@numba.njit(cache=True)
def _unsort(gs, ws, order, dest, nslot, nbin, g_out, dd):
    """``g_out[dest[order[a]]] = gs[a, bins]`` and ``dd = sum_a w_a gs[a, bins]`` in a fixed order."""
    for a in range(ws.size):
        row = dest[order[a]]
        wa = ws[a]
        for i in range(nbin):
            v = gs[a * nslot + i + 1]
            dd[i] += wa * v
            if row >= 0:
                g_out[row, i] = v


def _grid_shape(n: int, box: float, rp_max: float, reach: int):
    ncell = int(np.floor(box * reach / rp_max))
    ncell = max(1, min(ncell, _MAX_NCELL, int(np.sqrt(max(16, 2 * n)))))
    group = reach + 1
    if ncell >= 2 * group:
        ncell = (ncell // group) * group
        nphase = group
    else:
        nphase = ncell  # too few columns for parallel stripes: run them one by one
    return ncell, nphase


def _threads(nthreads, n_nonzero: int) -> int:
    """Threads to use: ``nthreads``, or numba's setting (one thread below :data:`SERIAL_BELOW` points)."""
    if nthreads is not None:
        return int(nthreads)
    return 1 if n_nonzero < SERIAL_BELOW else numba.get_num_threads()


def _check_geometry(box, rp_edges, pi_max, los_axis, reach):
    if not (np.isfinite(box) and box > 0):
        raise ValueError(f"box_size: expected a positive length [Mpc/h], found {box!r}")
    if rp_edges.ndim != 1 or rp_edges.size < 2 or not np.all(np.isfinite(rp_edges)) or np.any(np.diff(rp_edges) <= 0):
        raise ValueError(f"rp_edges: expected at least 2 finite, strictly increasing edges, found {rp_edges.tolist()}")
    if rp_edges[0] <= 0 or rp_edges[-1] >= 0.5 * box:
        raise ValueError(f"rp_edges: expected 0 < rp_edges[0] and rp_edges[-1] < box_size/2 = {0.5 * box:g}, "
                         f"found [{rp_edges[0]:g}, {rp_edges[-1]:g}]")
    if not (np.isfinite(pi_max) and 0 < pi_max < 0.5 * box):
        raise ValueError(f"pi_max: expected 0 < pi_max < box_size/2 = {0.5 * box:g}, found {pi_max!r}")
    if los_axis not in (0, 1, 2):
        raise ValueError(f"los_axis: expected 0, 1 or 2, found {los_axis!r}")
    if int(reach) != reach or reach < 1:
        raise ValueError(f"reach: expected an integer >= 1, found {reach!r}")


def _prepare(pos, weights, los_axis, box):
    pos = np.asarray(pos, dtype=np.float64)
    w = np.asarray(weights, dtype=np.float64)
    if pos.ndim != 2 or pos.shape[1] != 3 or w.shape != (pos.shape[0],):
        raise ValueError(f"pos, weights: expected shapes (N, 3) and (N,), found {pos.shape} and {w.shape}")
    bad = ~np.isfinite(w)
    if bad.any():
        raise ValueError(f"weights: expected finite values, found {int(bad.sum())} non-finite")
    sel = np.flatnonzero(w != 0.0)
    if sel.size:
        p = pos[sel]
        out = ~((p >= 0.0) & (p < box)).all(axis=1)
        if out.any():
            raise ValueError(f"pos: expected coordinates in [0, box_size={box:g}) Mpc/h, found {int(out.sum())} "
                             "weighted row(s) outside")
    axes = [ax for ax in (0, 1, 2) if ax != los_axis] + [los_axis]
    xyz = [np.ascontiguousarray(pos[sel, ax]) for ax in axes]
    return xyz, np.ascontiguousarray(w[sel]), sel


def _run(pos, weights, box_size, rp_edges, pi_max, los_axis, nthreads, reach, want_g, comm):
    rp_edges = np.asarray(rp_edges, dtype=np.float64)
    box = float(box_size)
    _check_geometry(box, rp_edges, float(pi_max), los_axis, reach)
    nbin = rp_edges.size - 1
    n = np.shape(weights)[0]
    (x, y, z), w, sel = _prepare(pos, weights, los_axis, box)
    g_out = np.zeros((n if want_g else 0, nbin))
    dd = np.zeros(nbin)
    comm = parallel.world() if comm is WORLD else comm
    with _LOCK:  # one count at a time per process, so that ranks reach their reductions in the same order
        if comm is not None:  # every rank must count the same sample (the sums are added over ranks below)
            parallel.agree(comm, "pair count (number, sum and first moments of the non-zero weights)",
                           (int(w.size), float(w.sum()), float(w @ x), float(w @ z), rp_edges.tolist(),
                            float(pi_max)))
        if w.size < 2:
            return dd, g_out
        ncell, nphase = _grid_shape(w.size, box, float(rp_edges[-1]), int(reach))
        cx_lo, cx_hi = 0, ncell
        if comm is not None:  # this rank's columns
            cx_lo, cx_hi = parallel.owned_columns(ncell, n=comm.Get_size(), rank_=comm.Get_rank())
        order, col_start = grid_order(x, y, z, box, ncell)
        xs, ys, zs, ws = x[order], y[order], z[order], w[order]
        edges2, table, shift, kmin = _bin_table(rp_edges)
        nslot = nbin + 2
        gs = np.zeros(w.size * nslot)
        threads = _threads(nthreads, w.size)
        old = numba.get_num_threads()
        numba.set_num_threads(max(1, min(threads, numba.config.NUMBA_NUM_THREADS)))
        try:
            _half_shell_kernel(xs, ys, zs, ws, col_start, ncell, box, int(reach), edges2, table, int(shift),
                               int(kmin), float(pi_max), int(nphase), int(cx_lo), int(cx_hi), gs)
        finally:
            numba.set_num_threads(old)
        gs = parallel.allreduce_sum(comm, gs)
    dest = sel if want_g else np.full(w.size, -1, dtype=np.int64)
    _unsort(gs, ws, order, dest.astype(np.int64), nslot, nbin, g_out if want_g else np.zeros((1, nbin)), dd)
    return dd, g_out


def neighbour_sums(pos, weights, *, box_size, rp_edges, pi_max, los_axis=2, nthreads=None,
                   reach=DEFAULT_REACH, comm=WORLD) -> PairSums:
    """Weighted pair counts ``DD`` (Eq. 14) and neighbour sums ``G`` (for Eq. 19) in one pass.

    Parameters
    ----------
    pos : array (N, 3)
        Positions [Mpc/h] in ``[0, box_size)``.
    weights : array (N,)
        Real weights (any sign); points with zero weight are skipped.
    box_size : float
        Periodic box side ``L`` [Mpc/h].
    rp_edges : array (nrp + 1,)
        Increasing projected-separation edges [Mpc/h], ``0 < rp_edges[0]``, ``rp_edges[-1] < L/2``.
    pi_max : float
        Line-of-sight limit, ``|pi| < pi_max < L/2`` [Mpc/h].
    los_axis : int
        Box axis used as the line of sight.
    nthreads : int or None
        numba threads (None: numba's current setting, one thread below
        :data:`SERIAL_BELOW` non-zero weights). Results do not depend on it.
    reach : int
        Neighbour columns on each side (cells at least ``rp_max / reach`` wide).
    comm : mpi4py communicator, None or WORLD
        Under MPI each rank counts the pairs of its own grid columns and the
        sums are added over ranks (:mod:`shaminfer.parallel`); every rank
        must pass the same positions and weights. ``WORLD`` (default): the
        launcher's communicator when there is one; None: count here alone.

    Returns
    -------
    PairSums
        ``dd`` (nrp,) over ordered pairs and ``g`` (N, nrp).
    """
    dd, g = _run(pos, weights, box_size, rp_edges, pi_max, los_axis, nthreads, reach, True, comm)
    return PairSums(dd, g)


def pair_counts(pos, weights, *, box_size, rp_edges, pi_max, los_axis=2, nthreads=None,
                reach=DEFAULT_REACH, comm=WORLD) -> np.ndarray:
    """``DD_i`` of Eq. 14 only (ordered pairs), shape (nrp,); same arguments as :func:`neighbour_sums`."""
    dd, _ = _run(pos, weights, box_size, rp_edges, pi_max, los_axis, nthreads, reach, False, comm)
    return dd


def corrfunc_pair_counts(pos, weights, *, box_size, rp_edges, pi_max, los_axis=2, nthreads=None) -> np.ndarray:
    """``DD_i`` of Eq. 14 from Corrfunc's weighted ``DDrppi``, summed over its pi bins (values only).

    Same arguments as :func:`neighbour_sums` (``nthreads`` for Corrfunc's OpenMP threads). Corrfunc counts ordered pairs
    with ``weight_type="pair_product"``; only non-zero weights are passed.
    """
    from Corrfunc.theory.DDrppi import DDrppi

    rp_edges = np.asarray(rp_edges, dtype=np.float64)
    _check_geometry(float(box_size), rp_edges, float(pi_max), los_axis, 1)
    nbin = rp_edges.size - 1
    (x, y, z), w, _ = _prepare(pos, weights, los_axis, float(box_size))
    if w.size < 2:
        return np.zeros(nbin)
    with _LOCK:
        res = DDrppi(1, _threads(nthreads, w.size), float(pi_max), rp_edges, x, y, z, weights1=w,
                     weight_type="pair_product", periodic=True, boxsize=float(box_size), verbose=False)
    counts = np.asarray(res["npairs"], dtype=np.float64) * np.asarray(res["weightavg"], dtype=np.float64)
    return counts.reshape(nbin, -1).sum(axis=1)
