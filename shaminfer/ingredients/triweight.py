"""The triweight kernel of Eq. E1 and the bin weights of Eq. 6.

``K(z) = 35/96 [1 - (z/3)^2]^3`` for ``|z| <= 3``, zero otherwise, with
``z = (x - mu) / sigma``. It has the Gaussian's mean and variance, compact
support on ``mu +- 3 sigma`` and continuous derivatives up to second order at
the edges, so bin probabilities are smooth in ``mu`` and ``sigma``.

The standardized density and CDF carry closed-form JVP rules (``K'`` and
``K``), which keeps reverse-mode gradients through large weight arrays cheap.
"""
from __future__ import annotations

import jax
import jax.numpy as jnp

__all__ = [
    "triweight_pdf",
    "triweight_cdf",
    "triweight_bin_prob",
    "triweight_threshold_prob",
    "TRIWEIGHT_HALF_WIDTH",
]

TRIWEIGHT_HALF_WIDTH = 3.0


def _kprime(z):
    u2 = jnp.minimum(z * z / 9.0, 1.0)
    return -(35.0 / 144.0) * z * (1.0 - u2) ** 2


@jax.custom_jvp
def _k(z):
    """Standardized triweight density K(z), Eq. E1."""
    u2 = jnp.minimum(z * z / 9.0, 1.0)
    return (35.0 / 96.0) * (1.0 - u2) ** 3


@_k.defjvp
def _k_jvp(primals, tangents):
    (z,), (dz,) = primals, tangents
    return _k(z), _kprime(z) * dz


@jax.custom_jvp
def _kcdf(z):
    """Standardized triweight CDF, the integral of Eq. E1."""
    u = jnp.clip(z / 3.0, -1.0, 1.0)
    u2 = u * u
    return 0.5 + (35.0 / 32.0) * u * (1.0 - u2 + u2 * u2 * (0.6 - u2 / 7.0))


@_kcdf.defjvp
def _kcdf_jvp(primals, tangents):
    (z,), (dz,) = primals, tangents
    return _kcdf(z), _k(z) * dz


def triweight_pdf(x, mu, sigma):
    """Probability density of ``x`` for the triweight of mean ``mu`` and width ``sigma``, Eq. E1."""
    return _k((x - mu) / sigma) / sigma


def triweight_cdf(x, mu, sigma):
    """Cumulative distribution ``P(X < x)`` of the triweight."""
    return _kcdf((x - mu) / sigma)


def triweight_bin_prob(lo, hi, mu, sigma):
    """Probability that ``x`` lands in ``[lo, hi)`` (Eq. 6 with the triweight)."""
    return triweight_cdf(hi, mu, sigma) - triweight_cdf(lo, mu, sigma)


def triweight_threshold_prob(threshold, mu, sigma):
    """Probability that ``x >= threshold`` (a threshold sample, Eq. 6 with the triweight)."""
    return 1.0 - triweight_cdf(threshold, mu, sigma)
