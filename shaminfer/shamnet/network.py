"""SHAMNet: the MLP of App. D.1.

Inputs (log10 phi*, alpha, sigma_lo, sigma_hi, log10 Mpeak) are scaled to the
unit box of the training domain: the (log10 phi*, alpha) pair through the
domain's eigen-coordinates, the others linearly. Dense hidden layers
(64, 32, 8, 4 by default) use SELU (Eq. D2); the output passes through the
sigmoid of Eq. A1 so that -5 < log10 M* < 25. The network is a plain pytree
(:class:`ShamNet`), and ``predict_logsm`` is pure JAX.
"""
from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from ..ingredients.sigmoid import sigmoid
from ..ingredients.theta import ShamParams
from .domain import ShamNetDomain, domain_coordinates

__all__ = [
    "DEFAULT_HIDDEN",
    "OUTPUT_RANGE",
    "ShamNet",
    "init_shamnet",
    "shamnet_inputs",
    "shamnet_forward",
    "net_logsm",
]

DEFAULT_HIDDEN = (64, 32, 8, 4)
OUTPUT_RANGE = (-5.0, 25.0)
_OUT_K = 0.1


class ShamNet(NamedTuple):
    """Network weights and its training domain (a pytree).

    layers : tuple of (W (n_in, n_out), b (n_out,)) pairs, hidden then output.
    domain : :class:`ShamNetDomain`.
    """

    layers: tuple
    domain: ShamNetDomain


def init_shamnet(key, domain: ShamNetDomain, *, hidden=DEFAULT_HIDDEN) -> ShamNet:
    """LeCun-normal weights (the SELU initialization), zero biases; output bias at log10 M* = 10."""
    sizes = (5,) + tuple(hidden) + (1,)
    keys = jax.random.split(key, len(sizes) - 1)
    layers = []
    for k, n_in, n_out in zip(keys, sizes[:-1], sizes[1:]):
        w = jax.random.normal(k, (n_in, n_out)) / jnp.sqrt(n_in)
        layers.append((w, jnp.zeros(n_out)))
    lo, hi = OUTPUT_RANGE
    b_out = -jnp.log((hi - lo) / (10.0 - lo) - 1.0) / _OUT_K
    w_last, _ = layers[-1]
    layers[-1] = (w_last * 0.1, jnp.full((1,), b_out))
    return ShamNet(tuple(layers), domain)


def shamnet_inputs(domain: ShamNetDomain, theta: ShamParams, logmpeak):
    """Scaled input vectors (..., 5) for ``theta`` (broadcast) and ``logmpeak``."""
    logmpeak = jnp.asarray(logmpeak)
    u = domain_coordinates(domain, theta)
    s_lo, s_hi = domain.sigma_range[0], domain.sigma_range[1]
    m_lo, m_hi = domain.logmpeak_range[0], domain.logmpeak_range[1]
    sig = jnp.stack([jnp.asarray(theta.sigma_lo), jnp.asarray(theta.sigma_hi)], axis=-1)
    sig = 2.0 * (sig - s_lo) / (s_hi - s_lo) - 1.0
    t = jnp.concatenate([u, sig], axis=-1)
    m = 2.0 * (logmpeak - m_lo) / (m_hi - m_lo) - 1.0
    t = jnp.broadcast_to(t, m.shape + (4,))
    return jnp.concatenate([t, m[..., None]], axis=-1)


def shamnet_forward(layers, x):
    """MLP on scaled inputs ``x`` (..., 5) -> log10 M* (...)."""
    h = x
    for w, b in layers[:-1]:
        h = jax.nn.selu(h @ w + b)
    w, b = layers[-1]
    z = (h @ w + b)[..., 0]
    lo, hi = OUTPUT_RANGE
    return sigmoid(z, 0.0, _OUT_K, lo, hi)


def net_logsm(net: ShamNet, theta: ShamParams, logmpeak):
    """Median log10 M* [Msun] of SHAMNet (Eq. 5) at ``logmpeak`` [log10 Msun/h]."""
    return shamnet_forward(net.layers, shamnet_inputs(net.domain, theta, logmpeak))


def parameter_count(net: ShamNet) -> int:
    """Number of weights and biases."""
    return int(sum(np.size(w) + np.size(b) for w, b in net.layers))
