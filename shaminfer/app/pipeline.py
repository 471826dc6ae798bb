"""The shell behind ``shaminfer mock`` and ``shaminfer fit``: configuration in, files out.

:func:`run_mock` builds the catalog, statistics, SHAMNet and galaxy-halo
model named in a :class:`~.config.MockConfig`, makes the mock at theta_true
and saves it; :func:`run_fit_config` rebuilds the same forward model from the
data file's stored configuration (the fit's ``[model]`` may replace the
model), makes the likelihood terms and the prior, runs (or resumes) NUTS, and
:func:`write_fit_outputs` writes ``summary.csv`` and the figures of the run.
The theta_true of a run is stored by the prior's parameter names.
"""
from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Callable, NamedTuple

import numpy as np

from . import model_config as mc
from ._config_checks import Refused
from .atomic import atomic_write_text, json_dumps
from .config import TERM_KINDS, ConfigError, FitConfig, MockConfig
from ..inference.diagnostics import (Convergence, convergence, format_convergence, stored_truth, theta_summary,
                                     truth_coverage)
from .fit import FitResult, run_fit
from .forward import build_catalog, build_predictor, build_stats_config, jackknife_predictions, load_net, term_layouts
from ..inference.mock import MockData, make_mock, mock_terms
from .mock_io import load_covariance_file, load_mock, save_mock
from ..inference.model import build_model
from ..inference.model_prior import fit_blocks, model_prior
from ..inference.model_terms import with_shear_bias
from .plots import corner_plot, ppc_plot, trace_plot
from ..inference.priors import ThetaPrior, box_prior, domain_prior, prior_contains, shamnet_domain

__all__ = ["run_mock", "prior_from_config", "fit_model_table", "PreparedFit", "prepare_fit", "run_fit_config",
           "FitOutputs", "write_fit_outputs"]


def _stderr(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def run_mock(cfg: MockConfig, *, log: Callable[[str], None] | None = None) -> MockData:
    """Make the mock described by ``cfg`` and save it to ``cfg.output``.

    Raises
    ------
    ValueError
        If theta_true lies outside SHAMNet's training domain (or its blocks'
        bounds), the catalog lacks what the model reads, the statistics
        configuration does not fit the catalog, or the covariance is not
        symmetric positive definite.
    """
    log = _stderr if log is None else log
    t0 = time.perf_counter()
    net = load_net(cfg.forward)
    galaxy = mc.galaxy_model(cfg.model, net=net)
    try:
        galaxy.check_theta(cfg.theta_true)
    except ValueError as exc:
        raise ValueError(f"mock.theta_true: {exc}") from None
    cov = None if cfg.covariance == "jackknife" else load_covariance_file(cfg.covariance)
    cfg.output.parent.mkdir(parents=True, exist_ok=True)
    catalog = build_catalog(cfg.catalog)
    log(f"mock: catalog {catalog!r}")
    _bind(catalog, galaxy, where=cfg.source)
    stats_config = build_stats_config(cfg.stats, catalog)
    model = None if mc.is_sham(cfg.model) else galaxy
    # The mock is always computed with the exact engine; forward.engine is what fits use by default.
    predictor = build_predictor(catalog, stats_config, {**cfg.forward, "engine": "exact"}, net=net, model=model)
    jk = None
    if cov is None:
        log(f"mock: jackknife covariance from {cfg.jackknife_n_side ** 3} subvolumes")
        jk = jackknife_predictions(catalog, stats_config, cfg.theta_true, n_side=cfg.jackknife_n_side, net=net,
                                   model=galaxy, log=log)
    mock = make_mock(predictor, cfg.theta_true, jackknife_predictions=jk, covariance=cov, noise=cfg.noise,
                     noise_seed=cfg.noise_seed, diag_regularization=cfg.diag_regularization, config=cfg.to_dict())
    save_mock(cfg.output, mock)
    log(f"mock: wrote {cfg.output} ({time.perf_counter() - t0:.1f} s)")
    return mock


def _bind(catalog, galaxy, *, where: str) -> None:
    """Refuse, before any statistic, a catalog lacking the host structure or a property the model reads."""
    try:
        mc.check_catalog_binds(catalog, galaxy)
    except Refused as exc:
        raise ConfigError(f"{where}: {exc}") from None


def prior_from_config(prior_cfg: dict, *, net, blocks=None) -> ThetaPrior:
    """The prior of a ``[prior]`` table over the fit's parameter ``blocks`` (default: SHAM's alone).

    SHAM's block lies on SHAMNet's training box shrunk by ``margin``
    (``kind = "domain"``), or on the user's box checked against the domain
    (``"box"``); every other block on its default prior range, with
    ``kind = "model"``'s per-field ranges replacing single fields
    (:func:`.model_config.prior_ranges`, :func:`~shaminfer.inference.model_prior`).
    SHAM alone with ``"domain"`` or ``"box"`` is the four-parameter prior it always was.
    """
    from ..inference.priors import THETA_NAMES

    kind = prior_cfg.get("kind", "domain")
    blocks = None if blocks is None else tuple(blocks)
    has_sham = blocks is None or any(b.fields == THETA_NAMES for b in blocks)
    if kind == "box" and not has_sham:
        raise ValueError(f"prior.kind: \"box\" is a box on SHAM's four parameters, found the parameters "
                         f"{[f for b in blocks for f in b.fields]}; use kind = \"model\" with prior.lo / prior.hi")
    sham_prior = None
    if has_sham:
        if kind == "box":
            lo = {k: float(v) for k, v in prior_cfg["lo"].items()}
            hi = {k: float(v) for k, v in prior_cfg["hi"].items()}
            sham_prior = box_prior(lo, hi, domain=shamnet_domain(net))
        else:
            sham_prior = domain_prior(net=net, margin=float(prior_cfg.get("margin", 0.02)))
    if kind != "model" and (blocks is None or [b.fields for b in blocks] == [THETA_NAMES]):
        return sham_prior
    ranges = mc.prior_ranges(prior_cfg, blocks) if kind == "model" else {}
    return model_prior(blocks, ranges=ranges, sham_prior=sham_prior, net=net)


def fit_model_table(cfg: FitConfig, data_config: dict) -> dict:
    """The ``[model]`` table of a fit: the fit's own, else the data file's (its proxy, scatter and quenching
    replaced when given)."""
    if cfg.model.get("components"):
        return mc.check_model_table(cfg.model)
    base = dict(mc.DEFAULT_MODEL, **data_config.get("model", {}))
    for key in ("disruption_proxy", "scatter", "quenching"):
        if cfg.model.get(key):
            base[key] = cfg.model[key]
    return mc.check_model_table(base)


class _ModelTheta(NamedTuple):
    """The forward model of a fit whose theta carries nuisance parameters: reads the model's fields by name."""

    predictor: Callable
    model: object

    def __call__(self, theta):
        return self.predictor(self.model.as_theta(theta))


def _truth_attrs(mock_theta, names: tuple) -> dict:
    """``theta_true`` by the prior's ``names`` (NaN for a parameter the data file does not know)."""
    if mock_theta is None:
        return {}
    known = dict(zip(mock_theta._fields, (float(x) for x in mock_theta)))
    if not any(n in known for n in names):
        return {}
    return {"theta_true": np.asarray([known.get(n, np.nan) for n in names], dtype=np.float64)}


class PreparedFit(NamedTuple):
    """Everything :func:`.fit.run_fit` takes for a fit configuration (:func:`prepare_fit`)."""

    model: object
    settings: object
    run_dir: Path
    config: dict
    attrs: dict
    layouts: dict


def run_fit_config(cfg: FitConfig, *, restart: bool | str = False, max_chunks: int | None = None,
                   log: Callable[[str], None] | None = None) -> FitResult:
    """Fit the data file of ``cfg`` (resuming from ``cfg.run_dir`` when possible).

    ``restart`` is passed to :func:`.fit.run_fit` (False, True or "if_changed").
    """
    log = _stderr if log is None else log
    fit = prepare_fit(cfg, log=log)
    return run_fit(fit.model, fit.settings, fit.run_dir, config=fit.config, attrs=fit.attrs, layouts=fit.layouts,
                   restart=restart, max_chunks=max_chunks, log=log)


def prepare_fit(cfg: FitConfig, *, log: Callable[[str], None] | None = None) -> PreparedFit:
    """The model (forward model, terms, prior), attrs and plot layouts of a fit configuration; no sampling.

    Everything checkable without the catalog -- the model, the prior, the
    terms against the data file, the colours and the engine against the
    model -- is checked before the catalog is built. theta_true (attr) is
    stored by the prior's parameter names.
    """
    log = _stderr if log is None else log
    mock = load_mock(cfg.data)
    mock_cfg = mock.config
    for key in ("catalog", "stats"):
        if key not in mock_cfg:
            raise ValueError(f"{cfg.data}: expected the forward-model configuration '{key}' in config_json, "
                             "found none (write data files with `shaminfer mock` or save_mock)")
    forward_cfg = {**mock_cfg.get("forward", {}), **cfg.forward}
    present = tuple(name for name in TERM_KINDS if getattr(mock, name).size)
    missing = [name for name in cfg.terms if name not in present]
    if missing:
        raise ValueError(f"{cfg.source}: key 'terms': the data file {cfg.data.name} has no {missing} "
                         f"(it holds {list(present)})")
    cfg = cfg._replace(terms=cfg.terms or present)
    if cfg.shear_bias and "delta_sigma" not in cfg.terms:
        raise ConfigError(f"{cfg.source}: key 'likelihood.shear_bias': scales the delta_sigma term, found terms = "
                          f"{list(cfg.terms)}")
    stats_cfg = dict(mock_cfg["stats"])
    if "smf_color" not in cfg.terms:
        stats_cfg["smf_colors"] = []
    if "wp" not in cfg.terms and "delta_sigma" not in cfg.terms:
        stats_cfg["samples"] = []
    try:
        model_cfg = fit_model_table(cfg, mock_cfg)
        mc.check_colors(stats_cfg, model_cfg, origin=f"the data file {cfg.data.name}")
        mc.check_engine(forward_cfg.get("engine", "exact"), model_cfg, stats_cfg)
        mc.check_prior_table(cfg.prior, model_cfg, shear_bias=cfg.shear_bias)
    except Refused as exc:
        raise ConfigError(f"{cfg.source}: {exc}") from None
    net = load_net(forward_cfg)
    galaxy = mc.galaxy_model(model_cfg, net=net)
    terms = mock_terms(mock, cfg.terms, wp_samples=cfg.wp_samples or None,
                       delta_sigma_samples=cfg.delta_sigma_samples or None,
                       color_names=mock_cfg["stats"].get("smf_colors") or None, **cfg.likelihood)
    if cfg.shear_bias:
        terms = [with_shear_bias(t) if t.name == "delta_sigma" else t for t in terms]
    # everything checkable without the catalog first: the prior against the domain and the blocks
    try:
        prior = prior_from_config(cfg.prior, net=net, blocks=fit_blocks(galaxy, terms))
    except Refused as exc:
        raise ConfigError(f"{cfg.source}: {exc}") from None
    catalog = build_catalog(mock_cfg["catalog"])
    _bind(catalog, galaxy, where=cfg.source)
    stats_config = build_stats_config(mock_cfg["stats"], catalog)
    predictor = build_predictor(catalog, stats_config, forward_cfg, net=net, terms=cfg.terms,
                                model=None if mc.is_sham(model_cfg) else galaxy)
    if tuple(prior.names) != tuple(galaxy.fields):
        predictor = _ModelTheta(predictor, galaxy)
    model = build_model(predictor, terms, prior, domain=shamnet_domain(net))
    attrs = {"data_file": str(cfg.data), **_truth_attrs(mock.theta_true, tuple(prior.names))}
    if mock.theta_true is not None:
        if tuple(mock.theta_true._fields) == tuple(prior.names) and not prior_contains(prior, mock.theta_true):
            log("warning: theta_true of the mock lies outside the prior")
    config = {"fit": cfg.to_dict(), "forward": forward_cfg, "data_config": mock_cfg}
    config["fit"]["sampler"] = {k: v for k, v in config["fit"]["sampler"].items()
                                if k not in ("num_samples", "chunk_size", "progress_bar")}
    config["fit"].pop("output", None)
    return PreparedFit(model, cfg.sampler, cfg.run_dir, config, attrs, term_layouts(stats_config, catalog, terms))


class FitOutputs(NamedTuple):
    """What :func:`write_fit_outputs` wrote and measured."""

    files: dict
    convergence: Convergence
    summary: object
    coverage: dict | None


def write_fit_outputs(result: FitResult, *, plots: bool = True) -> FitOutputs:
    """Write ``summary.csv`` (``az.summary`` of theta) and the corner, trace and PPC figures."""
    idata = result.idata
    run_dir = Path(result.run_dir)
    summary = theta_summary(idata)
    atomic_write_text(run_dir / "summary.csv", summary.to_csv())
    files = {"posterior": run_dir / "posterior.nc", "summary": run_dir / "summary.csv"}
    conv = convergence(idata)
    truth = stored_truth(idata)
    coverage = truth_coverage(idata, truth) if truth else None
    truth = truth or None
    if plots:
        files["corner"] = corner_plot([idata], run_dir / "corner.png", labels=[run_dir.name], truths=truth)
        files["trace"] = trace_plot(idata, run_dir / "trace.png")
        files["ppc"] = ppc_plot(idata, run_dir / "ppc.png")
    report = {"convergence": conv._asdict(), "coverage_95": coverage, "complete": bool(result.complete),
              "seconds": {"warmup": float(idata.attrs.get("warmup_seconds", 0.0)),
                          "sampling": float(idata.attrs.get("sampling_seconds", 0.0))}}
    atomic_write_text(run_dir / "diagnostics.json", json_dumps(report) + "\n")
    files["diagnostics"] = run_dir / "diagnostics.json"
    return FitOutputs(files, conv, summary, coverage)


def describe(outputs: FitOutputs) -> str:
    """Multi-line text for the terminal: the summary table and the headline diagnostics."""
    lines = [outputs.summary.to_string(), format_convergence(outputs.convergence)]
    if outputs.coverage is not None:
        inside = sum(outputs.coverage.values())
        lines.append(f"truth inside the central 95% interval: {inside}/{len(outputs.coverage)} "
                     + " ".join(f"{k}={'yes' if v else 'NO'}" for k, v in outputs.coverage.items()))
    return "\n".join(lines)
