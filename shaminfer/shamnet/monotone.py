"""The SMHM that ``predict_logsm`` returns: SHAMNet made to rise with Mpeak by construction (a deviation from App. D.1).

The App. D.1 network takes log10 Mpeak as an input, so nothing in it forces
log10 M* to rise with Mpeak, and where the SMHM of Eq. 2 is a plateau
(sigma_lo ~ 0.1, sigma_hi ~ 0.5, log10 M* ~ 10.6; benchmarks/RESULTS.md) a
trained network dips on a few theta in ten thousand, by less than 1e-4 dex.
A sampled check cannot rule such dips out; this construction does.

For each theta the network is tabulated on ``MONOTONE_NODES`` evenly spaced
log10 Mpeak over its training range (9..16.5, h = 0.0025 dex). Each cell's
slope s = (mu_{i+1} - mu_i) / h passes through a softplus floor,

    s' = s_min + tau * softplus((s - s_min) / tau),   s_min = MONOTONE_MIN_SLOPE = 1e-6,   tau = MONOTONE_TAU = 5e-4,

which is >= s_min > 0 for every s (also where the softplus underflows) and
equals s to within tau * exp(-s / tau) (below 1e-12 for s > 0.014, the slopes of
nearly the whole domain). The table
mu'_0 = mu_0, mu'_{i+1} = mu'_i + h s'_i is interpolated linearly in
log10 Mpeak, and extrapolated with the end cells' slopes outside the range.

The result rises strictly for every theta and any weights, and is
differentiable in theta, and in log10 Mpeak with a slope that is constant on
each cell. At the nodes it equals the network wherever no dip lies below; between
nodes it differs by the linear-interpolation error, which the SELU kinks of the
network (slope jumps of order 1 in the knee of the SMHM) set: over 300
face-crowded theta and 6000 random log10 Mpeak, rms 1.4e-5 dex and at most
1.4e-3 dex, at a kink (benchmarks/RESULTS.md, thirteenth session). The SMF of
App. B hardly sees it: on a 1201-node quadrature whose nodes fall between the
table's, Delta (Eq. C2) moves by at most 7e-5 dex. The table costs 3001 network
evaluations per theta, fewer than the subhalos of the demo's catalog (3973), so
``predict_logsm`` costs less than the network on every halo already there, and
100 times less on 10^6 halos (``benchmarks/shamnet_speed.py``). The statistics'
forward models, which evaluate the SMHM on a few hundred nodes only, use the
bare network instead (``stats.resolve_smhm``).
"""
from __future__ import annotations

import jax
import jax.numpy as jnp

from ..ingredients.theta import ShamParams
from .network import net_logsm

__all__ = ["MONOTONE_NODES", "MONOTONE_TAU", "MONOTONE_MIN_SLOPE", "monotone_grid", "monotone_table", "monotone_logsm"]

MONOTONE_NODES = 3001
MONOTONE_TAU = 5e-4
MONOTONE_MIN_SLOPE = 1e-6


def monotone_grid(net):
    """The log10 Mpeak nodes (MONOTONE_NODES,) over the network's training range, and their spacing h.

    Pure JAX in the domain's range, so the network may be a traced argument of a jitted function.
    """
    lo, hi = net.domain.logmpeak_range[0], net.domain.logmpeak_range[1]
    h = (hi - lo) / (MONOTONE_NODES - 1)
    return lo + h * jnp.arange(MONOTONE_NODES, dtype=jnp.result_type(lo, float)), h


def _theta_shape(theta: ShamParams) -> tuple:
    return jnp.broadcast_shapes(*(jnp.shape(v) for v in theta))


def monotone_table(net, theta: ShamParams):
    """The rising table (..., MONOTONE_NODES) of log10 M* on :func:`monotone_grid` for ``theta`` (any batch shape)."""
    grid, h = monotone_grid(net)
    shape = _theta_shape(theta)
    th = ShamParams(*(jnp.asarray(v)[..., None] for v in theta))
    mu = net_logsm(net, th, jnp.broadcast_to(grid, shape + grid.shape))
    s = jnp.diff(mu, axis=-1) / h
    slope = MONOTONE_MIN_SLOPE + MONOTONE_TAU * jax.nn.softplus((s - MONOTONE_MIN_SLOPE) / MONOTONE_TAU)
    return jnp.concatenate([mu[..., :1], mu[..., :1] + h * jnp.cumsum(slope, axis=-1)], axis=-1)


def monotone_logsm(net, theta: ShamParams, logmpeak):
    """Median log10 M* at ``logmpeak`` from the rising table of :func:`monotone_table` (theta broadcasts against it)."""
    grid, h = monotone_grid(net)
    table = monotone_table(net, theta)
    m = jnp.asarray(logmpeak, dtype=table.dtype)
    u = (m - grid[0]) / h
    i = jnp.clip(jnp.floor(u), 0, MONOTONE_NODES - 2).astype(jnp.int32)
    frac = u - i  # outside the nodes frac leaves [0, 1]: linear extrapolation with the end cell's slope
    if table.ndim == 1:
        lo, hi = table[i], table[i + 1]
    else:
        shape = jnp.broadcast_shapes(table.shape[:-1], m.shape)
        tb = jnp.broadcast_to(table, shape + table.shape[-1:])
        ib = jnp.broadcast_to(i, shape)[..., None]
        lo, hi = jnp.take_along_axis(tb, ib, -1)[..., 0], jnp.take_along_axis(tb, ib + 1, -1)[..., 0]
        frac = jnp.broadcast_to(frac, shape)
    return lo + (hi - lo) * frac
