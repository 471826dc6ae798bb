"""Likelihood terms: validation, selections, and the Gaussian log-likelihoods against scipy."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.test_util import check_grads
from scipy import stats

from shaminfer.inference.terms import (
    DeltaSigmaTerm,
    GaussianTerm,
    LikelihoodTerm,
    SMFTerm,
    WpTerm,
    check_covariance,
    gaussian_loglik,
    pointwise_loglik,
    prepare_term,
)

from .standin import THETA_TRUE, forward


def _random_cov(n, seed=0):
    rng = np.random.default_rng(seed)
    a = rng.normal(size=(n, n))
    return a @ a.T / n + 0.1 * np.eye(n)


def test_covariance_errors_name_the_problem():
    with pytest.raises(ValueError, match=r"expected shape \(3, 3\).*found \(2, 2\)"):
        check_covariance(np.eye(2), n=3)
    asym = np.eye(3)
    asym[0, 1] = 0.5
    with pytest.raises(ValueError, match="symmetric positive definite.*2 entries"):
        check_covariance(asym, n=3)
    not_pd = np.diag([1.0, -1e-3, 2.0])
    with pytest.raises(ValueError, match=r"1 of 3 eigenvalues <= 0 \(smallest -0.001"):
        check_covariance(not_pd, n=3)
    nan = np.eye(3)
    nan[1, 1] = np.nan
    with pytest.raises(ValueError, match="finite entries, found 1 non-finite"):
        check_covariance(nan, n=3)
    singular = np.ones((3, 3))
    with pytest.raises(ValueError, match="positive definite"):
        SMFTerm(np.ones(3), singular)


def test_data_and_name_validation():
    with pytest.raises(ValueError, match="term 'smf': data: expected finite values, found 1 non-finite of 3"):
        SMFTerm([1.0, np.nan, 2.0], np.eye(3))
    with pytest.raises(ValueError, match="term name"):
        GaussianTerm("bad name", np.ones(2), np.eye(2), lambda th, out: out.smf[:2])
    with pytest.raises(ValueError, match="distinct non-negative sample indices"):
        WpTerm(np.ones(4), np.eye(4), samples=[0, 0])
    with pytest.raises(ValueError, match=r"expected shape \(6, 6\) to match the data vector"):
        WpTerm(np.ones((2, 3)), np.eye(5), samples=[0, 1])


def test_builtin_terms_select_their_statistic():
    out = forward(THETA_TRUE)
    smf = SMFTerm(np.asarray(out.smf), np.eye(out.smf.size))
    np.testing.assert_array_equal(smf.predict(THETA_TRUE, out), out.smf)
    wp = WpTerm(np.asarray(out.wp)[[2, 0]], np.eye(2 * out.wp.shape[1]), samples=[2, 0])
    np.testing.assert_array_equal(wp.predict(THETA_TRUE, out), np.concatenate([out.wp[2], out.wp[0]]))
    ds = DeltaSigmaTerm(np.asarray(out.delta_sigma)[1], np.eye(out.delta_sigma.shape[1]), samples=[1])
    np.testing.assert_array_equal(ds.predict(THETA_TRUE, out), out.delta_sigma[1])
    assert isinstance(wp, LikelihoodTerm) and wp.name == "wp" and wp.samples == (2, 0)


def test_joint_loglik_matches_scipy():
    n = 5
    cov = _random_cov(n)
    rng = np.random.default_rng(1)
    data, mu = rng.normal(size=n), rng.normal(size=(3, n))
    term = prepare_term(GaussianTerm("x", data, cov, lambda th, out: out))
    expect = stats.multivariate_normal(mean=np.zeros(n), cov=cov).logpdf(data - mu)
    np.testing.assert_allclose(gaussian_loglik(term, mu), expect, rtol=1e-12)


def test_pointwise_loglik_is_the_conditional_density():
    """log p(y_i | y_-i) = log N(y) - log N_-i(y_-i), the brute-force oracle."""
    n = 6
    cov = _random_cov(n, seed=3)
    rng = np.random.default_rng(2)
    data, mu = rng.normal(size=n), rng.normal(size=n)
    term = prepare_term(GaussianTerm("x", data, cov, lambda th, out: out))
    got = np.asarray(pointwise_loglik(term, mu))
    joint = stats.multivariate_normal(mean=mu, cov=cov).logpdf(data)
    for i in range(n):
        keep = np.arange(n) != i
        marg = stats.multivariate_normal(mean=mu[keep], cov=cov[np.ix_(keep, keep)]).logpdf(data[keep])
        assert got[i] == pytest.approx(joint - marg, rel=1e-10)


def test_logliks_are_differentiable_in_the_prediction():
    n = 4
    cov = _random_cov(n, seed=5)
    term = prepare_term(GaussianTerm("x", np.linspace(0, 1, n), cov, lambda th, out: out))
    mu = jnp.linspace(0.1, 0.7, n)
    check_grads(lambda m: gaussian_loglik(term, m), (mu,), order=2, modes=["fwd", "rev"])
    check_grads(lambda m: pointwise_loglik(term, m), (mu,), order=1, modes=["fwd", "rev"])
    assert jax.jit(lambda m: gaussian_loglik(term, m))(mu).shape == ()


def test_duck_typed_term_follows_the_protocol():
    class CountsInCells:
        name = "cic"
        data = np.array([1.0, 2.0])
        cov = np.eye(2)

        def predict(self, theta, output):
            return jnp.stack([output.smf[0] * 100, theta.sigma_lo * 4])

    prepared = prepare_term(CountsInCells())
    assert prepared.site == "obs_cic" and prepared.data.shape == (2,)

    class Broken:
        name, data = "broken", np.ones(2)

    with pytest.raises(ValueError, match="missing 'cov'"):
        prepare_term(Broken())
