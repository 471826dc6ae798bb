"""The Monte Carlo baseline of Sec. 4.1: kernel draws, and the exact predictions as its expectation."""
import jax
import numpy as np
import pytest
from scipy import stats as sps

from shaminfer.catalogs import small_test_universe
from shaminfer.ingredients import ShamParams, triweight_cdf
from shaminfer.stats import (
    bin_sample,
    draw_logsm,
    kernel_variates,
    make_config,
    make_predictor,
    montecarlo_evaluator,
    montecarlo_from_logsm,
    montecarlo_gradient,
    montecarlo_predict,
    montecarlo_realizations,
    threshold_sample,
)

from .standin import THETA0, standin_smhm


@pytest.fixture(scope="module")
def catalog():
    return small_test_universe()


@pytest.fixture(scope="module")
def config():
    return make_config(smf_edges=np.linspace(9.5, 11.0, 7), samples=[threshold_sample(10.6), bin_sample(10.3, 10.8)],
                       rp_edges=np.logspace(-0.5, 1, 6), pi_max=20.0, ds_rbins=np.logspace(-1, 1, 16)[::3])


def test_kernel_variates():
    z = kernel_variates(0, 200000)
    assert np.abs(z).max() <= 3.0
    assert abs(z.mean()) < 0.01 and abs(z.var() - 1.0) < 0.01  # same first two moments as the Gaussian
    assert sps.kstest(z, lambda x: np.asarray(triweight_cdf(x, 0.0, 1.0))).pvalue > 1e-3
    g = kernel_variates(0, 200000, kernel="gaussian")
    assert sps.kstest(g, "norm").pvalue > 1e-3
    np.testing.assert_array_equal(draw_logsm(5, [10.0, 11.0], [0.1, 0.2]), draw_logsm(5, [10.0, 11.0], [0.1, 0.2]))
    with pytest.raises(ValueError, match="kernel"):
        kernel_variates(0, 3, kernel="lognormal")


def test_exact_prediction_is_the_monte_carlo_mean(catalog, config):
    exact = make_predictor(catalog, config, smhm=standin_smhm)(THETA0)
    reals = montecarlo_realizations(THETA0, catalog, config, seeds=range(200), smhm=standin_smhm, nthreads=1)
    for name in ("smf", "wp", "delta_sigma"):
        draws = np.asarray(getattr(reals, name))
        mean = draws.mean(axis=0)
        se = draws.std(axis=0, ddof=1) / np.sqrt(draws.shape[0])
        z = (mean - np.asarray(getattr(exact, name))) / se
        assert np.all(np.abs(z) < 4.0), (name, z)
        assert np.mean(z**2) < 2.5, (name, z)  # consistent with chi^2 per dof ~ 1


def test_one_realization(catalog, config):
    one = montecarlo_predict(THETA0, catalog, config, seed=1, smhm=standin_smhm)
    assert one.smf.shape == (6,) and one.wp.shape == (2, 5) and one.delta_sigma.shape == (2, 5)
    again = montecarlo_predict(THETA0, catalog, config, seed=1, smhm=standin_smhm)
    for a, b in zip(one, again):
        np.testing.assert_array_equal(a, b)


def test_evaluator_counts_by_hand(catalog, config):
    # hard cuts by hand: SMF histogram and Delta Sigma means; the reusable evaluator agrees with the one-shot call
    logsm = draw_logsm(3, np.full(catalog.n, 10.4), np.full(catalog.n, 0.3))
    evaluate = montecarlo_evaluator(catalog, config)
    got = evaluate(logsm)
    edges = np.asarray(config.smf_edges)
    vol = float(catalog.box_size) ** 3
    want_smf = [np.sum((logsm >= a) & (logsm < b)) / ((b - a) * vol) for a, b in zip(edges[:-1], edges[1:])]
    np.testing.assert_allclose(got.smf, want_smf, rtol=1e-12)
    for a, b in zip(got, montecarlo_from_logsm(logsm, catalog, config)):
        np.testing.assert_array_equal(a, b)
    with pytest.raises(ValueError, match="logsm"):
        evaluate(logsm[:-1])


def test_finite_difference_gradients_scatter_around_the_exact_one(catalog):
    # Sec. 4.1: one Monte Carlo finite difference is noisy; its mean over seeds is the exact gradient
    cfg = make_config(smf_edges=np.linspace(9.0, 11.0, 6))
    exact = jax.jacfwd(make_predictor(catalog, cfg, smhm=standin_smhm))(THETA0)
    fds = [montecarlo_gradient(THETA0, catalog, cfg, seed=s, step=0.05, smhm=standin_smhm).smf for s in range(40)]
    assert isinstance(fds[0], ShamParams) and fds[0].alpha.shape == (5,)
    for k in range(4):
        draws = np.stack([fd[k] for fd in fds])
        se = draws.std(axis=0, ddof=1) / np.sqrt(draws.shape[0])
        z = (draws.mean(axis=0) - np.asarray(exact.smf[k])) / se
        assert np.all(np.abs(z) < 4.0), (k, z)
