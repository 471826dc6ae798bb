"""Scatter of log10 M* at fixed Mpeak given by its values at fixed Mpeak knots.

The mass-dependent scatter of Eq. 4 with its roll free (``MASS_SCATTER_BLOCK``:
``sigma_lo, sigma_hi, scatter_x0, scatter_k``) enters the predictions
non-linearly: at Mpeak = 10^13.5 the scatter is
``sigma_hi + (sigma_lo - sigma_hi) / (1 + exp(k (13.5 - x0)))``, so the
high-mass end of the SMF, which pins that value to about 1e-3 dex, ties the
four parameters along a curved surface whose curvature changes by orders of
magnitude across the prior (benchmarks/RESULTS.md, gradients_pay). Here the
parameters are the scatter itself at four log10 Mpeak knots
(:data:`SCATTER_KNOTS`), linearly interpolated in log10 Mpeak and constant
beyond the end knots: at every Mpeak the scatter is linear in the parameters
and lies between the smallest and largest knot value, so it stays inside the
block's bounds.
"""
from __future__ import annotations

from typing import NamedTuple

import jax.numpy as jnp

from .blocks import make_block

__all__ = ["SCATTER_KNOTS", "KnotScatterParams", "KNOT_SCATTER_BLOCK", "knot_scatter"]

#: log10 Mpeak [Msun/h] of the scatter knots.
SCATTER_KNOTS = (11.0, 12.0, 13.0, 14.0)


class KnotScatterParams(NamedTuple):
    """Scatter [dex] of log10 M* at fixed Mpeak at log10 Mpeak = 11, 12, 13, 14 (:data:`SCATTER_KNOTS`)."""

    sigma_m110: float
    sigma_m120: float
    sigma_m130: float
    sigma_m140: float


#: Defaults: the default roll of ``MASS_SCATTER_BLOCK`` (0.35 -> 0.2 dex at 10^12, k = 1) at the knots, rounded to
#: 1e-3 dex (a test checks them).
_DEFAULTS = dict(sigma_m110=0.310, sigma_m120=0.275, sigma_m130=0.240, sigma_m140=0.218)

KNOT_SCATTER_BLOCK = make_block(
    "scatter_knots", KnotScatterParams, _DEFAULTS,
    bounds={f: (0.02, 1.0) for f in _DEFAULTS},
    prior={f: (0.05, 0.6) for f in _DEFAULTS},
    doc="scatter of log10 M* at four fixed log10 Mpeak knots, linear in between, constant beyond",
)


def interp_knots(knots, values, x):
    """Linear interpolation of ``values`` at ``knots`` to ``x``, constant beyond the end knots (pure JAX, linear
    in ``values``, a sequence of scalars such as a parameter block's fields)."""
    return jnp.interp(jnp.asarray(x), jnp.asarray(knots), jnp.stack([jnp.asarray(v) for v in values]))


def knot_scatter(params: KnotScatterParams, logmpeak):
    """Scatter [dex] at ``logmpeak`` [log10 Msun/h] (pure JAX; see the module docstring)."""
    return interp_knots(SCATTER_KNOTS, params, logmpeak)
