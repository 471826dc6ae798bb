"""Quenched fractions given by their values at fixed mass knots.

The sigmoid quenching block (``QUENCHING_BLOCK``: ``fq_cen_lo, fq_cen_hi,
fq_cen_x0, fq_cen_k`` for centrals) ties its parameters along curved
ridges: where the statistics see few haloes above the transition, moving
``fq_cen_x0`` is undone by moving ``fq_cen_lo`` (benchmarks/RESULTS.md,
gradients_pay). Here the parameters are the fractions themselves:

* centrals: the quenched fraction at four log10 Mpeak knots
  (:data:`CEN_KNOTS`);
* satellites: the fraction of the star-forming satellites that their host
  quenches, at three host log10 Mpeak knots (:data:`HOST_KNOTS`), so that
  ``f_sat = f_cen + (1 - f_cen) boost(M_host)`` as in the sigmoid block.

Both are linearly interpolated between their knots and constant beyond the
end knots, so at every mass a fraction is linear in the parameters and lies
between the smallest and largest knot value, inside [0, 1].
"""
from __future__ import annotations

from typing import NamedTuple

import jax.numpy as jnp

from .blocks import make_block
from .scatter_knots import interp_knots

__all__ = ["CEN_KNOTS", "HOST_KNOTS", "KnotQuenchingParams", "KNOT_QUENCHING_BLOCK", "knot_quenched_fraction"]

#: log10 Mpeak [Msun/h] of the central quenched-fraction knots.
CEN_KNOTS = (11.0, 12.0, 13.0, 14.0)
#: log10 Mpeak [Msun/h] of the host of the satellite boost knots.
HOST_KNOTS = (12.0, 13.0, 14.0)


class KnotQuenchingParams(NamedTuple):
    """Quenched fraction of centrals at log10 Mpeak = 11, 12, 13, 14 and the fraction of star-forming satellites
    quenched by their host at host log10 Mpeak = 12, 13, 14."""

    fq_cen_m110: float
    fq_cen_m120: float
    fq_cen_m130: float
    fq_cen_m140: float
    fq_sat_h120: float
    fq_sat_h130: float
    fq_sat_h140: float


#: Defaults: the sigmoid block's defaults at the knots, rounded to 1e-3 (a test checks them).
_DEFAULTS = dict(fq_cen_m110=0.162, fq_cen_m120=0.401, fq_cen_m130=0.724, fq_cen_m140=0.830,
                 fq_sat_h120=0.254, fq_sat_h130=0.353, fq_sat_h140=0.460)

KNOT_QUENCHING_BLOCK = make_block(
    "quenching_knots", KnotQuenchingParams, _DEFAULTS,
    bounds={f: (0.0, 1.0) for f in _DEFAULTS},
    prior={f: (0.0, 1.0) for f in _DEFAULTS},
    doc="quenched fraction of centrals at four Mpeak knots and host quenching of satellites at three host-mass "
        "knots, linear in between, constant beyond",
)


def knot_quenched_fraction(params: KnotQuenchingParams, logmpeak, host_logmpeak, is_central):
    """P(quenched) of each subhalo (pure JAX; see the module docstring); ``is_central`` is 1 or 0."""
    f_cen = interp_knots(CEN_KNOTS, params[:4], logmpeak)
    boost = interp_knots(HOST_KNOTS, params[4:], host_logmpeak)
    return f_cen + (1.0 - f_cen) * boost * (1.0 - jnp.asarray(is_central))
