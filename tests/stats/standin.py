"""Shared oracles and stand-ins for the stats tests (not a test module).

* :func:`standin_smhm`: a smooth map (theta, log10 Mpeak) -> log10 M* through
  all four theta components (the three-roll SMHM of App. C, shifted), so the
  tests do not depend on trained SHAMNet weights.
* :func:`brute_force_pair_sums`: O(N^2) NumPy pair counts with minimum-image
  periodic wrap, the oracle for the kernels.
* :func:`check_against_fd`: central finite differences in float64.
"""
from __future__ import annotations

import numpy as np

from shaminfer.ingredients import DEFAULT_SHAM_PARAMS, DEFAULT_SMHM_PARAMS, ShamParams, three_roll_smhm

THETA0 = DEFAULT_SHAM_PARAMS


def standin_smhm(theta, logmpeak):
    """log10 M* [Msun]: the default three-roll SMHM shifted smoothly by every theta component."""
    base = three_roll_smhm(DEFAULT_SMHM_PARAMS, logmpeak)
    x = logmpeak - 12.0
    return (base + 0.6 * (theta.logphi_star - THETA0.logphi_star) + 0.4 * (theta.alpha - THETA0.alpha) * x
            - 0.3 * (theta.sigma_lo - THETA0.sigma_lo) + 0.2 * (theta.sigma_hi - THETA0.sigma_hi) * x)


def brute_force_pair_sums(pos, w, box, rp_edges, pi_max, los_axis=2):
    """``(DD (nrp,), G (N, nrp))`` by direct summation over all ordered pairs b != a."""
    pos = np.asarray(pos, dtype=np.float64)
    w = np.asarray(w, dtype=np.float64)
    d = pos[:, None, :] - pos[None, :, :]
    d -= box * np.round(d / box)
    perp = [ax for ax in (0, 1, 2) if ax != los_axis]
    rp2 = d[..., perp[0]] ** 2 + d[..., perp[1]] ** 2
    dz = np.abs(d[..., los_axis])
    np.fill_diagonal(dz, np.inf)
    edges2 = np.asarray(rp_edges, dtype=np.float64) ** 2
    g = np.zeros((pos.shape[0], edges2.size - 1))
    for i in range(edges2.size - 1):
        s = (rp2 >= edges2[i]) & (rp2 < edges2[i + 1]) & (dz < pi_max)
        g[:, i] = s @ w
    return w @ g, g


def theta_shift(theta, k, h):
    vals = [float(v) for v in theta]
    vals[k] += h
    return ShamParams(*vals)


def check_against_fd(fun, jac, theta, *, h=1e-4, rtol=1e-5, tiny=1e-3):
    """Compare ``jac`` (a ShamParams of arrays, as jax.jacfwd gives) with central differences of ``fun``.

    Entries with |derivative| below ``tiny`` times the largest |derivative| of
    the same parameter are "tiny" and only checked to ``rtol * tiny * max``.
    Returns the largest relative error over the entries that are not tiny.
    """
    worst = 0.0
    for k in range(len(theta)):
        fd = (np.asarray(fun(theta_shift(theta, k, h))) - np.asarray(fun(theta_shift(theta, k, -h)))) / (2 * h)
        ad = np.asarray(jac[k])
        scale = np.max(np.abs(ad))
        assert scale > 0, f"derivative along theta[{k}] vanishes everywhere"
        big = np.abs(ad) >= tiny * scale
        err = np.abs(fd - ad)
        assert np.all(err[~big] <= rtol * tiny * scale), (k, err[~big].max())
        rel = err[big] / np.abs(ad[big])
        assert np.all(rel <= rtol), (k, rel.max(), ad, fd)
        worst = max(worst, float(rel.max()))
    return worst
