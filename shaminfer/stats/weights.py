"""Per-subhalo probabilities of entering a stellar-mass bin or sample (Eq. 6, App. E).

The galaxy in subhalo ``a`` has log10 M* drawn from the triweight kernel of
Eq. E1 with mean ``mu_a = <log10 M* | Mpeak_a>`` (SHAMNet, Eq. 5) and width
``sigma_a = sigma(Mpeak_a)`` (Eq. 4). Its weight for a bin ``[lo, hi)`` is the
probability mass of the kernel inside the bin (Eq. 6); for a threshold
sample it is ``P(log10 M* >= lo)``. The weights are smooth (C^3) in
``mu`` and ``sigma`` and exactly zero, with zero derivative, outside
``mu +- 3 sigma``: subhalos with zero weight can be dropped from any sum
without changing values or gradients (App. E).
"""
from __future__ import annotations

import jax.numpy as jnp
import numpy as np

from ..ingredients.scatter import scatter_dex
from ..ingredients.theta import scatter_of
from ..ingredients.triweight import triweight_bin_prob, triweight_threshold_prob

__all__ = ["galaxy_logsm_pdf_params", "smf_bin_weights", "sample_weights"]


def galaxy_logsm_pdf_params(theta, logmpeak, *, smhm):
    """Mean and width [dex] of each subhalo's log10 M* kernel.

    Parameters
    ----------
    theta : ShamParams
    logmpeak : array (N,)
        log10 Mpeak [Msun/h].
    smhm : callable (theta, logmpeak) -> log10 M* [Msun]
        The median stellar-to-halo-mass relation (SHAMNet's ``predict_logsm``).

    Returns
    -------
    mu, sigma : arrays (N,)
        ``mu`` in log10 Msun; ``sigma = scatter_dex(scatter_of(theta), logmpeak)`` (Eq. 4).
    """
    mu = smhm(theta, logmpeak)
    sigma = scatter_dex(scatter_of(theta), logmpeak)
    return mu, sigma


def smf_bin_weights(mu, sigma, edges):
    """Probability that each galaxy lies in each SMF bin, Eq. 6.

    Parameters
    ----------
    mu, sigma : arrays (N,)
    edges : sequence (nsmf + 1,)
        log10 M* [Msun] bin edges.

    Returns
    -------
    array (nsmf, N)
    """
    edges = np.asarray(edges, dtype=np.float64)
    lo = jnp.asarray(edges[:-1])[:, None]
    hi = jnp.asarray(edges[1:])[:, None]
    return triweight_bin_prob(lo, hi, mu[None, :], sigma[None, :])


def sample_weights(mu, sigma, samples):
    """Probability that each galaxy belongs to each sample (Eq. 6 for a bin, 1 - CDF for a threshold).

    Parameters
    ----------
    mu, sigma : arrays (N,)
    samples : tuple of Sample

    Returns
    -------
    array (nsample, N)
    """
    rows = []
    for s in samples:
        if s.kind == "threshold":
            rows.append(triweight_threshold_prob(s.lo, mu, sigma))
        else:
            rows.append(triweight_bin_prob(s.lo, s.hi, mu, sigma))
    if not rows:
        return jnp.zeros((0,) + jnp.shape(mu), dtype=jnp.result_type(mu, sigma))
    return jnp.stack(rows)
