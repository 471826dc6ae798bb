"""Interval bounds of SHAMNet over Mpeak ranges, and its value with the per-halo theta-Jacobian."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from shaminfer.ingredients import DEFAULT_SHAM_PARAMS, ShamParams
from shaminfer.shamnet import init_shamnet, load_shamnet, make_domain, shamnet_forward
from shaminfer.shamnet.bounds import logsm_interval_bounds, logsm_with_theta_jacobian, scaled_logmpeak, scaled_theta

DOMAIN = make_domain(np.array([-2.30078377, -1.06006217]),
                     np.array([[1.19028605e-04, 4.65366606e-05], [4.65366606e-05, 1.33343374e-04]]))
THETAS = [DEFAULT_SHAM_PARAMS, ShamParams(-2.32, -1.02, 0.15, 0.45), ShamParams(-2.27, -1.09, 0.48, 0.12)]


@pytest.fixture(scope="module", params=["shipped", "random"])
def net(request):
    return load_shamnet() if request.param == "shipped" else init_shamnet(jax.random.PRNGKey(3), DOMAIN)


def _rows(net, t, m):
    x = jnp.concatenate([jnp.broadcast_to(t, m.shape + (4,)), m[:, None]], axis=-1)
    return shamnet_forward(net.layers, x)


@pytest.mark.parametrize("theta", THETAS)
def test_bounds_hold_on_dense_points_of_each_interval(net, theta):
    rng = np.random.default_rng(0)
    t = scaled_theta(net, theta)
    for width in (1e-3, 0.05, 1.0):
        a = scaled_logmpeak(net.domain, jnp.asarray(rng.uniform(10.0, 15.0, 50)))
        b = a + width * 2.0 / 7.5
        lo, hi = logsm_interval_bounds(net, t, a, b)
        u = jnp.linspace(0.0, 1.0, 201)
        inside = np.asarray(_rows(net, t, (a[:, None] + (b - a)[:, None] * u).ravel())).reshape(50, 201)
        assert np.all(np.asarray(lo) <= inside.min(axis=1) + 1e-12)
        assert np.all(np.asarray(hi) >= inside.max(axis=1) - 1e-12)
    # a point interval gives the network's value
    lo, hi = logsm_interval_bounds(net, t, a, a)
    np.testing.assert_allclose(lo, _rows(net, t, a), rtol=1e-13)
    np.testing.assert_allclose(hi, _rows(net, t, a), rtol=1e-13)


@pytest.mark.parametrize("theta", THETAS)
def test_value_and_jacobian_match_forward_mode(net, theta):
    t = scaled_theta(net, theta)
    m = scaled_logmpeak(net.domain, jnp.linspace(10.5, 15.0, 37) + 1.3e-3)
    mu, jac = logsm_with_theta_jacobian(net, t, m)
    np.testing.assert_allclose(mu, _rows(net, t, m), rtol=1e-14)
    np.testing.assert_allclose(jac, jax.jacfwd(lambda tt: _rows(net, tt, m))(t), rtol=1e-10, atol=1e-12)
