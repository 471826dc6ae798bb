"""Halo-mass-dependent scatter in log10 M* at fixed Mpeak, Eq. 4."""
from __future__ import annotations

from typing import NamedTuple

from .sigmoid import sigmoid
from .validate import check_params

__all__ = [
    "DEFAULT_SCATTER_PDICT",
    "ScatterParams",
    "DEFAULT_SCATTER_PARAMS",
    "SCATTER_BOUNDS",
    "scatter_dex",
    "checked_scatter_dex",
]

DEFAULT_SCATTER_PDICT = dict(sigma_lo=0.4, sigma_hi=0.25, x0=12.0, k=1.0)


class ScatterParams(NamedTuple):
    """Scatter [dex] at low and high Mpeak; the roll sits at ``x0`` with speed ``k``."""

    sigma_lo: float
    sigma_hi: float
    x0: float = 12.0
    k: float = 1.0


DEFAULT_SCATTER_PARAMS = ScatterParams(**DEFAULT_SCATTER_PDICT)
SCATTER_BOUNDS = dict(sigma_lo=(1e-4, 3.0), sigma_hi=(1e-4, 3.0), k=(1e-3, 100.0))


def scatter_dex(params: ScatterParams, logmpeak):
    """``sigma(x) = S(x, 12, 1, sigma_lo, sigma_hi)`` [dex], Eq. 4, ``x = log10 Mpeak``."""
    return sigmoid(logmpeak, params.x0, params.k, params.sigma_lo, params.sigma_hi)


def checked_scatter_dex(params: ScatterParams, logmpeak):
    """:func:`scatter_dex` after validating ``params``."""
    check_params(params, SCATTER_BOUNDS, what="ScatterParams")
    return scatter_dex(params, logmpeak)
