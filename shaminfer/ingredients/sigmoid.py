"""The sigmoid of Eq. A1 and the differentiable clipped logarithm of Eq. C2."""
from __future__ import annotations

import jax.numpy as jnp

__all__ = ["sigmoid", "clipped_log10", "inverse_sigmoid"]


def sigmoid(x, x0, k, ymin, ymax):
    """Generalized sigmoid, Eq. A1.

    ``S(x | x0, k, ymin, ymax) = ymin + (ymax - ymin) / (1 + exp(-k (x - x0)))``.
    All arguments broadcast.
    """
    return ymin + (ymax - ymin) * jnp.reciprocal(1.0 + jnp.exp(-k * (x - x0)))


def inverse_sigmoid(y, x0, k, ymin, ymax):
    """Inverse of :func:`sigmoid` in ``x`` for ``ymin < y < ymax``."""
    return x0 - jnp.log((ymax - ymin) / (y - ymin) - 1.0) / k


def clipped_log10(x, ymin):
    """Differentiable clipped base-10 logarithm R(x; y_min), Eq. C2.

    ``R = (asinh(x / (2 y_min)) + ln y_min) / ln 10``: tends to ``log10(x)`` for
    ``x >> y_min`` and equals ``log10(y_min)`` at ``x = 0``. Smooth everywhere.
    """
    return (jnp.arcsinh(x / (2.0 * ymin)) + jnp.log(ymin)) / jnp.log(10.0)
