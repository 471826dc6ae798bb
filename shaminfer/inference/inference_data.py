"""Assemble ArviZ ``InferenceData`` from raw draws (the same for both backends).

Groups and variables (``<t>`` is a term name, ``n_t`` its data length):

``posterior``
    ``logphi_star, alpha, sigma_lo, sigma_hi`` (chain, draw) and the model
    mean ``pred_<t>`` (chain, draw, n_t).
``sample_stats``
    ``lp`` (log density in the sampler's unconstrained coordinates),
    ``diverging``, ``step_size``, ``tree_depth``, ``n_steps``,
    ``acceptance_rate``, ``energy``.
``log_likelihood``
    ``obs_<t>`` (chain, draw, n_t): pointwise conditional log-likelihoods
    (:func:`shaminfer.inference.terms.pointwise_loglik`).
``posterior_predictive``
    ``obs_<t>``: replicated data ``y_rep ~ N(pred_<t>, C_t)``.
``observed_data``
    ``obs_<t>``: the data vector.
``constant_data``
    ``cov_obs_<t>`` (n_t, n_t) the term's covariance; ``x_obs_<t>`` and
    ``group_obs_<t>`` (n_t,) the abscissa of each data point (bin centre:
    log10 M*, r_p or R) and its sample index, used by the plots.

Top-level ``attrs`` hold the configuration (``config_json``), package
versions, the backend, ``theta_true`` for mocks, and ``complete`` /
``draws_done`` for partial (interrupted) runs.
"""
from __future__ import annotations

import json
import platform
import warnings
from typing import Mapping, NamedTuple

import numpy as np

from .priors import ThetaPrior

__all__ = ["import_arviz", "theta_draws", "package_versions", "build_inference_data", "obs_dim",
           "TermLayout", "default_layout"]


class TermLayout(NamedTuple):
    """How to plot one term's data vector.

    Attributes
    ----------
    x : (n,)
        Abscissa of each point.
    group : (n,) int
        Sample index of each point.
    xlabel, ylabel : str
        Axis labels.
    logx, logy : bool
        Logarithmic axes.
    group_labels : tuple of str
        One per group.
    """

    x: np.ndarray
    group: np.ndarray
    xlabel: str = "data index"
    ylabel: str = "value"
    logx: bool = False
    logy: bool = False
    group_labels: tuple = ()


def default_layout(n: int) -> TermLayout:
    """Layout of a term nothing is known about: points against their index."""
    return TermLayout(np.arange(n, dtype=np.float64), np.zeros(n, dtype=np.int64))


def import_arviz():
    """Import ArviZ without its one-off ``FutureWarning`` about the upcoming refactor."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=FutureWarning, module=r"arviz.*")
        import arviz

    return arviz


def obs_dim(term_name: str) -> str:
    """Name of the data-index dimension of term ``term_name``."""
    return f"obs_{term_name}_dim_0"


def theta_draws(prior: ThetaPrior, unit: np.ndarray) -> dict[str, np.ndarray]:
    """Theta fields (chain, draw) from ``theta_unit`` draws (chain, draw, d), named by ``prior.names``."""
    vec = prior.center + np.einsum("ij,...j->...i", prior.basis, prior.half_width * np.asarray(unit))
    return {name: vec[..., i] for i, name in enumerate(prior.names)}


def package_versions() -> dict[str, str]:
    """Versions of Python and of the packages a result depends on."""
    import importlib.metadata as md

    out = {"python": platform.python_version()}
    for pkg in ("shaminfer", "jax", "jaxlib", "numpyro", "blackjax", "arviz", "numpy", "xarray"):
        try:
            out[pkg] = md.version(pkg)
        except md.PackageNotFoundError:
            out[pkg] = "not installed"
    return out


def build_inference_data(
    *,
    prior: ThetaPrior,
    unit: np.ndarray,
    stats: Mapping[str, np.ndarray],
    mu: Mapping[str, np.ndarray],
    loglik: Mapping[str, np.ndarray],
    y_rep: Mapping[str, np.ndarray],
    observed: Mapping[str, np.ndarray],
    covariance: Mapping[str, np.ndarray] | None = None,
    layouts: Mapping[str, TermLayout] | None = None,
    attrs: Mapping[str, object] | None = None,
):
    """Build the ``InferenceData`` described in the module docstring.

    Parameters
    ----------
    prior : ThetaPrior
        Maps ``unit`` to theta.
    unit : (chain, draw, 4) array
    stats : dict name -> (chain, draw)
    mu, loglik, y_rep : dict term -> (chain, draw, n_t)
    observed : dict term -> (n_t,)
    covariance : dict term -> (n_t, n_t), optional
    layouts : dict term -> TermLayout, optional
        Missing terms get :func:`default_layout`.
    attrs : dict, optional
        Top-level attributes (strings, numbers or numeric arrays).
    """
    az = import_arviz()
    posterior = theta_draws(prior, unit)
    dims = {}
    for name, values in mu.items():
        posterior[f"pred_{name}"] = np.asarray(values)
        dims[f"pred_{name}"] = [obs_dim(name)]
        dims[f"obs_{name}"] = [obs_dim(name)]
    constant = {}
    for name, values in observed.items():
        n = np.asarray(values).size
        lay = (layouts or {}).get(name) or default_layout(n)
        constant[f"x_obs_{name}"] = np.asarray(lay.x, dtype=np.float64)
        constant[f"group_obs_{name}"] = np.asarray(lay.group, dtype=np.int64)
        dims[f"x_obs_{name}"] = [obs_dim(name)]
        dims[f"group_obs_{name}"] = [obs_dim(name)]
        if covariance is not None and name in covariance:
            constant[f"cov_obs_{name}"] = np.asarray(covariance[name], dtype=np.float64)
            dims[f"cov_obs_{name}"] = [obs_dim(name), f"{obs_dim(name)}_bis"]
    idata = az.from_dict(
        posterior=posterior,
        constant_data=constant,
        sample_stats={k: np.asarray(v) for k, v in stats.items()},
        log_likelihood={f"obs_{k}": np.asarray(v) for k, v in loglik.items()},
        posterior_predictive={f"obs_{k}": np.asarray(v) for k, v in y_rep.items()},
        observed_data={f"obs_{k}": np.asarray(v) for k, v in observed.items()},
        dims=dims,
    )
    meta = {}
    for name, values in observed.items():
        lay = (layouts or {}).get(name) or default_layout(np.asarray(values).size)
        meta[name] = dict(xlabel=lay.xlabel, ylabel=lay.ylabel, logx=bool(lay.logx), logy=bool(lay.logy),
                          group_labels=list(lay.group_labels))
    idata.attrs = {**idata.attrs, "term_layout_json": json.dumps(meta, sort_keys=True), **dict(attrs or {})}
    return idata
