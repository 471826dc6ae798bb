"""Likelihood families of a prepared term: Gaussian, Student-t and Poisson.

A prepared term (:class:`~shaminfer.inference.terms.PreparedTerm`) carries its ``family``:

``"gaussian"``
    ``data ~ N(mu, C)`` (the default; :class:`~shaminfer.inference.terms.GaussianTerm`).
``"student_t"``
    ``data ~ t_nu(mu, C)``, the multivariate Student-t with ``nu = df`` degrees of freedom and scale
    matrix ``C`` (covariance ``nu / (nu - 2) C``); heavier tails than the Gaussian, so a few outlying
    data points move the posterior less (:class:`~shaminfer.inference.terms.StudentTTerm`).
``"poisson"``
    ``data_i ~ Poisson(mu_i)`` independently, for counts (:class:`~shaminfer.inference.terms.PoissonTerm`);
    ``mu`` must be positive.

Each family gives the NumPyro distribution of the term's observed site, the joint log-likelihood, the
pointwise log-likelihood that ArviZ's PSIS-LOO uses, and posterior-predictive replicates. For the two
correlated families the pointwise values are the leave-one-out conditionals ``log p(y_i | y_-i, theta)``
(Burkner, Gabry & Vehtari 2021): with ``Q = C^-1``, ``r = y - mu``, ``g = Q r``, the Gaussian conditional is
``N(y_i - g_i / Q_ii, 1 / Q_ii)``; the Student-t conditional is a Student-t with ``nu + n - 1`` degrees of
freedom, the same location and squared scale ``(nu + r^T Q r - g_i^2 / Q_ii) / (nu + n - 1) / Q_ii``
(``r^T Q r - g_i^2 / Q_ii`` is the Mahalanobis distance of the other n - 1 points under their own marginal).
Poisson counts are independent, so their pointwise values are the Poisson log-probabilities.
"""
from __future__ import annotations

import jax.numpy as jnp
import numpy as np
import numpyro.distributions as dist
from jax.scipy.special import gammaln

__all__ = ["FAMILIES", "site_distribution", "joint_loglik", "pointwise_loglik", "replicate"]

FAMILIES = ("gaussian", "student_t", "poisson")


def site_distribution(term, mu):
    """The NumPyro distribution of ``term``'s observed site at prediction ``mu`` (n,)."""
    if term.family == "poisson":
        return dist.Poisson(mu).to_event(1)
    chol = jnp.asarray(term.scale_tril)
    if term.family == "student_t":
        return dist.MultivariateStudentT(term.df, mu, chol)
    return dist.MultivariateNormal(mu, scale_tril=chol)


def _quad_terms(term, mu):
    resid = jnp.asarray(term.data) - mu
    q = jnp.asarray(term.precision)
    g = jnp.einsum("ij,...j->...i", q, resid)
    quad = jnp.sum(resid * g, axis=-1)
    logdet = 2.0 * jnp.sum(jnp.log(jnp.diag(jnp.asarray(term.scale_tril))))
    return g, quad, jnp.diag(q), logdet


def _poisson_logpmf(k, mu):
    return k * jnp.log(mu) - mu - gammaln(k + 1.0)


def joint_loglik(term, mu):
    """Joint log-likelihood of ``term`` at predictions ``mu`` (..., n); returns (...)."""
    n = term.data.size
    if term.family == "poisson":
        return jnp.sum(_poisson_logpmf(jnp.asarray(term.data), mu), axis=-1)
    _, quad, _, logdet = _quad_terms(term, mu)
    if term.family == "student_t":
        nu = term.df
        return (gammaln(0.5 * (nu + n)) - gammaln(0.5 * nu) - 0.5 * n * jnp.log(nu * jnp.pi) - 0.5 * logdet
                - 0.5 * (nu + n) * jnp.log1p(quad / nu))
    return -0.5 * (quad + logdet + n * jnp.log(2.0 * jnp.pi))


def pointwise_loglik(term, mu):
    """Pointwise (leave-one-out conditional) log-likelihoods of ``term`` at ``mu`` (..., n); returns (..., n)."""
    if term.family == "poisson":
        return _poisson_logpmf(jnp.asarray(term.data), mu)
    g, quad, qdiag, _ = _quad_terms(term, mu)
    if term.family == "student_t":
        nu, n = term.df, term.data.size
        nu_c = nu + n - 1.0
        scale2 = (nu + quad[..., None] - g * g / qdiag) / (nu_c * qdiag)
        z2 = (g / qdiag) ** 2 / scale2
        return (gammaln(0.5 * (nu_c + 1.0)) - gammaln(0.5 * nu_c) - 0.5 * jnp.log(nu_c * jnp.pi * scale2)
                - 0.5 * (nu_c + 1.0) * jnp.log1p(z2 / nu_c))
    return 0.5 * (jnp.log(qdiag) - jnp.log(2.0 * jnp.pi)) - 0.5 * g * g / qdiag


def replicate(term, mu, rng: np.random.Generator) -> np.ndarray:
    """Posterior-predictive replicates of ``term``'s data, one per prediction in ``mu`` (..., n) (numpy)."""
    mu = np.asarray(mu, dtype=np.float64)
    if term.family == "poisson":
        return rng.poisson(mu).astype(np.float64)
    z = rng.standard_normal(mu.shape) @ np.asarray(term.scale_tril).T
    if term.family == "student_t":
        z = z / np.sqrt(rng.chisquare(term.df, size=mu.shape[:-1] + (1,)) / term.df)
    return mu + z
