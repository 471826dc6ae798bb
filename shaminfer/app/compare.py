"""Compare fits: a forest plot, an overlaid corner plot, and a PSIS-LOO table when it applies.

``az.compare`` ranks models by their expected log predictive density on the
*same* data, so the LOO table is only computed when every run has the same
likelihood terms with the same observed data; otherwise (e.g. SMF-only
against SMF + w_p + Delta Sigma) it is skipped with the reason. For LOO the
pointwise log-likelihoods of all terms are concatenated into one variable
(each is the leave-one-out conditional density of a correlated Gaussian, see
:mod:`shaminfer.inference.terms`).
"""
from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import NamedTuple, Sequence

import numpy as np

from .atomic import atomic_write_text
from ..inference.diagnostics import convergence
from .fit import load_posterior
from ..inference.inference_data import import_arviz
from .plots import corner_plot, forest_plot
from ..inference.priors import THETA_NAMES

__all__ = ["CompareResult", "compare_runs", "loo_compatible", "combined_loglik"]


class CompareResult(NamedTuple):
    """Outputs of :func:`compare_runs`.

    Attributes
    ----------
    files : dict
        Written paths.
    summary : pandas.DataFrame
        Mean and sd per run.
    loo : pandas.DataFrame or None
        ``az.compare``'s PSIS-LOO table.
    loo_reason : str
        Why the LOO table was skipped (``""`` if not).
    """

    files: dict
    summary: object
    loo: object
    loo_reason: str


def loo_compatible(idatas: Sequence) -> tuple[bool, str]:
    """Whether the runs' log-likelihoods match (same terms, same observed data)."""
    ref = idatas[0]
    ref_vars = sorted(ref.observed_data.data_vars)
    for k, d in enumerate(idatas[1:], start=1):
        vars_k = sorted(d.observed_data.data_vars)
        if vars_k != ref_vars:
            return False, (f"run {k} has likelihood terms {[v[4:] for v in vars_k]} but run 0 has "
                           f"{[v[4:] for v in ref_vars]}; LOO compares models on the same data")
        for v in ref_vars:
            a, b = np.asarray(ref.observed_data[v]), np.asarray(d.observed_data[v])
            if a.shape != b.shape or not np.array_equal(a, b):
                return False, f"run {k} has different observed data for {v}"
    return True, ""


def combined_loglik(idata):
    """Copy of ``idata`` whose ``log_likelihood`` is one variable ``obs`` (all terms concatenated)."""
    az = import_arviz()
    ll = idata.log_likelihood
    parts = [np.asarray(ll[v]).reshape(ll.sizes["chain"], ll.sizes["draw"], -1) for v in sorted(ll.data_vars)]
    return az.from_dict(
        posterior={k: np.asarray(idata.posterior[k]) for k in THETA_NAMES},
        log_likelihood={"obs": np.concatenate(parts, axis=-1)},
    )


def compare_runs(run_dirs: Sequence[str | Path], out_dir: str | Path, *, names: Sequence[str] | None = None,
                 log=print) -> CompareResult:
    """Compare the posteriors of several runs and write the figures and tables to ``out_dir``.

    Writes ``forest.png``, ``pair.png`` (overlaid corner plot), ``summary.csv``
    (posterior mean and sd of theta per run, with R-hat and divergences) and,
    when the log-likelihoods match, ``loo.csv`` from ``az.compare``.

    Parameters
    ----------
    run_dirs : sequence of paths
        Run directories (or ``posterior.nc`` files); at least two.
    out_dir : path
    names : run labels (default: the directory names)
    log : callable receiving messages
    """
    import pandas as pd

    az = import_arviz()
    if len(run_dirs) < 2:
        raise ValueError(f"compare: expected at least 2 runs, found {len(run_dirs)}")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    idatas = [load_posterior(r) for r in run_dirs]
    if names is None:
        names = [Path(r).name if Path(r).is_dir() else Path(r).parent.name for r in run_dirs]
    names = list(names)
    if len(set(names)) != len(names):
        names = [f"{n} ({i})" for i, n in enumerate(names)]
    truths = None
    raw = idatas[0].attrs.get("theta_true")
    if raw is not None and np.all(np.isfinite(np.asarray(raw, dtype=float))):
        truths = np.asarray(raw, dtype=float)
    files = {
        "forest": forest_plot(idatas, names, out_dir / "forest.png", truths=truths),
        "pair": corner_plot(idatas, out_dir / "pair.png", labels=names, truths=truths),
    }
    rows = []
    for name, d in zip(names, idatas):
        conv = convergence(d)
        row = {"run": name, "terms": d.attrs.get("term_names", ""), "backend": d.attrs.get("backend", ""),
               "rhat_max": conv.rhat_max, "ess_bulk_min": conv.ess_bulk_min, "divergences": conv.divergences}
        for k in THETA_NAMES:
            x = np.asarray(d.posterior[k]).ravel()
            row[f"{k}_mean"], row[f"{k}_sd"] = float(x.mean()), float(x.std(ddof=1))
        rows.append(row)
    summary = pd.DataFrame(rows).set_index("run")
    atomic_write_text(out_dir / "summary.csv", summary.to_csv())
    files["summary"] = out_dir / "summary.csv"
    ok, reason = loo_compatible(idatas)
    loo = None
    if ok:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # PSIS k-hat warnings are reported in the table
            warnings.simplefilter("ignore", FutureWarning)  # pandas deprecations inside ArviZ 0.23
            warnings.simplefilter("ignore", DeprecationWarning)
            loo = az.compare({n: combined_loglik(d) for n, d in zip(names, idatas)}, ic="loo")
        atomic_write_text(out_dir / "loo.csv", loo.to_csv())
        files["loo"] = out_dir / "loo.csv"
    atomic_write_text(out_dir / "compare.json", json.dumps(
        {"runs": [str(r) for r in run_dirs], "names": names, "loo": bool(ok), "loo_reason": reason}, indent=1))
    files["json"] = out_dir / "compare.json"
    return CompareResult(files, summary, loo, reason)
