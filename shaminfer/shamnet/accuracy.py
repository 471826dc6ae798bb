"""Accuracy of SHAMNet against the abundance-matching target (Fig. 3).

Delta = R(phi_pred) - R(phi_target) (Eq. C2, y_min = 1e-15) on 100 log-spaced
points 9 < log10 M* < 12, with phi_pred the App. B SMF of SHAMNet's SMHM on a
fine quadrature grid (1501 nodes, error < 3e-5 dex).
"""
from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from ..ingredients.theta import ShamParams
from .losses import EVAL_LOGMH_GRID, LOSS_LOGSM, net_smf_residuals
from .monotone import monotone_logsm
from .network import ShamNet, net_logsm

__all__ = ["AccuracyReport", "smf_residuals", "smf_accuracy", "min_smhm_slope"]


class AccuracyReport(NamedTuple):
    """rms and max |Delta| [dex] over all theta and all 100 points; residuals (n, 100)."""

    rms_dex: float
    max_abs_dex: float
    n_theta: int
    residuals: np.ndarray


def smf_residuals(net: ShamNet, theta: ShamParams, *, logmh_grid=EVAL_LOGMH_GRID, kernel="triweight", chunk=50, monotone=True):
    """Residuals (n, 100) [dex] for a batch of theta, computed in chunks to bound memory.

    ``monotone=True``: of the SMHM that ``predict_logsm`` returns; ``False``: of the bare network.
    """
    n = int(np.size(theta.logphi_star))
    f = jax.jit(lambda th: net_smf_residuals(net, th, logmh_grid=logmh_grid, kernel=kernel, monotone=monotone))
    out = []
    for i in range(0, n, chunk):
        th = ShamParams(*(jnp.atleast_1d(jnp.asarray(v))[i : i + chunk] for v in theta))
        out.append(np.asarray(f(th)))
    return np.concatenate(out)


def smf_accuracy(net: ShamNet, theta: ShamParams, *, logmh_grid=EVAL_LOGMH_GRID, kernel="triweight", monotone=True) -> AccuracyReport:
    """rms and max |Delta| of the SMF from SHAMNet over ``theta`` (``monotone``: as for :func:`smf_residuals`)."""
    res = smf_residuals(net, theta, logmh_grid=logmh_grid, kernel=kernel, monotone=monotone)
    return AccuracyReport(float(np.sqrt(np.mean(res**2))), float(np.max(np.abs(res))), int(res.shape[0]), res)


def min_smhm_slope(net: ShamNet, theta: ShamParams, *, logmpeak=jnp.linspace(10.0, 15.5, 111), monotone=True):
    """Smallest d log10 M* / d log10 Mpeak over ``logmpeak`` for each theta (monotonicity check).

    ``monotone=True``: of the SMHM that ``predict_logsm`` returns; ``False``: of the bare network.
    """
    smhm = monotone_logsm if monotone else net_logsm
    slope = jax.vmap(jax.vmap(jax.grad(lambda m, th: smhm(net, th, m)), in_axes=(0, None)), in_axes=(None, 0))
    return np.asarray(jnp.min(slope(logmpeak, theta), axis=-1))


LOSS_POINTS = LOSS_LOGSM
