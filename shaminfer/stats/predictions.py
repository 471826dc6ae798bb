"""What every engine returns (:class:`Predictions`) and which SMHM it evaluates (:func:`resolve_smhm`).

Shared by the exact engine (:mod:`.predict`) and the tabulated one
(:mod:`.tabulated`), so that neither imports the other.
"""
from __future__ import annotations

from typing import NamedTuple

import jax.numpy as jnp

from ..ingredients.validate import is_traced
from ..galaxy_halo.components import resolve_smhm
from .checks import check_theta
from .weights import galaxy_logsm_pdf_params

__all__ = ["Predictions", "resolve_smhm", "checked_pdf_params", "population_factor", "check_colors"]


class Predictions(NamedTuple):
    """Predicted statistics; a field is empty when the configuration asks for none.

    Attributes
    ----------
    smf : array (nsmf,)
        Stellar mass function [dex^-1 (Mpc/h)^-3] (Eq. 7).
    wp : array (nsample, nrp)
        Projected correlation function [Mpc/h] of each sample (Eqs. 13-17).
    delta_sigma : array (nsample, nR)
        Stacked excess surface density [h Msun / pc^2] of each sample (Eq. 11).
    smf_color : array (ncolor, nsmf)
        SMF of each colour in ``config.smf_colors`` (red / blue need a model with quenching).
    """

    smf: jnp.ndarray
    wp: jnp.ndarray
    delta_sigma: jnp.ndarray
    smf_color: jnp.ndarray


def checked_pdf_params(theta, logmpeak, *, smhm, net):
    """Median and scatter of log10 M* per subhalo (Eqs. 4-5), checking a concrete theta first.

    Parameters
    ----------
    theta : ShamParams
        Concrete or traced; a concrete theta is checked (:func:`~.checks.check_theta`).
    logmpeak : array (N,)
        log10 Mpeak [Msun/h] of the subhalos (or of the tabulated engine's nodes).
    smhm : callable
        ``(theta, logmpeak) -> log10 M*`` (:func:`resolve_smhm`).
    net : ShamNet or None
        The network whose training domain theta must lie in (None: no domain check).

    Returns
    -------
    mu, sigma : arrays (N,)
        log10 M* [Msun] and its scatter [dex].
    concrete : bool
        Whether theta was concrete (and so checked).
    """
    concrete = not is_traced(theta)
    if concrete:
        check_theta(theta, net)
    mu, sigma = galaxy_logsm_pdf_params(theta, logmpeak, smhm=smhm)
    return mu, sigma, concrete


def population_factor(pop, color: str):
    """Per-subhalo factor of a sample of ``color``: survival times P(quenched), 1 - P(quenched) or 1.

    Without a survival component the survival factor is the scalar 1.0 (it
    broadcasts), so SHAM's weights pay no extra N-length product.
    """
    survive = 1.0 if pop.survive is None else pop.survive
    if color == "all":
        return survive
    if pop.quenched is None:  # refused at construction by check_colors
        raise ValueError(f"color {color!r}: the model has no quenching component")
    return survive * (pop.quenched if color == "red" else 1.0 - pop.quenched)


def check_colors(config: StatsConfig, model) -> None:
    """Refuse red / blue statistics for a model without quenching (before anything is computed)."""
    if model is not None and model.has_quenching:
        return
    name = "sham" if model is None else model.name
    for i, s in enumerate(config.samples):
        if getattr(s, "color", "all") != "all":
            raise ValueError(f"config.samples[{i}].color: {s.color!r} needs a model with quenching, but the model "
                             f"{name!r} has none; compose it with galaxy_halo.quenching() or use color 'all'")
    colored = [c for c in config.smf_colors if c != "all"]
    if colored:
        raise ValueError(f"config.smf_colors: {colored} need a model with quenching, but the model {name!r} has "
                         "none; compose it with galaxy_halo.quenching()")
