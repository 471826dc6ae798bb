"""The shell behind ``shaminfer mock`` and ``shaminfer fit``: configuration in, files out.

:func:`run_mock` builds the catalog, statistics and SHAMNet named in a
:class:`~.config.MockConfig`, makes the mock at theta_true and saves it;
:func:`run_fit_config` rebuilds the same forward model from the data file's
stored configuration, makes the likelihood terms and the prior, runs (or
resumes) NUTS, and :func:`write_fit_outputs` writes ``summary.csv`` and the
figures of the run.
"""
from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Callable, NamedTuple

import numpy as np

from ..ingredients import ShamParams
from .atomic import atomic_write_text, json_dumps
from .config import TERM_KINDS, FitConfig, MockConfig
from ..inference.diagnostics import Convergence, convergence, format_convergence, theta_summary, truth_coverage
from .fit import FitResult, run_fit
from .forward import build_catalog, build_predictor, build_stats_config, jackknife_predictions, load_net, term_layouts
from ..inference.mock import MockData, make_mock, mock_terms
from .mock_io import load_covariance_file, load_mock, save_mock
from ..inference.model import build_model
from .plots import corner_plot, ppc_plot, trace_plot
from ..inference.priors import ThetaPrior, box_prior, domain_prior, prior_contains, shamnet_domain

__all__ = ["run_mock", "prior_from_config", "run_fit_config", "FitOutputs", "write_fit_outputs"]


def _stderr(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def run_mock(cfg: MockConfig, *, log: Callable[[str], None] | None = None) -> MockData:
    """Make the mock described by ``cfg`` and save it to ``cfg.output``.

    Raises
    ------
    ValueError
        If theta_true lies outside SHAMNet's training domain, the statistics
        configuration does not fit the catalog, or the covariance is not
        symmetric positive definite.
    """
    from ..shamnet import check_theta_in_domain

    log = _stderr if log is None else log
    t0 = time.perf_counter()
    net = load_net(cfg.forward)
    try:
        check_theta_in_domain(cfg.theta_true, net=net)
    except ValueError as exc:
        raise ValueError(f"mock.theta_true: {exc}") from None
    cov = None if cfg.covariance == "jackknife" else load_covariance_file(cfg.covariance)
    cfg.output.parent.mkdir(parents=True, exist_ok=True)
    catalog = build_catalog(cfg.catalog)
    log(f"mock: catalog {catalog!r}")
    stats_config = build_stats_config(cfg.stats, catalog)
    # The mock is always computed with the exact engine; forward.engine is what fits use by default.
    predictor = build_predictor(catalog, stats_config, {**cfg.forward, "engine": "exact"}, net=net)
    jk = None
    if cov is None:
        log(f"mock: jackknife covariance from {cfg.jackknife_n_side ** 3} subvolumes")
        jk = jackknife_predictions(catalog, stats_config, cfg.theta_true, n_side=cfg.jackknife_n_side, net=net,
                                   log=log)
    mock = make_mock(predictor, cfg.theta_true, jackknife_predictions=jk, covariance=cov, noise=cfg.noise,
                     noise_seed=cfg.noise_seed, diag_regularization=cfg.diag_regularization, config=cfg.to_dict())
    save_mock(cfg.output, mock)
    log(f"mock: wrote {cfg.output} ({time.perf_counter() - t0:.1f} s)")
    return mock


def prior_from_config(prior_cfg: dict, *, net) -> ThetaPrior:
    """The prior of a ``[prior]`` table: SHAMNet's domain box, or a user box checked against the domain."""
    if prior_cfg.get("kind", "domain") == "box":
        lo = {k: float(v) for k, v in prior_cfg["lo"].items()}
        hi = {k: float(v) for k, v in prior_cfg["hi"].items()}
        return box_prior(lo, hi, domain=shamnet_domain(net))
    return domain_prior(net=net, margin=float(prior_cfg.get("margin", 0.02)))


def run_fit_config(cfg: FitConfig, *, restart: bool | str = False, max_chunks: int | None = None,
                   log: Callable[[str], None] | None = None) -> FitResult:
    """Fit the data file of ``cfg`` (resuming from ``cfg.run_dir`` when possible).

    ``restart`` is passed to :func:`.fit.run_fit` (False, True or "if_changed").
    """
    log = _stderr if log is None else log
    mock = load_mock(cfg.data)
    mock_cfg = mock.config
    for key in ("catalog", "stats"):
        if key not in mock_cfg:
            raise ValueError(f"{cfg.data}: expected the forward-model configuration '{key}' in config_json, "
                             "found none (write data files with `shaminfer mock` or save_mock)")
    forward_cfg = {**mock_cfg.get("forward", {}), **cfg.forward}
    net = load_net(forward_cfg)
    # everything checkable without the catalog first: the prior against the domain, the terms against the data
    prior = prior_from_config(cfg.prior, net=net)
    present = tuple(name for name in TERM_KINDS if getattr(mock, name).size)
    missing = [name for name in cfg.terms if name not in present]
    if missing:
        raise ValueError(f"{cfg.source}: key 'terms': the data file {cfg.data.name} has no {missing} "
                         f"(it holds {list(present)})")
    cfg = cfg._replace(terms=cfg.terms or present)
    terms = mock_terms(mock, cfg.terms, wp_samples=cfg.wp_samples or None,
                       delta_sigma_samples=cfg.delta_sigma_samples or None, **cfg.likelihood)
    catalog = build_catalog(mock_cfg["catalog"])
    stats_config = build_stats_config(mock_cfg["stats"], catalog)
    predictor = build_predictor(catalog, stats_config, forward_cfg, net=net, terms=cfg.terms)
    model = build_model(predictor, terms, prior, domain=shamnet_domain(net))
    attrs = {"data_file": str(cfg.data)}
    if mock.theta_true is not None:
        attrs["theta_true"] = np.asarray(mock.theta_true, dtype=np.float64)
        if not prior_contains(prior, mock.theta_true):
            log("warning: theta_true of the mock lies outside the prior")
    config = {"fit": cfg.to_dict(), "forward": forward_cfg, "data_config": mock_cfg}
    config["fit"]["sampler"] = {k: v for k, v in config["fit"]["sampler"].items()
                                if k not in ("num_samples", "chunk_size", "progress_bar")}
    config["fit"].pop("output", None)
    return run_fit(model, cfg.sampler, cfg.run_dir, config=config, attrs=attrs,
                   layouts=term_layouts(stats_config, catalog, terms), restart=restart, max_chunks=max_chunks,
                   log=log)


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
    truth = idata.attrs.get("theta_true")
    coverage = None
    if truth is not None:
        truth = ShamParams(*np.asarray(truth, dtype=np.float64))
        coverage = truth_coverage(idata, truth)
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
        lines.append(f"truth inside the central 95% interval: {inside}/4 "
                     + " ".join(f"{k}={'yes' if v else 'NO'}" for k, v in outputs.coverage.items()))
    return "\n".join(lines)
