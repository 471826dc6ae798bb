"""Training losses of shaminfer/shamnet/losses.py: the slope hinge that guards monotonicity."""
import jax.numpy as jnp
import numpy as np
from jax.test_util import check_grads

from shaminfer.shamnet.losses import smhm_slope_penalty

M = jnp.linspace(9.0, 16.5, 31)


def test_slope_penalty_zero_for_rising_relations():
    mu = 0.5 * M + 0.01 * jnp.sin(M)
    assert float(smhm_slope_penalty(mu, M, min_slope=0.01)) == 0.0


def test_slope_penalty_matches_brute_force_for_a_dip():
    mu = jnp.where(M < 13.0, 0.4 * M, 0.4 * 13.0 - 0.02 * (M - 13.0))
    slope = np.diff(np.asarray(mu)) / np.diff(np.asarray(M))
    expected = np.mean(np.maximum(0.002 - slope, 0.0) ** 2)
    np.testing.assert_allclose(float(smhm_slope_penalty(mu, M, min_slope=0.002)), expected, rtol=1e-12)
    assert expected > 0


def test_slope_penalty_gradient():
    mu = jnp.where(M < 13.0, 0.4 * M, 0.4 * 13.0 - 0.02 * (M - 13.0)) + 0.001 * jnp.cos(3 * M)
    check_grads(lambda m: smhm_slope_penalty(m, M, min_slope=0.002), (mu,), order=1, modes=["fwd", "rev"], eps=1e-7)
