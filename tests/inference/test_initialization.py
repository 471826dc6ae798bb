"""Laplace starting points: modes and metric against a Gaussian's closed form; the fallback's message."""
import jax
import jax.numpy as jnp
import numpy as np
import numpyro
import numpyro.distributions as dist
from numpyro.distributions import constraints

from shaminfer.inference.initialization import (MULTIMODAL_SPREAD, fallback_message, laplace_covariance, laplace_init,
                                                minimize_restarting, multimodal_message, prior_init)

MEAN = jnp.array([0.3, -0.2, 0.1])
COV = jnp.array([[0.04, 0.01, 0.0], [0.01, 0.02, -0.005], [0.0, -0.005, 0.03]])


def gaussian_model():
    numpyro.sample("x", dist.MultivariateNormal(MEAN, COV))


def test_laplace_init_finds_the_mode_and_the_covariance():
    res = laplace_init(gaussian_model, jax.random.PRNGKey(0), 3, overdispersion=2.0)
    np.testing.assert_allclose(res.inverse_mass_matrix, COV, rtol=1e-4, atol=1e-8)
    assert np.ptp(res.modes_potential) < 1e-8
    starts = np.stack([p["x"] for p in res.positions])
    assert starts.shape == (3, 3)
    # Overdispersed around the mode: within a few Laplace standard deviations, not on top of it.
    z = np.linalg.solve(np.linalg.cholesky(np.asarray(COV)), (starts - np.asarray(MEAN)).T)
    assert np.all(np.abs(z) < 2.0 * 5) and np.all(np.linalg.norm(z, axis=0) > 1e-3)


def test_prior_init_gives_distinct_starts_and_no_metric():
    res = prior_init(gaussian_model, jax.random.PRNGKey(1), 2)
    assert res.inverse_mass_matrix is None
    assert not np.allclose(res.positions[0]["x"], res.positions[1]["x"])


def flat_direction_model():
    """x is constrained; y has a flat improper prior and no data: the Hessian has a zero eigenvalue."""
    numpyro.sample("x", dist.Normal(0.3, 0.2))
    numpyro.sample("y", dist.ImproperUniform(constraints.real, (), ()))


def edge_model():
    """A likelihood pulling u[0] against the prior's edge u = 1 (the mode sits on the boundary)."""
    u = numpyro.sample("u", dist.Uniform(-1.0, 1.0).expand([2]).to_event(1))
    numpyro.factor("pull", 1e4 * u[0] - 0.5 * (u[1] / 0.1) ** 2)


def test_a_hessian_that_is_not_positive_definite_is_one_clear_line():
    logged = []
    res = laplace_init(flat_direction_model, jax.random.PRNGKey(2), 3, overdispersion=2.0, log=logged.append)
    assert res.inverse_mass_matrix is None  # identity initial metric
    assert len(logged) == 1 and "\n" not in logged[0]
    msg = logged[0]
    # what happened, what was done instead, why it is harmless
    assert "Hessian of the potential at the best mode is not positive definite (smallest eigenvalue 0" in msg
    assert "the chains start at their modes plus N(0, 0.2^2) jitter" in msg and "identity initial metric" in msg
    assert "Harmless" in msg and "not the posterior" in msg
    # the starts are the modes (x = 0.3, y where it started) plus jitter of sd 0.2
    x = np.array([float(p["x"]) for p in res.positions])
    assert np.all(np.abs(x - 0.3) < 5 * 0.2)
    assert fallback_message(np.array([[1.0, np.nan], [np.nan, 1.0]]), 2.0).count("2 non-finite entries") == 1


def test_a_mode_on_the_prior_edge_still_gets_a_laplace_metric():
    """In unconstrained coordinates the prior's Jacobian adds curvature: a boundary mode is no fallback."""
    logged = []
    res = laplace_init(edge_model, jax.random.PRNGKey(0), 2, log=logged.append)
    assert not logged
    imm = np.asarray(res.inverse_mass_matrix)
    assert np.all(np.linalg.eigvalsh(imm) > 0)
    # Potential along z0: -1e4 u(z0) - log(du/dz0) with u = tanh(z0/2), about 2e4 exp(-z0) + z0 near the edge:
    # the mode sits at exp(-z0) = 1/2e4 (u = 1 - 1e-4) and the curvature there is 1, so the Laplace variance is 1.
    np.testing.assert_allclose(imm[0, 0], 1.0, rtol=1e-3)


def test_laplace_init_counts_its_gradient_calls():
    """``gradient_calls`` = the potential's evaluations beyond those that choosing the starts costs."""
    seen = [0]

    def counted_model():
        x = numpyro.sample("x", dist.MultivariateNormal(MEAN, COV))
        jax.debug.callback(lambda _: seen.__setitem__(0, seen[0] + 1), x)

    assert prior_init(counted_model, jax.random.PRNGKey(3), 2).gradient_calls == 0
    baseline, seen[0] = seen[0], 0
    res = laplace_init(counted_model, jax.random.PRNGKey(3), 2)
    assert res.gradient_calls >= 2 * MEAN.size + 2
    assert seen[0] - baseline == res.gradient_calls


def test_minimize_restarting_goes_on_from_where_a_run_stopped():
    """Runs cut short (here by max_iter, as a kink cuts a line search) are resumed until one no longer helps."""
    scales = 10.0 ** np.linspace(0.0, 3.0, 8)  # an ill-conditioned quadratic: two iterations cannot reach its minimum

    def fun(x):
        return float(np.sum(scales * (x - 1.0) ** 2)), 2.0 * scales * (x - 1.0)

    x0 = np.zeros(8)
    _, f_once = minimize_restarting(fun, x0, max_iter=2, max_restarts=0)
    _, f_again = minimize_restarting(fun, x0, max_iter=2, max_restarts=50)
    assert f_again < 1e-2 * f_once < 1e-2 * fun(x0)[0]
    # a start that no run improves on comes back unchanged, with its value
    x, fx = minimize_restarting(fun, np.ones(8))
    np.testing.assert_array_equal(x, np.ones(8))
    assert fx == 0.0


def test_laplace_covariance_inverts_a_positive_definite_hessian_and_refuses_others():
    hess = np.linalg.inv(np.asarray(COV))
    cov = laplace_covariance(hess)
    np.testing.assert_allclose(cov, np.asarray(COV), rtol=1e-12, atol=1e-15)
    np.testing.assert_array_equal(cov, cov.T)
    indefinite = hess.copy()
    indefinite[0, 0] = -1.0
    assert laplace_covariance(indefinite) is None
    not_finite = hess.copy()
    not_finite[1, 2] = not_finite[2, 1] = np.nan
    assert laplace_covariance(not_finite) is None


def test_multimodal_message_only_past_the_spread():
    assert multimodal_message(np.array([3.0, 3.0 + 0.9 * MULTIMODAL_SPREAD])) is None
    message = multimodal_message(np.array([3.0, np.nan, 3.0 + 2.5 * MULTIMODAL_SPREAD]))
    assert message is not None and "3 optimizations" in message and f"{2.5 * MULTIMODAL_SPREAD:.1f}" in message
