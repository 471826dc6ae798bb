"""Compare fits: a forest plot, an overlaid corner plot, and a PSIS-LOO table when it applies.

``az.compare`` ranks models by their expected log predictive density on the
*same* data, so the LOO table is only computed when every run has the same
likelihood terms with the same observed data; otherwise (e.g. SMF-only
against SMF + w_p + Delta Sigma) it is skipped with the reason. For LOO the
pointwise log-likelihoods of all terms are concatenated into one variable
(each is the leave-one-out conditional density of a correlated Gaussian, see
:mod:`shaminfer.inference.terms`).

A run whose fit stopped early (``posterior.nc`` attrs ``complete == 0``, e.g.
50 of 400 draws) is labelled in every output (``name (partial: 50/400
draws)``), and the LOO table is skipped with the reason unless
``allow_partial=True``: a ranking by LOO of a few unconverged draws would be
read as a result.
"""
from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import NamedTuple, Sequence

import numpy as np

from .atomic import atomic_write_text
from ..inference.diagnostics import convergence, parameter_names, stored_truth
from .fit import load_posterior
from ..inference.inference_data import import_arviz
from .plots import corner_plot, forest_plot

__all__ = ["CompareResult", "compare_runs", "loo_compatible", "combined_loglik", "run_progress"]


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


def run_progress(idata) -> tuple[bool, int, int | None]:
    """``(complete, draws_done, num_samples)`` of a run from its attrs (num_samples None when unknown).

    Posteriors written before the attrs existed count as complete.
    """
    attrs = idata.attrs
    done = int(attrs.get("draws_done", idata.posterior.sizes.get("draw", 0)))
    try:
        target = int(json.loads(attrs["sampler_json"])["num_samples"])
    except (KeyError, TypeError, ValueError):
        target = None
    return bool(int(attrs.get("complete", 1))), done, target


def combined_loglik(idata):
    """Copy of ``idata`` whose ``log_likelihood`` is one variable ``obs`` (all terms concatenated)."""
    az = import_arviz()
    ll = idata.log_likelihood
    parts = [np.asarray(ll[v]).reshape(ll.sizes["chain"], ll.sizes["draw"], -1) for v in sorted(ll.data_vars)]
    return az.from_dict(
        posterior={k: np.asarray(idata.posterior[k]) for k in parameter_names(idata)},
        log_likelihood={"obs": np.concatenate(parts, axis=-1)},
    )


def compare_runs(run_dirs: Sequence[str | Path], out_dir: str | Path, *, names: Sequence[str] | None = None,
                 allow_partial: bool = False, log=print) -> CompareResult:
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
    allow_partial : bool
        Compute the LOO table even when a run is incomplete (its label says
        so). By default such a table is skipped, with the reason naming the run.
    log : callable receiving messages

    Examples
    --------
    >>> res = compare_runs(["runs/fit_smf", "runs/fit_all"], "runs/compare")  # doctest: +SKIP
    >>> res.loo_reason  # doctest: +SKIP
    "run 1 has likelihood terms ['smf'] but run 0 has ['delta_sigma', 'smf', 'wp']; ..."
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
    partial = []
    for i, d in enumerate(idatas):
        complete, done, target = run_progress(d)
        if not complete:
            names[i] = f"{names[i]} (partial: {done}/{target if target is not None else '?'} draws)"
            partial.append(names[i])
    truths = stored_truth(idatas[0]) or None  # by parameter name: runs may have different parameters
    files = {
        "forest": forest_plot(idatas, names, out_dir / "forest.png", truths=truths),
        "pair": corner_plot(idatas, out_dir / "pair.png", labels=names, truths=truths),
    }
    rows = []
    for name, d in zip(names, idatas):
        conv = convergence(d)
        complete, done, _ = run_progress(d)
        row = {"run": name, "terms": d.attrs.get("term_names", ""), "backend": d.attrs.get("backend", ""),
               "complete": complete, "draws": done,
               "rhat_max": conv.rhat_max, "ess_bulk_min": conv.ess_bulk_min, "divergences": conv.divergences}
        for k in parameter_names(d):
            x = np.asarray(d.posterior[k]).ravel()
            row[f"{k}_mean"], row[f"{k}_sd"] = float(x.mean()), float(x.std(ddof=1))
        rows.append(row)
    summary = pd.DataFrame(rows).set_index("run")
    atomic_write_text(out_dir / "summary.csv", summary.to_csv())
    files["summary"] = out_dir / "summary.csv"
    ok, reason = loo_compatible(idatas)
    if ok and partial and not allow_partial:
        ok, reason = False, (f"run{'s' if len(partial) > 1 else ''} {', '.join(repr(p) for p in partial)} "
                             "stopped early, and LOO of an incomplete chain would rank it on too few draws; "
                             "finish the fit (rerun `shaminfer fit`) or pass allow_partial=True")
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
        {"runs": [str(r) for r in run_dirs], "names": names, "partial": partial, "loo": bool(ok),
         "loo_reason": reason}, indent=1))
    files["json"] = out_dir / "compare.json"
    return CompareResult(files, summary, loo, reason)
