"""Build the forward model of a fit from its configuration (catalog, statistics, SHAMNet).

This is the one place where the inference layer meets the stages before it:
``catalogs`` (the subhalo catalog), ``shamnet`` (the weights and their
domain), ``galaxy_halo`` (the model, see :mod:`.model_config`) and ``stats``
(``make_predictor``). Everything downstream sees only
``predictor(theta) -> Predictions``.

Also here: the leave-one-subvolume-out predictions of the jackknife
covariance (:func:`jackknife_predictions`) and the plotting layout of the
built-in terms (:func:`term_layouts`).
"""
from __future__ import annotations

import math
from typing import Callable, Mapping, Sequence

import numpy as np

from ..stats.predict import ENGINES
from .config import edges_from_spec
from ..inference.inference_data import TermLayout
from ..inference.mock import subvolume_labels

__all__ = [
    "build_catalog",
    "build_stats_config",
    "load_net",
    "build_predictor",
    "prune_stats_config",
    "leave_out_catalog",
    "jackknife_predictions",
    "term_layouts",
    "ENGINES",
]



def build_catalog(cfg: Mapping):
    """The subhalo catalog named by a ``[catalog]`` table (see :mod:`.config`).

    ``source = "synthetic"`` builds (or loads from the per-user cache)
    ``catalogs.synthetic_universe(seed, box_size=..., logmpeak_min=..., redshift=...)`` with
    lensing profiles for ``log10 Mpeak >= profile_logmpeak_min``;
    ``"small_test"`` is ``catalogs.small_test_universe(seed)``; ``"file"``
    reads ``path`` with ``catalogs.load_catalog``, ``"hlist"`` with ``catalogs.load_hlist`` and
    ``"halotools"`` with ``catalogs.load_halotools_catalog`` (mass cut ``logmpeak_min``, extra
    ``columns``). With ``particles``, the particles are read (``catalogs.load_particles``) and the
    per-object lensing profiles computed (``catalogs.lensing_profiles``, cached).
    """
    from .. import catalogs

    source = cfg.get("source", "synthetic")
    auto = catalogs.DEFAULT_UNIVERSE_PARAMS
    box, z = cfg.get("box_size", "auto"), cfg.get("redshift", "auto")
    if source == "small_test":
        return catalogs.small_test_universe(int(cfg.get("seed", 0)))
    if source == "synthetic":
        params = auto._replace(profile_logmpeak_min=float(cfg.get("profile_logmpeak_min", auto.profile_logmpeak_min)))
        return catalogs.synthetic_universe(
            int(cfg.get("seed", 0)),
            box_size=auto.box_size if box == "auto" else float(box),
            logmpeak_min=float(cfg.get("logmpeak_min", auto.logmpeak_min)),
            redshift=auto.redshift if z == "auto" else float(z),
            params=params,
        )
    cut = cfg.get("logmpeak_min")
    extra = dict(columns=tuple(cfg.get("columns", ())), missing_host=cfg.get("missing_host", "central"))
    if cfg.get("mass_column"):
        extra["mass_column"] = cfg["mass_column"]
    if source == "file":
        catalog = catalogs.load_catalog(cfg["path"])
    elif source == "hlist":
        catalog = catalogs.load_hlist(cfg["path"], logmpeak_min=cut, box_size=None if box == "auto" else float(box),
                                      redshift=None if z == "auto" else float(z), **extra)
    elif source == "halotools":
        catalog = catalogs.load_halotools_catalog(cfg["path"], logmpeak_min=cut, **extra)
    else:
        raise ValueError(f"catalog.source: expected one of 'synthetic', 'small_test', 'file', 'hlist', "
                         f"'halotools', found {source!r}")
    if cfg.get("particles"):
        pos, mass = catalogs.load_particles(cfg["particles"], box_size=catalog.box_size,
                                            particle_mass=cfg.get("particle_mass") or None)
        catalog = catalog.replace(particle_pos=pos, particle_mass=mass)
        catalog = catalog.replace(lensing=catalogs.lensing_profiles(
            catalog, logmpeak_min=float(cfg.get("profile_logmpeak_min", auto.profile_logmpeak_min))))
    return catalog


def build_stats_config(cfg: Mapping, catalog):
    """``stats.StatsConfig`` from a ``[stats]`` table, validated against ``catalog``.

    Delta Sigma uses the catalog's lensing bins merged ``ds_rebin`` at a time
    (exact area-weighted merges; fewer bins keep the jackknife covariance
    non-singular). Statistics not listed in ``statistics`` (default: all) are switched off;
    ``smf_colors`` (default none) adds the colour SMFs, and a sample's ``color`` (default "all")
    selects red or blue galaxies.
    """
    from ..stats.config import check_config, make_config

    samples = [(s["kind"], float(s["lo"]), float(s.get("hi", math.inf)), str(s.get("color", "all")))
               for s in cfg["samples"]]
    smf_colors = tuple(cfg.get("smf_colors") or ())
    ds_rbins = None
    rebin = int(cfg.get("ds_rebin", 1))
    if catalog.lensing is not None and rebin > 1:
        edges = np.asarray(catalog.lensing.rbins, dtype=np.float64)
        keep = list(range(0, edges.size, rebin))
        if keep[-1] != edges.size - 1:
            keep.append(edges.size - 1)
        ds_rbins = edges[keep]
    config = make_config(
        smf_edges=edges_from_spec(cfg["smf_edges"], log=False),
        samples=samples,
        rp_edges=edges_from_spec(cfg["rp_edges"], log=True),
        pi_max=float(cfg["pi_max"]),
        ds_rbins=ds_rbins,
        smf_colors=smf_colors,
    )
    statistics = tuple(cfg.get("statistics", ("smf", "wp", "delta_sigma"))) + (("smf_color",) if smf_colors else ())
    config = prune_stats_config(config, statistics)
    check_config(config, catalog)
    return config


def load_net(forward_cfg: Mapping):
    """SHAMNet weights named by ``forward.shamnet`` (empty: the shipped default)."""
    from ..shamnet import load_shamnet

    path = forward_cfg.get("shamnet", "")
    return load_shamnet(path or None)


def prune_stats_config(config, terms: Sequence[str]):
    """Switch off the statistics no term uses (w_p pair counts are the costly part).

    ``terms`` holds kinds from ``config.TERM_KINDS``; ``"smf_color"`` keeps the colour SMFs (and the SMF bins).
    """
    changes = {}
    if "smf_color" not in terms:
        changes["smf_colors"] = ()
    if "wp" not in terms:
        changes["rp_edges"] = ()
    if "delta_sigma" not in terms:
        changes["ds_rbins"] = ()
    if "wp" not in terms and "delta_sigma" not in terms:
        changes["samples"] = ()
    if "smf" not in terms and "smf_color" not in terms:
        changes["smf_edges"] = ()
    return config._replace(**changes)


def build_predictor(catalog, config, forward_cfg: Mapping, *, net=None, terms: Sequence[str] | None = None,
                    model=None) -> Callable:
    """The forward model ``theta -> Predictions`` for ``catalog``; only the statistics in ``terms`` are computed.

    ``forward_cfg["engine"]`` is passed to ``stats.make_predictor``: "exact"
    (numba pair counts, exact gradients), "corrfunc" (values only) or
    "tabulated" (weights interpolated on a grid of log10 Mpeak nodes, tables
    cached on disk).

    Parameters
    ----------
    catalog : SubhaloCatalog
    config : StatsConfig
    forward_cfg : mapping with ``engine`` (and ``shamnet``, used when ``net`` is None)
    net : ShamNet, optional
    terms : names of the statistics needed (default: all)
    model : GalaxyModel, optional
        A galaxy-halo model (:func:`.model_config.galaxy_model`); None: SHAM through ``net``.
    """
    from ..stats.predict import make_predictor

    if terms is not None:
        config = prune_stats_config(config, terms)
    engine = forward_cfg.get("engine", "exact") or "exact"
    if engine not in ENGINES:
        raise ValueError(f"forward.engine: expected one of {ENGINES}, found {engine!r}")
    if model is not None:
        return make_predictor(catalog, config, model=model, engine=engine)
    net = load_net(forward_cfg) if net is None else net
    return make_predictor(catalog, config, net=net, engine=engine)


def leave_out_catalog(catalog, keep: np.ndarray):
    """The catalog restricted to the rows where ``keep`` is True (same periodic box).

    Lensing profiles and per-subhalo properties follow their objects; ``host_index`` and the particles
    are dropped (the statistics use neither).
    """
    from ..catalogs import LensingProfiles, SubhaloCatalog

    keep = np.asarray(keep, dtype=bool)
    idx = np.flatnonzero(keep)
    lensing = None
    if catalog.lensing is not None:
        lens = catalog.lensing
        new_index = np.full(catalog.n, -1, dtype=np.int64)
        new_index[idx] = np.arange(idx.size)
        sel = keep[lens.index]
        lensing = LensingProfiles(rbins=lens.rbins, index=new_index[lens.index[sel]],
                                  delta_sigma=lens.delta_sigma[sel], los_axis=lens.los_axis)
    return SubhaloCatalog(pos=catalog.pos[idx], logmpeak=catalog.logmpeak[idx], box_size=catalog.box_size,
                          redshift=catalog.redshift, lensing=lensing,
                          properties={k: v[idx] for k, v in catalog.properties.items()})


def jackknife_predictions(catalog, config, theta, *, n_side: int, net=None, model=None,
                          log: Callable[[str], None] | None = None) -> list:
    """Statistics at ``theta`` with each of the ``n_side^3`` subvolumes left out (exact engine).

    Leaving a subvolume out is done by weight masking: the per-subhalo
    probabilities of Eq. 6 are computed once and multiplied by 0 inside the
    subvolume, then passed through the same estimators as
    ``stats.make_predictor`` -- Eq. 7 for the SMF, Eq. 11 for Delta Sigma,
    Eqs. 13-17 for w_p (one exact weighted pair count per sample and
    subvolume). A zero weight removes an object from every sum, so this
    equals ``make_predictor`` on the catalog without that subvolume (a test
    checks it), without rebuilding a predictor per subvolume.

    ``model`` (a :class:`~shaminfer.galaxy_halo.GalaxyModel`; None: SHAM
    through ``net``) gives each subhalo's kernel and population: every
    weight is multiplied by the survival probability, and a red or blue
    sample's (and colour SMF's) by P(quenched) or 1 - P(quenched), as in
    ``make_predictor``. The host structure and properties are those of the
    full catalog, so a satellite whose host lies in the left-out subvolume
    keeps its host's mass.

    Each resampling keeps the periodic box but loses a fraction ``1/K`` of its
    volume, so two leading-order corrections are applied (both common to all
    resamplings; without them the covariance would be off by about
    ``(K / (K - 1))^2``): the SMF is divided by ``(K - 1) / K`` (its volume
    normalization), and ``1 + xi`` -- hence ``w_p + 2 pi_max`` -- is
    multiplied by ``(K - 1) / K`` (the random pairs of Eq. 15 assume the full
    volume). Delta Sigma is a weighted mean and needs no correction.

    Returns
    -------
    list of ``stats.Predictions`` (numpy arrays), one per subvolume.
    """
    import jax.numpy as jnp

    from ..galaxy_halo import bind_catalog, compose, sham
    from ..stats.clustering import random_pair_counts, wp_from_pair_counts
    from ..stats.paircount import pair_counts
    from ..stats.config import ds_bin_edges
    from ..stats.lensing import delta_sigma_from_weights, merge_annuli
    from ..stats.predictions import Predictions, check_colors, population_factor
    from ..stats.smf import smf_from_weights
    from ..stats.weights import sample_weights, smf_bin_weights

    model = compose(sham(net=net)) if model is None else model
    check_colors(config, model)
    box = float(catalog.box_size)
    volume = box**3
    theta = model.as_theta(theta)
    theta = type(theta)(*[jnp.asarray(float(x)) for x in theta])
    pop = model.population(theta, bind_catalog(model, catalog))
    mu, sigma = pop.mu, pop.sigma
    smf_edges = np.asarray(config.smf_edges, dtype=np.float64)
    rp_edges = np.asarray(config.rp_edges, dtype=np.float64)
    w_smf = w_color = None
    if smf_edges.size:
        bins = smf_bin_weights(mu, sigma, smf_edges)
        w_smf = np.asarray(bins * population_factor(pop, "all"))
        w_color = [np.asarray(bins * population_factor(pop, c)) for c in config.smf_colors]
    w_s = np.asarray(sample_weights(mu, sigma, tuple(config.samples)))
    nsample = w_s.shape[0]
    if nsample:
        w_s = np.stack([w_s[k] * np.asarray(population_factor(pop, s.color)) for k, s in enumerate(config.samples)])
    pos = np.asarray(catalog.pos, dtype=np.float64)
    count_pairs = bool(rp_edges.size and nsample)
    ds_edges = ds_bin_edges(config, catalog)
    profiles = pidx = None
    if ds_edges.size and nsample:
        lens = catalog.lensing
        profiles = merge_annuli(lens.delta_sigma, lens.rbins, ds_edges)
        pidx = np.asarray(lens.index, dtype=np.int64)

    labels = subvolume_labels(catalog.pos, box, n_side)
    k_total = n_side**3
    frac = (k_total - 1) / k_total
    two_pi_max = 2.0 * float(config.pi_max)
    out = []
    for k in range(k_total):
        keep = (labels != k).astype(np.float64)
        smf = (np.asarray(smf_from_weights(w_smf * keep, smf_edges, volume)) / frac if w_smf is not None
               else np.zeros(0))
        smf_color = (np.stack([np.asarray(smf_from_weights(w * keep, smf_edges, volume)) / frac for w in w_color])
                     if w_color else np.zeros((len(config.smf_colors), smf.size)))
        ws = w_s * keep
        if count_pairs:
            # no gradients are needed here, so the numba pair count is called directly rather than through
            # the engine's pure_callback (which deadlocked in a single-CPU process)
            dds = [pair_counts(pos, ws[j], box_size=box, rp_edges=rp_edges, pi_max=float(config.pi_max),
                               los_axis=int(config.los_axis)) for j in range(nsample)]
            wp = np.stack([
                np.asarray(wp_from_pair_counts(
                    jnp.asarray(dds[j]),
                    random_pair_counts(jnp.asarray(ws[j]), rp_edges=rp_edges, pi_max=config.pi_max, box_size=box),
                    config.pi_max))
                for j in range(nsample)])
            wp = (wp + two_pi_max) * frac - two_pi_max
        else:
            wp = np.zeros((nsample, max(rp_edges.size - 1, 0)))
        if profiles is not None:
            ds = np.asarray(delta_sigma_from_weights(jnp.asarray(ws[:, pidx]), jnp.asarray(profiles)))
        else:
            ds = np.zeros((nsample, max(ds_edges.size - 1, 0)))
        out.append(Predictions(smf=smf, wp=wp, delta_sigma=ds, smf_color=smf_color))
        if log is not None and (k + 1) % max(1, k_total // 4) == 0:
            log(f"jackknife: {k + 1}/{k_total} subvolumes")
    return out


def _sample_label(s) -> str:
    if s.kind == "threshold":
        return f"log10 M* >= {s.lo:g}"
    return f"{s.lo:g} <= log10 M* < {s.hi:g}"


def term_layouts(config, catalog, terms: Sequence) -> dict:
    """:class:`TermLayout` of the built-in terms (bin centres, samples, labels, log axes)."""
    from ..stats.config import ds_bin_edges

    out = {}
    smf_edges = np.asarray(config.smf_edges, dtype=np.float64)
    rp = np.asarray(config.rp_edges, dtype=np.float64)
    rr = ds_bin_edges(config, catalog)
    for term in terms:
        kind = type(term).__name__
        if kind in ("SMFTerm", "SMFColorTerm") and smf_edges.size:
            out[term.name] = TermLayout(0.5 * (smf_edges[1:] + smf_edges[:-1]), np.zeros(smf_edges.size - 1, int),
                                        "log10 M* [Msun]", "dn/dlog10 M* [(Mpc/h)^-3 dex^-1]", False, True)
        elif kind in ("WpTerm", "DeltaSigmaTerm"):
            edges = rp if kind == "WpTerm" else rr
            centers = np.sqrt(edges[1:] * edges[:-1])
            sel = list(term.samples)
            out[term.name] = TermLayout(
                np.tile(centers, len(sel)), np.repeat(np.arange(len(sel)), centers.size),
                "r_p [Mpc/h]" if kind == "WpTerm" else "R [Mpc/h]",
                "w_p [Mpc/h]" if kind == "WpTerm" else "Delta Sigma [h Msun / pc^2]", True, True,
                tuple(_sample_label(config.samples[s]) for s in sel))
    return out
