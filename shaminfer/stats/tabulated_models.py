"""The tabulated engine for composed galaxy-halo models: every statistic as a contraction on a basis.

For a model of :mod:`shaminfer.galaxy_halo` a galaxy's weight depends on
more than log10 Mpeak: a satellite's on its host mass too (quenching). As in
the SHAM engine (:mod:`.tabulated`), the weight of subhalo ``a`` is
interpolated, ``w_a ~= sum_k h_k(a) W_k`` with ``W_k`` the model's weight at
node ``k``, and every statistic becomes a contraction of ``W`` with tables
collected once: counts ``n_k`` (SMF, Eq. 7, and ``sum w``), the overlap
``O_kl`` (``sum w^2`` of ``RR``, Eqs. 15-17), the pair table ``T_i[k, l]``
(``DD``, Eq. 14; :func:`~.tabulated_kernel.pair_table` with per-object basis
entries) and the profile sums ``D_k(R)`` (Delta Sigma, Eq. 11).

The basis: centrals are hats in log10 Mpeak on the adaptive nodes of the
SHAM engine (:func:`~.tabulated.node_grid`: steps a fraction of the narrowest
weight width over thetas probed in the blocks' prior ranges, starting where a
w_p weight can first be non-zero); satellites, when the model reads the host
structure (quenching), are tensor products of hats in log10 Mpeak (every
``sat_thin``-th node) and log10 M_host (every ``host_step`` dex), so a
satellite spreads over 4 nodes. A model that reads other per-subhalo
properties (disruption's Vmax/Vpeak) is refused: its weights change sharply
with them, and a basis fine enough in a third axis exceeds the table's memory
(measured in benchmarks/RESULTS.md, engine_speed). Subhalos below the first
node (zero weight anywhere in the probed prior) are left out; concrete calls
check that they have zero weight at that theta. The pair table is ``nrp x K x K`` float64 with ``K`` = central nodes +
product of the satellite axes; a grid that would exceed ``max_table_gb`` is
refused with a message (use the exact engine).

The gradient is ordinary autodiff of the tabulated model; its interpolation
error is measured against the exact engine in ``benchmarks/engine_speed.py
--model composed`` (see benchmarks/RESULTS.md).
"""
from __future__ import annotations

import itertools
from typing import Callable, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from ..galaxy_halo import Subhalos, as_model, subhalo_arrays
from ..ingredients.validate import is_traced
from .checks import check_missing_profiles, check_wp_pairs
from .clustering import cylinder_shell_volumes
from .config import StatsConfig, check_config, ds_bin_edges
from .lensing import MAX_MISSING_PROFILE_WEIGHT, merge_annuli, missing_profile_fraction
from .predictions import Predictions, check_colors, population_factor
from .tabulated_kernel import pair_table
from .weights import sample_weights, smf_bin_weights

__all__ = ["ModelGrid", "model_grid", "mass_nodes", "probe_thetas", "basis_entries", "symmetric_quadratic_form",
           "make_tabulated_model_predictor"]

#: Default basis: Mpeak step as a fraction of the narrowest weight width over the probed prior (as the SHAM
#: engine's node grid, capped at MAX_MASS_STEP dex), host-mass step [dex].
DEFAULT_MASS_SPACING = 0.25
MAX_MASS_STEP = 0.05
DEFAULT_HOST_STEP = 0.5
#: Satellites' Mpeak axis keeps every ``DEFAULT_SAT_THIN``-th node of the centrals' (the tensor product is large).
DEFAULT_SAT_THIN = 2
_PROBES = 256
#: Largest pair table accepted [GB] (one copy; numba keeps one more per thread while building).
DEFAULT_MAX_TABLE_GB = 2.0


class ModelGrid(NamedTuple):
    """Nodes of the basis (see the module docstring).

    Attributes
    ----------
    cen : (Kc,) log10 Mpeak nodes of centrals.
    sat_axes : tuple of (n_j,) arrays: satellites' log10 Mpeak and log10 M_host (empty: satellites use ``cen``).
    sat_names : tuple of str naming ``sat_axes``.
    """

    cen: np.ndarray
    sat_axes: tuple
    sat_names: tuple

    @property
    def n_nodes(self) -> int:
        return int(self.cen.size + (np.prod([a.size for a in self.sat_axes]) if self.sat_axes else 0))


def _axis(values, step=None, n=None):
    lo, hi = float(np.min(values)), float(np.max(values))
    if hi <= lo:
        hi = lo + (step or 1e-3)
    if step is not None:
        n = max(2, int(np.ceil((hi - lo) / step - 1e-9)) + 1)
        return lo + step * np.arange(n)
    return np.linspace(lo, hi, max(2, int(n)))


def probe_thetas(model, n: int = _PROBES, seed: int = 0):
    """``n`` thetas uniform over the blocks' default prior ranges (flat NamedTuple of (n,) arrays)."""
    rng = np.random.default_rng(seed)
    cols = [rng.uniform(*b.prior[f], size=n) for b in model.blocks for f in b.fields]
    return model.params_type(*[jnp.asarray(c) for c in cols])


def mass_nodes(model, arrays, config, *, probes, spacing=DEFAULT_MASS_SPACING, max_step=MAX_MASS_STEP):
    """Adaptive log10 Mpeak nodes (:func:`~.tabulated.node_grid` with the model's median and width)."""
    from .tabulated import node_grid

    def pdf(theta, m):
        sub = Subhalos(m, jnp.ones_like(m), m, {})
        pop = model.population(theta, sub)
        return pop.mu, pop.sigma

    m = arrays["logmpeak"]
    return node_grid((m.min(), m.max()), config, probe_thetas=probes, spacing=spacing, max_step=max_step,
                     pdf_params=pdf).nodes


def model_grid(model, catalog, config, *, probes=None, spacing=DEFAULT_MASS_SPACING, max_step=MAX_MASS_STEP,
               host_step=DEFAULT_HOST_STEP, sat_thin=DEFAULT_SAT_THIN) -> ModelGrid:
    """Basis nodes covering ``catalog`` for ``model`` (satellite axes only when it has satellites).

    Subhalos below the first Mpeak node have zero weight anywhere in the probed prior and are left out of
    the table (checked at concrete calls)."""
    a = subhalo_arrays(model, catalog)
    probes = probe_thetas(model) if probes is None else probes
    nodes = mass_nodes(model, a, config, probes=probes, spacing=spacing, max_step=max_step)
    cen = a["is_central"] > 0.5
    sat = (~cen) & (a["logmpeak"] >= nodes[0])
    if "host_index" not in model.requires or not sat.any():  # satellites weigh as centrals of their Mpeak
        return ModelGrid(nodes, (), ())
    lo = max(int(np.searchsorted(nodes, a["logmpeak"][sat].min(), side="right")) - 1, 0)
    m_sat = nodes[lo:][::max(int(sat_thin), 1)]
    if m_sat[-1] < nodes[-1]:
        m_sat = np.append(m_sat, nodes[-1])
    return ModelGrid(nodes, (m_sat, _axis(a["host_logmpeak"][sat], host_step)), ("logmpeak", "host_logmpeak"))


def _hat(nodes, x):
    k = np.clip(np.searchsorted(nodes, x, side="right") - 1, 0, nodes.size - 2)
    t = np.clip((x - nodes[k]) / (nodes[k + 1] - nodes[k]), 0.0, 1.0)
    return k, t


def basis_entries(grid: ModelGrid, arrays: dict):
    """Node indices and basis values (N, E) of every subhalo (E = 2^d, centrals padded with zeros).

    Subhalos below the first Mpeak node get all-zero values (they are outside the table)."""
    n = arrays["logmpeak"].size
    keep = arrays["logmpeak"] >= grid.cen[0]
    d = len(grid.sat_axes)
    cen = ((arrays["is_central"] > 0.5) | (d == 0)) & keep
    e = 2 ** d if d else 2
    idx = np.zeros((n, e), dtype=np.int64)
    val = np.zeros((n, e))
    k, t = _hat(grid.cen, arrays["logmpeak"][cen])
    idx[cen, 0], idx[cen, 1] = k, k + 1
    val[cen, 0], val[cen, 1] = 1.0 - t, t
    sat = (arrays["is_central"] <= 0.5) & keep
    if d and sat.any():
        coords = [arrays["logmpeak"][sat], arrays["host_logmpeak"][sat]]
        hats = [_hat(nodes, x) for nodes, x in zip(grid.sat_axes, coords)]
        shape = tuple(a.size for a in grid.sat_axes)
        for j, corner in enumerate(itertools.product((0, 1), repeat=d)):
            ks = [h[0] + c for h, c in zip(hats, corner)]
            w = np.ones(int(sat.sum()))
            for (_, t_), c in zip(hats, corner):
                w = w * (t_ if c else 1.0 - t_)
            idx[sat, j] = grid.cen.size + np.ravel_multi_index(ks, shape)
            val[sat, j] = w
    return idx, val


def _entry_sums(idx, val, values, n_nodes):
    """``sum_a h_k(a) values_a`` for each node ``k``; ``values`` (N, ...)."""
    values = np.asarray(values, dtype=np.float64)
    out = np.zeros((n_nodes,) + values.shape[1:])
    for e in range(idx.shape[1]):
        np.add.at(out, idx[:, e], val[:, e].reshape((-1,) + (1,) * (values.ndim - 1)) * values)
    return out


def compact_nodes(idx, val, n_nodes: int):
    """Drop the nodes no subhalo touches (e.g. satellites heavier than their host's node).

    Returns the entries' indices into the kept nodes and the kept nodes' original indices. Nodes without
    entries contribute nothing to any table, so the statistics are unchanged, and the tables shrink by the
    square of the kept fraction.
    """
    touched = np.zeros(n_nodes, dtype=bool)
    touched[idx[val != 0]] = True
    used = np.flatnonzero(touched)
    remap = np.zeros(n_nodes, dtype=np.int64)
    remap[used] = np.arange(used.size)
    return np.where(val != 0, remap[idx], 0), used


def _node_subhalos(grid: ModelGrid) -> Subhalos:
    """Subhalos at the nodes: centrals (Mpeak nodes), then satellites (Mpeak x host mass)."""
    m, host, flag = [grid.cen], [grid.cen], [np.ones(grid.cen.size)]
    if grid.sat_axes:
        sm, sh = (x.ravel() for x in np.meshgrid(*grid.sat_axes, indexing="ij"))
        m.append(sm)
        host.append(sh)
        flag.append(np.zeros(sm.size))
    return Subhalos(*(jnp.asarray(np.concatenate(x)) for x in (m, flag, host)), {})


def symmetric_quadratic_form(table):
    """``q(w)[s, i] = w[s] . table[i] . w[s]`` for a table symmetric in its last two axes (I, K, K).

    Its tangent is JAX arithmetic on ``table[i] . w[s]``, which the value computes anyway: by symmetry
    ``dq = 2 (table[i] . w[s]) . dw[s]``. A value and gradient then read the table once, where automatic
    differentiation of the contraction reads it twice (the table is the engine's memory traffic).
    """

    @jax.custom_jvp
    def q(w):
        return jnp.einsum("ikl,sl,sk->si", table, w, w)

    @q.defjvp
    def _q_jvp(primals, tangents):
        (w,), (dw,) = primals, tangents
        tw = jnp.einsum("ikl,sl->sik", table, w)
        return jnp.einsum("sik,sk->si", tw, w), 2.0 * jnp.einsum("sik,sk->si", tw, dw)

    return q


def make_tabulated_model_predictor(catalog, config: StatsConfig, model, *, probe_thetas=None,
                                   spacing=DEFAULT_MASS_SPACING, max_step=MAX_MASS_STEP, host_step=DEFAULT_HOST_STEP,
                                   sat_thin=DEFAULT_SAT_THIN,
                                   max_table_gb=DEFAULT_MAX_TABLE_GB, nthreads=None,
                                   progress=None, max_missing_profile_weight: float = MAX_MISSING_PROFILE_WEIGHT
                                   ) -> Callable:
    """``predictor(theta) -> Predictions`` of a composed model with tabulated w_p pair counts.

    Parameters
    ----------
    catalog : SubhaloCatalog
    config : StatsConfig
    model : GalaxyModel or Component
    probe_thetas : flat parameter NamedTuple of (P,) arrays, keyword-only
        Thetas bounding the weights' support and width in Mpeak (default: 256 uniform draws over the
        blocks' default prior ranges); concrete calls check that left-out subhalos have zero weight.
    spacing, max_step, host_step : float, keyword-only
        Mpeak step as a fraction of the narrowest weight width (at most ``max_step`` dex); host-mass step [dex].
    sat_thin : int, keyword-only
        Satellites' Mpeak axis keeps every ``sat_thin``-th Mpeak node.
    max_table_gb : float, keyword-only
        Refuse a grid whose pair table would be larger.
    nthreads, progress :
        Of the table pass (:func:`~.tabulated_kernel.pair_table`).
    max_missing_profile_weight : float, keyword-only
        As in :func:`shaminfer.stats.make_predictor`.

    Returns
    -------
    callable
        Pure in theta (jit / grad / vmap); ``predictor.grid`` and ``predictor.table_bytes`` describe the basis.
    """
    model = as_model(model)
    props = [r for r in model.requires if r != "host_index"]
    if props:
        raise ValueError(
            f"engine='tabulated': the model {model.name!r} reads the per-subhalo properties {props}; its weights "
            "change sharply with them (disruption: steepness up to 60 in Vmax/Vpeak), and a tensor basis fine "
            "enough for w_p within 3e-3 exceeds the 2 GB table (6 nodes give 2-4% errors, benchmarks/RESULTS.md, "
            "engine_speed); use engine='exact'")
    check_config(config, catalog)
    arrays = subhalo_arrays(model, catalog)
    sub_all = Subhalos(jnp.asarray(arrays["logmpeak"]), jnp.asarray(arrays["is_central"]),
                       jnp.asarray(arrays["host_logmpeak"]), {})
    samples = tuple(config.samples)
    nsample = len(samples)
    smf_edges = np.asarray(config.smf_edges, dtype=np.float64)
    smf_colors = tuple(config.smf_colors)
    rp_edges = np.asarray(config.rp_edges, dtype=np.float64)
    nrp = max(rp_edges.size - 1, 0)
    pi_max = float(config.pi_max)
    box = float(catalog.box_size)
    volume = box**3

    grid = model_grid(model, catalog, config, probes=probe_thetas, spacing=spacing, max_step=max_step,
                      host_step=host_step, sat_thin=sat_thin)
    dropped = np.flatnonzero(arrays["logmpeak"] < grid.cen[0])
    idx, val = basis_entries(grid, arrays)
    idx, used = compact_nodes(idx, val, grid.n_nodes)
    K = used.size
    table_bytes = 8 * max(nrp, 1) * K * K
    if nrp and nsample and table_bytes > max_table_gb * 1e9:
        raise ValueError(f"engine='tabulated': the basis for the model {model.name!r} has {K} nodes "
                         f"({grid.cen.size} central, axes {dict(zip(grid.sat_names, [a.size for a in grid.sat_axes]))}"
                         f" for satellites), a {table_bytes / 1e9:.1f} GB pair table above max_table_gb = "
                         f"{max_table_gb:g}; coarsen the steps or use engine='exact'")
    nodes_sub = Subhalos(*(x[used] for x in _node_subhalos(grid)[:3]), {})
    count = _entry_sums(idx, val, np.ones(idx.shape[0]), K)
    if nrp and nsample:
        pair = jnp.asarray(pair_table(catalog.pos, idx, val, K, box_size=box, rp_edges=rp_edges, pi_max=pi_max,
                                      los_axis=config.los_axis, nthreads=nthreads, progress=progress))
        overlap = np.zeros((K, K))
        for e in range(idx.shape[1]):
            for f in range(idx.shape[1]):
                np.add.at(overlap, (idx[:, e], idx[:, f]), val[:, e] * val[:, f])
        overlap = jnp.asarray(overlap)
        pair_form, overlap_form = symmetric_quadratic_form(pair), symmetric_quadratic_form(overlap[None])
        rr_frac = jnp.asarray(cylinder_shell_volumes(rp_edges, pi_max) / volume)
    else:
        pair = overlap = rr_frac = None
    ds_edges = ds_bin_edges(config, catalog)
    n_r = max(ds_edges.size - 1, 0)
    profile_sum = profile_count = has_profile = None
    if n_r and nsample:
        lensing = catalog.lensing
        pidx = np.asarray(lensing.index, dtype=np.int64)
        profiles = merge_annuli(lensing.delta_sigma, lensing.rbins, ds_edges)
        profile_sum = jnp.asarray(_entry_sums(idx[pidx], val[pidx], profiles, K))
        profile_count = jnp.asarray(_entry_sums(idx[pidx], val[pidx], np.ones(pidx.size), K))
        has_profile = np.zeros(arrays["logmpeak"].size, dtype=bool)
        has_profile[pidx] = True
    count = jnp.asarray(count)
    smf_norm = jnp.asarray(np.diff(smf_edges) * volume) if smf_edges.size else None
    check_colors(config, model)

    def weights_of(pop):
        w = sample_weights(pop.mu, pop.sigma, samples)
        return jnp.stack([w[k] * population_factor(pop, s.color) for k, s in enumerate(samples)]) if nsample else w

    def _shell_checks(theta):
        pop = model.population(theta, sub_all)  # exact per-subhalo weights, concrete calls only
        w = np.asarray(weights_of(pop))
        wd = [w[:, dropped]]
        if smf_edges.size:
            wd.append(np.asarray(smf_bin_weights(pop.mu, pop.sigma, smf_edges))[:, dropped])
        bad = int(sum((a != 0).any(axis=0).sum() for a in wd)) if dropped.size else 0
        if bad:
            raise ValueError(
                f"theta: expected zero weight on the {dropped.size} subhalos below the tabulated engine's lowest "
                f"node log10 Mpeak = {grid.cen[0]:.3f}, found {bad} with non-zero weight; theta lies outside the "
                "probed prior: pass probe_thetas covering it")
        if pair is not None:
            check_wp_pairs(w.sum(axis=-1), (w * w).sum(axis=-1), samples)
        if has_profile is not None:
            check_missing_profiles(missing_profile_fraction(w, has_profile), float(max_missing_profile_weight),
                                   samples)

    def predictor(theta) -> Predictions:
        theta = model.as_theta(theta)
        if not is_traced(theta):
            model.check_theta(theta)
            if nsample or smf_edges.size:
                _shell_checks(theta)
        pop = model.population(theta, nodes_sub)
        dtype = jnp.result_type(pop.mu, pop.sigma)
        if smf_edges.size:
            bins = smf_bin_weights(pop.mu, pop.sigma, smf_edges)
            smf = ((bins * population_factor(pop, "all")) @ count) / smf_norm
            smf_color = (jnp.stack([((bins * population_factor(pop, c)) @ count) / smf_norm for c in smf_colors])
                         if smf_colors else jnp.zeros((0, smf_edges.size - 1), dtype))
        else:
            smf, smf_color = jnp.zeros((0,), dtype), jnp.zeros((len(smf_colors), 0), dtype)
        w = weights_of(pop)
        if pair is not None:
            dd = pair_form(w)
            s1, s2 = w @ count, overlap_form(w)[:, 0]
            wp = 2.0 * pi_max * (dd / ((s1 * s1 - s2)[:, None] * rr_frac) - 1.0)
        else:
            wp = jnp.zeros((nsample, nrp), dtype)
        ds = ((w @ profile_sum) / (w @ profile_count)[:, None] if profile_sum is not None
              else jnp.zeros((nsample, n_r), dtype))
        return Predictions(smf=smf, wp=wp, delta_sigma=ds, smf_color=smf_color)

    predictor.model = model
    predictor.grid = grid
    predictor.table_bytes = table_bytes
    predictor.n_nodes = K  # nodes kept (those some subhalo touches)
    return predictor
