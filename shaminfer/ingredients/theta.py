"""The SHAM parameter vector theta = (log10 phi*, alpha, sigma_lo, sigma_hi) of Sec. 3.2."""
from __future__ import annotations

import math
from typing import NamedTuple


from .scatter import ScatterParams
from .schechter import SchechterParams

__all__ = ["DEFAULT_SHAM_PDICT", "ShamParams", "DEFAULT_SHAM_PARAMS", "schechter_of", "scatter_of"]

DEFAULT_SHAM_PDICT = dict(logphi_star=math.log10(0.005), alpha=-1.06, sigma_lo=0.4, sigma_hi=0.25)


class ShamParams(NamedTuple):
    """theta: Schechter log10 phi* and alpha (Eq. 3), scatter at low/high Mpeak [dex] (Eq. 4)."""

    logphi_star: float
    alpha: float
    sigma_lo: float
    sigma_hi: float


DEFAULT_SHAM_PARAMS = ShamParams(**DEFAULT_SHAM_PDICT)


def schechter_of(theta: ShamParams) -> SchechterParams:
    """Schechter parameters (x* = 10.85 fixed) carried by ``theta``."""
    return SchechterParams(theta.logphi_star, theta.alpha)


def scatter_of(theta: ShamParams) -> ScatterParams:
    """Scatter parameters (x0 = 12, k = 1 fixed) carried by ``theta``."""
    return ScatterParams(theta.sigma_lo, theta.sigma_hi)
