"""The stellar mass function from per-subhalo bin weights (Eqs. 6-8).

``phi_i = sum_a w_ia / (V dlog10M*_i)`` with ``w_ia`` the probability that
the galaxy of subhalo ``a`` lies in bin ``i`` (Eq. 6) and ``V`` the box
volume: an exact (noise-free) expectation of the Monte Carlo histogram of
Sec. 4.1, whose gradient in theta is the sum of the weight gradients (Eq. 8).
"""
from __future__ import annotations

import jax.numpy as jnp
import numpy as np

__all__ = ["smf_from_weights", "smf_poisson_sd"]


def smf_from_weights(weights, edges, volume):
    """Stellar mass function, Eq. 7.

    Parameters
    ----------
    weights : array (nsmf, N)
        Bin probabilities (:func:`shaminfer.stats.weights.smf_bin_weights`).
    edges : sequence (nsmf + 1,)
        log10 M* [Msun] bin edges.
    volume : float
        Box volume [(Mpc/h)^3].

    Returns
    -------
    array (nsmf,)
        phi [dex^-1 (Mpc/h)^-3].
    """
    return jnp.sum(weights, axis=-1) / _bin_volumes(edges, volume)


def _bin_volumes(edges, volume):
    """``dlog10M* x V`` of each bin [dex (Mpc/h)^3]: a count per bin over it is phi."""
    return jnp.asarray(np.diff(np.asarray(edges, dtype=np.float64)) * float(volume))


def smf_poisson_sd(smf, edges, volume):
    """Poisson standard deviation of a stellar mass function measured by counting galaxies in ``volume``.

    A bin holding ``N = phi V dlog10M*`` galaxies on average has count variance ``N``, so
    ``sd(phi) = sqrt(phi / (V dlog10M*))``. Add it in quadrature to a fractional error where the volume holds
    few galaxies per bin: a 5% error on a bin with less than one galaxy overstates what the data know by orders
    of magnitude (benchmarks/RESULTS.md, gradients_pay).

    Parameters
    ----------
    smf : array (..., nsmf)
        phi [dex^-1 (Mpc/h)^-3], e.g. :func:`smf_from_weights` (any leading axes, such as colours).
    edges : sequence (nsmf + 1,)
        log10 M* [Msun] bin edges.
    volume : float
        Volume [(Mpc/h)^3] in which the galaxies are counted.

    Returns
    -------
    array (..., nsmf)
        Standard deviation of phi [dex^-1 (Mpc/h)^-3].
    """
    bins = _bin_volumes(edges, volume)
    smf = jnp.asarray(smf)
    if smf.shape[-1] != bins.size:
        raise ValueError(f"smf_poisson_sd: smf has {smf.shape[-1]} bins on its last axis, edges give {bins.size}")
    return jnp.sqrt(jnp.abs(smf) / bins)
