"""Parameterized subhalo mass function, App. A (Eq. A2).

``y_h(m) = y0 + S(m, m_c, k, y_lo, y_hi) (m - m_c)`` with ``y_h = log10 N_h(> m)``,
``m = log10 Mpeak`` [Msun/h] and ``N_h`` the cumulative comoving number density
[(Mpc/h)^-3]. ``m_c(z)`` and ``y0(z)`` follow the sigmoid of Eq. A1 in redshift.
"""
from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp

from .sigmoid import sigmoid
from .validate import check_params

__all__ = [
    "DEFAULT_SHMF_PDICT",
    "ShmfParams",
    "DEFAULT_SHMF_PARAMS",
    "SHMF_BOUNDS",
    "shmf_mc",
    "shmf_y0",
    "log10_cumulative_shmf",
    "cumulative_shmf",
    "differential_shmf",
    "checked_cumulative_shmf",
    "checked_differential_shmf",
]

DEFAULT_SHMF_PDICT = dict(
    y_lo=-1.4,
    k=0.9,
    y_hi=-5.25,
    mc_zc=0.75,
    mc_k=1.0,
    mc_ylo=16.175,
    mc_yhi=12.925,
    y0_zc=0.5,
    y0_k=1.35,
    y0_ylo=-8.1,
    y0_yhi=-5.9,
)


class ShmfParams(NamedTuple):
    """Fitting-function parameters of App. A (BPL calibration)."""

    y_lo: float
    k: float
    y_hi: float
    mc_zc: float
    mc_k: float
    mc_ylo: float
    mc_yhi: float
    y0_zc: float
    y0_k: float
    y0_ylo: float
    y0_yhi: float


DEFAULT_SHMF_PARAMS = ShmfParams(**DEFAULT_SHMF_PDICT)
SHMF_BOUNDS = dict(k=(1e-3, 100.0), mc_k=(1e-3, 100.0), y0_k=(1e-3, 100.0))
_REDSHIFT_RANGE = (0.0, 20.0)
_LOGMPEAK_RANGE = (0.0, 20.0)


def shmf_mc(params: ShmfParams, redshift):
    """Critical mass ``m_c(z)`` [log10 Msun/h]; ``m_c(0) = 15.13`` for the defaults."""
    return sigmoid(redshift, params.mc_zc, params.mc_k, params.mc_ylo, params.mc_yhi)


def shmf_y0(params: ShmfParams, redshift):
    """Normalization ``y0(z)`` [log10 (Mpc/h)^-3]; ``y0(0) = -7.36`` for the defaults."""
    return sigmoid(redshift, params.y0_zc, params.y0_k, params.y0_ylo, params.y0_yhi)


def log10_cumulative_shmf(params: ShmfParams, logmpeak, redshift=0.0):
    """``y_h = log10 N_h(> Mpeak)``, Eq. A2."""
    mc = shmf_mc(params, redshift)
    y0 = shmf_y0(params, redshift)
    slope = sigmoid(logmpeak, mc, params.k, params.y_lo, params.y_hi)
    return y0 + slope * (logmpeak - mc)


def cumulative_shmf(params: ShmfParams, logmpeak, redshift=0.0):
    """Cumulative number density ``N_h(> Mpeak)`` [(Mpc/h)^-3], App. A."""
    return 10.0 ** log10_cumulative_shmf(params, logmpeak, redshift)


def differential_shmf(params: ShmfParams, logmpeak, redshift=0.0):
    """Differential density ``dn/dlog10 Mpeak`` [(Mpc/h)^-3 dex^-1] = ``-dN(>m)/dm``.

    Computed analytically by forward-mode differentiation of Eq. A2, so it is
    exactly minus the derivative of :func:`cumulative_shmf`.
    """
    logmpeak = jnp.asarray(logmpeak, dtype=jnp.result_type(float))

    def y(m):
        return log10_cumulative_shmf(params, m, redshift)

    yval, dydm = jax.jvp(y, (logmpeak,), (jnp.ones_like(logmpeak),))
    return -jnp.log(10.0) * 10.0**yval * dydm


def _check(params, logmpeak, redshift):
    check_params(params, SHMF_BOUNDS, what="ShmfParams")
    from .validate import check_finite_array, is_traced

    for name, val, (lo, hi) in (("redshift", redshift, _REDSHIFT_RANGE), ("logmpeak", logmpeak, _LOGMPEAK_RANGE)):
        arr = check_finite_array(name, val)
        if not is_traced(arr) and ((arr < lo) | (arr > hi)).any():
            raise ValueError(f"{name}: expected values in [{lo}, {hi}], found {val!r}")


def checked_cumulative_shmf(params: ShmfParams, logmpeak, redshift=0.0):
    """:func:`cumulative_shmf` with shell validation of every argument."""
    _check(params, logmpeak, redshift)
    return cumulative_shmf(params, logmpeak, redshift)


def checked_differential_shmf(params: ShmfParams, logmpeak, redshift=0.0):
    """:func:`differential_shmf` with shell validation of every argument."""
    _check(params, logmpeak, redshift)
    return differential_shmf(params, logmpeak, redshift)
