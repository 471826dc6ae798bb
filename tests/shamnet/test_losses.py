"""Training losses of shaminfer/shamnet/losses.py: the slope hinge that guards monotonicity and the tail-weighted Eq. D4."""
import jax.numpy as jnp
import numpy as np
import pytest
from jax.test_util import check_grads

from shaminfer.shamnet.losses import smhm_slope_penalty, tail_weighted_loss

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


RES = jnp.asarray(np.random.default_rng(5).normal(0.0, 0.01, (6, 100))).at[2, 97].set(0.08)


def test_tail_weighted_loss_is_eq_d4_without_tail():
    np.testing.assert_allclose(float(tail_weighted_loss(RES)), float(np.mean(np.asarray(RES) ** 2)), rtol=1e-14)


def test_tail_weighted_loss_matches_brute_force_and_tends_to_the_max():
    r = np.asarray(RES)
    got = float(tail_weighted_loss(RES, tail_weight=0.5, tail_power=8.0))
    np.testing.assert_allclose(got, np.mean(r**2) + 0.5 * np.mean(np.abs(r) ** 8) ** 0.25, rtol=1e-12)
    # a large power makes the tail term approach max|res|^2
    tail = float(tail_weighted_loss(RES, tail_weight=1.0, tail_power=400.0)) - float(np.mean(r**2))
    np.testing.assert_allclose(np.sqrt(tail), 0.08, rtol=0.02)


def test_tail_weighted_loss_gradient():
    check_grads(lambda r: tail_weighted_loss(r, tail_weight=0.3, tail_power=8.0), (RES,), order=1, modes=["fwd", "rev"], eps=1e-7)


def test_tail_power_must_exceed_two():
    with pytest.raises(ValueError, match="tail_power: expected a value > 2, found 2"):
        tail_weighted_loss(RES, tail_weight=1.0, tail_power=2.0)
