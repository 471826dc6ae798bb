import jax
import jax.numpy as jnp
import numpy as np
from jax.test_util import check_grads
from scipy import integrate

from shaminfer.ingredients import triweight_bin_prob, triweight_cdf, triweight_pdf, triweight_threshold_prob

MU, SIG = 10.3, 0.27


def _quad(f):
    return integrate.quad(f, MU - 3 * SIG, MU + 3 * SIG, epsabs=1e-13, epsrel=1e-13)[0]


def test_normalized_mean_variance():
    pdf = lambda x: float(triweight_pdf(x, MU, SIG))
    assert abs(_quad(pdf) - 1) < 1e-12
    assert abs(_quad(lambda x: x * pdf(x)) - MU) < 1e-11
    assert abs(_quad(lambda x: (x - MU) ** 2 * pdf(x)) - SIG**2) < 1e-12


def test_zero_outside_support():
    x = jnp.array([MU - 3 * SIG - 1e-9, MU - 5, MU + 3 * SIG + 1e-9, MU + 7])
    assert np.all(np.asarray(triweight_pdf(x, MU, SIG)) == 0.0)
    np.testing.assert_array_equal(triweight_cdf(x, MU, SIG), [0, 0, 1, 1])


def test_cdf_derivative_is_density():
    x = jnp.linspace(MU - 3.5 * SIG, MU + 3.5 * SIG, 101)
    dcdf = jax.vmap(jax.grad(triweight_cdf), in_axes=(0, None, None))(x, MU, SIG)
    np.testing.assert_allclose(dcdf, triweight_pdf(x, MU, SIG), rtol=1e-12, atol=1e-14)


def test_bin_probabilities_partition_sum_to_one():
    edges = jnp.concatenate([jnp.array([-jnp.inf]), jnp.linspace(9.0, 11.5, 17), jnp.array([jnp.inf])])
    mus = jnp.linspace(8.5, 12.0, 23)
    sig = jnp.linspace(0.1, 0.5, 23)
    probs = triweight_bin_prob(edges[:-1, None], edges[1:, None], mus, sig)
    np.testing.assert_allclose(probs.sum(axis=0), 1.0, atol=1e-14)
    assert np.all(np.asarray(probs) >= -1e-15)
    thr = triweight_threshold_prob(10.0, mus, sig)
    below = triweight_cdf(10.0, mus, sig)
    np.testing.assert_allclose(thr + below, 1.0, atol=1e-15)


def test_gradients():
    for f in (triweight_pdf, triweight_cdf):
        check_grads(lambda m, s: f(10.2, m, s), (MU, SIG), order=2, modes=["fwd", "rev"])
    check_grads(lambda m, s: triweight_bin_prob(10.0, 10.4, m, s), (MU, SIG), order=2, modes=["fwd", "rev"])
    check_grads(lambda m, s: triweight_threshold_prob(10.5, m, s), (MU, SIG), order=2, modes=["fwd", "rev"])


def test_jit_and_vmap():
    f = jax.jit(jax.vmap(triweight_bin_prob, in_axes=(None, None, 0, 0)))
    out = f(10.0, 10.5, jnp.array([10.2, 11.0]), jnp.array([0.2, 0.3]))
    assert out.shape == (2,)
