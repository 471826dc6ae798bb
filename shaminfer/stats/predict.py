"""Exact, differentiable SHAM predictions of the SMF, w_p and Delta Sigma from a catalog (Sec. 4).

``make_predictor(catalog, config)`` returns ``predictor(theta) -> Predictions``,
a pure JAX path

    theta -> SHAMNet log10 M* and scatter per subhalo (Eqs. 4-5)
          -> triweight bin / sample weights (Eq. 6, App. E)
          -> SMF (Eq. 7), Delta Sigma (Eq. 11), w_p (Eqs. 13-17)

with no Monte Carlo noise and exact derivatives in theta (Eqs. 8, 12, 18-20):
``jax.jit``, ``jax.grad``, ``jax.jacfwd`` and ``jax.vmap`` over theta all
work. Catalog arrays are captured as constants (positions are never traced);
pair counts run in a ``pure_callback`` (:mod:`shaminfer.stats.clustering`).
With SHAMNet as the SMHM, the network runs only on the subhalos whose
weights can need it, with the same values and derivatives
(:mod:`shaminfer.stats.active_rows`).

Shell checks: the configuration is validated once, in :func:`make_predictor`.
When the predictor is called with a concrete theta (not under ``jit``,
``grad`` or ``vmap``) it also checks theta (finite, and inside SHAMNet's
training domain when SHAMNet is the SMHM), that every sample has at least two
effective objects for w_p, and that at most ``max_missing_profile_weight`` of
each sample's weight sits on subhalos without a lensing profile. Traced
calls skip these checks: run one concrete call (or :func:`predict`) at the
starting point of an analysis.
"""
from __future__ import annotations

from typing import Callable

import jax
import jax.numpy as jnp
import numpy as np

from .active_rows import make_active_population, model_cuts
from .clustering import PAIR_ENGINES, make_pair_counter, random_pair_counts, wp_from_pair_counts
from .config import StatsConfig, check_config, ds_bin_edges
from .lensing import MAX_MISSING_PROFILE_WEIGHT, delta_sigma_from_weights, merge_annuli, missing_profile_fraction
from .checks import check_missing_profiles, check_wp_pairs
from ..galaxy_halo import as_model, bind_catalog, compose, sham
from ..ingredients.validate import is_traced
from .predictions import Predictions, check_colors, population_factor, resolve_smhm
from .smf import smf_from_weights
from .tabulated import make_tabulated_predictor
from .tabulated_models import make_tabulated_model_predictor
from .weights import sample_weights, smf_bin_weights

__all__ = ["ENGINES", "Predictions", "make_predictor", "predict", "resolve_smhm", "population_factor"]


ENGINES = PAIR_ENGINES + ("tabulated",)


def make_predictor(catalog, config: StatsConfig, *, model=None, net=None, smhm=None, engine: str = "exact",
                   nthreads=None, max_missing_profile_weight: float = MAX_MISSING_PROFILE_WEIGHT,
                   **tabulated_options) -> Callable:
    """Build ``predictor(theta) -> Predictions`` for ``catalog`` and ``config``.

    Parameters
    ----------
    catalog : SubhaloCatalog
        Positions, log10 Mpeak, the host structure and properties a model
        needs, and (for Delta Sigma) lensing profiles.
    config : StatsConfig
        Validated here against ``catalog`` (:func:`shaminfer.stats.config.check_config`).
    model : GalaxyModel or Component, optional, keyword-only
        A galaxy-halo model (:mod:`shaminfer.galaxy_halo`); theta is then its
        flat parameter tuple. Default: SHAM through SHAMNet
        (``compose(sham(net=net, smhm=smhm))``, theta a ``ShamParams``).
    net : ShamNet or None, keyword-only
        SHAMNet weights for the median SMHM (None: the shipped default).
    smhm : callable or None, keyword-only
        ``(theta, logmpeak) -> log10 M*`` replacing SHAMNet (e.g. a stand-in in tests).
    engine : {"exact", "corrfunc", "tabulated"}, keyword-only
        "exact": numba pair counts in a ``pure_callback`` with exact gradients;
        "corrfunc": Corrfunc pair counts (values only); "tabulated": the
        Mpeak-node tables of :mod:`shaminfer.stats.tabulated` (pure JAX,
        about a millisecond per value + gradient, interpolation error
        documented there; SHAM only). Extra keyword options go to
        :func:`~shaminfer.stats.tabulated.make_tabulated_predictor`.
    nthreads : int or None, keyword-only
        Threads of the pair counter (None: numba's setting).
    max_missing_profile_weight : float, keyword-only
        Largest fraction of a sample's weight allowed on subhalos without a
        profile (checked on concrete calls).

    Returns
    -------
    callable
        ``predictor(theta) -> Predictions``; pure in theta.

    Notes
    -----
    A sample's weight of subhalo ``a`` is its triweight weight (Eq. 6) times
    the galaxy's survival probability, times P(quenched) for a red sample or
    1 - P(quenched) for a blue one; the SMF sums bin weights times survival
    (Eq. 7). Red and blue weights add up to the total exactly.
    """
    if engine not in ENGINES:
        raise ValueError(f"engine: expected one of {ENGINES}, found {engine!r}")
    if model is not None and (net is not None or smhm is not None):
        raise ValueError("model: give either a model or net/smhm (which build the SHAM model), not both")
    galaxy_model = as_model(model) if model is not None else None
    if engine == "tabulated":
        if galaxy_model is not None and any(c.role == "smhm" and c.name == "sham" for c in galaxy_model.components):
            raise ValueError(f"engine='tabulated': the model {galaxy_model.name!r} uses SHAMNet, whose network is "
                             "tabulated in Mpeak by the SHAM engine only: pass net=/smhm= for SHAM alone, or use "
                             "engine='exact' for SHAMNet composed with other components")
        if galaxy_model is not None:
            return make_tabulated_model_predictor(catalog, config, galaxy_model, nthreads=nthreads,
                                                  max_missing_profile_weight=max_missing_profile_weight,
                                                  **tabulated_options)
        check_colors(config, None)
        if config.smf_colors:
            raise ValueError(f"engine='tabulated': config.smf_colors = {list(config.smf_colors)}: colour SMFs are "
                             "computed by engine='exact' only")
        return make_tabulated_predictor(catalog, config, net=net, smhm=smhm, nthreads=nthreads,
                                        max_missing_profile_weight=max_missing_profile_weight, **tabulated_options)
    if tabulated_options:
        raise ValueError(f"{sorted(tabulated_options)}: options of engine='tabulated' only, found engine={engine!r}")
    check_config(config, catalog)
    if not 0.0 <= float(max_missing_profile_weight) < 1.0:
        raise ValueError(f"max_missing_profile_weight: expected a fraction in [0, 1), found "
                         f"{max_missing_profile_weight!r}")
    galaxy_model = galaxy_model if galaxy_model is not None else compose(sham(net=net, smhm=smhm))
    check_colors(config, galaxy_model)
    subhalos = bind_catalog(galaxy_model, catalog)
    # SHAMNet only where a weight can need it (same values and derivatives); None for other models
    active_population = make_active_population(galaxy_model, subhalos, model_cuts(config))

    box = float(catalog.box_size)
    volume = box**3
    n = int(np.shape(catalog.logmpeak)[0])
    samples = tuple(config.samples)
    nsample = len(samples)
    smf_edges = np.asarray(config.smf_edges, dtype=np.float64)
    smf_colors = tuple(config.smf_colors)
    rp_edges = np.asarray(config.rp_edges, dtype=np.float64)
    nrp = max(rp_edges.size - 1, 0)
    pi_max = float(config.pi_max)

    dd_fn = None
    if nrp and nsample:
        dd_fn = make_pair_counter(catalog.pos, box_size=box, rp_edges=rp_edges, pi_max=pi_max,
                                  los_axis=config.los_axis, engine=engine, nthreads=nthreads)

    ds_edges = ds_bin_edges(config, catalog)
    n_r = max(ds_edges.size - 1, 0)
    profiles = profile_index = has_profile = None
    if n_r and nsample:
        lensing = catalog.lensing
        profiles = jnp.asarray(merge_annuli(lensing.delta_sigma, lensing.rbins, ds_edges))
        profile_index = np.asarray(lensing.index, dtype=np.int64)
        has_profile = np.zeros(n, dtype=bool)
        has_profile[profile_index] = True
    max_missing = float(max_missing_profile_weight)

    def _shell_checks(weights):
        w = np.asarray(weights, dtype=np.float64)
        if dd_fn is not None:
            s1 = w.sum(axis=-1)
            check_wp_pairs(s1, (w * w).sum(axis=-1), samples)
        if profiles is not None:
            check_missing_profiles(missing_profile_fraction(w, has_profile), max_missing, samples)

    def predictor(theta) -> Predictions:
        theta = galaxy_model.as_theta(theta)
        concrete = not is_traced(theta)
        if concrete:
            galaxy_model.check_theta(theta)
        pop = galaxy_model.population(theta, subhalos) if active_population is None else active_population(theta)
        mu, sigma = pop.mu, pop.sigma
        dtype = jnp.result_type(mu, sigma)
        if smf_edges.size:
            bins = smf_bin_weights(mu, sigma, smf_edges)
            smf = smf_from_weights(population_factor(pop, "all") * bins, smf_edges, volume)
            smf_color = jnp.stack([smf_from_weights(bins * population_factor(pop, c), smf_edges, volume)
                                   for c in smf_colors]) if smf_colors else jnp.zeros((0, smf_edges.size - 1), dtype)
        else:
            smf = jnp.zeros((0,), dtype)
            smf_color = jnp.zeros((len(smf_colors), 0), dtype)
        weights = sample_weights(mu, sigma, samples)
        if nsample:
            weights = jnp.stack([weights[k] * population_factor(pop, s.color) for k, s in enumerate(samples)])
        if concrete and nsample:
            _shell_checks(weights)
        if dd_fn is not None:
            # one loop over the samples' pair passes (not independent calls XLA may run in any order), so that under
            # MPI every rank reaches its reductions in the same order (shaminfer.parallel)
            dd = jax.vmap(dd_fn)(weights)
            rr = random_pair_counts(weights, rp_edges=rp_edges, pi_max=pi_max, box_size=box)
            wp = wp_from_pair_counts(dd, rr, pi_max)
        else:
            wp = jnp.zeros((nsample, nrp), dtype)
        if profiles is not None:
            ds = delta_sigma_from_weights(weights[:, profile_index], profiles)
        else:
            ds = jnp.zeros((nsample, n_r), dtype)
        return Predictions(smf=smf, wp=wp, delta_sigma=ds, smf_color=smf_color)

    predictor.model = galaxy_model
    return predictor


def predict(theta, catalog, config: StatsConfig, *, model=None, net=None, smhm=None, engine: str = "exact",
            nthreads=None, max_missing_profile_weight: float = MAX_MISSING_PROFILE_WEIGHT,
            **tabulated_options) -> Predictions:
    """One prediction: ``make_predictor(catalog, config, ...)(theta)``. Build the predictor once for many thetas."""
    return make_predictor(catalog, config, model=model, net=net, smhm=smhm, engine=engine, nthreads=nthreads,
                          max_missing_profile_weight=max_missing_profile_weight, **tabulated_options)(theta)
