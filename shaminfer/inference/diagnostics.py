"""Convergence diagnostics and truth coverage of a fit (ArviZ under the hood).

:func:`convergence` reduces ``az.summary`` over theta to the numbers a user
checks first -- the largest rank-normalized split R-hat, the smallest bulk
and tail ESS, the number of divergent transitions -- and
:func:`truth_coverage` says whether each true parameter lies in the central
``prob`` posterior interval (for mocks).
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from .inference_data import import_arviz

__all__ = ["Convergence", "parameter_names", "theta_summary", "convergence", "truth_coverage", "stored_truth",
           "format_convergence"]


class Convergence(NamedTuple):
    """Headline diagnostics over the fit's parameters (SHAM: the four of theta)."""

    rhat_max: float
    ess_bulk_min: float
    ess_tail_min: float
    divergences: int
    num_chains: int
    num_draws: int


def parameter_names(idata) -> list:
    """The sampled parameters of ``idata``: its scalar posterior variables, in order (predictions excluded)."""
    post = idata.posterior
    return [str(k) for k, v in post.data_vars.items() if tuple(v.dims) == ("chain", "draw")]


def theta_summary(idata, *, hdi_prob: float = 0.94):
    """``az.summary`` of the theta parameters (a pandas DataFrame), unrounded (``round_to="none"``).

    ArviZ rounds to 2 decimals by default, which turns the mean and MCSE of a
    well-measured parameter such as log10 phi* into equal numbers or zeros.
    """
    az = import_arviz()
    return az.summary(idata, var_names=parameter_names(idata), hdi_prob=hdi_prob, round_to="none")


def convergence(idata) -> Convergence:
    """R-hat, ESS and divergences of ``idata`` (unrounded, unlike ``az.summary``'s table)."""
    az = import_arviz()
    names = parameter_names(idata)
    rhat = az.rhat(idata, var_names=names)
    bulk = az.ess(idata, var_names=names, method="bulk")
    tail = az.ess(idata, var_names=names, method="tail")
    post = idata.posterior
    div = int(np.asarray(idata.sample_stats["diverging"]).sum())
    return Convergence(
        float(max(float(rhat[k]) for k in names)),
        float(min(float(bulk[k]) for k in names)),
        float(min(float(tail[k]) for k in names)),
        div,
        int(post.sizes["chain"]),
        int(post.sizes["draw"]),
    )


def truth_coverage(idata, theta_true, *, prob: float = 0.95) -> dict[str, bool]:
    """Whether each true parameter lies in the central ``prob`` interval of its marginal.

    ``theta_true`` is a NamedTuple (its fields name the parameters), a dict, or a
    sequence in the order of :func:`parameter_names`.
    """
    lo_q, hi_q = 0.5 * (1 - prob), 0.5 * (1 + prob)
    out = {}
    if isinstance(theta_true, dict):
        pairs = theta_true.items()
    elif hasattr(theta_true, "_fields"):
        pairs = zip(theta_true._fields, theta_true)
    else:
        pairs = zip(parameter_names(idata), theta_true)
    for name, truth in pairs:
        draws = np.asarray(idata.posterior[name]).ravel()
        lo, hi = np.quantile(draws, [lo_q, hi_q])
        out[name] = bool(lo <= float(truth) <= hi)
    return out


def stored_truth(idata) -> dict:
    """``{parameter: value}`` of the ``theta_true`` attr of a run, by the run's parameter names.

    The attr holds one value per parameter in the order of the ``theta_names``
    attr (default :func:`parameter_names`); NaN marks a parameter whose truth
    is unknown (e.g. a nuisance the mock did not have) and is left out. A run
    without the attr, or with one of another length, gives ``{}``.
    """
    raw = idata.attrs.get("theta_true")
    if raw is None:
        return {}
    names = str(idata.attrs.get("theta_names", "")).split(",") if idata.attrs.get("theta_names") else \
        parameter_names(idata)
    values = np.atleast_1d(np.asarray(raw, dtype=np.float64))
    if values.size != len(names):
        return {}
    return {n: float(v) for n, v in zip(names, values) if np.isfinite(v)}


def format_convergence(conv: Convergence) -> str:
    """One human-readable line with the headline diagnostics."""
    return (f"R-hat max {conv.rhat_max:.4f}, ESS bulk min {conv.ess_bulk_min:.0f}, "
            f"ESS tail min {conv.ess_tail_min:.0f}, divergences {conv.divergences} "
            f"({conv.num_chains} chains x {conv.num_draws} draws)")
