"""The tabulated engine for composed galaxy-halo models: w_p pair counts from tensor-product hat tables.

For a model of :mod:`shaminfer.galaxy_halo` a galaxy's weight depends on
more than log10 Mpeak: a satellite's on its host mass and a stripping proxy
too. Only the pair counts of w_p (Eq. 14) need tables; everything else is
exact and cheap per subhalo (the parametric SMHM has no network), so this
engine computes

* exactly, per subhalo, in pure JAX: the SMF and colour SMFs (Eq. 7), Delta
  Sigma (Eq. 11), and the sums ``sum w`` and ``sum w^2`` of ``RR`` (Eqs. 15-17);
* from tables: ``DD_i = W^T T_i W`` with ``W`` the weights at the nodes of a
  basis ``h_k`` and ``T_i[k, l] = sum_{a != b} h_k(a) h_l(b) S_i(a, b)``
  (:func:`~.tabulated_kernel.pair_table`).

The basis: centrals are hats in log10 Mpeak (``cen_step`` dex); satellites are
tensor products of hats in (log10 Mpeak, log10 M_host, each property the
model reads), ``sat_step`` and ``host_step`` dex and ``prop_nodes`` nodes
over each property's range, so a satellite spreads over 2^d nodes. Centrals
are assumed to depend on Mpeak alone (true of every shipped component); the
engine checks it on the catalog at construction and refuses a model for which
it fails. The table is ``nrp x K x K`` float64 with ``K`` = central nodes +
product of the satellite axes; a grid that would exceed ``max_table_gb`` is
refused with a message (use the exact engine).

The gradient is ordinary autodiff of the tabulated model; its interpolation
error is measured against the exact engine in ``benchmarks/engine_speed.py
--model composed`` (see benchmarks/RESULTS.md).
"""
from __future__ import annotations

import itertools
from typing import Callable, NamedTuple

import jax.numpy as jnp
import numpy as np

from ..galaxy_halo import Subhalos, as_model, subhalo_arrays
from ..ingredients.validate import is_traced
from .checks import check_missing_profiles, check_wp_pairs
from .clustering import cylinder_shell_volumes
from .config import StatsConfig, check_config, ds_bin_edges
from .lensing import MAX_MISSING_PROFILE_WEIGHT, delta_sigma_from_weights, merge_annuli, missing_profile_fraction
from .predictions import Predictions, check_colors, population_factor
from .smf import smf_from_weights
from .tabulated_kernel import pair_table
from .weights import sample_weights, smf_bin_weights

__all__ = ["ModelGrid", "model_grid", "basis_entries", "make_tabulated_model_predictor"]

#: Default basis steps: centrals' log10 Mpeak, satellites' log10 Mpeak and host mass [dex]; nodes per property.
DEFAULT_CEN_STEP = 0.02
DEFAULT_SAT_STEP = 0.2
DEFAULT_HOST_STEP = 0.75
DEFAULT_PROP_NODES = 6
#: Largest pair table accepted [GB] (one copy; numba keeps one more per thread while building).
DEFAULT_MAX_TABLE_GB = 2.0


class ModelGrid(NamedTuple):
    """Nodes of the basis (see the module docstring).

    Attributes
    ----------
    cen : (Kc,) log10 Mpeak nodes of centrals.
    sat_axes : tuple of (n_j,) arrays: satellites' log10 Mpeak, log10 M_host, then each property.
    sat_names : tuple of str naming ``sat_axes`` ("logmpeak", "host_logmpeak", property names).
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


def model_grid(model, catalog, *, cen_step=DEFAULT_CEN_STEP, sat_step=DEFAULT_SAT_STEP, host_step=DEFAULT_HOST_STEP,
               prop_nodes=DEFAULT_PROP_NODES) -> ModelGrid:
    """Basis nodes covering ``catalog`` for ``model`` (satellite axes only when it has satellites)."""
    a = subhalo_arrays(model, catalog)
    cen = a["is_central"] > 0.5
    m = a["logmpeak"]
    cen_nodes = _axis(m[cen] if cen.any() else m, cen_step)
    if cen.all():
        return ModelGrid(cen_nodes, (), ())
    sat = ~cen
    axes = [_axis(m[sat], sat_step), _axis(a["host_logmpeak"][sat], host_step)]
    names = ["logmpeak", "host_logmpeak"]
    for name, v in a["props"].items():
        axes.append(_axis(v[sat], n=prop_nodes))
        names.append(name)
    return ModelGrid(cen_nodes, tuple(axes), tuple(names))


def _hat(nodes, x):
    k = np.clip(np.searchsorted(nodes, x, side="right") - 1, 0, nodes.size - 2)
    t = np.clip((x - nodes[k]) / (nodes[k + 1] - nodes[k]), 0.0, 1.0)
    return k, t


def basis_entries(grid: ModelGrid, arrays: dict):
    """Node indices and basis values (N, E) of every subhalo (E = 2^d, centrals padded with zeros)."""
    n = arrays["logmpeak"].size
    cen = arrays["is_central"] > 0.5
    d = len(grid.sat_axes)
    e = 2 ** d if d else 2
    idx = np.zeros((n, e), dtype=np.int64)
    val = np.zeros((n, e))
    k, t = _hat(grid.cen, arrays["logmpeak"][cen])
    idx[cen, 0], idx[cen, 1] = k, k + 1
    val[cen, 0], val[cen, 1] = 1.0 - t, t
    if d and (~cen).any():
        sat = ~cen
        coords = [arrays["logmpeak"][sat], arrays["host_logmpeak"][sat]] + \
                 [arrays["props"][name][sat] for name in grid.sat_names[2:]]
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


def _node_subhalos(grid: ModelGrid, arrays: dict) -> Subhalos:
    """Subhalos at the nodes: centrals (Mpeak nodes; properties at the centrals' median), then satellites."""
    cen = arrays["is_central"] > 0.5
    m = [grid.cen]
    host = [grid.cen]
    flag = [np.ones(grid.cen.size)]
    props = {k: [np.full(grid.cen.size, np.median(v[cen]) if cen.any() else 0.0)] for k, v in arrays["props"].items()}
    if grid.sat_axes:
        mesh = [x.ravel() for x in np.meshgrid(*grid.sat_axes, indexing="ij")]
        m.append(mesh[0])
        host.append(mesh[1])
        flag.append(np.zeros(mesh[0].size))
        for name, col in zip(grid.sat_names[2:], mesh[2:]):
            props[name].append(col)
    cat = lambda xs: jnp.asarray(np.concatenate(xs))  # noqa: E731
    return Subhalos(cat(m), cat(flag), cat(host), {k: cat(v) for k, v in props.items()})


def _check_centrals_depend_on_mpeak_only(model, arrays, sub_all):
    """Refuse a model whose centrals' population reads anything but Mpeak (the basis would be wrong)."""
    cen = arrays["is_central"] > 0.5
    if not cen.any() or not arrays["props"]:
        return
    shifted = sub_all._replace(props={k: jnp.where(jnp.asarray(cen), jnp.median(v) + 0.1, v)
                                      for k, v in sub_all.props.items()})
    theta = model.defaults()
    a, b = model.population(theta, sub_all), model.population(theta, shifted)
    for field in ("mu", "sigma", "survive", "quenched"):
        x, y = getattr(a, field), getattr(b, field)
        if x is not None and not np.allclose(np.asarray(x)[cen], np.asarray(y)[cen], rtol=0, atol=1e-12):
            raise ValueError(f"engine='tabulated': the model {model.name!r} makes centrals' {field} depend on "
                             f"{sorted(arrays['props'])}, but the tabulated basis gives centrals Mpeak alone; "
                             "use engine='exact'")


def make_tabulated_model_predictor(catalog, config: StatsConfig, model, *, cen_step=DEFAULT_CEN_STEP,
                                   sat_step=DEFAULT_SAT_STEP, host_step=DEFAULT_HOST_STEP,
                                   prop_nodes=DEFAULT_PROP_NODES, max_table_gb=DEFAULT_MAX_TABLE_GB, nthreads=None,
                                   progress=None, max_missing_profile_weight: float = MAX_MISSING_PROFILE_WEIGHT
                                   ) -> Callable:
    """``predictor(theta) -> Predictions`` of a composed model with tabulated w_p pair counts.

    Parameters
    ----------
    catalog : SubhaloCatalog
    config : StatsConfig
    model : GalaxyModel or Component
    cen_step, sat_step, host_step : float [dex], keyword-only
        Node steps of the basis (module docstring).
    prop_nodes : int, keyword-only
        Nodes over each property's range.
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
    check_config(config, catalog)
    arrays = subhalo_arrays(model, catalog)
    sub_all = Subhalos(jnp.asarray(arrays["logmpeak"]), jnp.asarray(arrays["is_central"]),
                       jnp.asarray(arrays["host_logmpeak"]), {k: jnp.asarray(v) for k, v in arrays["props"].items()})
    _check_centrals_depend_on_mpeak_only(model, arrays, sub_all)
    samples = tuple(config.samples)
    nsample = len(samples)
    smf_edges = np.asarray(config.smf_edges, dtype=np.float64)
    smf_colors = tuple(config.smf_colors)
    rp_edges = np.asarray(config.rp_edges, dtype=np.float64)
    nrp = max(rp_edges.size - 1, 0)
    pi_max = float(config.pi_max)
    box = float(catalog.box_size)
    volume = box**3

    grid = model_grid(model, catalog, cen_step=cen_step, sat_step=sat_step, host_step=host_step,
                      prop_nodes=prop_nodes)
    K = grid.n_nodes
    table_bytes = 8 * max(nrp, 1) * K * K
    if nrp and nsample and table_bytes > max_table_gb * 1e9:
        raise ValueError(f"engine='tabulated': the basis for the model {model.name!r} has {K} nodes "
                         f"({grid.cen.size} central, axes {dict(zip(grid.sat_names, [a.size for a in grid.sat_axes]))}"
                         f" for satellites), a {table_bytes / 1e9:.1f} GB pair table above max_table_gb = "
                         f"{max_table_gb:g}; coarsen the steps or use engine='exact'")
    nodes_sub = _node_subhalos(grid, arrays)
    if nrp and nsample:
        idx, val = basis_entries(grid, arrays)
        table = jnp.asarray(pair_table(catalog.pos, idx, val, K, box_size=box, rp_edges=rp_edges, pi_max=pi_max,
                                       los_axis=config.los_axis, nthreads=nthreads, progress=progress))
        rr_frac = jnp.asarray(cylinder_shell_volumes(rp_edges, pi_max) / volume)
    else:
        table = rr_frac = None

    ds_edges = ds_bin_edges(config, catalog)
    n_r = max(ds_edges.size - 1, 0)
    profiles = profile_index = has_profile = None
    if n_r and nsample:
        lensing = catalog.lensing
        profiles = jnp.asarray(merge_annuli(lensing.delta_sigma, lensing.rbins, ds_edges))
        profile_index = np.asarray(lensing.index, dtype=np.int64)
        has_profile = np.zeros(arrays["logmpeak"].size, dtype=bool)
        has_profile[profile_index] = True
    check_colors(config, model)

    def weights_of(pop):
        w = sample_weights(pop.mu, pop.sigma, samples)
        return jnp.stack([w[k] * population_factor(pop, s.color) for k, s in enumerate(samples)]) if nsample else w

    def predictor(theta) -> Predictions:
        theta = model.as_theta(theta)
        concrete = not is_traced(theta)
        if concrete:
            model.check_theta(theta)
        pop = model.population(theta, sub_all)
        dtype = jnp.result_type(pop.mu, pop.sigma)
        if smf_edges.size:
            bins = smf_bin_weights(pop.mu, pop.sigma, smf_edges)
            smf = smf_from_weights(bins * population_factor(pop, "all"), smf_edges, volume)
            smf_color = (jnp.stack([smf_from_weights(bins * population_factor(pop, c), smf_edges, volume)
                                    for c in smf_colors]) if smf_colors else jnp.zeros((0, smf_edges.size - 1), dtype))
        else:
            smf, smf_color = jnp.zeros((0,), dtype), jnp.zeros((len(smf_colors), 0), dtype)
        w = weights_of(pop)
        if concrete and nsample:
            wn = np.asarray(w)
            if table is not None:
                check_wp_pairs(wn.sum(axis=-1), (wn * wn).sum(axis=-1), samples)
            if profiles is not None:
                check_missing_profiles(missing_profile_fraction(wn, has_profile), float(max_missing_profile_weight),
                                       samples)
        if table is not None:
            wk = weights_of(model.population(theta, nodes_sub))
            dd = jnp.einsum("sk,ikl,sl->si", wk, table, wk)
            s1, s2 = w.sum(axis=-1), (w * w).sum(axis=-1)
            wp = 2.0 * pi_max * (dd / ((s1 * s1 - s2)[:, None] * rr_frac) - 1.0)
        else:
            wp = jnp.zeros((nsample, nrp), dtype)
        ds = (delta_sigma_from_weights(w[:, profile_index], profiles) if profiles is not None
              else jnp.zeros((nsample, n_r), dtype))
        return Predictions(smf=smf, wp=wp, delta_sigma=ds, smf_color=smf_color)

    predictor.model = model
    predictor.grid = grid
    predictor.table_bytes = table_bytes
    return predictor
