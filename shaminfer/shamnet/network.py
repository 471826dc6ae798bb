"""SHAMNet: the MLP of App. D.1.

Inputs (log10 phi*, alpha, sigma_lo, sigma_hi, log10 Mpeak) are scaled to the
unit box of the training domain: the (log10 phi*, alpha) pair through the
domain's eigen-coordinates, the others linearly. Dense hidden layers
(64, 32, 8, 4 by default) use SELU (Eq. D2); the output passes through the
sigmoid of Eq. A1 so that -5 < log10 M* < 25. The network is a plain pytree
(:class:`ShamNet`), and ``predict_logsm`` is pure JAX.

:class:`BasisShamNet` is a variant (a departure from App. D.1) whose SMHM
rises with Mpeak by construction: an MLP of the four scaled theta inputs gives
an offset a and K + 1 non-negative weights w (softplus), and

    z = a + w_0 (m + 1) + sum_k w_k sigmoid((m - c_k) / h),

with m the scaled log10 Mpeak in [-1, 1], K knots c_k evenly spaced over
[-1, 1] and h their spacing; z then passes through the same bounded sigmoid
of Eq. A1. Every term rises with m, so no slope penalty is needed and the
monotonicity the paper's network has to learn holds for every theta. The MLP
runs once per theta instead of once per halo.
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
    "DEFAULT_BASIS_HIDDEN",
    "DEFAULT_KNOTS",
    "BasisShamNet",
    "init_basis_shamnet",
    "basis_forward",
    "basis_steps",
    "basis_knots",
    "architecture",
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
DEFAULT_BASIS_HIDDEN = (128, 128, 128)
DEFAULT_KNOTS = 96
OUTPUT_RANGE = (-5.0, 25.0)
_OUT_K = 0.1


class ShamNet(NamedTuple):
    """Network weights and its training domain (a pytree).

    Attributes
    ----------
    layers : tuple of (W, b) pairs
        ``W`` (n_in, n_out), ``b`` (n_out,); hidden layers, then the output layer.
    domain : ShamNetDomain
        The training domain.
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


class BasisShamNet(NamedTuple):
    """Monotone-basis SHAMNet (see the module docstring; a pytree).

    Attributes
    ----------
    layers : tuple of (W, b) pairs
        The first takes the 4 scaled theta inputs, the last gives 2 + K outputs
        (offset, raw w_0, raw w_1..w_K).
    domain : ShamNetDomain
        The training domain.
    """

    layers: tuple
    domain: ShamNetDomain


def architecture(net) -> str:
    """``"mlp"`` (App. D.1, log10 Mpeak as the fifth input) or ``"basis"`` (:class:`BasisShamNet`)."""
    if isinstance(net, BasisShamNet):
        return "basis"
    if isinstance(net, ShamNet):
        return "mlp"
    raise TypeError(f"net: expected a ShamNet or BasisShamNet, found {type(net).__name__}")


def basis_knots(net: BasisShamNet) -> int:
    """Number K of sigmoid knots of a :class:`BasisShamNet`."""
    return int(net.layers[-1][0].shape[1]) - 2


def _inverse_softplus(y):
    return float(np.log(np.expm1(y)))


def init_basis_shamnet(key, domain: ShamNetDomain, *, hidden=DEFAULT_BASIS_HIDDEN, knots=DEFAULT_KNOTS) -> BasisShamNet:
    """LeCun-normal weights; output biases start every theta near a typical SMHM of Eq. 2, which training then shapes.

    z rises from -19 (log10 M* ~ -1 through Eq. A1) at the low end of the halo range to ~0.4 (log10 M* ~ 10.3) at
    log10 Mpeak ~ 12, and by ~1.6 more above it. The offset and the weights then start at the right scale; Adam
    moves a bias by about one step size per step, so a start at the wrong scale costs thousands of steps.
    """
    if int(knots) < 2:
        raise ValueError(f"knots: expected at least 2, found {knots}")
    sizes = (4,) + tuple(hidden) + (2 + int(knots),)
    keys = jax.random.split(key, len(sizes) - 1)
    layers = []
    for k, n_in, n_out in zip(keys, sizes[:-1], sizes[1:]):
        w = jax.random.normal(k, (n_in, n_out)) / jnp.sqrt(n_in)
        layers.append((w, jnp.zeros(n_out)))
    w_last, _ = layers[-1]
    knots_m = np.linspace(-1.0, 1.0, int(knots))
    low = knots_m < 2.0 * (12.0 - 9.0) / 7.5 - 1.0  # knots below log10 Mpeak ~ 12 on the default 9-16.5 range
    w_init = np.where(low, 19.4 / max(int(low.sum()), 1), 1.6 / max(int((~low).sum()), 1))
    b_out = jnp.concatenate([jnp.array([-19.0, _inverse_softplus(0.05)]), jnp.asarray([_inverse_softplus(w) for w in w_init])])
    layers[-1] = (w_last * 0.1, b_out)
    return BasisShamNet(tuple(layers), domain)


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
    if architecture(net) != "mlp":
        raise ValueError(f"net: only the App. D.1 network (architecture 'mlp') can be widened, found {architecture(net)!r}")
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


def theta_inputs(domain: ShamNetDomain, theta: ShamParams):
    """Scaled theta inputs (..., 4): domain eigen-coordinates of (log10 phi*, alpha), then sigma_lo, sigma_hi in [-1, 1]."""
    u = domain_coordinates(domain, theta)
    s_lo, s_hi = domain.sigma_range[0], domain.sigma_range[1]
    sig = jnp.stack([jnp.asarray(theta.sigma_lo), jnp.asarray(theta.sigma_hi)], axis=-1)
    sig = 2.0 * (sig - s_lo) / (s_hi - s_lo) - 1.0
    return jnp.concatenate([u, sig], axis=-1)


def scaled_logmpeak(domain: ShamNetDomain, logmpeak):
    """log10 Mpeak mapped linearly from the domain's halo range to [-1, 1]."""
    m_lo, m_hi = domain.logmpeak_range[0], domain.logmpeak_range[1]
    return 2.0 * (jnp.asarray(logmpeak) - m_lo) / (m_hi - m_lo) - 1.0


def shamnet_inputs(domain: ShamNetDomain, theta: ShamParams, logmpeak):
    """Scaled input vectors (..., 5) for ``theta`` (broadcast) and ``logmpeak``."""
    t = theta_inputs(domain, theta)
    m = scaled_logmpeak(domain, logmpeak)
    t = jnp.broadcast_to(t, m.shape + (4,))
    return jnp.concatenate([t, m[..., None]], axis=-1)


def _mlp(layers, x):
    h = x
    for w, b in layers[:-1]:
        h = jax.nn.selu(h @ w + b)
    w, b = layers[-1]
    return h @ w + b


def _bounded(z):
    lo, hi = OUTPUT_RANGE
    return sigmoid(z, 0.0, _OUT_K, lo, hi)


def shamnet_forward(layers, x):
    """MLP on scaled inputs ``x`` (..., 5) -> log10 M* (...)."""
    return _bounded(_mlp(layers, x)[..., 0])


def basis_forward(layers, t, m):
    """Monotone-basis network: scaled theta ``t`` (..., 4) and scaled log10 Mpeak ``m`` -> log10 M*.

    The MLP runs on ``t`` alone; its outputs broadcast against ``m`` as theta broadcasts against log10 Mpeak.
    """
    out = _mlp(layers, t)
    a, w = out[..., 0], jax.nn.softplus(out[..., 1:])
    z = a + w[..., 0] * (m + 1.0) + jnp.sum(w[..., 1:] * basis_steps(m, out.shape[-1] - 2), axis=-1)
    return _bounded(z)


def basis_steps(m, k: int):
    """The basis of :class:`BasisShamNet`: sigmoid steps (..., k) at k knots evenly spaced over [-1, 1], width their spacing.

    ``m`` is the scaled log10 Mpeak (:func:`scaled_logmpeak`).
    """
    m = jnp.asarray(m)
    knots = jnp.linspace(-1.0, 1.0, k, dtype=m.dtype)
    return jax.nn.sigmoid((m[..., None] - knots) / (knots[1] - knots[0]))


def net_logsm(net, theta: ShamParams, logmpeak):
    """Median log10 M* [Msun] of SHAMNet (Eq. 5) at ``logmpeak`` [log10 Msun/h] (either architecture)."""
    if isinstance(net, BasisShamNet):
        return basis_forward(net.layers, theta_inputs(net.domain, theta), scaled_logmpeak(net.domain, logmpeak))
    return shamnet_forward(net.layers, shamnet_inputs(net.domain, theta, logmpeak))


def parameter_count(net: ShamNet) -> int:
    """Number of weights and biases."""
    return int(sum(np.size(w) + np.size(b) for w, b in net.layers))
