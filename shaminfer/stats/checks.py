"""Checks every engine runs on a concrete call (not under ``jit``/``grad``/``vmap``), before any statistic.

One validator per input (``../shared/STYLE.md``), shared by the exact engine
(:mod:`.predict`) and the tabulated one (:mod:`.tabulated`).
"""
from __future__ import annotations

import numpy as np

__all__ = ["check_theta", "check_wp_pairs", "check_missing_profiles"]


def check_theta(theta, net) -> None:
    """Refuse a non-finite theta, or one outside SHAMNet's training domain when ``net`` is given.

    Parameters
    ----------
    theta : ShamParams (or any NamedTuple of scalars)
        A concrete theta (not traced).
    net : ShamNet or None
        The SHAMNet whose domain applies (None: no domain check).

    Raises
    ------
    ValueError
        Naming the field and its value.
    """
    for name, value in zip(getattr(theta, "_fields", [f"[{i}]" for i in range(len(theta))]), theta):
        arr = np.asarray(value, dtype=np.float64)
        if not np.all(np.isfinite(arr)):
            raise ValueError(f"theta.{name}: expected finite values, found {arr.tolist()!r}")
    if net is not None:
        from ..shamnet import check_theta_in_domain

        check_theta_in_domain(theta, net=net)


def check_wp_pairs(s1, s2, samples) -> None:
    """Refuse a w_p sample with fewer than two effective galaxies.

    Parameters
    ----------
    s1, s2 : array (nsample,)
        Sum of each sample's weights and sum of their squares (``(sum w)^2 - sum w^2`` is
        its weighted number of ordered pairs, the normalization of Eq. 15).
    samples : sequence of Sample
        The samples, for the message.
    """
    s1, s2 = np.asarray(s1), np.asarray(s2)
    bad = ~(s1 * s1 - s2 > 0)
    if bad.any():
        raise ValueError(
            f"config.samples: expected every w_p sample to hold more than one effective galaxy, found "
            f"{int(bad.sum())} sample(s) with (sum w)^2 - sum w^2 <= 0: "
            f"{[samples[i] for i in np.flatnonzero(bad)]}")


def check_missing_profiles(frac, max_missing: float, samples) -> None:
    """Refuse a Delta Sigma sample with more than ``max_missing`` of its weight on subhalos without a profile.

    Parameters
    ----------
    frac : array (nsample,)
        Fraction of each sample's weight on subhalos without a lensing profile
        (:func:`~shaminfer.stats.lensing.missing_profile_fraction`).
    max_missing : float
        The largest fraction allowed.
    samples : sequence of Sample
        The samples, for the message.
    """
    frac = np.asarray(frac)
    bad = frac > max_missing
    if bad.any():
        raise ValueError(
            f"config.samples: expected at most {max_missing:g} of each Delta Sigma sample's weight on "
            f"subhalos without a lensing profile, found {int(bad.sum())} sample(s) above it "
            f"(fractions {np.round(frac[bad], 4).tolist()} for {[samples[i] for i in np.flatnonzero(bad)]}); "
            "raise the sample's stellar mass, give more subhalos profiles, or pass ds_rbins=()")
