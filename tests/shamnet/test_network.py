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
