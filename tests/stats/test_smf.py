"""The SMF of Eq. 7 from weights, against closed forms and its gradient (Eq. 8)."""
import jax.numpy as jnp
import numpy as np
from jax.test_util import check_grads

from shaminfer.ingredients import triweight_cdf
from shaminfer.stats import smf_bin_weights, smf_from_weights


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
