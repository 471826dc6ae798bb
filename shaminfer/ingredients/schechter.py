"""The Schechter stellar mass function, Eq. 3.

Stellar masses are log10 M* in Msun (h = 0.7, as the paper states); the SMF is
a number density per dex per unit comoving volume. As in the paper, the SMF and
the subhalo mass function are equated directly in Eq. 2.
"""
from __future__ import annotations

import math
from typing import NamedTuple

import jax.numpy as jnp

from .validate import check_params

__all__ = [
    "DEFAULT_SCHECHTER_PDICT",
    "SchechterParams",
    "DEFAULT_SCHECHTER_PARAMS",
    "SCHECHTER_BOUNDS",
    "schechter_smf",
    "checked_schechter_smf",
]

DEFAULT_SCHECHTER_PDICT = dict(logphi_star=math.log10(0.005), alpha=-1.06, logsm_star=10.85)


class SchechterParams(NamedTuple):
    """Schechter parameters: log10 phi* [per dex per volume], slope alpha, x* = log10 M*_star."""

    logphi_star: float
    alpha: float
    logsm_star: float = 10.85


DEFAULT_SCHECHTER_PARAMS = SchechterParams(**DEFAULT_SCHECHTER_PDICT)
SCHECHTER_BOUNDS = dict(logphi_star=(-6.0, 0.0), alpha=(-3.0, 1.0), logsm_star=(8.0, 13.0))


def schechter_smf(params: SchechterParams, logsm):
    """Schechter SMF of Eq. 3, ``ln(10) phi* 10^((x - x*)(alpha + 1)) exp(-10^(x - x*))``.

    Parameters
    ----------
    params : SchechterParams
    logsm : array
        log10 M* [Msun].

    Returns
    -------
    phi : array, same shape as ``logsm``
        dn/dlog10 M* per unit volume.
    """
    dx = logsm - params.logsm_star
    ln10 = jnp.log(10.0)
    return ln10 * 10.0**params.logphi_star * jnp.exp(ln10 * dx * (params.alpha + 1.0) - 10.0**dx)


def checked_schechter_smf(params: SchechterParams, logsm):
    """:func:`schechter_smf` after validating ``params`` and ``logsm`` (shell entry point)."""
    check_params(params, SCHECHTER_BOUNDS, what="SchechterParams")
    return schechter_smf(params, logsm)
