"""The monotonicity guards of phase 2 (deviations from App. D.3): a slope hinge in the loss and a check on held-out theta.

The SMHM of Eq. 2 rises with Mpeak, but an SELU network (App. D.1) can dip
where that SMHM is a plateau (sigma_lo ~ 0.1, sigma_hi ~ 0.5). Two opt-in
guards act in phase 2:

* the slope hinge (``cfg.mono_weight > 0``): ``mono_weight`` times
  :func:`~shaminfer.shamnet.losses.smhm_slope_penalty`, zero for any relation
  whose slope stays above ``cfg.mono_min_slope`` over the training halo grid,
  is added to Eq. D4. With ``cfg.mono_batch > 0`` that many face-crowded
  theta per step enter only the hinge (no SMF quadrature, so they are cheap),
  and the hinge averages over the batch and these theta;
* the check (``cfg.require_monotonic``): phase 2 keeps only weights whose
  finite-difference SMHM slope on :data:`GUARD_LOGMPEAK` is positive for the
  256 uniform theta of :func:`monotonicity_guard_theta`, plus
  ``cfg.mono_guard_faces`` crowded towards the sigma faces.
"""
from __future__ import annotations

import jax
import jax.numpy as jnp

from ...ingredients.theta import ShamParams
from ..domain import ShamNetDomain, sample_domain
from ..losses import smhm_slope_penalty
from ..network import net_logsm
from .common import cast_floating, chunked
from .config import TrainConfig

__all__ = ["GUARD_LOGMPEAK", "monotonicity_guard_theta", "slope_hinge", "smallest_slopes"]

GUARD_LOGMPEAK = jnp.linspace(10.0, 15.5, 221)
"""log10 Mpeak [Msun/h] of the monotonicity check: 221 points, 0.025 dex apart."""


def monotonicity_guard_theta(domain: ShamNetDomain, cfg: TrainConfig, *, seed: int) -> ShamParams:
    """Theta of phase 2's ``require_monotonic`` check: 256 uniform draws (``seed + 7``), then ``cfg.mono_guard_faces`` face-crowded ones (``seed + 8``)."""
    theta = sample_domain(domain, seed + 7, 256)
    if cfg.mono_guard_faces > 0:
        extra = sample_domain(domain, seed + 8, cfg.mono_guard_faces, face_power=cfg.face_power)
        theta = ShamParams(*(jnp.concatenate([a, b]) for a, b in zip(theta, extra)))
    return theta


def slope_hinge(net, theta: ShamParams, theta_hinge: ShamParams | None, logmh_grid, *, min_slope: float):
    """The slope hinge on ``net``'s SMHM over ``logmh_grid`` for the batch and the hinge-only theta, weighted by theta count.

    Parameters
    ----------
    net : ShamNet or BasisShamNet
    theta : ShamParams
        The batch of Eq. D4.
    theta_hinge : ShamParams or None
        Theta that enter only the hinge (``cfg.mono_batch``).
    logmh_grid : array (G,)
        log10 Mpeak [Msun/h] nodes.
    min_slope : float
        Slope d log10 M* / d log10 Mpeak below which the hinge acts.
    """
    def hinge(t):
        return smhm_slope_penalty(jax.vmap(lambda u: net_logsm(net, u, logmh_grid))(t), logmh_grid, min_slope=min_slope)

    pen = hinge(theta)
    if theta_hinge is None:
        return pen
    n_b, n_h = theta.alpha.shape[0], theta_hinge.alpha.shape[0]
    return (n_b * pen + n_h * hinge(theta_hinge)) / (n_b + n_h)


def smallest_slopes(net_type, domain: ShamNetDomain, *, chunk: int = 1000):
    """``f(layers, theta) -> (B,)``: each theta's smallest finite-difference SMHM slope on :data:`GUARD_LOGMPEAK`, in float64.

    Parameters
    ----------
    net_type : type
        ``ShamNet`` or ``BasisShamNet``, built from ``(layers, domain)``.
    domain : ShamNetDomain
    chunk : int
        Theta per evaluation (bounds the memory of a large guard).
    """
    dm = GUARD_LOGMPEAK[1] - GUARD_LOGMPEAK[0]

    @jax.jit
    def slopes(ly, th):
        net = net_type(cast_floating(ly, jnp.float64), domain)
        logsm = jax.vmap(lambda t: net_logsm(net, t, GUARD_LOGMPEAK))(th)
        return jnp.min(jnp.diff(logsm, axis=-1), axis=-1) / dm

    return lambda ly, th: chunked(lambda t: slopes(ly, t), th, chunk=chunk)
