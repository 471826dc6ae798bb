"""Guaranteed bounds of SHAMNet over Mpeak intervals, and its value with the exact theta-Jacobian per halo.

Two tools for engines that evaluate the median SMHM (Eq. 5) on many subhalos
but need it only where a triweight weight (Eq. 6, App. E) can be non-zero:

* :func:`logsm_interval_bounds`: for fixed theta, lower and upper bounds of
  the App. D.1 network's log10 M* over each interval ``[m_lo, m_hi]`` of
  log10 Mpeak, by interval arithmetic through the layers. The first layer is
  affine in log10 Mpeak (exact interval), SELU (Eq. D2) and the output
  sigmoid (Eq. A1) rise monotonically (exact image of an interval), and each
  later dense layer maps a box of centre ``c`` and radius ``r`` into the box
  ``c W + b +- r |W|``. The bounds hold for every network and theta, up to
  floating-point round-off (callers add a margin); on the shipped network
  and 64 subhalos per interval they are about seven times wider than the
  range the network takes there.
* :func:`logsm_with_theta_jacobian`: log10 M* on a batch of halos and, per
  halo, its derivative with respect to the four scaled theta inputs, from one
  backward pass through the network (theta enters the first layer only, so
  the input gradient gives all four at once; a forward-mode Jacobian would
  push four tangents through every layer).
"""
from __future__ import annotations

import jax
import jax.numpy as jnp

from .network import _bounded, scaled_logmpeak, shamnet_forward, theta_inputs

__all__ = ["logsm_interval_bounds", "logsm_with_theta_jacobian", "scaled_theta", "scaled_logmpeak"]


def scaled_theta(net, theta):
    """The network's four scaled theta inputs (4,) (domain eigen-coordinates, then the scatters in [-1, 1])."""
    return theta_inputs(net.domain, theta)


def logsm_interval_bounds(net, t, m_lo, m_hi):
    """Bounds of the network's log10 M* [Msun] over scaled log10 Mpeak intervals.

    Parameters
    ----------
    net : ShamNet
        The App. D.1 network (log10 Mpeak as its fifth input).
    t : array (4,)
        Scaled theta inputs (:func:`scaled_theta`).
    m_lo, m_hi : arrays (B,)
        Ends of each interval in scaled log10 Mpeak (:func:`scaled_logmpeak`), ``m_lo <= m_hi``.

    Returns
    -------
    lo, hi : arrays (B,)
        ``lo <= net(t, m) <= hi`` for every ``m`` in ``[m_lo, m_hi]``, up to round-off.
    """
    layers = net.layers
    w, b = layers[0]
    c = t @ w[:4] + b
    a_lo, a_hi = m_lo[:, None] * w[4], m_hi[:, None] * w[4]
    lo, hi = c + jnp.minimum(a_lo, a_hi), c + jnp.maximum(a_lo, a_hi)
    for w, b in layers[1:]:
        lo, hi = jax.nn.selu(lo), jax.nn.selu(hi)
        centre = 0.5 * (lo + hi) @ w + b
        radius = 0.5 * (hi - lo) @ jnp.abs(w)
        lo, hi = centre - radius, centre + radius
    return _bounded(lo[:, 0]), _bounded(hi[:, 0])


def logsm_with_theta_jacobian(net, t, m):
    """Network log10 M* [Msun] at scaled inputs and its derivative in the scaled theta inputs, per halo.

    Parameters
    ----------
    net : ShamNet
    t : array (4,)
        Scaled theta inputs (:func:`scaled_theta`).
    m : array (n,)
        Scaled log10 Mpeak (:func:`scaled_logmpeak`).

    Returns
    -------
    mu : array (n,)
        ``shamnet_forward`` on the rows ``[t, m_a]``.
    jac : array (n, 4)
        ``d mu_a / d t`` (one backward pass: the rows are independent, so the
        gradient of ``sum(mu)`` with respect to the inputs is each row's gradient).
    """
    x = jnp.concatenate([jnp.broadcast_to(t, m.shape + (4,)), m[:, None]], axis=-1)
    mu, pullback = jax.vjp(lambda xx: shamnet_forward(net.layers, xx), x)
    (gx,) = pullback(jnp.ones_like(mu))
    return mu, gx[:, :4]
