"""Likelihood families: Student-t and Poisson terms against scipy, their LOO conditionals, gradients, the model."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.test_util import check_grads
from numpyro import handlers
from numpyro.infer.util import log_density
from scipy import stats

from shaminfer.inference.families import joint_loglik, pointwise_loglik, replicate
from shaminfer.inference.model import UNIT_SITE, build_model, draw_quantities
from shaminfer.inference.priors import domain_prior, theta_from_unit
from shaminfer.inference.terms import PoissonTerm, StudentTTerm, prepare_term

from .standin import DOMAIN, THETA_TRUE, forward


def _cov(n, seed=0):
    a = np.random.default_rng(seed).normal(size=(n, n))
    return a @ a.T / n + 0.2 * np.eye(n)


def _identity(theta, output):
    return output


def test_student_t_joint_and_loo_conditionals_match_scipy():
    n, nu = 5, 4.0
    rng = np.random.default_rng(1)
    cov, data, mu = _cov(n), rng.normal(size=n), rng.normal(size=n)
    term = prepare_term(StudentTTerm("t", data, cov, _identity, df=nu))
    assert term.family == "student_t" and term.df == nu
    full = stats.multivariate_t(loc=mu, shape=cov, df=nu)
    assert float(joint_loglik(term, jnp.asarray(mu))) == pytest.approx(full.logpdf(data), rel=1e-12)
    got = np.asarray(pointwise_loglik(term, jnp.asarray(mu)))
    for i in range(n):  # log p(y_i | y_-i) = log p(y) - log p(y_-i), the marginal of a t being a t
        keep = np.delete(np.arange(n), i)
        marg = stats.multivariate_t(loc=mu[keep], shape=cov[np.ix_(keep, keep)], df=nu)
        assert got[i] == pytest.approx(full.logpdf(data) - marg.logpdf(data[keep]), rel=1e-10)


def test_poisson_joint_and_pointwise_match_scipy():
    counts = np.array([0, 3, 7, 12])
    mu = np.array([0.5, 2.5, 8.0, 11.0])
    term = prepare_term(PoissonTerm("n", counts, _identity))
    assert term.cov is None and term.family == "poisson"
    expect = stats.poisson(mu).logpmf(counts)
    np.testing.assert_allclose(pointwise_loglik(term, jnp.asarray(mu)), expect, rtol=1e-12)
    assert float(joint_loglik(term, jnp.asarray(mu))) == pytest.approx(expect.sum(), rel=1e-12)


def test_family_logliks_have_gradients():
    n = 4
    t = prepare_term(StudentTTerm("t", np.linspace(0, 1, n), _cov(n), _identity, df=3.0))
    p = prepare_term(PoissonTerm("n", [1, 0, 4, 2], _identity))
    mu = jnp.array([0.3, 0.8, 2.5, 1.7])
    for term in (t, p):
        check_grads(lambda m: joint_loglik(term, m), (mu,), order=2, modes=["fwd", "rev"])
        check_grads(lambda m: pointwise_loglik(term, m), (mu,), order=1, modes=["fwd", "rev"])


def test_replicates_have_the_family_moments():
    rng = np.random.default_rng(0)
    mu = np.array([3.0, 40.0])
    p = prepare_term(PoissonTerm("n", [1, 2], _identity))
    draws = replicate(p, np.broadcast_to(mu, (20000, 2)), rng)
    assert np.all(draws == np.round(draws))
    np.testing.assert_allclose(draws.var(axis=0), mu, rtol=0.05)
    cov = np.array([[1.0, 0.3], [0.3, 2.0]])
    t = prepare_term(StudentTTerm("t", [0.0, 0.0], cov, _identity, df=6.0))
    draws = replicate(t, np.zeros((40000, 2)), rng)
    np.testing.assert_allclose(np.cov(draws.T), 6.0 / 4.0 * cov, rtol=0.08, atol=0.03)


def test_bad_family_inputs_name_the_field():
    with pytest.raises(ValueError, match=r"term 'n': data: expected non-negative integer counts, found -1.0 at index 1"):
        PoissonTerm("n", [2, -1, 3], _identity)
    with pytest.raises(ValueError, match=r"term 'n': data: expected non-negative integer counts, found 2.5 at index 0"):
        PoissonTerm("n", [2.5, 1], _identity)
    with pytest.raises(ValueError, match=r"term 't': df: expected a positive finite number .* found -2"):
        StudentTTerm("t", [1.0], np.eye(1), _identity, df=-2)

    class Odd:
        name, data, cov, family = "odd", np.ones(2), np.eye(2), "cauchy"

        def predict(self, theta, output):
            return output

    with pytest.raises(ValueError, match=r"'odd'.*family: expected one of \['gaussian', 'student_t', 'poisson'\], "
                                         r"found 'cauchy'"):
        prepare_term(Odd())


def _smf_counts(theta, output):
    return output.smf * 2.0e5  # expected counts in a 2e5 (Mpc/h)^3 dlog10 M* volume


def test_model_with_student_t_and_poisson_sites():
    pred = forward(THETA_TRUE)
    counts = np.round(np.asarray(_smf_counts(THETA_TRUE, pred)))
    wp = np.asarray(pred.wp).ravel()
    terms = [PoissonTerm("counts", counts, _smf_counts),
             StudentTTerm("wp", wp, np.diag((0.05 * wp) ** 2), lambda th, out: out.wp, df=5.0)]
    model = build_model(forward, terms, domain_prior(domain=DOMAIN), domain=DOMAIN)
    tr = handlers.trace(handlers.seed(model, 0)).get_trace()
    assert sorted(k for k, v in tr.items() if v["type"] == "sample" and v["is_observed"]) == ["obs_counts", "obs_wp"]
    u = jnp.array([0.1, -0.3, 0.5, -0.2])
    logp, _ = log_density(model, (), {}, {UNIT_SITE: u})
    theta = theta_from_unit(model.prior, u)
    out = forward(theta)
    expect = 4 * np.log(0.5) + stats.poisson(np.asarray(_smf_counts(theta, out))).logpmf(counts).sum()
    expect += stats.multivariate_t(loc=np.asarray(out.wp).ravel(), shape=terms[1].cov, df=5.0).logpdf(wp)
    assert float(logp) == pytest.approx(expect, rel=1e-10)
    q = jax.jit(lambda x: draw_quantities(model, x))(u)
    assert float(jnp.sum(q.loglik["counts"])) == pytest.approx(float(q.loglik_joint["counts"]), rel=1e-12)
    check_grads(lambda x: log_density(model, (), {}, {UNIT_SITE: x})[0], (u,), order=1, modes=["rev"], eps=1e-6)


def test_poisson_term_needs_positive_expected_counts():
    pred = forward(THETA_TRUE)
    term = PoissonTerm("counts", np.ones(pred.smf.size), lambda th, out: out.smf * 0.0)
    with pytest.raises(ValueError, match="term 'counts': a Poisson term needs positive expected counts"):
        build_model(forward, [term], domain_prior(domain=DOMAIN), domain=DOMAIN)
