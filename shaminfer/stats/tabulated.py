"""The tabulated engine: SHAM predictions as small dense contractions on a grid of log10 Mpeak nodes.

Every weight of Eq. 6 depends on theta only through the subhalo's
``m_a = log10 Mpeak``: ``w_a(theta) = f(theta, m_a)``. Interpolating ``f``
linearly in ``m`` between nodes ``x_0 < ... < x_{K-1}``,

    w_a ~= sum_k h_k(m_a) W_k(theta),     W_k = f(theta, x_k),

with hat functions ``h_k``, turns every statistic into a contraction of
``W`` with theta-independent tables collected once per catalog and binning:

* ``n_k = sum_a h_k(m_a)``: SMF bins ``sum_a w_ia = W_i . n`` (Eq. 7) and
  ``sum_a w_a = W . n``;
* ``O_kl = sum_a h_k(m_a) h_l(m_a)`` (tridiagonal): ``sum_a w_a^2 = W^T O W``,
  hence ``RR`` of Eqs. 15-17;
* ``T_i[k, l] = sum_{a != b} h_k(m_a) h_l(m_b) S_i(a, b)``: ``DD_i = W^T T_i W``
  (Eq. 14), one parallel pass over pairs (:mod:`shaminfer.stats.tabulated_kernel`);
* ``D_k(R) = sum_a h_k(m_a) Delta Sigma_a(R)`` and ``n^DS_k = sum_a h_k(m_a)``
  over the objects with profiles: Delta Sigma = ``W D / W n^DS`` (Eq. 11).

With the tables in hand a prediction costs ``nsample * nrp * K^2`` flops in
pure JAX, and its gradient is ordinary autodiff (Eqs. 8, 12, 18-20): no
pair count and no callback. The only approximation is the interpolation of
the weight in ``m``; the predictions are otherwise those of
:func:`shaminfer.stats.predict.make_predictor` (same samples, binning,
estimator and shell checks).

Node grid (:func:`node_grid`): the weight of a subhalo varies in ``m`` on the
scale ``s(m) = sigma(m) / (d mu / d m)``, the kernel width mapped to halo
mass, which is smallest at low mass (steep SMHM, sigma_lo down to 0.1 dex).
The nodes are spaced by ``h(m) = spacing * min_theta s(m)`` (``spacing``
:data:`DEFAULT_NODE_SPACING`, steps capped at :data:`MAX_NODE_STEP` dex) with
the minimum taken over a Latin hypercube of SHAMNet's training domain, and
they start at the lowest ``m`` where any sample or SMF bin can have non-zero
weight anywhere in that domain (the triweight is exactly zero beyond
``mu +- 3 sigma``), less a margin; subhalos below it are dropped. Concrete
calls check that the dropped subhalos do have zero weight at that theta.
Measured accuracy (benchmarks/engine_speed.py: the demo's SMF + 3 w_p + 3
Delta Sigma on the default 175 Mpc/h universe, 20 theta drawn from SHAMNet's
domain; 257 nodes from log10 Mpeak 11.11): largest |tabulated / exact - 1| of
4.9e-4 (SMF, top bin), 1.3e-4 (w_p) and 1.6e-4 (Delta Sigma); the goal is
3e-3. With the high-mass step cap at 0.05 dex instead of 0.02 the top SMF bin
reaches 3.1e-3. The gradient of the tabulated likelihood is the exact
gradient of the tabulated model (so HMC samples that model exactly); at 4
domain thetas it differs from the exact engine's by up to 1.3% of its largest
component, and the Jacobian of the predictions at theta_true by up to 12% of
the largest entry of the alpha column (1% for the other components): more
than the values, presumably because SHAMNet's SELU kinks (Eq. D2) make
``d mu / d theta`` jump in log10 Mpeak, which linear interpolation smooths
(not yet checked by refining the grid).

Tables are cached on disk (``cache_dir("tabulated")``, ``.npz`` loaded with
``allow_pickle=False``, atomic writes) under a content hash of the catalog
arrays, the binning, the node grid and :data:`SCHEMA_VERSION`.
"""
from __future__ import annotations

import math
import sys
import time
from typing import Callable, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from .._npz import read_npz
from ..catalogs.cache import atomic_write, cache_dir, cache_key, hash_arrays
from ..ingredients.triweight import TRIWEIGHT_HALF_WIDTH
from .clustering import cylinder_shell_volumes
from .config import StatsConfig, check_config, ds_bin_edges
from .lensing import MAX_MISSING_PROFILE_WEIGHT, merge_annuli
from .checks import check_missing_profiles, check_wp_pairs
from .predictions import Predictions, checked_pdf_params, resolve_smhm
from .. import parallel
from .tabulated_kernel import TABLE_REACH, pair_table
from .weights import galaxy_logsm_pdf_params, sample_weights, smf_bin_weights

__all__ = [
    "SCHEMA_VERSION",
    "DEFAULT_NODE_SPACING",
    "MAX_NODE_STEP",
    "SUPPORT_MARGIN",
    "NodeGrid",
    "Tables",
    "node_grid",
    "hat_coordinates",
    "build_tables",
    "load_or_build_tables",
    "tabulated_predictions",
    "make_tabulated_predictor",
]

#: Version of the on-disk table layout (part of the cache key).
SCHEMA_VERSION = 1
#: Node step as a fraction of the narrowest weight width ``min_theta sigma / (d mu / d log10 Mpeak)``.
#: With :data:`MAX_NODE_STEP` it keeps the demo's predictions within 5e-4 (relative) of the exact engine.
DEFAULT_NODE_SPACING = 0.25
#: Largest node step [dex in Mpeak]. The weights are wide at high mass, but there the subhalo mass function
#: falls steeply, so interpolation errors no longer cancel within a cell: the top SMF bin of the demo
#: (11.5 < log10 M* < 11.75) needs 0.02 dex for 5e-4 (0.05 dex gives 3e-3).
MAX_NODE_STEP = 0.02
#: Smallest node step [dex in Mpeak].
MIN_NODE_STEP = 0.002
#: Safety margin [dex] below the lowest Mpeak with non-zero weight anywhere in the probed domain.
SUPPORT_MARGIN = 0.1
_PROBE_POINTS = 512
_PROBE_BATCH = 32  # probes evaluated together by node_grid


class NodeGrid(NamedTuple):
    """log10 Mpeak nodes [Msun/h] of the hat-function interpolation.

    Attributes
    ----------
    nodes : array (K,)
        Increasing; ``nodes[0]`` is the lowest Mpeak kept, ``nodes[-1] >= max log10 Mpeak`` of the catalog.
    """

    nodes: np.ndarray


class Tables(NamedTuple):
    """Theta-independent tables of the tabulated engine (numpy arrays; see the module docstring).

    Attributes
    ----------
    nodes : (K,)
        log10 Mpeak [Msun/h].
    count : (K,)
        ``n_k``.
    overlap : (K, K)
        ``O_kl``.
    pair : (nrp, K, K)
        ``T_i[k, l]`` (ordered pairs).
    profile_sum : (K, nR)
        ``D_k(R)`` [h Msun / pc^2].
    profile_count : (K,)
        ``n^DS_k``.
    """

    nodes: np.ndarray
    count: np.ndarray
    overlap: np.ndarray
    pair: np.ndarray
    profile_sum: np.ndarray
    profile_count: np.ndarray


def _lowest_edge(config: StatsConfig) -> float:
    lows = [s.lo for s in config.samples] + list(config.smf_edges[:1])
    return float(min(lows)) if lows else math.inf


def node_grid(logmpeak_range, config: StatsConfig, *, smhm=None, probe_thetas, spacing: float = DEFAULT_NODE_SPACING,
              max_step: float = MAX_NODE_STEP, margin: float = SUPPORT_MARGIN, pdf_params=None) -> NodeGrid:
    """Nodes for the hat-function interpolation of the weights (see the module docstring).

    Parameters
    ----------
    logmpeak_range : (float, float)
        Lowest and highest log10 Mpeak [Msun/h] of the catalog.
    config : StatsConfig
    smhm : callable (theta, logmpeak) -> log10 M* [Msun]
        The SHAM median (with Eq. 4's scatter); or give ``pdf_params``.
    probe_thetas : ShamParams (or any flat parameter NamedTuple) of (P,) arrays
        Thetas over which the support and the narrowest width are bounded (e.g. SHAMNet's domain).
    spacing : float
        Node step as a fraction of the narrowest width ``sigma / (d mu / d m)``.
    max_step : float
        Largest step [dex].
    margin : float
        Margin [dex] below the lowest Mpeak with non-zero weight.
    pdf_params : callable (theta, logmpeak) -> (mu, sigma), optional
        The kernel's median and width of another model (e.g. a composed galaxy-halo model's centrals).

    Returns
    -------
    NodeGrid
    """
    lo, hi = float(logmpeak_range[0]), float(logmpeak_range[1])
    if not (spacing > 0 and max_step > 0):
        raise ValueError(f"spacing, max_step: expected positive values, found {spacing!r}, {max_step!r}")
    dm = 0.005
    grid = np.arange(lo - dm, hi + 2 * dm, dm)
    gj = jnp.asarray(grid)

    if pdf_params is None:
        def pdf_params(theta, m):
            return galaxy_logsm_pdf_params(theta, m, smhm=smhm)

    def one(theta):
        return pdf_params(theta, gj)

    # probes in batches: all of them at once keeps every layer's activations for P x G points (0.9 GB with SHAMNet
    # at 512 probes), more than the catalog itself below a few 10^6 subhalos
    mu, sigma = jax.jit(lambda p: jax.lax.map(one, p, batch_size=_PROBE_BATCH))(probe_thetas)
    mu, sigma = np.asarray(mu), np.asarray(sigma)
    edge = _lowest_edge(config)
    reach = mu + TRIWEIGHT_HALF_WIDTH * sigma > edge  # (P, G): some weight can be non-zero
    anywhere = reach.any(axis=0)
    start = lo
    if np.isfinite(edge) and anywhere.any():
        start = max(lo, float(grid[np.argmax(anywhere)]) - margin)
    elif np.isfinite(edge):
        start = hi  # nothing can ever be selected: one cell
    slope = np.gradient(mu, dm, axis=1)
    width = sigma / np.maximum(np.abs(slope), 1e-3)
    wmin = width.min(axis=0)
    # narrowest width over a window of +-0.05 dex, so a step never jumps over a narrow region
    win = int(round(0.05 / dm))
    pad = np.pad(wmin, win, mode="edge")
    wmin = np.min(np.lib.stride_tricks.sliding_window_view(pad, 2 * win + 1), axis=1)
    nodes = [start]
    while nodes[-1] < hi:
        x = nodes[-1]
        h = float(np.interp(x, grid, wmin)) * spacing
        nodes.append(x + min(max(h, MIN_NODE_STEP), max_step))
    if len(nodes) < 2:
        nodes.append(start + max_step)
    return NodeGrid(np.asarray(nodes, dtype=np.float64))


def hat_coordinates(nodes, logmpeak):
    """Lower node ``k_a`` and fraction ``t_a`` of each log10 Mpeak inside ``[nodes[0], nodes[-1]]``.

    Returns
    -------
    k : int array (N,), in [0, K - 2]
    t : array (N,), in [0, 1]; hats ``1 - t`` at ``k`` and ``t`` at ``k + 1``.
    """
    nodes = np.asarray(nodes, dtype=np.float64)
    m = np.asarray(logmpeak, dtype=np.float64)
    k = np.clip(np.searchsorted(nodes, m, side="right") - 1, 0, nodes.size - 2).astype(np.int64)
    t = np.clip((m - nodes[k]) / (nodes[k + 1] - nodes[k]), 0.0, 1.0)
    return k, t


def _hat_sums(k, t, values, n_nodes):
    """``sum_a h_k(m_a) values_a`` for each node; ``values`` (N, ...)."""
    out = np.zeros((n_nodes,) + values.shape[1:])
    np.add.at(out, k, (1.0 - t).reshape((-1,) + (1,) * (values.ndim - 1)) * values)
    np.add.at(out, k + 1, t.reshape((-1,) + (1,) * (values.ndim - 1)) * values)
    return out


def _profiles(catalog, config):
    ds_edges = ds_bin_edges(config, catalog)
    if ds_edges.size < 2 or not config.samples:
        return None, None
    lensing = catalog.lensing
    return np.asarray(lensing.index, dtype=np.int64), merge_annuli(lensing.delta_sigma, lensing.rbins, ds_edges)


def build_tables(catalog, config: StatsConfig, nodes, *, nthreads=None, progress=None) -> Tables:
    """Collect the tables of the module docstring for ``catalog``, ``config`` and ``nodes`` (no cache).

    Subhalos below ``nodes[0]`` are left out (their weight is zero in the probed domain).
    """
    nodes = np.asarray(nodes, dtype=np.float64)
    K = nodes.size
    logm = np.asarray(catalog.logmpeak, dtype=np.float64)
    keep = logm >= nodes[0]
    k, t = hat_coordinates(nodes, logm[keep])
    count = _hat_sums(k, t, np.ones(k.size), K)
    overlap = np.zeros((K, K))
    np.add.at(overlap, (k, k), (1 - t) ** 2)
    np.add.at(overlap, (k, k + 1), (1 - t) * t)
    np.add.at(overlap, (k + 1, k), (1 - t) * t)
    np.add.at(overlap, (k + 1, k + 1), t**2)
    rp_edges = np.asarray(config.rp_edges, dtype=np.float64)
    if rp_edges.size >= 2 and config.samples:
        pos = np.asarray(catalog.pos, dtype=np.float64)[keep]
        pair = pair_table(pos, k, t, K, box_size=catalog.box_size, rp_edges=rp_edges, pi_max=config.pi_max,
                          los_axis=config.los_axis, nthreads=nthreads, progress=progress)
    else:
        pair = np.zeros((max(rp_edges.size - 1, 0), K, K))
    index, profiles = _profiles(catalog, config)
    if index is not None:
        sel = logm[index] >= nodes[0]
        kp, tp = hat_coordinates(nodes, logm[index][sel])
        profile_sum = _hat_sums(kp, tp, profiles[sel], K)
        profile_count = _hat_sums(kp, tp, np.ones(kp.size), K)
    else:
        profile_sum, profile_count = np.zeros((K, 0)), np.zeros(K)
    return Tables(nodes, count, overlap, pair, profile_sum, profile_count)


def _table_key(catalog, config: StatsConfig, nodes) -> str:
    lens = catalog.lensing
    arrays = [np.asarray(catalog.pos), np.asarray(catalog.logmpeak), np.asarray(nodes, dtype=np.float64)]
    if lens is not None:
        arrays += [np.asarray(lens.index), np.asarray(lens.delta_sigma), np.asarray(lens.rbins)]
    params = dict(data=hash_arrays(*arrays), box=float(catalog.box_size), rp_edges=list(config.rp_edges),
                  pi_max=float(config.pi_max), los_axis=int(config.los_axis),
                  ds_edges=ds_bin_edges(config, catalog).tolist(), with_samples=bool(config.samples),
                  reach=TABLE_REACH)
    return cache_key(params, schema_version=SCHEMA_VERSION)


def load_or_build_tables(catalog, config: StatsConfig, nodes, *, cache: bool = True, nthreads=None,
                         progress=None, log=None) -> Tables:
    """:func:`build_tables`, stored in and loaded from the per-user cache (content-keyed, atomic)."""
    if not cache:
        return build_tables(catalog, config, nodes, nthreads=nthreads, progress=progress)
    path = cache_dir("tabulated") / f"tables-{_table_key(catalog, config, nodes)}.npz"
    cached = None
    if path.exists():
        try:
            arrays = read_npz(path, what="tabulated-engine cache", required=Tables._fields)
            cached = Tables(*(arrays[name] for name in Tables._fields))
        except ValueError as exc:  # a damaged cache entry is rebuilt, never trusted
            if log is not None:
                log(f"tabulated engine: rebuilding a damaged cache entry ({exc})")
    if parallel.all_true(parallel.world(), cached is not None):  # under MPI the ranks build together or not at all
        return cached
    t0 = time.perf_counter()
    tables = build_tables(catalog, config, nodes, nthreads=nthreads, progress=progress)
    atomic_write(path, lambda tmp: np.savez(tmp, **tables._asdict()))
    if log is not None:
        log(f"tabulated engine: built tables ({tables.nodes.size} nodes) in {time.perf_counter() - t0:.1f} s -> {path}")
    return tables


def tabulated_predictions(w_smf, w_samples, tables, *, smf_norm, rr_frac, pi_max):
    """Predictions from node weights and tables, pure JAX (see the module docstring).

    Parameters
    ----------
    w_smf : array (nsmf, K)
        SMF bin weights at the nodes.
    w_samples : array (nsample, K)
        Sample weights at the nodes.
    tables : Tables of jnp arrays
    smf_norm : array (nsmf,)
        ``dlog10M*_i * V``.
    rr_frac : array (nrp,)
        ``V_i / V`` (Eqs. 15-17).
    pi_max : float [Mpc/h]

    Returns
    -------
    smf (nsmf,), wp (nsample, nrp), delta_sigma (nsample, nR)
    """
    smf = (w_smf @ tables.count) / smf_norm
    s1 = w_samples @ tables.count
    s2 = jnp.einsum("sk,kl,sl->s", w_samples, tables.overlap, w_samples)
    half = jnp.einsum("ikl,sl->sik", tables.pair, w_samples)
    dd = jnp.einsum("sik,sk->si", half, w_samples)
    rr = (s1 * s1 - s2)[:, None] * rr_frac
    wp = 2.0 * pi_max * (dd / rr - 1.0)
    ds = (w_samples @ tables.profile_sum) / (w_samples @ tables.profile_count)[:, None]
    return smf, wp, ds


def _default_probes(net_used):
    from ..shamnet import sample_domain

    return sample_domain(0, _PROBE_POINTS, net=net_used)


def make_tabulated_predictor(catalog, config: StatsConfig, *, net=None, smhm=None, spacing: float = DEFAULT_NODE_SPACING,
                             max_step: float = MAX_NODE_STEP, probe_thetas=None, nodes=None, cache: bool = True,
                             nthreads=None, progress=None, log=None,
                             max_missing_profile_weight: float = MAX_MISSING_PROFILE_WEIGHT) -> Callable:
    """Build ``predictor(theta) -> Predictions`` with the tabulated engine.

    Same semantics and output as :func:`shaminfer.stats.make_predictor` up to
    the interpolation of the weights in log10 Mpeak (module docstring).

    Parameters
    ----------
    catalog : SubhaloCatalog
    config : StatsConfig
        Validated here against ``catalog``.
    net : ShamNet or None, keyword-only
        SHAMNet weights (None: the shipped default).
    smhm : callable or None, keyword-only
        ``(theta, logmpeak) -> log10 M*`` replacing SHAMNet.
    spacing, max_step : float, keyword-only
        Node grid controls (:func:`node_grid`).
    probe_thetas : ShamParams of (P,) arrays or None, keyword-only
        Thetas that bound the weights' support and width (None: a Latin
        hypercube of SHAMNet's training domain).
    nodes : array (K,) or None, keyword-only
        Explicit nodes (overrides the grid construction).
    cache : bool, keyword-only
        Store / load the tables in the per-user cache.
    nthreads : int or None, keyword-only
        numba threads of the table pass.
    progress : bool or None, keyword-only
        Progress bar of the table pass (None: only on a terminal).
    log : callable or None, keyword-only
        Receives one line when tables are built.
    max_missing_profile_weight : float, keyword-only
        As in :func:`shaminfer.stats.make_predictor`.

    Returns
    -------
    callable
        ``predictor(theta: ShamParams) -> Predictions``; pure in theta (jit / grad / jacfwd / vmap).
        ``predictor.tables`` holds the numpy :class:`Tables`.
    """
    check_config(config, catalog)
    if not 0.0 <= float(max_missing_profile_weight) < 1.0:
        raise ValueError(f"max_missing_profile_weight: expected a fraction in [0, 1), found "
                         f"{max_missing_profile_weight!r}")
    smhm_fn, net_used = resolve_smhm(net=net, smhm=smhm)
    logm = np.asarray(catalog.logmpeak, dtype=np.float64)
    if nodes is None:
        probes = _default_probes(net_used) if probe_thetas is None else probe_thetas
        nodes = node_grid((logm.min(), logm.max()), config, smhm=smhm_fn, probe_thetas=probes, spacing=spacing,
                          max_step=max_step).nodes
    nodes = np.asarray(nodes, dtype=np.float64)
    if nodes.ndim != 1 or nodes.size < 2 or np.any(np.diff(nodes) <= 0) or nodes[-1] < logm.max():
        raise ValueError(f"nodes: expected >= 2 increasing log10 Mpeak nodes ending at or above the catalog's "
                         f"maximum {logm.max():g}, found {nodes.size} node(s) in [{nodes.min():g}, {nodes.max():g}]")
    np_tables = load_or_build_tables(catalog, config, nodes, cache=cache, nthreads=nthreads, progress=progress,
                                     log=log if log is not None else _stderr_if_tty)
    tables = Tables(*(jnp.asarray(a) for a in np_tables))
    node_m = jnp.asarray(nodes)
    dropped = jnp.asarray(logm[logm < nodes[0]])

    samples = tuple(config.samples)
    nsample = len(samples)
    smf_edges = np.asarray(config.smf_edges, dtype=np.float64)
    box = float(catalog.box_size)
    volume = box**3
    rp_edges = np.asarray(config.rp_edges, dtype=np.float64)
    nrp = max(rp_edges.size - 1, 0)
    pi_max = float(config.pi_max)
    n_r = np_tables.profile_sum.shape[1]
    smf_norm = jnp.asarray(np.diff(smf_edges) * volume) if smf_edges.size else None
    rr_frac = jnp.asarray(cylinder_shell_volumes(rp_edges, pi_max) / volume) if nrp else None
    want_wp = bool(nrp and nsample)
    want_ds = bool(n_r and nsample)
    max_missing = float(max_missing_profile_weight)

    def _shell_checks(theta, w_nodes):
        w = np.asarray(w_nodes, dtype=np.float64)
        if dropped.size:
            mu, sigma = galaxy_logsm_pdf_params(theta, dropped, smhm=smhm_fn)
            wd = [np.asarray(sample_weights(mu, sigma, samples))]
            if smf_edges.size:
                wd.append(np.asarray(smf_bin_weights(mu, sigma, smf_edges)))
            bad = int(sum((np.abs(a) > 0).any(axis=0).sum() for a in wd))
            if bad:
                raise ValueError(
                    f"theta: expected zero weight on the {dropped.size} subhalos below the tabulated engine's lowest "
                    f"node log10 Mpeak = {nodes[0]:.3f}, found {bad} with non-zero weight; theta lies outside the "
                    "probed domain: pass probe_thetas covering it (or nodes=...)")
        if want_wp:
            check_wp_pairs(w @ np_tables.count, np.einsum("sk,kl,sl->s", w, np_tables.overlap, w), samples)
        if want_ds:
            total = w @ np_tables.count
            with np.errstate(invalid="ignore", divide="ignore"):
                frac = np.where(total > 0, 1.0 - (w @ np_tables.profile_count) / np.where(total > 0, total, 1.0), 1.0)
            check_missing_profiles(frac, max_missing + 1e-12, samples)

    def predictor(theta) -> Predictions:
        mu, sigma, concrete = checked_pdf_params(theta, node_m, smhm=smhm_fn, net=net_used)
        dtype = jnp.result_type(mu, sigma)
        w_samples = sample_weights(mu, sigma, samples)
        w_smf = smf_bin_weights(mu, sigma, smf_edges) if smf_edges.size else None
        if concrete and nsample:
            _shell_checks(theta, w_samples)
        if smf_edges.size:
            smf = (w_smf @ tables.count) / smf_norm
        else:
            smf = jnp.zeros((0,), dtype)
        if want_wp or want_ds:
            sub = tables._replace(pair=tables.pair if want_wp else jnp.zeros((0,) + tables.overlap.shape, dtype))
            _, wp, ds = tabulated_predictions(w_smf if w_smf is not None else w_samples[:0], w_samples, sub,
                                              smf_norm=smf_norm if smf_norm is not None else 1.0,
                                              rr_frac=rr_frac if want_wp else jnp.zeros((0,), dtype), pi_max=pi_max)
            if not want_wp:
                wp = jnp.zeros((nsample, nrp), dtype)
            if not want_ds:
                ds = jnp.zeros((nsample, n_r), dtype)
        else:
            wp = jnp.zeros((nsample, nrp), dtype)
            ds = jnp.zeros((nsample, n_r), dtype)
        return Predictions(smf=smf, wp=wp, delta_sigma=ds, smf_color=jnp.zeros((0, smf.shape[0]), dtype))

    predictor.tables = np_tables
    return predictor


def _stderr_if_tty(msg: str) -> None:
    if sys.stderr.isatty():
        print(msg, file=sys.stderr)
