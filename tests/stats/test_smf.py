"""The SMF of Eq. 7 from weights, against closed forms and its gradient (Eq. 8); its Poisson error against
Monte Carlo counts."""
import jax.numpy as jnp
import numpy as np
import pytest
from jax.test_util import check_grads

from shaminfer.ingredients import triweight_cdf
from shaminfer.stats import smf_bin_weights, smf_from_weights, smf_poisson_sd


def test_smf_of_one_galaxy_is_its_kernel_mass_per_bin():
    edges = np.array([9.0, 9.5, 10.5, 12.0])
    mu, sigma = jnp.asarray([10.0]), jnp.asarray([0.3])
    phi = smf_from_weights(smf_bin_weights(mu, sigma, edges), edges, volume=8.0)
    cdf = np.asarray(triweight_cdf(jnp.asarray(edges), 10.0, 0.3))
    np.testing.assert_allclose(phi, np.diff(cdf) / np.diff(edges) / 8.0, rtol=1e-14)
    np.testing.assert_allclose(np.sum(phi * np.diff(edges)) * 8.0, 1.0, rtol=1e-14)


def test_smf_gradient():
    edges = np.linspace(9.5, 11.0, 7)
    sigma = jnp.asarray([0.2, 0.3, 0.25])
    check_grads(lambda m: smf_from_weights(smf_bin_weights(m, sigma, edges), edges, 100.0),
                (jnp.asarray([10.0, 10.3, 10.6]),), order=1, modes=("fwd", "rev"))


def test_poisson_sd_equals_the_scatter_of_poisson_counts():
    edges = np.array([9.0, 9.5, 10.5, 12.0])
    volume = 40.0 ** 3
    phi = np.array([[3e-3, 2e-4, 4e-6], [1e-3, 5e-5, 1e-6]])  # e.g. red and blue: 96, 12.8 and 0.4 galaxies...
    counts = np.random.default_rng(0).poisson(phi * volume * np.diff(edges), size=(200_000, *phi.shape))
    mc_sd = np.std(counts / (volume * np.diff(edges)), axis=0)
    np.testing.assert_allclose(smf_poisson_sd(phi, edges, volume), mc_sd, rtol=0.01)


def test_poisson_sd_gradient_and_bad_edges():
    edges = np.linspace(9.5, 11.0, 4)
    check_grads(lambda x: smf_poisson_sd(10.0 ** x, edges, 1e4), (jnp.asarray([-2.0, -2.5, -3.7]),), order=1,
                modes=("fwd", "rev"))
    with pytest.raises(ValueError, match="smf has 2 bins .* edges give 3"):
        smf_poisson_sd(jnp.ones(2), edges, 1e4)
