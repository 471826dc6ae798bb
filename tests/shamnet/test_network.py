import re

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.test_util import check_grads

from shaminfer.ingredients import DEFAULT_SHAM_PARAMS, ShamParams
from shaminfer.shamnet import DEFAULT_HIDDEN, default_domain, init_shamnet, net_logsm, predict_logsm
from shaminfer.shamnet.network import OUTPUT_RANGE, hidden_widths, parameter_count


def _net():
    return init_shamnet(jax.random.PRNGKey(3))


def test_architecture():
    net = _net()
    assert tuple(w.shape[1] for w, _ in net.layers[:-1]) == DEFAULT_HIDDEN == (64, 32, 8, 4)
    assert hidden_widths(net) == (64, 32, 8, 4) and all(type(h) is int for h in hidden_widths(net))
    assert net.layers[0][0].shape == (5, 64) and net.layers[-1][0].shape == (4, 1)
    assert parameter_count(net) == 5 * 64 + 64 + 64 * 32 + 32 + 32 * 8 + 8 + 8 * 4 + 4 + 4 + 1


def test_output_bounded_even_for_extreme_weights():
    net = _net()
    big = net._replace(layers=tuple((w * 1e3, b) for w, b in net.layers))
    out = net_logsm(big, DEFAULT_SHAM_PARAMS, jnp.linspace(9, 16.5, 50))
    assert np.all(np.asarray(out) >= OUTPUT_RANGE[0]) and np.all(np.asarray(out) <= OUTPUT_RANGE[1])
    assert np.all(np.isfinite(np.asarray(out)))


def test_jit_vmap_and_broadcast_agree():
    net = _net()
    m = jnp.linspace(10.0, 15.0, 7)
    direct = net_logsm(net, DEFAULT_SHAM_PARAMS, m)
    vm = jax.vmap(lambda x: net_logsm(net, DEFAULT_SHAM_PARAMS, x))(m)
    jt = jax.jit(lambda th, x: net_logsm(net, th, x))(DEFAULT_SHAM_PARAMS, m)
    np.testing.assert_allclose(direct, vm, rtol=1e-13)
    np.testing.assert_allclose(direct, jt, rtol=1e-13)
    # vmap over theta
    thetas = ShamParams(*(jnp.full(3, v) + jnp.array([0.0, 0.001, -0.001]) for v in DEFAULT_SHAM_PARAMS))
    out = jax.vmap(lambda th: net_logsm(net, th, m))(thetas)
    assert out.shape == (3, 7)


def test_gradients_in_theta_and_logmpeak_match_finite_differences():
    net = _net()
    f = lambda a, b, c, d, m: net_logsm(net, ShamParams(a, b, c, d), m)
    check_grads(f, tuple(DEFAULT_SHAM_PARAMS) + (12.3,), order=1, modes=["fwd", "rev"], eps=1e-6)


def test_predict_logsm_default_net_differentiates():
    g = jax.grad(lambda th: jnp.sum(predict_logsm(th, jnp.array([11.0, 12.0, 13.0]))))(DEFAULT_SHAM_PARAMS)
    assert all(np.isfinite(float(x)) for x in g)


def test_compiles_once_for_new_theta():
    net = _net()
    traces = []

    @jax.jit
    def f(th, m):
        traces.append(1)
        return net_logsm(net, th, m)

    m = jnp.linspace(10, 15, 5)
    for d in (0.0, 0.001, 0.002):
        f(DEFAULT_SHAM_PARAMS._replace(alpha=DEFAULT_SHAM_PARAMS.alpha - d), m)
    assert len(traces) == 1


def test_default_domain_is_that_of_the_shipped_net():
    d = default_domain()
    assert d.center.shape == (2,) and float(d.alpha_max) == -1.0


def test_widening_preserves_predictions_and_gradients():
    from shaminfer.shamnet.network import widen_shamnet

    net = _net()
    wide = widen_shamnet(jax.random.PRNGKey(5), net, (96, 40, 12, 4))
    assert [w.shape for w, _ in wide.layers] == [(5, 96), (96, 40), (40, 12), (12, 4), (4, 1)]
    m = jnp.linspace(9.0, 16.5, 31)
    np.testing.assert_allclose(net_logsm(wide, DEFAULT_SHAM_PARAMS, m), net_logsm(net, DEFAULT_SHAM_PARAMS, m), rtol=0, atol=1e-12)
    # the new units are live: the loss gradient reaches their outgoing weights
    g = jax.grad(lambda ly: jnp.sum(net_logsm(wide._replace(layers=ly), DEFAULT_SHAM_PARAMS, m)))(wide.layers)
    assert np.any(np.abs(np.asarray(g[1][0][64:, :32])) > 0)


def test_widening_refuses_narrower_or_other_depth():
    from shaminfer.shamnet.network import widen_shamnet

    net = _net()
    for hidden in [(32, 32, 8, 4), (64, 32, 8)]:
        with pytest.raises(ValueError, match=re.escape("hidden: expected 4 widths each at least the network's (64, 32, 8, 4)")):
            widen_shamnet(jax.random.PRNGKey(0), net, hidden)


# ---- monotone-basis variant (BasisShamNet) ----

def _basis(hidden=(16, 8), knots=12, key=4):
    from shaminfer.shamnet.network import init_basis_shamnet

    return init_basis_shamnet(jax.random.PRNGKey(key), default_domain(), hidden=hidden, knots=knots)


def test_basis_architecture_and_parameter_count():
    from shaminfer.shamnet.network import architecture, basis_knots

    net = _basis()
    assert architecture(net) == "basis" and architecture(_net()) == "mlp"
    assert basis_knots(net) == 12 and hidden_widths(net) == (16, 8)
    assert [w.shape for w, _ in net.layers] == [(4, 16), (16, 8), (8, 14)]
    assert parameter_count(net) == 4 * 16 + 16 + 16 * 8 + 8 + 8 * 14 + 14
    with pytest.raises(ValueError, match="knots: expected at least 2, found 1"):
        _basis(knots=1)
    with pytest.raises(TypeError, match="net: expected a ShamNet or BasisShamNet, found tuple"):
        architecture(())


def test_basis_rises_with_logmpeak_for_any_weights():
    """Monotone by construction: random weights, on 200 theta over the whole halo range, strictly for weights of the
    usual scale; weights scaled up 30x push the bounded output to its ceiling, where it still never decreases."""
    from shaminfer.shamnet.domain import sample_domain

    m = jnp.linspace(9.0, 16.5, 601)
    theta = sample_domain(default_domain(), 7, 200)
    for key, scale in [(0, 1.0), (1, 1.0), (2, 30.0)]:
        net = _basis(key=key)
        net = net._replace(layers=tuple((w * scale, b) for w, b in net.layers))
        mu = np.asarray(jax.vmap(lambda t: net_logsm(net, t, m))(theta))
        assert np.all(np.isfinite(mu)) and np.all(mu >= OUTPUT_RANGE[0]) and np.all(mu <= OUTPUT_RANGE[1])
        assert np.all(np.diff(mu, axis=-1) >= 0)
        if scale == 1.0:
            assert np.all(np.diff(mu, axis=-1) > 0)
            # the derivative is positive too (autodiff, not only differences)
            d = jax.vmap(jax.vmap(jax.grad(lambda x, t: net_logsm(net, t, x)), in_axes=(0, None)), in_axes=(None, 0))(m[::20], theta)
            assert np.all(np.asarray(d) > 0)
        else:
            assert np.mean(mu > 24.9) > 0.1  # the scaled weights do reach the ceiling


def test_basis_matches_its_formula():
    """The forward pass against the basis written out with numpy from the MLP's outputs."""
    from shaminfer.shamnet.network import theta_inputs

    net = _basis()
    th = DEFAULT_SHAM_PARAMS
    h = np.asarray(theta_inputs(net.domain, th))
    for w, b in net.layers[:-1]:
        h = np.asarray(jax.nn.selu(h @ np.asarray(w) + np.asarray(b)))
    out = h @ np.asarray(net.layers[-1][0]) + np.asarray(net.layers[-1][1])
    a, w = out[0], np.log1p(np.exp(out[1:]))
    logm = np.array([9.0, 11.0, 12.7, 16.5])
    m = 2 * (logm - 9.0) / 7.5 - 1
    c = np.linspace(-1, 1, 12)
    z = a + w[0] * (m + 1) + (w[1:] / (1 + np.exp(-(m[:, None] - c) / (c[1] - c[0])))).sum(-1)
    expected = -5.0 + 30.0 / (1.0 + np.exp(-0.1 * z))
    np.testing.assert_allclose(net_logsm(net, th, logm), expected, rtol=1e-12)


def test_basis_jit_vmap_broadcast_and_gradients():
    net = _basis()
    m = jnp.linspace(10.0, 15.0, 7)
    direct = net_logsm(net, DEFAULT_SHAM_PARAMS, m)
    np.testing.assert_allclose(jax.vmap(lambda x: net_logsm(net, DEFAULT_SHAM_PARAMS, x))(m), direct, rtol=1e-13)
    np.testing.assert_allclose(jax.jit(lambda th, x: net_logsm(net, th, x))(DEFAULT_SHAM_PARAMS, m), direct, rtol=1e-13)
    thetas = ShamParams(*(jnp.full(3, v) + jnp.array([0.0, 0.001, -0.001]) for v in DEFAULT_SHAM_PARAMS))
    per = jax.vmap(lambda th: net_logsm(net, th, m))(thetas)
    # theta (3, 1) broadcast against halos (7,) gives the same table as vmap
    np.testing.assert_allclose(net_logsm(net, ShamParams(*(v[:, None] for v in thetas)), m), per, rtol=1e-13)
    f = lambda a, b, c, d, x: net_logsm(net, ShamParams(a, b, c, d), x)
    check_grads(f, tuple(DEFAULT_SHAM_PARAMS) + (12.3,), order=1, modes=["fwd", "rev"], eps=1e-6)


def test_basis_cannot_be_widened():
    from shaminfer.shamnet.network import widen_shamnet

    with pytest.raises(ValueError, match="only the App. D.1 network .* can be widened, found 'basis'"):
        widen_shamnet(jax.random.PRNGKey(0), _basis(), (32, 16))
