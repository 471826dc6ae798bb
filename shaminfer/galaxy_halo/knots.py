"""A stellar-to-halo mass relation parameterized by its values at fixed Mpeak knots.

The App. C three-roll SMHM (:func:`~.components.parametric`) describes the
median log10 M* with sigmoid positions and slopes; fitted to an SMF and
clustering, several of its eight parameters trade off almost exactly (a pivot
mass against the normalization, a roll's position against its slopes), and the
posterior is a thin curved ridge that NUTS and ensemble samplers both cross
slowly. :func:`knots` instead takes as parameters the median log10 M* at eight
fixed log10 Mpeak knots (:data:`KNOTS`): each is pinned by the abundance of
galaxies near that stellar mass, so the parameters are nearly independent.

Between knots the median is the cubic Hermite interpolant with Catmull-Rom
slopes (centred differences; one-sided at the ends), continuous with its first
derivative, exact for linear relations, and linear beyond the end knots; at a
given Mpeak it is linear in the knot values (the parameters). The scatter is the four-parameter mass-dependent
scatter of :func:`~.components.parametric` (Eq. 4), or its values at four Mpeak knots (:mod:`.scatter_knots`).
"""
from __future__ import annotations

from typing import NamedTuple

import jax.numpy as jnp
import numpy as np

from .blocks import make_block
from .components import Component, mass_scatter

__all__ = ["KNOTS", "KnotSmhmParams", "KNOT_SMHM_BLOCK", "knot_slopes", "knot_smhm", "knots"]

#: log10 Mpeak [Msun/h] of the knots (the synthetic universe and Bolshoi-class catalogs start at 11).
KNOTS = (11.0, 11.5, 12.0, 12.5, 13.0, 13.5, 14.0, 15.0)


class KnotSmhmParams(NamedTuple):
    """Median log10 M* [Msun] at log10 Mpeak = 11.0, 11.5, ..., 14.0, 15.0 (:data:`KNOTS`)."""

    logsm_m110: float
    logsm_m115: float
    logsm_m120: float
    logsm_m125: float
    logsm_m130: float
    logsm_m135: float
    logsm_m140: float
    logsm_m150: float


#: Defaults: the App. C default SMHM (the defaults of :func:`~.components.parametric`) at the knots, rounded to
#: 1e-3 dex (written out so that importing the package creates no JAX array; a test checks them).
_DEFAULTS = dict(logsm_m110=7.693, logsm_m115=9.213, logsm_m120=10.164, logsm_m125=10.641, logsm_m130=10.836,
                 logsm_m135=10.923, logsm_m140=10.999, logsm_m150=11.223)

KNOT_SMHM_BLOCK = make_block(
    "smhm_knots", KnotSmhmParams, _DEFAULTS,
    bounds={f: (v - 2.0, v + 2.0) for f, v in _DEFAULTS.items()},
    prior={f: (round(v - 0.3, 3), round(v + 0.3, 3)) for f, v in _DEFAULTS.items()},
    doc="median log10 M* at eight fixed log10 Mpeak knots, cubic Hermite in between",
)


def knot_slopes(knots=KNOTS) -> np.ndarray:
    """Matrix ``S`` (K, K): the Catmull-Rom slope at each knot is ``S @ values`` (one-sided at the ends)."""
    k = np.asarray(knots, dtype=np.float64)
    n = k.size
    slope = np.zeros((n, n))
    for i in range(n):
        lo, hi = max(i - 1, 0), min(i + 1, n - 1)
        slope[i, hi] += 1.0 / (k[hi] - k[lo])
        slope[i, lo] -= 1.0 / (k[hi] - k[lo])
    return slope


_SLOPES = knot_slopes()


def knot_smhm(params: KnotSmhmParams, logmpeak):
    """Median log10 M* [Msun] at ``logmpeak`` [log10 Msun/h] (pure JAX; see the module docstring)."""
    k = jnp.asarray(KNOTS)
    y = jnp.stack([jnp.asarray(v) for v in params])
    m = jnp.asarray(_SLOPES) @ y
    x = jnp.asarray(logmpeak)
    j = jnp.clip(jnp.searchsorted(k, x, side="right") - 1, 0, k.size - 2)
    h = k[j + 1] - k[j]
    t = jnp.clip((x - k[j]) / h, 0.0, 1.0)
    t2, t3 = t * t, t * t * t
    inner = ((2 * t3 - 3 * t2 + 1) * y[j] + (t3 - 2 * t2 + t) * h * m[j] + (-2 * t3 + 3 * t2) * y[j + 1]
             + (t3 - t2) * h * m[j + 1])
    below = y[0] + (x - k[0]) * m[0]
    above = y[-1] + (x - k[-1]) * m[-1]
    return jnp.where(x < k[0], below, jnp.where(x > k[-1], above, inner))


def knots(scatter: str = "roll") -> Component:
    """Median log10 M* at eight Mpeak knots (8 parameters) with mass-dependent scatter (4 parameters: Eq. 4's roll,
    or with ``scatter="knots"`` the scatter at four Mpeak knots, :mod:`.scatter_knots`): 12 parameters."""
    block, sigma = mass_scatter(scatter)

    def apply(theta, sub, pop):
        return pop._replace(mu=knot_smhm(KNOT_SMHM_BLOCK.take(theta), sub.logmpeak), sigma=sigma(theta, sub.logmpeak))

    return Component("knots", "smhm", (KNOT_SMHM_BLOCK, block), (), apply)
