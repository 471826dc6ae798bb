"""The three-roll stellar-to-halo mass relation of App. C.1 (Eq. C1).

``m*(m_h) = m0 + a(m_h) (m_h - m_crit)`` with the rolling index
``a(m_h) = S(m_h, m_crit, 1, a_lo(m_h), a_hi(m_h))`` and each of ``a_lo``,
``a_hi`` itself a sigmoid in ``m_h`` (Eq. A1). The three k's are fixed to 1,
leaving eight free parameters. ``m_h = log10 Mpeak`` [Msun/h],
``m* = log10 M*`` [Msun].

App. C.2 fits the relation through bounded variables:
``omega = S(u | (lo+hi)/2, 0.1, lo, hi)`` for an unbounded ``u``;
:func:`smhm_params_from_unbounded` and :func:`smhm_params_to_unbounded`
implement that map with :data:`SMHM_BOUNDS`.
"""
from __future__ import annotations

from typing import NamedTuple

import jax.numpy as jnp

from .sigmoid import inverse_sigmoid, sigmoid
from .validate import check_params

__all__ = [
    "DEFAULT_SMHM_PDICT",
    "SmhmParams",
    "DEFAULT_SMHM_PARAMS",
    "SMHM_BOUNDS",
    "SMHM_K",
    "three_roll_smhm",
    "checked_three_roll_smhm",
    "smhm_params_from_unbounded",
    "smhm_params_to_unbounded",
]

SMHM_K = 1.0
_UNBOUNDED_K = 0.1

# An Eq. C3 fit (loss 4e-3) for the default theta of the SDSS-like SMF with
# 0.3 dex scatter; the starting point of the phase-1 fits of App. D.2.
DEFAULT_SMHM_PDICT = dict(
    logsm_0=10.025,
    logmh_crit=11.905,
    lo_x0=11.947,
    lo_ylo=4.395,
    lo_yhi=1.284,
    hi_x0=12.862,
    hi_ylo=0.214,
    hi_yhi=0.355,
)

SMHM_BOUNDS = dict(
    logsm_0=(8.5, 12.0),
    logmh_crit=(10.5, 13.5),
    lo_x0=(9.0, 13.0),
    lo_ylo=(0.5, 5.0),
    lo_yhi=(0.5, 5.0),
    hi_x0=(11.5, 16.0),
    hi_ylo=(0.0, 1.5),
    hi_yhi=(-0.5, 1.5),
)


class SmhmParams(NamedTuple):
    """Eight free parameters of the three-roll SMHM (App. C.1).

    logsm_0: log10 M* at ``m_crit``; logmh_crit: pivot halo mass; lo_*: the
    sigmoid (x0, y_lo, y_hi) of the low-mass index; hi_*: the same for the
    high-mass index.
    """

    logsm_0: float
    logmh_crit: float
    lo_x0: float
    lo_ylo: float
    lo_yhi: float
    hi_x0: float
    hi_ylo: float
    hi_yhi: float


DEFAULT_SMHM_PARAMS = SmhmParams(**DEFAULT_SMHM_PDICT)


def three_roll_smhm(params: SmhmParams, logmpeak):
    """Median log10 M* [Msun] at ``logmpeak`` [log10 Msun/h], Eq. C1."""
    a_lo = sigmoid(logmpeak, params.lo_x0, SMHM_K, params.lo_ylo, params.lo_yhi)
    a_hi = sigmoid(logmpeak, params.hi_x0, SMHM_K, params.hi_ylo, params.hi_yhi)
    index = sigmoid(logmpeak, params.logmh_crit, SMHM_K, a_lo, a_hi)
    return params.logsm_0 + index * (logmpeak - params.logmh_crit)


def checked_three_roll_smhm(params: SmhmParams, logmpeak):
    """:func:`three_roll_smhm` after validating ``params`` against :data:`SMHM_BOUNDS`."""
    check_params(params, SMHM_BOUNDS, what="SmhmParams")
    return three_roll_smhm(params, logmpeak)


def _bounds_arrays():
    lo = jnp.array([SMHM_BOUNDS[f][0] for f in SmhmParams._fields])
    hi = jnp.array([SMHM_BOUNDS[f][1] for f in SmhmParams._fields])
    return lo, hi


def smhm_params_from_unbounded(u) -> SmhmParams:
    """Map unbounded ``u`` (..., 8) to bounded :class:`SmhmParams` (App. C.2)."""
    lo, hi = _bounds_arrays()
    omega = sigmoid(u, 0.5 * (lo + hi), _UNBOUNDED_K, lo, hi)
    return SmhmParams(*jnp.moveaxis(omega, -1, 0))


def smhm_params_to_unbounded(params: SmhmParams):
    """Inverse of :func:`smhm_params_from_unbounded`; returns an array (..., 8)."""
    lo, hi = _bounds_arrays()
    omega = jnp.stack([jnp.asarray(p) for p in params], axis=-1)
    return inverse_sigmoid(omega, 0.5 * (lo + hi), _UNBOUNDED_K, lo, hi)
