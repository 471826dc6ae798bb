"""One parallel pass over pairs that tabulates pair counts on a grid of log10 Mpeak nodes (numba).

With linear-interpolation hat functions ``h_k`` on nodes ``x_0 < ... < x_{K-1}``
of log10 Mpeak, every object ``a`` has at most two non-zero hats: node
``k_a`` with value ``1 - t_a`` and node ``k_a + 1`` with value ``t_a``. The
pair table is

    T_i[k, l] = sum_a sum_{b != a} h_k(m_a) h_l(m_b) S_i(a, b)

over ordered pairs, with ``S_i(a, b) = 1`` when the pair's projected
separation lies in ``[rp_edges[i], rp_edges[i+1])`` and ``|pi| < pi_max``
(minimum image on every axis), as in :mod:`shaminfer.stats.paircount`. Then
the weighted count of Eq. 14 for weights ``w_a = sum_k h_k(m_a) W_k`` is
``DD_i = W^T T_i W`` exactly.

Algorithm (:func:`pair_table`): the points are sorted into columns of a 2-D
grid in the plane of the sky (cells at least ``rp_max / reach`` wide) and by
line-of-sight coordinate inside each column. For each point ``a`` and each
column within ``reach`` cells the points with ``|pi| < pi_max`` are one or
two contiguous runs found by binary search. Each thread accumulates into its
own table (no locks); the per-thread tables are summed in a fixed order at
the end, so the result does not depend on scheduling up to that order. The
r_p bin of a pair is an exact comparison of ``r_p^2`` with the squared edges.
"""
from __future__ import annotations

import sys

import numba
import numpy as np
from numba import prange

from .. import parallel
from .paircount import WORLD, grid_order

__all__ = ["pair_table", "TABLE_REACH"]

#: Neighbour columns visited on each side; cells are at least ``rp_max / reach`` wide.
TABLE_REACH = 2


@numba.njit(inline="always")
def _accumulate(tab, s, ia, va, ib, vb):
    for e in range(ia.size):
        if va[e] == 0.0:
            continue
        for f in range(ib.size):
            tab[s, ia[e], ib[f]] += va[e] * vb[f]


@numba.njit(parallel=True, cache=True)
def _table_kernel(xs, ys, zs, idx, val, col_start, ncell, box, reach, edges2, pimax, cols, out):
    """Add the ordered pairs whose first point lies in one of ``cols`` to ``out[thread]``."""
    nchunk = out.shape[0]
    nbin = edges2.size - 1
    rmin2 = edges2[0]
    rmax2 = edges2[nbin]
    half = 0.5 * box
    allcols = ncell < 2 * reach + 1
    nx = ncell if allcols else 2 * reach + 1
    for c in prange(nchunk):
        tab = out[c]
        for ci in range(c, cols.size, nchunk):
            col = cols[ci]
            cx = col // ncell
            cy = col % ncell
            a0 = col_start[col]
            a1 = col_start[col + 1]
            if a1 == a0:
                continue
            for ix in range(nx):
                bx = ix if allcols else (cx - reach + ix) % ncell
                for iy in range(nx):
                    by = iy if allcols else (cy - reach + iy) % ncell
                    b = bx * ncell + by
                    b0 = col_start[b]
                    b1 = col_start[b + 1]
                    if b1 == b0:
                        continue
                    zcol = zs[b0:b1]
                    for a in range(a0, a1):
                        xa = xs[a]
                        ya = ys[a]
                        za = zs[a]
                        ia = idx[a]
                        va = val[a]
                        lo = za - pimax
                        hi = za + pimax
                        # up to two runs of the column: [lo, hi) wrapped into [0, box)
                        for run in range(2):
                            if lo < 0.0:
                                rlo = lo + box if run == 0 else 0.0
                                rhi = box if run == 0 else hi
                            elif hi > box:
                                rlo = lo if run == 0 else 0.0
                                rhi = box if run == 0 else hi - box
                            else:
                                if run == 1:
                                    break
                                rlo = lo
                                rhi = hi
                            j0 = b0 + np.searchsorted(zcol, rlo, side="right")
                            j1 = b0 + np.searchsorted(zcol, rhi, side="left")
                            for j in range(j0, j1):
                                if j == a:
                                    continue
                                dx = xs[j] - xa
                                if dx > half:
                                    dx -= box
                                elif dx < -half:
                                    dx += box
                                dy = ys[j] - ya
                                if dy > half:
                                    dy -= box
                                elif dy < -half:
                                    dy += box
                                r2 = dx * dx + dy * dy
                                if r2 < rmin2 or r2 >= rmax2:
                                    continue
                                s = 0
                                while r2 >= edges2[s + 1]:
                                    s += 1
                                _accumulate(tab, s, ia, va, idx[j], val[j])


def pair_table(pos, node_index, node_frac, n_nodes: int, *, box_size, rp_edges, pi_max, los_axis=2,
               nthreads=None, reach=TABLE_REACH, progress=None, comm=WORLD) -> np.ndarray:
    """Pair table ``T (nrp, K, K)`` of the module docstring, one pass over ordered pairs.

    Parameters
    ----------
    pos : array (N, 3)
        Positions [Mpc/h] in ``[0, box_size)``.
    node_index : int array (N,) or (N, E)
        Lower node ``k_a`` of each point, ``0 <= k_a <= K - 2``; or, 2-d, the
        ``E`` nodes of each point's non-zero basis functions (any basis: a
        tensor-product hat in several coordinates, say).
    node_frac : array (N,) or (N, E)
        ``t_a`` in [0, 1]: hat values ``1 - t_a`` at ``k_a`` and ``t_a`` at ``k_a + 1``;
        or, 2-d, the basis values at ``node_index`` (``T = sum h_k(a) h_l(b)`` over them).
    n_nodes : int
        ``K``.
    box_size, rp_edges, pi_max, los_axis :
        Geometry as in :func:`shaminfer.stats.paircount.neighbour_sums` (validated there by the caller's config).
    nthreads : int or None
        numba threads (None: numba's setting).
    reach : int
        Neighbour columns on each side.
    progress : bool or None
        tqdm progress bar over column batches (None: only on a terminal).
    comm : mpi4py communicator, None or WORLD
        Under MPI each rank tabulates the pairs whose first point lies in its
        own grid columns and the tables are summed over ranks
        (:mod:`shaminfer.parallel`). ``WORLD`` (default): the launcher's
        communicator when there is one; None: all pairs here.

    Returns
    -------
    array (nrp, K, K)
        Symmetric in the last two axes; ordered pairs.
    """
    from tqdm.auto import tqdm

    pos = np.asarray(pos, dtype=np.float64)
    box = float(box_size)
    rp_edges = np.asarray(rp_edges, dtype=np.float64)
    nbin = rp_edges.size - 1
    axes = [ax for ax in (0, 1, 2) if ax != los_axis] + [los_axis]
    x, y, z = (np.ascontiguousarray(pos[:, ax]) for ax in axes)
    ncell = max(1, min(int(np.floor(box * reach / rp_edges[-1])), 1024))
    order, col_start = grid_order(x, y, z, box, ncell)
    xs, ys, zs = x[order], y[order], z[order]
    k = np.asarray(node_index, dtype=np.int64)
    t = np.asarray(node_frac, dtype=np.float64)
    if k.ndim == 1:
        k = np.stack([k, k + 1], axis=1)
        t = np.stack([1.0 - t, t], axis=1)
    ks = np.ascontiguousarray(k[order])
    ts = np.ascontiguousarray(t[order])
    threads = numba.get_num_threads() if nthreads is None else max(1, min(int(nthreads), numba.config.NUMBA_NUM_THREADS))
    out = np.zeros((threads, nbin, n_nodes, n_nodes))
    edges2 = rp_edges**2
    comm = parallel.world() if comm is WORLD else comm
    cx_lo, cx_hi = 0, ncell
    if comm is not None:
        parallel.agree(comm, "pair table (points, nodes and bins)",
                       (int(pos.shape[0]), float(x.sum()), float(z.sum()), float(ts.sum()), int(n_nodes),
                        rp_edges.tolist(), float(pi_max)))
        cx_lo, cx_hi = parallel.owned_columns(ncell, n=comm.Get_size(), rank_=comm.Get_rank(), what="pair table")
    cols = np.arange(cx_lo * ncell, cx_hi * ncell, dtype=np.int64)
    nbatch = int(max(1, min(cols.size, 50)))
    batches = np.array_split(cols, nbatch)
    if progress is None:
        progress = sys.stderr.isatty()
    progress = progress and (comm is None or comm.Get_rank() == 0)

    old = numba.get_num_threads()
    numba.set_num_threads(threads)
    try:
        for batch in tqdm(batches, desc="tabulating pairs", unit="batch", disable=not progress):
            _table_kernel(xs, ys, zs, ks, ts, col_start, ncell, box, int(reach), edges2, float(pi_max),
                          np.ascontiguousarray(batch), out)
    finally:
        numba.set_num_threads(old)
    table = out[0].copy()
    for c in range(1, threads):
        table += out[c]
    return parallel.allreduce_sum(comm, table)
