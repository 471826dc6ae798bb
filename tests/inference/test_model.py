"""The NumPyro model: shell validation, log density against scipy, gradients."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.test_util import check_grads
from numpyro import handlers
from numpyro.infer.util import initialize_model, log_density
from scipy import stats

from shaminfer.ingredients import ShamParams
from shaminfer.inference.model import UNIT_SITE, build_model, draw_quantities
from shaminfer.inference.priors import box_prior, theta_from_unit
from shaminfer.inference.terms import GaussianTerm, SMFTerm, WpTerm

from .standin import DOMAIN, THETA_TRUE, forward


def test_log_density_is_prior_plus_gaussian_terms(standin_model):
    u = jnp.array([0.1, -0.3, 0.5, -0.2])
    logp, _ = log_density(standin_model, (), {}, {UNIT_SITE: u})
    theta = theta_from_unit(standin_model.prior, u)
    out = forward(theta)
    expect = 4 * np.log(0.5)  # Uniform(-1, 1)^4
    for term in standin_model.terms:
        mu = np.asarray(term.predict(theta, out))
        expect += stats.multivariate_normal(mean=mu, cov=term.cov).logpdf(term.data)
    assert float(logp) == pytest.approx(expect, rel=1e-12)


def test_one_observed_site_per_term(standin_model):
    tr = handlers.trace(handlers.seed(standin_model, 0)).get_trace()
    observed = sorted(k for k, v in tr.items() if v["type"] == "sample" and v["is_observed"])
    assert observed == ["obs_delta_sigma", "obs_smf", "obs_wp"]
    assert not tr[UNIT_SITE]["is_observed"]


def test_potential_gradient_matches_finite_differences(standin_model):
    info = initialize_model(jax.random.PRNGKey(0), standin_model)
    z = info.param_info.z[UNIT_SITE]
    check_grads(lambda x: info.potential_fn({UNIT_SITE: x}), (z,), order=1, modes=["rev"], eps=1e-6)


def test_draw_quantities_match_the_terms(standin_model):
    u = jnp.array([0.2, 0.1, -0.4, 0.3])
    q = jax.jit(lambda x: draw_quantities(standin_model, x))(u)
    theta = theta_from_unit(standin_model.prior, u)
    np.testing.assert_allclose(q.theta, jnp.stack(list(theta)))
    np.testing.assert_allclose(q.mu["wp"], np.asarray(forward(theta).wp).ravel())
    assert q.loglik["smf"].shape == (standin_model.terms[0].data.size,)


def test_bad_inputs_fail_with_their_messages(standin_terms, standin_model):
    prior = standin_model.prior
    with pytest.raises(ValueError, match=r"unique term names, found duplicates \['smf'\]"):
        build_model(forward, [standin_terms[0], standin_terms[0]], prior, domain=DOMAIN)
    pred = forward(THETA_TRUE)
    short = WpTerm(np.asarray(pred.wp)[:2], np.eye(2 * pred.wp.shape[1]), samples=[0, 1, 2][:2])
    bad_len = GaussianTerm("wp", np.ones(5), np.eye(5), short.fn)
    with pytest.raises(ValueError, match="term 'wp': prediction has length 12 .* data vector has length 5"):
        build_model(forward, [bad_len], prior, domain=DOMAIN)
    outside = box_prior(ShamParams(-2.32, -1.08, 0.05, 0.2), ShamParams(-2.28, -1.04, 0.3, 0.3), check=False)
    with pytest.raises(ValueError, match="prior: expected the prior to lie inside .* corners outside"):
        build_model(forward, standin_terms, outside, domain=DOMAIN)
    nan_term = GaussianTerm("nan", np.ones(2), np.eye(2), lambda th, out: out.smf[:2] * jnp.nan)
    with pytest.raises(ValueError, match="term 'nan': expected a finite prediction .* found 2 non-finite"):
        build_model(forward, [nan_term], prior, domain=DOMAIN)
    with pytest.raises(ValueError, match="at least one likelihood term"):
        build_model(forward, [], prior, domain=DOMAIN)
    assert isinstance(standin_terms[0], SMFTerm)


def test_starting_points_are_traced_so_a_shell_check_cannot_abort_the_sampler(standin_terms, standin_model):
    """Only build_model's call at the prior centre is concrete; NumPyro's starts (drawn concretely) are traced."""
    from shaminfer.ingredients.validate import is_traced
    from shaminfer.inference.initialization import prior_init

    concrete = []

    def checking_forward(theta):
        if not is_traced(theta):
            concrete.append(theta)
            if len(concrete) > 1:
                raise ValueError("a shell check refused this theta")
        return forward(theta)

    model = build_model(checking_forward, standin_terms, standin_model.prior, domain=DOMAIN)
    assert len(concrete) == 1  # the prior centre
    init = prior_init(model, jax.random.PRNGKey(1), 3)
    assert len(init.positions) == 3 and len(concrete) == 1
    logp, _ = log_density(model, (), {}, {UNIT_SITE: jnp.array([0.1, -0.3, 0.5, -0.2])})
    assert np.isfinite(float(logp)) and len(concrete) == 1
