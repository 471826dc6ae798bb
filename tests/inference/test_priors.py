"""Priors inside SHAMNet's training domain."""
import itertools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from shaminfer.ingredients import ShamParams
from shaminfer.inference.priors import (
    _box_under_halfplane,
    box_prior,
    check_prior_in_domain,
    domain_prior,
    prior_contains,
    prior_corners,
    prior_log_density,
    shamnet_domain,
    theta_from_unit,
    unit_from_theta,
)
from shaminfer.shamnet import check_theta_in_domain, init_shamnet, make_domain, sample_domain

from .standin import DOMAIN

# A SHAMNet domain like the shipped one: an SDSS-like posterior rotated by ~40 degrees, cut at alpha <= -1.
_VECS = np.array([[0.7552, 0.6555], [-0.6555, 0.7552]])
_HALF = np.array([0.0438, 0.0637])
NET = init_shamnet(jax.random.PRNGKey(0), make_domain(np.array([-2.3009, -1.0605]),
                                                      _VECS @ np.diag((_HALF / 5) ** 2) @ _VECS.T))


def test_box_prior_maps_unit_cube_and_back():
    lo = ShamParams(-2.31, -1.08, 0.2, 0.15)
    hi = ShamParams(-2.29, -1.05, 0.4, 0.3)
    prior = box_prior(lo, hi, domain=shamnet_domain(NET))
    u = np.array([0.3, -0.9, 0.0, 1.0])
    theta = theta_from_unit(prior, jnp.asarray(u))
    np.testing.assert_allclose(unit_from_theta(prior, theta), u, atol=1e-13)
    np.testing.assert_allclose(theta.sigma_hi, 0.3)
    corners = prior_corners(prior)
    assert corners.shape == (16, 4)
    np.testing.assert_allclose(corners.min(axis=0), lo)
    np.testing.assert_allclose(corners.max(axis=0), hi)
    assert prior_log_density(prior) == pytest.approx(-np.log(0.02 * 0.03 * 0.2 * 0.15))
    assert prior_contains(prior, lo) and not prior_contains(prior, lo._replace(alpha=-1.2))


def test_user_prior_outside_the_domain_is_refused():
    lo = ShamParams(-2.31, -1.08, 0.05, 0.15)  # sigma_lo below SHAMNet's 0.1
    hi = ShamParams(-2.29, -1.05, 0.4, 0.3)
    with pytest.raises(ValueError, match=r"prior: .*training domain, found 8 of 16 corners outside.*theta.sigma_lo"):
        box_prior(lo, hi, domain=shamnet_domain(NET))
    wide = ShamParams(-2.5, -1.3, 0.2, 0.2)
    with pytest.raises(ValueError, match="corners outside"):
        box_prior(wide, ShamParams(-2.1, -0.9, 0.3, 0.3), domain=shamnet_domain(NET))
    with pytest.raises(ValueError, match=r"lo < hi.*\['alpha'\]"):
        box_prior(lo._replace(alpha=-1.0), hi, domain=shamnet_domain(NET))


def test_domain_prior_lies_inside_shamnet_domain_and_covers_most_of_it():
    prior = domain_prior(net=NET)
    for corner in prior_corners(prior):
        check_theta_in_domain(ShamParams(*corner), net=NET)  # raises if outside
    pts = sample_domain(1, 20000, net=NET)
    inside = np.mean([prior_contains(prior, p) for p in zip(*[np.asarray(x) for x in pts])])
    # The alpha cut removes one corner of the box; the largest inscribed box keeps ~80 per cent.
    assert 0.7 < inside < 0.95
    # The shipped network's domain works too.
    check_prior_in_domain(domain_prior(), domain=shamnet_domain())


def test_box_under_halfplane_is_the_largest_feasible_box():
    """Closed form against a brute-force search over box edges."""
    g, b = np.array([-0.0287, 0.0481]), 0.0605
    lo, hi = _box_under_halfplane(g, b)
    corner = np.where(g > 0, hi, lo)
    assert g @ corner == pytest.approx(b, abs=1e-12)
    area = np.prod(hi - lo)
    grid = np.linspace(-1, 1, 201)
    best = 0.0
    for lo0, hi1 in itertools.product(grid, grid):
        if g @ np.array([lo0, hi1]) <= b + 1e-12:
            best = max(best, (1 - lo0) * (hi1 + 1))
    assert area >= best - 1e-9
    np.testing.assert_array_equal(_box_under_halfplane(g, 1.0), (-np.ones(2), np.ones(2)))


def test_generic_domain_prior_from_samples():
    prior = domain_prior(domain=DOMAIN)
    check_prior_in_domain(prior, domain=DOMAIN)
    assert np.all(prior.half_width > 0)


def test_theta_from_unit_is_differentiable():
    prior = domain_prior(net=NET)
    jac = jax.jacfwd(lambda u: jnp.stack(list(theta_from_unit(prior, u))))(jnp.zeros(4))
    np.testing.assert_allclose(jac, prior.basis * prior.half_width, atol=1e-14)
