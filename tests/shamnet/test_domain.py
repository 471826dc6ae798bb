"""SHAMNet's training domain: sampling, the guard and its messages, the plain-coordinate ranges."""
import re

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from shaminfer.ingredients import DEFAULT_SHAM_PARAMS, SchechterParams, ShamParams, schechter_smf
from shaminfer.shamnet import check_theta_in_domain, default_domain, in_domain, sample_domain
from shaminfer.shamnet.domain import (
    SDSS_FIDUCIAL,
    ShamNetDomain,
    domain_coordinates,
    domain_ranges,
    domain_vertices,
    format_ranges,
    make_domain,
    sdss_posterior,
)
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


def _box_domain(center, angle_deg, halfwidth, alpha_max):
    a = np.deg2rad(angle_deg)
    vecs = np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]])
    return ShamNetDomain(jnp.asarray(center, dtype=float), jnp.asarray(vecs), jnp.asarray(halfwidth, dtype=float),
                         jnp.asarray(float(alpha_max)), jnp.asarray([0.1, 0.5]), jnp.asarray([9.0, 16.5]))


def test_ranges_of_boxes_with_closed_forms():
    # An axis-aligned box whose cut misses it: the box itself.
    r = domain_ranges(_box_domain([0.0, 0.0], 0.0, [1.0, 2.0], 5.0))
    assert r == {"logphi_star": (-1.0, 1.0), "alpha": (-2.0, 2.0), "sigma_lo": (0.1, 0.5), "sigma_hi": (0.1, 0.5)}
    # A diamond (45 degrees, half-widths 1): corners at (+-sqrt2, 0) and (0, +-sqrt2); the cut alpha <= 0.5 keeps
    # the left and right corners, so log10 phi* spans [-sqrt2, sqrt2] and alpha [-sqrt2, 0.5].
    dom = _box_domain([0.0, 0.0], 45.0, [1.0, 1.0], 0.5)
    r = domain_ranges(dom)
    np.testing.assert_allclose(r["logphi_star"], (-np.sqrt(2), np.sqrt(2)), rtol=1e-14)
    np.testing.assert_allclose(r["alpha"], (-np.sqrt(2), 0.5), rtol=1e-14)
    assert len(domain_vertices(dom)) == 5  # three box corners and two points on the cut
    with pytest.raises(ValueError, match="leaves no room"):
        domain_vertices(_box_domain([0.0, 0.0], 45.0, [1.0, 1.0], -2.0))


def test_shipped_ranges_contain_the_domain_and_are_tight():
    dom = default_domain()
    r = domain_ranges(dom)
    printed = format_ranges(r)  # rounded outwards, as `shaminfer domain` and the domain errors print them
    bounds = {name: (float(lo), float(hi)) for name, lo, hi in
              re.findall(r"(\w+) in \[(-?[\d.]+), (-?[\d.]+)\]", printed)}
    assert list(bounds) == list(ShamParams._fields)
    for th in (DEFAULT_SHAM_PARAMS, sample_domain(0, 2000), sample_domain(1, 20000)):
        for name in ShamParams._fields:
            v = np.asarray(getattr(th, name))
            assert np.all((v >= r[name][0] - 1e-12) & (v <= r[name][1] + 1e-12)), name
            assert np.all((v >= bounds[name][0]) & (v <= bounds[name][1])), name
    # Tight: each bound is attained by a corner of the region, and those corners are in the domain
    # (moved 1e-9 towards the centre, since in_domain's faces are closed only up to round-off).
    vert = domain_vertices(dom)
    inner = vert + 1e-9 * (np.asarray(dom.center) - vert)
    mid = 0.5 * (r["sigma_lo"][0] + r["sigma_lo"][1])
    assert np.all(np.asarray(in_domain(ShamParams(inner[:, 0], inner[:, 1], mid, mid))))
    for i, name in enumerate(("logphi_star", "alpha")):
        assert (vert[:, i].min(), vert[:, i].max()) == r[name]
    # Against a sample of 20000: every extreme lies within 2e-3 of the bound. (The alpha minimum is a right-angle
    # corner of the box, where the gap t of n uniform points has P(gap > t) = exp(-n t^2 / (2 |g1 g2| A)),
    # g = d alpha / d u and A the region's area in u: about 6e-4 on average and 1.3e-3 for seed 0.)
    th = sample_domain(0, 20000)
    for name in ShamParams._fields:
        v = np.asarray(getattr(th, name))
        assert r[name][0] <= v.min() < r[name][0] + 2e-3 and r[name][1] - 2e-3 < v.max() <= r[name][1], name
    # And against a dense grid of the box in eigen-coordinates (spacing 1e-3 in u, 5e-5 in theta at most).
    g = np.linspace(-1.0, 1.0, 2001)
    uu = np.stack(np.meshgrid(g, g), axis=-1).reshape(-1, 2)
    p = np.asarray(dom.center) + (uu * np.asarray(dom.halfwidth)) @ np.asarray(dom.eigvecs).T
    p = p[p[:, 1] <= float(dom.alpha_max)]
    for i, name in enumerate(("logphi_star", "alpha")):
        np.testing.assert_allclose((p[:, i].min(), p[:, i].max()), r[name], atol=1e-4)


def test_domain_errors_quote_the_plain_ranges():
    quoted = format_ranges(domain_ranges(default_domain()))
    for bad in (dict(sigma_lo=0.6), dict(sigma_hi=0.05), dict(alpha=-0.99), dict(logphi_star=-2.0)):
        with pytest.raises(ValueError) as err:
            check_theta_in_domain(DEFAULT_SHAM_PARAMS._replace(**bad))
        assert quoted in str(err.value) and "not a rectangle" in str(err.value), bad
