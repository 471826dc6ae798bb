"""The end-to-end demo (``make demo``, ``shaminfer demo``) on the embedded default universe.

:func:`run_demo` writes everything under one run directory::

    OUT/mass_functions/                          the App. A subhalo mass function, the target Schechter SMF
                                                 (Eq. 3) and the App. B SMF from SHAMNet's SMHM with scatter
                                                 (csv + png; :func:`mass_function_summary`)
    OUT/mock.toml, fit_smf.toml, fit_all.toml   the configurations (rerun with the CLI)
    OUT/mock.npz                                 the mock (data, covariance, theta_true, config)
    OUT/fit_smf/, OUT/fit_all/                   posterior.nc, summary.csv, diagnostics.json,
                                                 corner.png, trace.png, ppc.png, checkpoint.npz
    OUT/compare/                                 forest.png, pair.png, summary.csv, compare.json
    OUT/demo_summary.json                        theta_true, diagnostics and timings


The universe is the package's SYNTHETIC default universe (``synthetic_universe``)
in a smaller box than its default 175 Mpc/h, so that the fits can also run
with the exact w_p engine (``engine="exact"``: one weighted pair count per
sample for every gradient). Measured on 2 shared cores: the whole demo takes
about 1 minute with the default tabulated engine, and about 5 minutes with
the exact engine at 150 warm-up steps + 250 draws per chain (2.5 times as many
iterations, as in the "full" preset, would exceed 10 minutes): see
:data:`DEMO_SIZES` for the two presets ("full" is ``make demo`` and the
recovery benchmark; "small" is for tests). theta_true is
:data:`DEMO_THETA_TRUE`. The mock is noise-free (the data equal the exact
prediction at theta_true), so the fits test for bias, and its covariance is
the jackknife covariance plus the documented diagonal regularization of
:data:`DEMO_SIZES`.
"""
from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Callable, NamedTuple

import numpy as np

from ..ingredients import ShamParams
from .atomic import atomic_path, atomic_write_text
from .compare import compare_runs
from .config import load_fit_config, load_mock_config
from .pipeline import describe, run_fit_config, run_mock, write_fit_outputs
from .toml_io import dumps_toml

__all__ = ["DEMO_THETA_TRUE", "DEMO_SIZES", "DemoSize", "demo_configs", "DemoResult", "run_demo",
           "mass_function_summary"]

#: theta_true of the demo mock: phi* = 0.005 (Mpc/h)^-3 dex^-1 and alpha = -1.07 (close to the SDSS-like
#: fiducial at the centre of SHAMNet's domain), sigma_lo = 0.35 and sigma_hi = 0.22 dex.
DEMO_THETA_TRUE = ShamParams(logphi_star=float(np.log10(0.005)), alpha=-1.07, sigma_lo=0.35, sigma_hi=0.22)


class DemoSize(NamedTuple):
    """A demo preset: catalog box, binning, jackknife and sampler sizes."""

    box_size: float
    rp_hi: float
    pi_max: float
    n_rp: int
    jackknife_n_side: int
    diag_regularization: float
    num_chains: int
    num_warmup: int
    num_samples: int
    chunk_size: int


DEMO_SIZES = {
    "full": DemoSize(box_size=40.0, rp_hi=8.0, pi_max=8.0, n_rp=6, jackknife_n_side=3, diag_regularization=0.1,
                     num_chains=4, num_warmup=400, num_samples=600, chunk_size=150),
    "small": DemoSize(box_size=25.0, rp_hi=5.0, pi_max=5.0, n_rp=3, jackknife_n_side=3, diag_regularization=0.1,
                      num_chains=2, num_warmup=30, num_samples=30, chunk_size=15),
}


def demo_configs(*, size: str = "full", engine: str = "tabulated", progress_bar: bool = True,
                 backend: str = "numpyro", shamnet: str = "") -> dict[str, dict]:
    """The demo's mock and fit configurations (TOML documents as dicts, paths relative to OUT)."""
    if size not in DEMO_SIZES:
        raise ValueError(f"size: expected one of {sorted(DEMO_SIZES)}, found {size!r}")
    p = DEMO_SIZES[size]
    mock = {
        "catalog": {"source": "synthetic", "seed": 0, "box_size": p.box_size, "logmpeak_min": 11.0,
                    "profile_logmpeak_min": 11.0},
        "stats": {
            "smf_edges": {"lo": 9.75, "hi": 11.75, "n": 8},
            "samples": [{"kind": "threshold", "lo": 10.0}, {"kind": "threshold", "lo": 10.5},
                        {"kind": "threshold", "lo": 11.0}],
            "rp_edges": {"lo": 0.3, "hi": p.rp_hi, "n": p.n_rp},
            "pi_max": p.pi_max,
            "ds_rebin": 3,
        },
        "forward": {"engine": engine, "shamnet": str(shamnet)},
        "mock": {"theta_true": dict(DEMO_THETA_TRUE._asdict()), "covariance": "jackknife",
                 "jackknife_n_side": p.jackknife_n_side, "noise": False, "noise_seed": 0,
                 "diag_regularization": p.diag_regularization, "output": "mock.npz"},
    }
    sampler = {"backend": backend, "num_chains": p.num_chains, "num_warmup": p.num_warmup,
               "num_samples": p.num_samples, "chunk_size": p.chunk_size, "seed": 0, "progress_bar": progress_bar}
    fit_smf = {"data": "mock.npz", "run_dir": "fit_smf", "terms": ["smf"], "sampler": dict(sampler)}
    fit_all = {"data": "mock.npz", "run_dir": "fit_all", "terms": ["smf", "wp", "delta_sigma"],
               "sampler": dict(sampler)}
    return {"mock": mock, "fit_smf": fit_smf, "fit_all": fit_all}


class DemoResult(NamedTuple):
    """Paths and figures of a demo run."""

    out_dir: Path
    summary: dict


def _stderr(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def run_demo(out_dir, *, size: str = "full", engine: str = "tabulated", backend: str = "numpyro",
             progress_bar: bool = True, shamnet: str = "", mass_functions: bool = True,
             log: Callable[[str], None] | None = None) -> DemoResult:
    """Run the whole demo into ``out_dir`` (see the module docstring).

    The mock is always remade (it is deterministic); a fit whose run
    directory holds a finished or interrupted run of the same configuration
    and data resumes from it, and one with a different configuration or data
    (e.g. after new SHAMNet weights) starts over.

    Parameters
    ----------
    out_dir : path
        The run directory (created).
    size : {"full", "small"}
        Preset of :data:`DEMO_SIZES`.
    engine : str
        Forward-model engine of the fits (the mock always uses the exact one).
    backend : {"numpyro", "blackjax"}
    progress_bar : bool
    shamnet : str
        Path of SHAMNet weights ("" = the shipped default).
    mass_functions : bool
        Also write ``OUT/mass_functions/`` (:func:`mass_function_summary`).
    log : callable receiving progress messages (default: stderr)

    Examples
    --------
    >>> from shaminfer.app.demo import run_demo
    >>> res = run_demo("runs/demo", size="small")          # doctest: +SKIP
    >>> res.summary["fits"]["fit_all"]["convergence"]["rhat_max"]  # doctest: +SKIP
    """
    log = _stderr if log is None else log
    out = Path(out_dir).resolve()
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    if mass_functions:
        mass_function_summary(out / "mass_functions")
    docs = demo_configs(size=size, engine=engine, progress_bar=progress_bar, backend=backend, shamnet=shamnet)
    paths = {}
    for name, doc in docs.items():
        paths[name] = out / f"{name}.toml"
        atomic_write_text(paths[name], dumps_toml(doc))
    timings = {}
    mock_cfg = load_mock_config(paths["mock"])
    t = time.perf_counter()
    run_mock(mock_cfg, log=log)
    timings["mock"] = time.perf_counter() - t
    fits = {}
    for name in ("fit_smf", "fit_all"):
        t = time.perf_counter()
        cfg = load_fit_config(paths[name])
        result = run_fit_config(cfg, log=log, restart="if_changed")
        outputs = write_fit_outputs(result)
        log(f"demo: {name}\n{describe(outputs)}")
        timings[name] = time.perf_counter() - t
        fits[name] = {"terms": list(cfg.terms), "convergence": outputs.convergence._asdict(),
                      "coverage_95": outputs.coverage, "run_dir": str(cfg.run_dir),
                      "means": {k: float(np.asarray(result.idata.posterior[k]).mean()) for k in ShamParams._fields}}
    t = time.perf_counter()
    cmp = compare_runs([out / "fit_smf", out / "fit_all"], out / "compare", names=["SMF only", "SMF + wp + DS"])
    timings["compare"] = time.perf_counter() - t
    timings["total"] = time.perf_counter() - t0
    summary = {"size": size, "engine": engine, "backend": backend, "theta_true": dict(DEMO_THETA_TRUE._asdict()),
               "fits": fits, "loo": cmp.loo_reason or "computed", "seconds": timings,
               "files": {k: str(v) for k, v in cmp.files.items()}}
    atomic_write_text(out / "demo_summary.json", json.dumps(summary, indent=1, sort_keys=True) + "\n")
    log(f"demo: done in {timings['total']:.0f} s; outputs in {out}")
    return DemoResult(out, summary)


def mass_function_summary(out_dir) -> dict:
    """Compute, print, tabulate and plot the demo's mass functions at the default theta.

    Parameters
    ----------
    out_dir : path
        Folder (created) for ``mass_functions.csv``, ``subhalo_mass_function.csv`` and ``mass_functions.png``.

    Returns
    -------
    dict
        Column name -> array of ``mass_functions.csv`` (log10 M* [Msun], SMFs in (Mpc/h)^-3 dex^-1).
    """
    import jax.numpy as jnp

    from ..ingredients import (
        DEFAULT_SHAM_PARAMS,
        DEFAULT_SHMF_PARAMS,
        DEFAULT_SMHM_PARAMS,
        ScatterParams,
        analytic_smf,
        cumulative_shmf,
        differential_shmf,
        scatter_dex,
        scatter_of,
        schechter_of,
        schechter_smf,
        three_roll_smhm,
    )
    from ..shamnet import load_kernel, predict_logsm

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    theta = DEFAULT_SHAM_PARAMS
    logmh = jnp.linspace(10.0, 15.5, 56)
    logsm = jnp.linspace(9.0, 12.0, 61)
    cum = lambda m: cumulative_shmf(DEFAULT_SHMF_PARAMS, m)
    kernel = load_kernel()
    target = schechter_smf(schechter_of(theta), logsm)
    shamnet_smf = analytic_smf(
        lambda m: predict_logsm(theta, m), lambda m: scatter_dex(scatter_of(theta), m), cum, logsm, kernel=kernel
    )
    scatters = (0.0001, 0.2, 0.4)
    three_roll = [
        analytic_smf(
            lambda m: three_roll_smhm(DEFAULT_SMHM_PARAMS, m), lambda m, s=s: scatter_dex(ScatterParams(s, s), m), cum, logsm
        )
        for s in scatters
    ]
    cols = {
        "logsm": logsm,
        "phi_target_schechter": target,
        "phi_shamnet_with_scatter": shamnet_smf,
        **{f"phi_three_roll_sigma{s:g}": p for s, p in zip(scatters, three_roll)},
    }
    table = np.column_stack([np.asarray(v) for v in cols.values()])
    _atomic_savetxt(out / "mass_functions.csv", table, header=",".join(cols))
    shmf_table = np.column_stack([np.asarray(logmh), np.asarray(cum(logmh)), np.asarray(differential_shmf(DEFAULT_SHMF_PARAMS, logmh))])
    _atomic_savetxt(out / "subhalo_mass_function.csv", shmf_table, header="logmpeak,N_cumulative,dn_dlogmpeak")

    resid = np.log10(np.asarray(shamnet_smf) / np.asarray(target))
    print(f"theta = {dict(theta._asdict())}")
    print("log10 Mpeak   N(>Mpeak) [(Mpc/h)^-3]")
    for m, n in zip(np.asarray(logmh)[::10], np.asarray(cum(logmh))[::10]):
        print(f"  {m:6.2f}      {n:.3e}")
    print("log10 M*   target SMF   SHAMNet SMF   log10 ratio")
    for i in range(0, len(logsm), 10):
        print(f"  {float(logsm[i]):5.2f}    {float(target[i]):.3e}    {float(shamnet_smf[i]):.3e}    {resid[i]:+.4f}")
    print(f"SHAMNet SMF vs target: max |log10 ratio| = {np.max(np.abs(resid)):.4f} dex over 9 < log10 M* < 12")
    _plot(out / "mass_functions.png", logmh, cum(logmh), logsm, target, shamnet_smf, scatters, three_roll)
    print(f"wrote {out / 'mass_functions.csv'}, {out / 'subhalo_mass_function.csv'}, {out / 'mass_functions.png'}")
    return cols


def _atomic_savetxt(path: Path, table, *, header: str) -> None:
    import io

    buf = io.StringIO()
    np.savetxt(buf, table, delimiter=",", header=header, comments="")
    atomic_write_text(path, buf.getvalue())


def _plot(path, logmh, cum, logsm, target, shamnet_smf, scatters, three_roll) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(1, 2, figsize=(10, 4))
    ax[0].semilogy(np.asarray(logmh), np.asarray(cum))
    ax[0].set_xlabel(r"$\log_{10} M_{\rm peak}\ [M_\odot/h]$")
    ax[0].set_ylabel(r"$N(>M_{\rm peak})\ [(h^{-1}{\rm Mpc})^{-3}]$")
    ax[0].set_title("Subhalo mass function (App. A)")
    ax[1].semilogy(np.asarray(logsm), np.asarray(target), "k-", lw=2, label="target Schechter (Eq. 3)")
    ax[1].semilogy(np.asarray(logsm), np.asarray(shamnet_smf), "C3--", label="SHAMNet SMHM + scatter (App. B)")
    for s, p in zip(scatters, three_roll):
        ax[1].semilogy(np.asarray(logsm), np.asarray(p), lw=1, alpha=0.8, label=rf"three-roll SMHM, $\sigma$={s:g}")
    ax[1].set_ylim(1e-8, 1e-1)
    ax[1].set_xlabel(r"$\log_{10} M_\star\ [M_\odot]$")
    ax[1].set_ylabel(r"$\phi(M_\star)$ [dex$^{-1}$ vol$^{-1}$]")
    ax[1].legend(fontsize=7)
    ax[1].set_title("Stellar mass functions")
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=110)
    plt.close(fig)
