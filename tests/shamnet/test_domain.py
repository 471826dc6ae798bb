import jax
import jax.numpy as jnp
import numpy as np
import pytest

from shaminfer.ingredients import DEFAULT_SHAM_PARAMS, SchechterParams, ShamParams, schechter_smf
from shaminfer.shamnet import check_theta_in_domain, default_domain, in_domain, sample_domain
from shaminfer.shamnet.domain import SDSS_FIDUCIAL, domain_coordinates, make_domain, sdss_posterior
from shaminfer.shamnet.domain import sample_domain as sample_on


def test_samples_fill_the_domain_and_are_reproducible():
    th = sample_domain(7, 400)
    assert np.all(np.asarray(in_domain(th)))
    assert np.all(np.asarray(th.alpha) <= -1.0)
    u = np.asarray(domain_coordinates(default_domain(), th))
    assert u.min() < -0.9 and u.max() > 0.9  # spans the box
    again = sample_domain(7, 400)
    np.testing.assert_array_equal(np.asarray(th.alpha), np.asarray(again.alpha))
    assert np.min(np.asarray(th.sigma_lo)) >= 0.1 and np.max(np.asarray(th.sigma_hi)) <= 0.5


def test_guard_names_the_offending_field():
    check_theta_in_domain(DEFAULT_SHAM_PARAMS)
    with pytest.raises(ValueError, match="theta.sigma_lo.*0.1, 0.5"):
        check_theta_in_domain(DEFAULT_SHAM_PARAMS._replace(sigma_lo=0.6))
    with pytest.raises(ValueError, match="theta.sigma_hi"):
        check_theta_in_domain(DEFAULT_SHAM_PARAMS._replace(sigma_hi=0.05))
    with pytest.raises(ValueError, match="theta.alpha.*monotonic"):
        check_theta_in_domain(DEFAULT_SHAM_PARAMS._replace(alpha=-0.99))
    with pytest.raises(ValueError, match=r"theta.\(logphi_star, alpha\).*training box"):
        check_theta_in_domain(DEFAULT_SHAM_PARAMS._replace(logphi_star=-2.0))
    with pytest.raises(ValueError, match="theta.alpha: expected finite"):
        check_theta_in_domain(DEFAULT_SHAM_PARAMS._replace(alpha=float("nan")))


def test_in_domain_is_traceable():
    f = jax.jit(lambda th: in_domain(th))
    assert bool(f(DEFAULT_SHAM_PARAMS))
    assert not bool(f(DEFAULT_SHAM_PARAMS._replace(logphi_star=-2.0)))


def test_nuts_posterior_matches_fisher_covariance():
    # oracle: for a Gaussian likelihood on log10 phi, linear in (log10 phi*, alpha), the
    # posterior covariance is the inverse Fisher matrix
    samples, mean, cov = sdss_posterior(1, num_warmup=300, num_samples=2000)
    f = SDSS_FIDUCIAL
    x = np.linspace(f["logsm_lo"], f["logsm_hi"], f["n_points"])
    jac = np.column_stack([np.ones_like(x), x - 10.85])
    fisher = jac.T @ jac / f["err_dex"] ** 2
    cov_f = np.linalg.inv(fisher)
    np.testing.assert_allclose(np.sqrt(np.diag(cov)), np.sqrt(np.diag(cov_f)), rtol=0.1)
    assert abs(mean[0] - f["logphi_star"]) < 3 * np.sqrt(cov_f[0, 0]) / np.sqrt(50)
    d = make_domain(mean, cov)
    np.testing.assert_allclose(np.sort(np.asarray(d.halfwidth)), np.sort(5 * np.sqrt(np.linalg.eigvalsh(cov))))


def test_face_power_crowds_sigma_to_the_faces_and_stays_inside():
    dom = default_domain()
    flat = sample_domain(3, 4000)
    faces = sample_on(dom, 3, 4000, face_power=3.0)
    assert np.all(np.asarray(in_domain(faces)))
    for s in (np.asarray(faces.sigma_lo), np.asarray(faces.sigma_hi)):
        # density |t|^2 on t = 2 z - 1: P(|t| > 0.8) = 1 - 0.8^3 = 0.488, against 0.2 for uniform draws
        t = np.abs(2.0 * (s - 0.1) / 0.4 - 1.0)
        assert abs(np.mean(t > 0.8) - 0.488) < 0.03
    t_flat = np.abs(2.0 * (np.asarray(flat.sigma_lo) - 0.1) / 0.4 - 1.0)
    assert abs(np.mean(t_flat > 0.8) - 0.2) < 0.03
    # (log10 phi*, alpha) are drawn as before
    u = np.asarray(domain_coordinates(dom, faces))
    assert u.min() < -0.9 and u.max() > 0.9
    with pytest.raises(ValueError, match="face_power: expected a value >= 1, found 0.5"):
        sample_on(dom, 3, 10, face_power=0.5)
