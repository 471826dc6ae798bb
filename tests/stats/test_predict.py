"""make_predictor / predict: exact gradients against finite differences, JAX transformations, shapes and
shell checks, on the small synthetic test universe.

The finite-difference checks use a smooth stand-in SMHM: SHAMNet's SELU activations (Eq. D2) have kinks, so
central differences through it converge only linearly in the step (see benchmarks/stats_gradients.py, which
checks the real SHAMNet path with the network linearized at theta); the last test checks the shipped network
directly with a step of 1e-7.
"""
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from shaminfer.catalogs import SubhaloCatalog, small_test_universe
from shaminfer.ingredients import ShamParams
from shaminfer.stats import (
    Predictions,
    bin_sample,
    make_config,
    make_predictor,
    predict,
    threshold_sample,
)

from .standin import THETA0, check_against_fd, standin_smhm


@pytest.fixture(scope="module")
def catalog():
    return small_test_universe()


@pytest.fixture(scope="module")
def config():
    return make_config(smf_edges=np.linspace(9.0, 11.0, 9), samples=[threshold_sample(10.6), bin_sample(10.3, 10.8)],
                       rp_edges=np.logspace(-1, 1, 9), pi_max=20.0)


@pytest.fixture(scope="module")
def predictor(catalog, config):
    return jax.jit(make_predictor(catalog, config, smhm=standin_smhm))


@pytest.fixture(scope="module")
def jacobian(predictor):
    return jax.jit(jax.jacfwd(predictor))(THETA0)


@pytest.mark.parametrize("field", ["smf", "wp", "delta_sigma"])
def test_gradients_match_central_finite_differences(predictor, jacobian, field):
    worst = check_against_fd(lambda t: getattr(predictor(t), field), getattr(jacobian, field), THETA0,
                             h=1e-4, rtol=1e-5)
    assert worst < 1e-5


def test_shapes_and_values(catalog, config, predictor):
    p = predict(THETA0, catalog, config, smhm=standin_smhm)
    assert isinstance(p, Predictions)
    assert p.smf.shape == (8,) and p.wp.shape == (2, 8) and p.delta_sigma.shape == (2, catalog.lensing.n_radii)
    for a, b in zip(p, predictor(THETA0)):
        np.testing.assert_allclose(a, b, rtol=1e-12)
    assert np.all(np.isfinite(p.wp)) and np.all(p.delta_sigma > 0) and np.all(p.smf > 0)
    # the SMF over bins covering every kernel integrates to the number density
    wide = make_config(smf_edges=np.linspace(0.0, 14.0, 15))
    smf = predict(THETA0, catalog, wide, smhm=standin_smhm).smf
    np.testing.assert_allclose(np.sum(smf) * 1.0, catalog.n / catalog.box_size**3, rtol=1e-12)


def test_empty_statistics_have_fixed_shapes(catalog):
    none = predict(THETA0, catalog, make_config(), smhm=standin_smhm)
    assert none.smf.shape == (0,) and none.wp.shape == (0, 0) and none.delta_sigma.shape == (0, catalog.lensing.n_radii)
    cfg = make_config(samples=[threshold_sample(10.6)], ds_rbins=())
    p = predict(THETA0, catalog, cfg, smhm=standin_smhm)
    assert p.smf.shape == (0,) and p.wp.shape == (1, 0) and p.delta_sigma.shape == (1, 0)
    coarse = make_config(samples=[threshold_sample(10.6)], ds_rbins=catalog.lensing.rbins[::5])
    assert predict(THETA0, catalog, coarse, smhm=standin_smhm).delta_sigma.shape == (1, 3)


def test_grad_jacfwd_vmap_agree(predictor, jacobian):
    def loss(theta):
        p = predictor(theta)
        return jnp.sum(p.wp) + 1e3 * jnp.sum(p.smf) + jnp.sum(p.delta_sigma)

    g = jax.jit(jax.grad(loss))(THETA0)
    for k in range(4):
        expect = np.sum(jacobian.wp[k]) + 1e3 * np.sum(jacobian.smf[k]) + np.sum(jacobian.delta_sigma[k])
        np.testing.assert_allclose(g[k], expect, rtol=1e-10)
    thetas = ShamParams(*(jnp.asarray([v, v + 0.01, v - 0.02]) for v in THETA0))
    batched = jax.jit(jax.vmap(predictor))(thetas)
    for i in range(3):
        single = predictor(ShamParams(*(t[i] for t in thetas)))
        for a, b in zip(batched, single):
            np.testing.assert_allclose(a[i], b, rtol=1e-12)


def test_jitted_predictor_compiles_once(catalog, config):
    traces = []

    def counting_smhm(theta, logmpeak):
        traces.append(1)
        return standin_smhm(theta, logmpeak)

    f = jax.jit(make_predictor(catalog, config, smhm=counting_smhm))
    for dx in (0.0, 0.01, -0.03, 0.02):
        f(ShamParams(THETA0.logphi_star + dx, THETA0.alpha, THETA0.sigma_lo, THETA0.sigma_hi + dx))
    assert len(traces) == 1


def test_corrfunc_engine_values(catalog, config, predictor):
    p = predict(THETA0, catalog, config, smhm=standin_smhm, engine="corrfunc", nthreads=2)
    np.testing.assert_allclose(p.wp, predictor(THETA0).wp, rtol=1e-10)


def test_shell_checks(catalog, config):
    bad = ShamParams(np.nan, THETA0.alpha, THETA0.sigma_lo, THETA0.sigma_hi)
    with pytest.raises(ValueError, match="theta.logphi_star"):
        predict(bad, catalog, config, smhm=standin_smhm)
    low = make_config(samples=[bin_sample(8.5, 9.5)])  # mostly subhalos below the profile mass cut
    with pytest.raises(ValueError, match="without a lensing profile"):
        predict(THETA0, catalog, low, smhm=standin_smhm)
    assert predict(THETA0, catalog, low, smhm=standin_smhm, max_missing_profile_weight=0.999).delta_sigma.shape == (
        1, catalog.lensing.n_radii)
    tiny = SubhaloCatalog(pos=[[1.0, 1.0, 1.0], [2.0, 2.0, 2.0], [5.0, 5.0, 5.0]], logmpeak=[11.0, 11.0, 14.0],
                          box_size=20.0)
    lone = make_config(samples=[threshold_sample(10.6)], rp_edges=[0.5, 1.0, 2.0], pi_max=5.0)
    with pytest.raises(ValueError, match="more than one effective galaxy"):
        predict(THETA0, tiny, lone, smhm=standin_smhm)
    with pytest.raises(ValueError, match="engine"):
        make_predictor(catalog, config, smhm=standin_smhm, engine="gpu")
    with pytest.raises(ValueError, match="smhm"):
        make_predictor(catalog, config, smhm="three_roll")


def test_with_a_shamnet(catalog):
    from shaminfer.shamnet import init_shamnet, make_domain

    domain = make_domain(np.array([-2.30078377, -1.06006217]),
                         np.array([[1.19028605e-04, 4.65366606e-05], [4.65366606e-05, 1.33343374e-04]]))
    net = init_shamnet(jax.random.PRNGKey(0), domain)
    smf_only = make_config(smf_edges=np.linspace(9.0, 11.0, 9))
    f = make_predictor(catalog, smf_only, net=net)
    p = f(THETA0)  # concrete call: shell checks on
    assert p.smf.shape == (8,) and np.all(np.isfinite(p.smf))
    jac = jax.jit(jax.jacfwd(f))(THETA0)
    assert np.all(np.isfinite(np.asarray(jac.smf)))
    outside = ShamParams(THETA0.logphi_star, THETA0.alpha, 0.9, THETA0.sigma_hi)
    with pytest.raises(ValueError, match="sigma_lo"):
        f(outside)


def test_shipped_shamnet_gradients_match_tiny_step_differences(catalog):
    # Through the real (piecewise smooth, SELU) network: central differences with h = 1e-7 straddle almost no kink,
    # so they must match autodiff closely; with h = 1e-4 they need not (the kinks make them converge only linearly).
    from shaminfer import DEFAULT_SHAM_PARAMS as theta

    cfg = make_config(samples=[threshold_sample(11.0), threshold_sample(10.5)], rp_edges=np.logspace(-0.5, 1, 6),
                      pi_max=20.0)
    f = jax.jit(make_predictor(catalog, cfg))
    jac = jax.jit(jax.jacfwd(f))(theta)
    for name in ("alpha", "sigma_hi"):
        ad = np.asarray(getattr(jac.wp, name))
        h = 1e-7
        fd = (np.asarray(f(theta._replace(**{name: getattr(theta, name) + h})).wp)
              - np.asarray(f(theta._replace(**{name: getattr(theta, name) - h})).wp)) / (2 * h)
        assert np.all(np.abs(ad) > 0)
        np.testing.assert_allclose(fd, ad, rtol=2e-5)


def test_forward_models_use_the_bare_network_and_smhm_overrides_it():
    """The statistics evaluate SHAMNet without the rising table (models/README.md); ``smhm=`` selects any SMHM."""
    import jax.numpy as jnp

    from shaminfer.ingredients import DEFAULT_SHAM_PARAMS
    from shaminfer.shamnet import load_shamnet, net_logsm, predict_logsm
    from shaminfer.stats.predict import resolve_smhm

    net = load_shamnet()
    m = jnp.linspace(10.0, 15.0, 9) + 1.1e-3
    fn, used = resolve_smhm(net=net)
    assert used is net
    np.testing.assert_array_equal(fn(DEFAULT_SHAM_PARAMS, m), net_logsm(net, DEFAULT_SHAM_PARAMS, m))
    fn, used = resolve_smhm(smhm=predict_logsm)
    assert used is None and fn is predict_logsm
