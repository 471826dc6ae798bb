"""Figures of a fit and of a comparison (matplotlib, Agg backend; nothing is shown).

* :func:`corner_plot` -- marginals and 68 / 95 per cent contours of theta,
  one colour per run (overlaid when given several runs), truth lines for mocks.
* :func:`trace_plot` -- ``az.plot_trace`` of theta.
* :func:`ppc_plot` -- each term's data with 1-sigma error bars against the
  posterior mean prediction, its 95 per cent band, and the 95 per cent band
  of replicated data.
* :func:`forest_plot` -- ``az.plot_forest`` of several runs.

Every figure is written atomically (temporary file, then ``os.replace``).
"""
from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import Sequence

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import matplotlib.ticker  # noqa: E402
import numpy as np  # noqa: E402

from .atomic import atomic_path  # noqa: E402
from ..inference.inference_data import import_arviz  # noqa: E402
from ..inference.diagnostics import parameter_names  # noqa: E402

__all__ = ["THETA_LABELS", "corner_plot", "trace_plot", "ppc_plot", "forest_plot", "save_figure"]

THETA_LABELS = {
    "logphi_star": r"$\log_{10}\phi_\star$",
    "alpha": r"$\alpha$",
    "sigma_lo": r"$\sigma_{\rm lo}$",
    "sigma_hi": r"$\sigma_{\rm hi}$",
}
_COLORS = ("C0", "C3", "C2", "C1", "C4", "C5")


def save_figure(fig, path: str | Path, *, dpi: int = 110) -> Path:
    """Save ``fig`` as PNG atomically and close it."""
    with atomic_path(path, suffix=".png") as tmp:
        fig.savefig(tmp, dpi=dpi, format="png", bbox_inches="tight")
    plt.close(fig)
    return Path(path)


def _label(name: str) -> str:
    return THETA_LABELS.get(name, name)


def _names(idatas, *, common: bool) -> list:
    """Parameters of several runs: those in every run (``common``) or in any, in first-seen order."""
    lists = [parameter_names(d) for d in idatas]
    union = [k for i, ks in enumerate(lists) for k in ks if k not in [x for prev in lists[:i] for x in prev]]
    return [k for k in union if all(k in ks for ks in lists)] if common else union


def _truth_map(truths, names) -> dict:
    """Truths keyed by parameter name (a NamedTuple, a dict, or values in the order of ``names``)."""
    if truths is None:
        return {}
    if isinstance(truths, dict):
        return {k: float(v) for k, v in truths.items()}
    if hasattr(truths, "_fields"):
        return {k: float(v) for k, v in zip(truths._fields, truths)}
    return {k: float(v) for k, v in zip(names, truths)}


def _draws(idata, name) -> np.ndarray:
    return np.asarray(idata.posterior[name]).ravel()


def _contour_levels(h: np.ndarray, probs=(0.95, 0.68)) -> list[float]:
    flat = np.sort(h.ravel())[::-1]
    cum = np.cumsum(flat) / flat.sum()
    levels = [flat[min(np.searchsorted(cum, p), flat.size - 1)] for p in probs]
    return sorted(set(levels))


def corner_plot(idatas: Sequence, path: str | Path, *, labels: Sequence[str] | None = None,
                truths=None, bins: int = 30) -> Path:
    """Corner plot of theta for one or several runs (overlaid), with optional truth lines.

    Parameters
    ----------
    idatas : sequence of InferenceData
    path : path of the PNG
    labels : run names for the legend
    truths : ShamParams or (4,) array, optional
    bins : histogram bins per axis
    """
    from scipy.ndimage import gaussian_filter

    labels = list(labels or [f"run {i}" for i in range(len(idatas))])
    names = _names(idatas, common=True)
    truth = _truth_map(truths, names)
    n = len(names)
    samples = [{k: _draws(d, k) for k in names} for d in idatas]
    ranges = {}
    for k in names:
        lo = min(np.quantile(s[k], 0.001) for s in samples)
        hi = max(np.quantile(s[k], 0.999) for s in samples)
        if k in truth:
            t = truth[k]
            lo, hi = min(lo, t), max(hi, t)
        pad = 0.05 * (hi - lo) if hi > lo else 1e-3
        ranges[k] = (lo - pad, hi + pad)
    fig, axes = plt.subplots(n, n, figsize=(2.3 * n, 2.3 * n), squeeze=False)
    for i, yi in enumerate(names):
        for j, xj in enumerate(names):
            ax = axes[i, j]
            if j > i:
                ax.set_axis_off()
                continue
            for s, color, lab in zip(samples, _COLORS, labels):
                if i == j:
                    ax.hist(s[xj], bins=bins, range=ranges[xj], density=True, histtype="step", color=color,
                            label=lab)
                else:
                    h, xe, ye = np.histogram2d(s[xj], s[yi], bins=bins, range=[ranges[xj], ranges[yi]])
                    h = gaussian_filter(h.T, 1.0)
                    if h.sum() > 0:
                        levels = _contour_levels(h)
                        xc, yc = 0.5 * (xe[1:] + xe[:-1]), 0.5 * (ye[1:] + ye[:-1])
                        if len(levels) > 1:
                            ax.contourf(xc, yc, h, levels=levels + [h.max() * 1.01], colors=[color],
                                        alpha=0.15)
                        ax.contour(xc, yc, h, levels=levels, colors=[color], linewidths=1.0)
            if xj in truth:
                ax.axvline(truth[xj], color="k", lw=0.8, ls="--")
            if i != j and yi in truth:
                ax.axhline(truth[yi], color="k", lw=0.8, ls="--")
                if xj in truth:
                    ax.plot(truth[xj], truth[yi], "k+", ms=8)
            ax.set_xlim(ranges[xj])
            if i != j:
                ax.set_ylim(ranges[yi])
            if i == n - 1:
                ax.set_xlabel(_label(xj))
            else:
                ax.set_xticklabels([])
            if j == 0 and i > 0:
                ax.set_ylabel(_label(yi))
            elif j > 0 or i == 0:
                ax.set_yticklabels([])
            ax.tick_params(labelsize=7)
    axes[0, 0].legend(loc="upper left", bbox_to_anchor=(1.05, 1.0), fontsize=8, frameon=False)
    fig.subplots_adjust(hspace=0.08, wspace=0.08)
    return save_figure(fig, path)


def trace_plot(idata, path: str | Path) -> Path:
    """``az.plot_trace`` of the theta parameters."""
    az = import_arviz()
    with warnings.catch_warnings():  # ArviZ 0.23 uses a deprecated matplotlib helper
        warnings.simplefilter("ignore", matplotlib.MatplotlibDeprecationWarning)
        axes = az.plot_trace(idata, var_names=parameter_names(idata), compact=False, show=False)
    fig = np.asarray(axes).ravel()[0].figure
    fig.tight_layout()
    return save_figure(fig, path)


def ppc_plot(idata, path: str | Path, *, prob: float = 0.95) -> Path:
    """Data against the posterior predictive, one panel per likelihood term."""
    names = [v[len("obs_"):] for v in idata.observed_data.data_vars]
    meta = json.loads(idata.attrs.get("term_layout_json", "{}"))
    lo_q, hi_q = 0.5 * (1 - prob), 0.5 * (1 + prob)
    fig, axes = plt.subplots(1, len(names), figsize=(4.6 * len(names), 3.8), squeeze=False)
    for ax, name in zip(axes[0], names):
        data = np.asarray(idata.observed_data[f"obs_{name}"])
        cd = idata.constant_data
        x = np.asarray(cd[f"x_obs_{name}"]) if f"x_obs_{name}" in cd else np.arange(data.size, dtype=float)
        group = np.asarray(cd[f"group_obs_{name}"]) if f"group_obs_{name}" in cd else np.zeros(data.size, int)
        err = np.sqrt(np.diag(np.asarray(cd[f"cov_obs_{name}"]))) if f"cov_obs_{name}" in cd else None
        pred = np.asarray(idata.posterior[f"pred_{name}"]).reshape(-1, data.size)
        yrep = np.asarray(idata.posterior_predictive[f"obs_{name}"]).reshape(-1, data.size)
        m = meta.get(name, {})
        glabels = m.get("group_labels", [])
        for g, color in zip(np.unique(group), _COLORS * 4):
            sel = group == g
            order = np.argsort(x[sel])
            xs = x[sel][order]
            lab = glabels[int(g)] if int(g) < len(glabels) else (f"sample {g}" if len(np.unique(group)) > 1 else "")
            ax.fill_between(xs, *np.quantile(yrep[:, sel][:, order], [lo_q, hi_q], axis=0), color=color,
                            alpha=0.12, lw=0)
            ax.fill_between(xs, *np.quantile(pred[:, sel][:, order], [lo_q, hi_q], axis=0), color=color,
                            alpha=0.35, lw=0)
            ax.plot(xs, pred[:, sel][:, order].mean(axis=0), color=color, lw=1.2)
            ax.errorbar(xs, data[sel][order], yerr=None if err is None else err[sel][order], fmt="o", ms=3,
                        color=color, label=lab or None, capsize=2)
        if m.get("logx"):
            ax.set_xscale("log")
            ax.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
        if m.get("logy") and np.all(data > 0):
            ax.set_yscale("log")
        ax.set_xlabel(m.get("xlabel", "data index"))
        ax.set_ylabel(m.get("ylabel", name))
        ax.set_title(f"{name}: data, model mean, {int(prob * 100)}% model and y_rep bands", fontsize=8)
        if len(np.unique(group)) > 1 or glabels:
            ax.legend(fontsize=7, frameon=False)
    fig.tight_layout()
    return save_figure(fig, path)


def forest_plot(idatas: Sequence, labels: Sequence[str], path: str | Path, *, hdi_prob: float = 0.95,
                truths=None) -> Path:
    """``az.plot_forest`` of theta for several runs, one panel per parameter (their scales differ)."""
    az = import_arviz()
    names = _names(idatas, common=False)
    truth = _truth_map(truths, names)
    n = len(names)
    fig, axes = plt.subplots(1, n, figsize=(2.6 * n + 1.5, 1.2 + 0.35 * len(idatas)), squeeze=False)
    for k, (ax, name) in enumerate(zip(axes[0], names)):
        runs = [(d, lab) for d, lab in zip(idatas, labels) if name in parameter_names(d)]
        with warnings.catch_warnings():  # ArviZ 0.23 uses a deprecated matplotlib helper
            warnings.simplefilter("ignore", matplotlib.MatplotlibDeprecationWarning)
            az.plot_forest([d for d, _ in runs], model_names=[lab for _, lab in runs], var_names=[name],
                           combined=True, hdi_prob=hdi_prob, ax=ax, show=False, legend=False, textsize=9)
        ax.set_title(_label(name), fontsize=10)
        if k > 0:
            ax.set_yticklabels([])
        else:
            ax.set_yticklabels([t.get_text().split(":")[0] for t in ax.get_yticklabels()])
        if name in truth:
            ax.axvline(truth[name], color="k", lw=0.8, ls="--")
    fig.suptitle(f"{int(hdi_prob * 100)}% HDI (thin) and 50% (thick); dashed: truth", fontsize=9)
    fig.tight_layout()
    return save_figure(fig, path)
