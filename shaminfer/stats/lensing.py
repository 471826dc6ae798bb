"""Stacked Delta Sigma of a weighted galaxy sample (Eqs. 10-12, App. F).

Each subhalo with a precomputed profile (``catalog.lensing``, App. F, Eq. F4)
contributes its annulus-averaged ``<Delta Sigma>_a(R)`` with the probability
``w_a`` that its galaxy is in the sample (Eq. 6):

    <Delta Sigma(R)> = sum_a w_a Delta Sigma_a(R) / sum_a w_a        (Eq. 11)

over the objects that have profiles; the gradient (Eq. 12) is autodiff
through the weights. Objects without a profile cannot contribute, so a sample
whose weight on them is more than a small fraction
(:data:`MAX_MISSING_PROFILE_WEIGHT` by default) is refused at the shell
(:func:`missing_profile_fraction`).

Coarser radial bins are exact merges of the catalog's annuli: an annulus
average is ``int Delta Sigma dA / A``, so the average over a union of annuli
is their area-weighted mean (:func:`merge_annuli`).
"""
from __future__ import annotations

import jax.numpy as jnp
import numpy as np

__all__ = [
    "MAX_MISSING_PROFILE_WEIGHT",
    "merge_annuli",
    "delta_sigma_from_weights",
    "missing_profile_fraction",
]

#: Largest fraction of a sample's weight allowed on subhalos without a lensing profile.
MAX_MISSING_PROFILE_WEIGHT = 0.01


def merge_annuli(delta_sigma, rbins, new_rbins) -> np.ndarray:
    """Area-weighted merge of annulus-averaged profiles onto coarser bins.

    Parameters
    ----------
    delta_sigma : array (M, nR)
        ``<Delta Sigma>`` per object and annulus [h Msun / pc^2].
    rbins : array (nR + 1,)
        The annuli's edges [Mpc/h].
    new_rbins : array (nR' + 1,)
        A subset of ``rbins`` (matched to 1e-9 relative).

    Returns
    -------
    array (M, nR')
    """
    rbins = np.asarray(rbins, dtype=np.float64)
    new_rbins = np.asarray(new_rbins, dtype=np.float64)
    pos = np.array([int(np.argmin(np.abs(rbins - r))) for r in new_rbins], dtype=np.int64)
    if not np.allclose(rbins[pos], new_rbins, rtol=1e-9, atol=0.0) or np.any(np.diff(pos) <= 0):
        raise ValueError(f"new_rbins: expected increasing edges taken from rbins, found {new_rbins.tolist()}")
    area = np.pi * np.diff(rbins**2)
    ds = np.asarray(delta_sigma, dtype=np.float64)
    out = np.empty((ds.shape[0], pos.size - 1))
    for j in range(pos.size - 1):
        sl = slice(pos[j], pos[j + 1])
        out[:, j] = ds[:, sl] @ area[sl] / area[sl].sum()
    return out


def delta_sigma_from_weights(weights, profiles):
    """Weighted stack of per-object profiles, Eq. 11.

    Parameters
    ----------
    weights : array (..., M)
        Sample weights of the objects that have profiles (same order as the rows of ``profiles``).
    profiles : array (M, nR)
        ``<Delta Sigma>`` per object [h Msun / pc^2].

    Returns
    -------
    array (..., nR)
        Stacked ``<Delta Sigma>`` [h Msun / pc^2]; NaN when the total weight is zero.
    """
    num = weights @ profiles
    return num / jnp.sum(weights, axis=-1, keepdims=True)


def missing_profile_fraction(weights, has_profile) -> np.ndarray:
    """Fraction of each sample's weight on subhalos without a profile (concrete arrays only).

    Parameters
    ----------
    weights : array (nsample, N)
    has_profile : bool array (N,)

    Returns
    -------
    array (nsample,)
        ``sum_{a without profile} w_a / sum_a w_a`` (1 when the sample is empty).
    """
    w = np.asarray(weights, dtype=np.float64)
    total = w.sum(axis=-1)
    missing = w[..., ~np.asarray(has_profile, dtype=bool)].sum(axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(total > 0, missing / np.where(total > 0, total, 1.0), 1.0)
