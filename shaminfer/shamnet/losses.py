"""Loss functions of App. C.2 (Eq. C3) and App. D (Eqs. D3, D4).

Both SMF losses compare the differentially clipped logarithms (Eq. C2,
y_min = 1e-15) of the target Schechter SMF and the SMF predicted with scatter
(App. B) on N = 100 log-spaced points 9 < log10 M* < 12.
"""
from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from ..ingredients.analytic_smf import abundance_grid, smf_with_scatter
from ..ingredients.schechter import schechter_smf
from ..ingredients.scatter import scatter_dex
from ..ingredients.shmf import DEFAULT_SHMF_PARAMS, cumulative_shmf
from ..ingredients.sigmoid import clipped_log10
from ..ingredients.smhm import smhm_params_from_unbounded, three_roll_smhm
from ..ingredients.theta import ShamParams, scatter_of, schechter_of
from .monotone import monotone_logsm
from .network import ShamNet, net_logsm

__all__ = [
    "LOSS_LOGSM",
    "PHI_MIN",
    "TRAIN_LOGMH_GRID",
    "EVAL_LOGMH_GRID",
    "target_smf",
    "smf_from_smhm_grid",
    "smf_residuals_from_logsm_grid",
    "smhm_fit_loss",
    "net_smf_loss",
    "net_smhm_regression_loss",
    "net_smf_residuals",
    "smhm_slope_penalty",
    "tail_weighted_loss",
]

LOSS_LOGSM = np.linspace(9.0, 12.0, 100)
PHI_MIN = 1e-15
TRAIN_LOGMH_GRID = abundance_grid(376, 9.0, 16.5)
EVAL_LOGMH_GRID = abundance_grid(1501, 9.0, 16.5)


def target_smf(theta: ShamParams, logsm=LOSS_LOGSM):
    """Target Schechter SMF of ``theta`` (Eq. 3, x* = 10.85)."""
    return schechter_smf(schechter_of(theta), logsm)


def smf_from_smhm_grid(theta: ShamParams, logsm_grid, *, logmh_grid=TRAIN_LOGMH_GRID, logsm=LOSS_LOGSM, kernel="triweight"):
    """SMF with scatter (App. B) of an SMHM tabulated on ``logmh_grid`` for the scatter of ``theta``."""
    sig = scatter_dex(scatter_of(theta), logmh_grid)
    cum = cumulative_shmf(DEFAULT_SHMF_PARAMS, logmh_grid)
    return smf_with_scatter(logmh_grid, logsm_grid, sig, cum, logsm, kernel=kernel)


def smf_residuals_from_logsm_grid(theta, logsm_grid, *, logmh_grid=TRAIN_LOGMH_GRID, logsm=LOSS_LOGSM, kernel="triweight"):
    """Delta = R(phi_pred) - R(phi_target) at ``logsm`` (Eq. C2), in dex."""
    pred = smf_from_smhm_grid(theta, logsm_grid, logmh_grid=logmh_grid, logsm=logsm, kernel=kernel)
    return clipped_log10(pred, PHI_MIN) - clipped_log10(target_smf(theta, logsm), PHI_MIN)


def smhm_fit_loss(u, theta: ShamParams, *, kernel="triweight"):
    """Eq. C3 for the three-roll SMHM with unbounded parameters ``u`` (8,) (App. C.2)."""
    params = smhm_params_from_unbounded(u)
    res = smf_residuals_from_logsm_grid(theta, three_roll_smhm(params, TRAIN_LOGMH_GRID), kernel=kernel)
    return jnp.mean(res**2)


def net_smf_residuals(net: ShamNet, theta: ShamParams, *, logmh_grid=TRAIN_LOGMH_GRID, logsm=LOSS_LOGSM, kernel="triweight",
                      monotone=False):
    """Residuals (..., len(logsm)) of the SMF from SHAMNet's SMHM, for a batch of theta.

    ``monotone=False`` (training): the bare network; ``True``: the rising SMHM that ``predict_logsm`` returns.
    """
    smhm = monotone_logsm if monotone else net_logsm

    def one(th):
        grid_sm = smhm(net, th, logmh_grid)
        return smf_residuals_from_logsm_grid(th, grid_sm, logmh_grid=logmh_grid, logsm=logsm, kernel=kernel)

    return jax.vmap(one)(theta)


def net_smf_loss(net: ShamNet, theta: ShamParams, *, kernel="triweight"):
    """Eq. D4 averaged over a batch of theta."""
    return jnp.mean(net_smf_residuals(net, theta, kernel=kernel) ** 2)


def net_smhm_regression_loss(net: ShamNet, theta: ShamParams, target_logsm, *, logmh_grid=TRAIN_LOGMH_GRID):
    """Eq. D3: mean squared difference between SHAMNet and the fitted three-roll SMHMs (B, G)."""
    pred = jax.vmap(lambda th: net_logsm(net, th, logmh_grid))(theta)
    return jnp.mean((pred - target_logsm) ** 2)


def smhm_slope_penalty(logsm_grid, logmh_grid, *, min_slope=0.01):
    """Hinge penalty on shallow or negative SMHM slopes (not in the paper; guards monotonicity).

    ``mean(relu(min_slope - d mu / d m)^2)`` over the finite-difference slopes of
    ``logsm_grid`` (..., G) on the halo nodes ``logmh_grid`` (G,).
    """
    slope = jnp.diff(logsm_grid, axis=-1) / jnp.diff(logmh_grid)
    return jnp.mean(jax.nn.relu(min_slope - slope) ** 2)


def tail_weighted_loss(res, *, tail_weight=0.0, tail_power=8.0):
    """Eq. D4 plus an optional tail term: ``mean(res^2) + tail_weight * mean(|res|^p)^(2/p)``.

    With ``tail_weight = 0`` this is Eq. D4. The p-norm (p > 2) tends to the
    largest |Delta| of the batch as p grows, so the tail term pulls down the
    worst residuals (the accuracy goal bounds the maximum as well as the rms)
    while staying in units of dex^2. Not in the paper.
    """
    loss = jnp.mean(res**2)
    if tail_weight > 0:
        if not tail_power > 2:
            raise ValueError(f"tail_power: expected a value > 2, found {tail_power}")
        # scaled by the largest |res| so that |res|^p cannot underflow; the p-norm is homogeneous of degree 1,
        # so holding the scale constant (stop_gradient) leaves the value and the gradient exact
        scale = jax.lax.stop_gradient(jnp.max(jnp.abs(res)))
        scale = jnp.where(scale > 0, scale, 1.0)
        loss = loss + tail_weight * scale**2 * jnp.mean(jnp.abs(res / scale) ** tail_power) ** (2.0 / tail_power)
    return loss
