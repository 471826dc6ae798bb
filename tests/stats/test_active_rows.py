"""SHAMNet run only where a weight needs it: the same predictions, derivatives and checks as on every subhalo."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from shaminfer.catalogs import small_test_universe
from shaminfer.galaxy_halo import compose, disruption, parametric, quenching, sham, stellar_mass_offset
from shaminfer.ingredients import DEFAULT_SHAM_PARAMS, ShamParams
from shaminfer.shamnet import init_basis_shamnet, load_shamnet, net_logsm
from shaminfer.stats import bin_sample, make_config, make_predictor, threshold_sample
from shaminfer.stats.active_rows import make_active_median, make_active_population, model_cuts
from shaminfer.stats.weights import sample_weights, smf_bin_weights

THETA = DEFAULT_SHAM_PARAMS


@pytest.fixture(scope="module")
def catalog():
    return small_test_universe()


@pytest.fixture(scope="module")
def net():
    return load_shamnet()


@pytest.fixture(scope="module")
def config():
    return make_config(smf_edges=np.linspace(10.2, 11.0, 5), samples=[threshold_sample(10.9), bin_sample(10.3, 10.6)],
                       rp_edges=np.logspace(-1, 1, 6), pi_max=20.0)


def _everywhere(net):
    """The same network as a plain SMHM callable: the population then runs it on every subhalo."""
    return lambda theta, logmpeak: net_logsm(net, theta, logmpeak)


def _close(a, b, rtol=1e-12):
    for x, y in zip(jax.tree_util.tree_leaves(a), jax.tree_util.tree_leaves(b)):
        x, y = np.asarray(x), np.asarray(y)
        scale = np.abs(y).max() if y.size else 0.0
        np.testing.assert_allclose(x, y, rtol=0, atol=rtol * scale)


def test_model_cuts():
    cfg = make_config(smf_edges=[9.0, 9.5, 10.0], samples=[threshold_sample(10.0), bin_sample(10.3, 10.6)])
    np.testing.assert_array_equal(model_cuts(cfg), [9.0, 9.5, 10.0, 10.3, 10.6])
    assert model_cuts(make_config()).size == 0


def test_predictions_and_derivatives_equal_the_network_on_every_row(catalog, net, config):
    fast = make_predictor(catalog, config, net=net, nthreads=1)
    full = make_predictor(catalog, config, smhm=_everywhere(net), nthreads=1)
    _close(fast(THETA), full(THETA))
    _close(jax.jit(jax.jacfwd(fast))(THETA), jax.jit(jax.jacfwd(full))(THETA), rtol=1e-11)

    def loss(p):
        return lambda t: jnp.sum(p(t).wp ** 2) + 1e3 * jnp.sum(p(t).smf) + jnp.sum(p(t).delta_sigma)

    _close(jax.jit(jax.grad(loss(fast)))(THETA), jax.jit(jax.grad(loss(full)))(THETA), rtol=1e-11)
    thetas = ShamParams(*(jnp.asarray([v, v + 0.01, v - 0.02]) for v in THETA))
    _close(jax.jit(jax.vmap(fast))(thetas), jax.jit(jax.vmap(full))(thetas))


def test_composed_model_with_offset_quenching_and_survival(catalog, net):
    cfg = make_config(smf_edges=np.linspace(10.0, 11.0, 5), smf_colors=("red",),
                      samples=[threshold_sample(10.8), threshold_sample(10.6, color="blue")],
                      rp_edges=np.logspace(-1, 1, 6), pi_max=20.0)
    fast_model = compose(sham(net=net), stellar_mass_offset(), quenching(), disruption())
    full_model = compose(sham(smhm=_everywhere(net)), stellar_mass_offset(), quenching(), disruption())
    theta = fast_model.defaults(dlogsm=0.07)
    fast = make_predictor(catalog, cfg, model=fast_model, nthreads=1)
    full = make_predictor(catalog, cfg, model=full_model, nthreads=1)
    _close(fast(theta), full(theta))
    _close(jax.jit(jax.jacfwd(fast))(theta), jax.jit(jax.jacfwd(full))(theta), rtol=1e-11)


def test_weights_of_skipped_rows_are_bitwise_equal_and_nonzero_ones_are_kept(catalog, net, config):
    logm = jnp.asarray(catalog.logmpeak)
    cuts = model_cuts(config)
    median = make_active_median(net, catalog.logmpeak, cuts, block=16, chunk=64)
    sigma = jnp.full(logm.shape, 0.2)
    mu_fast = median(THETA, sigma, 0.0)
    mu_full = net_logsm(net, THETA, logm)
    w_fast = sample_weights(mu_fast, sigma, config.samples)
    w_full = sample_weights(mu_full, sigma, config.samples)
    b_fast = smf_bin_weights(mu_fast, sigma, config.smf_edges)
    b_full = smf_bin_weights(mu_full, sigma, config.smf_edges)
    skipped = np.abs(np.asarray(mu_fast - mu_full)) > 1e-6  # stand-ins; computed rows differ by round-off only
    assert skipped.mean() > 0.5  # the network ran on a minority of this catalog's rows
    np.testing.assert_array_equal(np.asarray(w_fast)[:, skipped], np.asarray(w_full)[:, skipped])
    np.testing.assert_array_equal(np.asarray(b_fast)[:, skipped], np.asarray(b_full)[:, skipped])
    assert set(np.unique(np.asarray(w_full)[:, skipped])) <= {0.0, 1.0}
    np.testing.assert_allclose(w_fast, w_full, rtol=0, atol=1e-13)


def test_nan_theta_reaches_the_output_under_jit(catalog, net, config):
    bad = THETA._replace(alpha=jnp.nan)
    smf_only = jax.jit(make_predictor(catalog, make_config(smf_edges=config.smf_edges), net=net))
    assert np.all(np.isnan(np.asarray(smf_only(bad).smf)))
    with pytest.raises(Exception, match="non-finite"):  # the pair counter refuses NaN weights, as on every row
        jax.block_until_ready(jax.jit(make_predictor(catalog, config, net=net, nthreads=1))(bad))


def test_compiles_once_and_refuses_bad_theta_as_before(catalog, net, config):
    f = jax.jit(make_predictor(catalog, config, net=net, nthreads=1))
    for dx in (0.0, 0.01, -0.02):
        f(THETA._replace(logphi_star=THETA.logphi_star + dx, sigma_hi=THETA.sigma_hi + dx))
    assert f._cache_size() == 1
    with pytest.raises(ValueError, match="sigma_lo"):
        make_predictor(catalog, config, net=net)(THETA._replace(sigma_lo=0.9))
    with pytest.raises(ValueError, match="theta.alpha"):
        make_predictor(catalog, config, net=net)(THETA._replace(alpha=np.nan))


def test_other_models_keep_the_population_on_every_row(catalog, net):
    from shaminfer.galaxy_halo import bind_catalog

    for model in (compose(parametric()), compose(sham(smhm=_everywhere(net))),
                  compose(sham(net=init_basis_shamnet(jax.random.PRNGKey(0), net.domain)))):
        sub = bind_catalog(model, catalog)
        assert make_active_population(model, sub, np.array([10.0])) is None
    model = compose(sham(net=net), quenching())
    assert make_active_population(model, bind_catalog(model, catalog), np.array([10.0])) is not None
    with pytest.raises(ValueError, match="chunk"):
        make_active_median(net, catalog.logmpeak, [10.0], block=64, chunk=100)
