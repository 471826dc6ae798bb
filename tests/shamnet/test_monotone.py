"""The rising SMHM of predict_logsm (shaminfer/shamnet/monotone.py): monotone for any weights, close to the network."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.test_util import check_grads

from shaminfer.ingredients import DEFAULT_SHAM_PARAMS, ShamParams
from shaminfer.shamnet import default_domain, init_shamnet, load_shamnet, net_logsm, predict_logsm
from shaminfer.shamnet.domain import sample_domain
from shaminfer.shamnet.monotone import MONOTONE_MIN_SLOPE, MONOTONE_NODES, MONOTONE_TAU, monotone_grid, monotone_logsm, monotone_table

# off the nodes (h = 0.0025 from 9.0), inside and outside the training range 9..16.5
OFF_NODE = np.linspace(8.5, 17.0, 8001) + 1.7e-4


def _wiggly_net(key=0):
    """Random weights scaled up: the bare network falls and rises with Mpeak many times."""
    net = init_shamnet(jax.random.PRNGKey(key), default_domain(), hidden=(16, 8))
    return net._replace(layers=tuple((w * 4.0, b) for w, b in net.layers))


def _oracle(net, theta, m):
    """numpy: tabulate the network, floor each cell's slope with s_min + tau * softplus((s - s_min) / tau), accumulate, interpolate."""
    lo, hi = (float(x) for x in np.asarray(net.domain.logmpeak_range))
    grid = np.linspace(lo, hi, MONOTONE_NODES)
    h = grid[1] - grid[0]
    mu = np.asarray(net_logsm(net, theta, jnp.asarray(grid)))
    s = np.diff(mu) / h
    s_floor = MONOTONE_MIN_SLOPE + MONOTONE_TAU * np.logaddexp(0.0, (s - MONOTONE_MIN_SLOPE) / MONOTONE_TAU)
    table = np.concatenate([[mu[0]], mu[0] + h * np.cumsum(s_floor)])
    out = np.interp(m, grid, table)
    out = np.where(m < lo, table[0] + s_floor[0] * (m - lo), out)
    return np.where(m > hi, table[-1] + s_floor[-1] * (m - hi), out)


def test_matches_the_numpy_oracle_inside_and_outside_the_range():
    net = _wiggly_net()
    for th in (DEFAULT_SHAM_PARAMS, DEFAULT_SHAM_PARAMS._replace(sigma_lo=0.11, sigma_hi=0.49)):
        np.testing.assert_allclose(monotone_logsm(net, th, jnp.asarray(OFF_NODE)), _oracle(net, th, OFF_NODE), rtol=0, atol=1e-10)


@pytest.mark.parametrize("key", [0, 1, 2])
def test_rises_strictly_for_weights_whose_network_does_not(key):
    net = _wiggly_net(key)
    theta = sample_domain(net.domain, 11, 20)
    m = jnp.asarray(OFF_NODE)
    raw = np.asarray(jax.vmap(lambda t: net_logsm(net, t, m))(theta))
    assert np.mean(np.diff(raw, axis=-1) < 0) > 0.05  # the bare network falls over a good part of the range
    mono = np.asarray(jax.vmap(lambda t: monotone_logsm(net, t, m))(theta))
    assert np.all(np.diff(mono, axis=-1) > 0)
    slope = jax.vmap(jax.vmap(jax.grad(lambda x, t: monotone_logsm(net, t, x)), in_axes=(0, None)), in_axes=(None, 0))(m[::7], theta)
    assert np.all(np.asarray(slope) > 0)


def test_equals_the_network_at_the_nodes_below_its_first_dip_and_stays_close_on_the_shipped_weights():
    net = load_shamnet()
    grid, h = monotone_grid(net)
    assert h == pytest.approx(7.5 / (MONOTONE_NODES - 1))
    table = np.asarray(monotone_table(net, DEFAULT_SHAM_PARAMS))
    raw = np.asarray(net_logsm(net, DEFAULT_SHAM_PARAMS, grid))
    assert np.min(np.diff(raw)) / h > 0.05  # the network rises steeply here: the floor changes nothing
    np.testing.assert_allclose(table, raw, rtol=0, atol=1e-11)
    # between nodes: the interpolation error of the SELU kinks, rms 1.4e-5 and at most 1.4e-3 dex (module docstring)
    theta = sample_domain(net.domain, 5, 40, face_power=3.0)
    m = jnp.asarray(np.sort(np.random.default_rng(1).uniform(9.0, 16.5, 3000)))
    diff = np.asarray(jax.vmap(lambda t: monotone_logsm(net, t, m) - net_logsm(net, t, m))(theta))
    assert np.max(np.abs(diff)) < 2e-3 and np.sqrt(np.mean(diff**2)) < 3e-5


def test_batched_theta_agrees_with_vmap_and_jit():
    net = load_shamnet()
    theta = sample_domain(net.domain, 3, 6)
    m = jnp.asarray([9.7, 11.03, 12.2501, 13.9, 15.2, 16.4])
    one_each = jax.vmap(lambda t, x: monotone_logsm(net, t, x))(theta, m)
    np.testing.assert_allclose(monotone_logsm(net, theta, m), one_each, rtol=1e-13)
    grid_each = jax.vmap(lambda t: monotone_logsm(net, t, m))(theta)
    np.testing.assert_allclose(monotone_logsm(net, ShamParams(*(v[:, None] for v in theta)), m[None, :]), grid_each, rtol=1e-13)
    np.testing.assert_allclose(jax.jit(lambda t, x: predict_logsm(t, x, net=net))(DEFAULT_SHAM_PARAMS, m),
                               monotone_logsm(net, DEFAULT_SHAM_PARAMS, m), rtol=1e-13)
    # the network itself may be a traced argument (its domain's range included)
    np.testing.assert_allclose(jax.jit(lambda n, t, x: monotone_logsm(n, t, x))(net, DEFAULT_SHAM_PARAMS, m),
                               monotone_logsm(net, DEFAULT_SHAM_PARAMS, m), rtol=1e-13)


def test_gradients_match_finite_differences_in_theta_and_logmpeak():
    net = load_shamnet()
    f = lambda a, b, c, d, m: predict_logsm(ShamParams(a, b, c, d), m, net=net)
    # 12.30017 lies inside a cell (nodes every 0.0025 dex from 9): the slope in log10 Mpeak is that cell's
    check_grads(f, tuple(DEFAULT_SHAM_PARAMS) + (12.30017,), order=1, modes=["fwd", "rev"], eps=1e-6)
    grid, h = monotone_grid(net)
    table = monotone_table(net, DEFAULT_SHAM_PARAMS)
    i = int((12.30017 - float(grid[0])) / h)
    np.testing.assert_allclose(jax.grad(lambda x: predict_logsm(DEFAULT_SHAM_PARAMS, x, net=net))(12.30017),
                               (table[i + 1] - table[i]) / h, rtol=1e-10)
