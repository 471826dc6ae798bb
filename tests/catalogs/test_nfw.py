import numpy as np
from scipy import stats

from shaminfer.catalogs.nfw import (
    nfw_delta_sigma_annulus,
    nfw_mu,
    nfw_projected_mass,
    nfw_projected_mass_untruncated,
    radius_200m,
    sample_nfw_offsets,
    sample_nfw_radii,
)


def test_truncated_projection_tends_to_closed_form():
    rs, rho_s, c = 0.2, 1e15, 5000.0
    mass = 4 * np.pi * rho_s * rs**3 * nfw_mu(c)
    R = np.logspace(-2, 0.5, 9)
    np.testing.assert_allclose(nfw_projected_mass(R, mass, c * rs, c), nfw_projected_mass_untruncated(R, rho_s, rs),
                               rtol=2e-5)


def test_projected_mass_limits():
    # the whole sphere is inside any cylinder wider than it; the projection always exceeds the 3-D mass inside R
    M, rd, c = 3e13, 0.8, 6.0
    np.testing.assert_allclose(nfw_projected_mass(np.array([0.8, 1.0, 5.0]), M, rd, c), M, rtol=1e-12)
    R = np.linspace(0.05, 0.79, 8)
    assert np.all(nfw_projected_mass(R, M, rd, c) > M * nfw_mu(R / (rd / c)) / nfw_mu(c))


def test_annulus_delta_sigma_outside_the_sphere_is_point_mass():
    # beyond R_200m the sphere acts like a point mass: <Delta Sigma> = 2 M ln(Rmax/Rmin) / A_ann
    M, rd, c = 1e14, 1.0, 4.0
    rbins = np.array([1.5, 2.0, 4.0])
    expect = M * 2 * np.log(rbins[1:] / rbins[:-1]) / (np.pi * (rbins[1:] ** 2 - rbins[:-1] ** 2)) / 1e12
    np.testing.assert_allclose(nfw_delta_sigma_annulus(rbins, M, rd, c), expect, rtol=1e-10)
    assert nfw_delta_sigma_annulus(rbins, np.ones((2, 3)) * M, rd, c).shape == (2, 3, 2)


def test_radius_sampling_follows_the_profile():
    rng = np.random.default_rng(1)
    c = 7.0
    x = sample_nfw_radii(rng, np.full(50_000, c))
    assert x.min() > 0 and x.max() <= 1
    cdf = lambda q: nfw_mu(np.asarray(q) * c) / nfw_mu(c)  # noqa: E731
    assert stats.kstest(x, cdf).pvalue > 1e-3
    off = sample_nfw_offsets(rng, np.full(50_000, c), np.full(50_000, 2.0))
    assert off.shape == (50_000, 3)
    np.testing.assert_allclose(np.abs(off.mean(axis=0)), 0, atol=0.02)  # isotropic


def test_radius_200m():
    rho_m = 8.5e10
    m = 14.0
    r = radius_200m(m, rho_m)
    np.testing.assert_allclose(4 / 3 * np.pi * r**3 * 200 * rho_m, 1e14, rtol=1e-12)
