"""Triweight bin and sample weights (Eq. 6, App. E)."""
import jax
import jax.numpy as jnp
import numpy as np
from jax.test_util import check_grads

from shaminfer.ingredients import scatter_dex, scatter_of, triweight_cdf
from shaminfer.stats import bin_sample, galaxy_logsm_pdf_params, sample_weights, smf_bin_weights, threshold_sample

from .standin import THETA0, standin_smhm


def test_pdf_params_use_the_smhm_and_eq4_scatter():
    logm = jnp.linspace(11.0, 14.0, 7)
    mu, sigma = galaxy_logsm_pdf_params(THETA0, logm, smhm=standin_smhm)
    np.testing.assert_allclose(mu, standin_smhm(THETA0, logm))
    np.testing.assert_allclose(sigma, scatter_dex(scatter_of(THETA0), logm))


def test_bin_weights_partition_unity_and_match_the_cdf():
    mu = jnp.asarray([9.5, 10.2, 10.9, 11.3])
    sigma = jnp.asarray([0.1, 0.3, 0.25, 0.4])
    edges = np.linspace(8.0, 13.0, 21)
    w = smf_bin_weights(mu, sigma, edges)
    assert w.shape == (20, 4)
    np.testing.assert_allclose(w.sum(axis=0), 1.0, rtol=1e-14)
    s = sample_weights(mu, sigma, (threshold_sample(10.5), bin_sample(10.0, 11.0)))
    np.testing.assert_allclose(s[0], 1 - triweight_cdf(10.5, mu, sigma))
    np.testing.assert_allclose(s[1], triweight_cdf(11.0, mu, sigma) - triweight_cdf(10.0, mu, sigma))
    assert s[0, 0] == 0.0  # beyond mu + 3 sigma: exactly zero ...
    g = jax.grad(lambda m: sample_weights(m, sigma, (threshold_sample(10.5),))[0, 0])(mu)
    assert g[0] == 0.0  # ... and flat, so zero-weight objects can be dropped from pair counts
    assert sample_weights(mu, sigma, ()).shape == (0, 4)


def test_weight_gradients():
    mu = jnp.asarray([10.0, 10.4, 10.8])  # support edges away from the cuts: FD steps stay smooth
    sigma = jnp.asarray([0.2, 0.3, 0.35])
    samples = (threshold_sample(10.5), bin_sample(10.0, 10.7))
    check_grads(lambda m, s: sample_weights(m, s, samples), (mu, sigma), order=2, modes=("fwd", "rev"), eps=1e-5)
    check_grads(lambda m, s: smf_bin_weights(m, s, np.linspace(9.5, 11.0, 6)), (mu, sigma), order=1,
                modes=("fwd", "rev"))
