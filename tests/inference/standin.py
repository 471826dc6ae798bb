"""A cheap stand-in forward model and domain for the inference tests.

The stand-in has the shape of the real one (``theta -> Predictions(smf, wp,
delta_sigma)``): the SMF is the Schechter function of Eq. 3 (what exact SHAM
reproduces by construction), and w_p and Delta Sigma are smooth power laws
whose amplitudes fall with the scatter, as in Figs. 5-6. The domain mimics
SHAMNet's: a rotated box in (log10 phi*, alpha) times sigma in (0.1, 0.5).
"""
from __future__ import annotations

from typing import NamedTuple

import jax.numpy as jnp
import numpy as np

from shaminfer.ingredients import DEFAULT_SHAM_PARAMS, ShamParams, schechter_of, schechter_smf

SMF_CENTERS = np.linspace(9.6, 11.6, 9)
RP = np.geomspace(0.5, 15.0, 6)
RR = np.geomspace(0.2, 5.0, 5)
N_SAMPLES = 3
ANGLE = np.deg2rad(35.0)
AXES = np.array([[np.cos(ANGLE), -np.sin(ANGLE)], [np.sin(ANGLE), np.cos(ANGLE)]])
HALF = np.array([0.25, 0.06])
CENTER = np.array([DEFAULT_SHAM_PARAMS.logphi_star, DEFAULT_SHAM_PARAMS.alpha])


class Predictions(NamedTuple):
    smf: jnp.ndarray
    wp: jnp.ndarray
    delta_sigma: jnp.ndarray


def forward(theta: ShamParams) -> Predictions:
    smf = schechter_smf(schechter_of(theta), jnp.asarray(SMF_CENTERS))
    j = jnp.arange(N_SAMPLES)[:, None]
    dsig_hi = theta.sigma_hi - 0.25
    dsig_lo = theta.sigma_lo - 0.4
    dalpha = theta.alpha + 1.06
    log_amp_wp = 2.0 + 0.3 * j - (1.0 + j) * 0.8 * dsig_hi - 0.6 * dsig_lo + 0.5 * dalpha
    wp = jnp.exp(log_amp_wp) * jnp.asarray(RP) ** -0.8
    log_amp_ds = 3.0 + 0.4 * j - (1.0 + j) * 1.0 * dsig_hi - 0.3 * dsig_lo
    ds = jnp.exp(log_amp_ds) * jnp.asarray(RR) ** -0.7
    return Predictions(smf, wp, ds)


class StandinDomain(NamedTuple):
    """Rotated box in (log10 phi*, alpha), sigma_lo and sigma_hi in (0.1, 0.5)."""

    def _unit(self, theta):
        v = np.array([theta.logphi_star, theta.alpha], dtype=float)
        return AXES.T @ (v - CENTER) / HALF

    def check(self, theta):
        u = self._unit(theta)
        bad = [k for k, ok in (("logphi_star/alpha", np.all(np.abs(u) <= 1)),
                               ("sigma_lo", 0.1 < theta.sigma_lo < 0.5),
                               ("sigma_hi", 0.1 < theta.sigma_hi < 0.5)) if not ok]
        if bad:
            raise ValueError(f"theta outside the stand-in training domain in {bad}")

    def sample(self, seed, n):
        rng = np.random.default_rng(seed)
        u = rng.uniform(-1, 1, size=(n, 2))
        xy = CENTER + (u * HALF) @ AXES.T
        s = rng.uniform(0.1, 0.5, size=(n, 2))
        return ShamParams(xy[:, 0], xy[:, 1], s[:, 0], s[:, 1])


DOMAIN = StandinDomain()
THETA_TRUE = ShamParams(DEFAULT_SHAM_PARAMS.logphi_star + 0.02, -1.05, 0.35, 0.28)


def covariances(pred: Predictions, frac=(0.05, 0.08, 0.08), corr=0.3):
    """Relative-error covariances with nearest-neighbour correlations, one per statistic."""
    out = []
    for f, vec in zip(frac, (pred.smf, pred.wp, pred.delta_sigma)):
        v = np.asarray(vec).ravel()
        n = v.size
        c = np.eye(n) + corr * (np.eye(n, k=1) + np.eye(n, k=-1))
        out.append((f * v)[:, None] * c * (f * v)[None, :])
    return out
