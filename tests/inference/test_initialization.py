"""Laplace starting points: modes and metric against a Gaussian's closed form."""
import jax
import jax.numpy as jnp
import numpy as np
import numpyro
import numpyro.distributions as dist

from shaminfer.inference.initialization import laplace_init, prior_init

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
