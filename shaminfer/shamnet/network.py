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
    "widen_shamnet",
    "widens",
    "hidden_widths",
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


def hidden_widths(net: ShamNet) -> tuple:
    """Widths of the hidden layers of ``net`` (e.g. (64, 32, 8, 4)), as Python ints."""
    return tuple(int(w.shape[1]) for w, _ in net.layers[:-1])


def widens(old, hidden) -> bool:
    """Can hidden widths ``old`` be widened to ``hidden``? (Same depth, each layer at least as wide.)"""
    return len(hidden) == len(old) and all(h >= o for h, o in zip(hidden, old))


def widen_shamnet(key, net: ShamNet, hidden) -> ShamNet:
    """Function-preserving widening of ``net`` to the hidden widths ``hidden`` (same depth, each at least as wide).

    The old weights sit in the top-left block of each new matrix. The new units
    get LeCun-normal incoming weights (so they are active) and zero outgoing
    weights (so they change nothing): the widened network predicts exactly what
    ``net`` predicts, and training then grows the new units from there.
    """
    old = hidden_widths(net)
    hidden = tuple(int(h) for h in hidden)
    if not widens(old, hidden):
        raise ValueError(f"hidden: expected {len(old)} widths each at least the network's {old}, found {hidden}")
    sizes_old = (5,) + old + (1,)
    sizes_new = (5,) + hidden + (1,)
    keys = jax.random.split(key, len(net.layers))
    layers = []
    for i, (k, (w, b)) in enumerate(zip(keys, net.layers)):
        n_in, n_out = sizes_new[i], sizes_new[i + 1]
        o_in, o_out = sizes_old[i], sizes_old[i + 1]
        fresh = jax.random.normal(k, (n_in, n_out), dtype=w.dtype) / jnp.sqrt(n_in)
        # rows >= o_in carry the new units of the layer below: zero into the old units, fresh into the new ones
        w_new = fresh.at[:o_in, :o_out].set(w).at[o_in:, :o_out].set(0.0)
        b_new = jnp.zeros(n_out, dtype=b.dtype).at[:o_out].set(b)
        layers.append((w_new, b_new))
    return ShamNet(tuple(layers), net.domain)


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
