"""w_p of weighted samples: Corrfunc and brute-force oracles, the pi-bin identity, zero clustering of
randoms (Sec. 4.3), and the custom_jvp under grad / jacfwd / jit / vmap."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from Corrfunc.theory.DDrppi import DDrppi
from Corrfunc.theory.wp import wp as corrfunc_wp

from shaminfer.stats.clustering import (
    cylinder_shell_volumes,
    make_pair_counter,
    make_wp,
    random_pair_counts,
    wp_from_pair_counts,
)

from .standin import brute_force_pair_sums

RP = np.logspace(-1, 1, 11)
BOX = 50.0
PI_MAX = 20.0


@pytest.fixture(scope="module")
def points():
    rng = np.random.default_rng(10)
    pos = rng.uniform(0, BOX, (2500, 3))
    pos[1250:] = (pos[:1250] + rng.normal(0, 1.0, (1250, 3))) % BOX  # clustered, wrapping
    return pos


def test_hard_bin_wp_matches_corrfunc_and_brute_force(points):
    rng = np.random.default_rng(11)
    w = (rng.uniform(size=points.shape[0]) < 0.6).astype(np.float64)  # 0/1 weights: a hard bin
    sel = points[w == 1]
    ref = corrfunc_wp(BOX, PI_MAX, 2, RP, sel[:, 0].copy(), sel[:, 1].copy(), sel[:, 2].copy())["wp"]
    ours = np.asarray(make_wp(points, box_size=BOX, rp_edges=RP, pi_max=PI_MAX)(jnp.asarray(w)))
    np.testing.assert_allclose(ours, ref, rtol=1e-10)
    dd0, _ = brute_force_pair_sums(sel, np.ones(sel.shape[0]), BOX, RP, PI_MAX)
    n = sel.shape[0]
    brute = 2 * PI_MAX * (dd0 / (n * (n - 1) * cylinder_shell_volumes(RP, PI_MAX) / BOX**3) - 1)
    np.testing.assert_allclose(ours, brute, rtol=1e-10)


def test_single_cylinder_equals_sum_over_pi_bins(points):
    # w_p = 2 sum_j xi_ij dpi with equal pi bins equals 2 pi_max (DD_i / RR_i - 1)
    rng = np.random.default_rng(12)
    w = rng.uniform(0.0, 1.0, points.shape[0])
    res = DDrppi(1, 2, PI_MAX, RP, points[:, 0].copy(), points[:, 1].copy(), points[:, 2].copy(), weights1=w,
                 weight_type="pair_product", periodic=True, boxsize=BOX)
    npi = int(PI_MAX)
    dd_ij = (res["npairs"] * res["weightavg"]).reshape(RP.size - 1, npi)
    dpi = PI_MAX / npi
    s1, s2 = w.sum(), (w * w).sum()
    rr_ij = (s1 * s1 - s2) * np.pi * np.diff(RP**2)[:, None] * 2 * dpi / BOX**3
    per_bin = 2 * np.sum(dd_ij / rr_ij - 1, axis=1) * dpi
    ours = np.asarray(make_wp(points, box_size=BOX, rp_edges=RP, pi_max=PI_MAX)(jnp.asarray(w)))
    np.testing.assert_allclose(ours, per_bin, rtol=1e-10)


def test_random_points_with_weights_have_zero_clustering():
    # Sec. 4.3: random positions, weights drawn from a sample -> E[xi] = 0 (E[DD_i] = RR_i exactly)
    rng = np.random.default_rng(13)
    box, n = 100.0, 20000
    pos = rng.uniform(0, box, (n, 3))
    w = rng.beta(0.5, 0.5, n)  # many weights near 0 and 1, like triweight membership
    rp = np.logspace(0, np.log10(15.0), 8)
    dd = np.asarray(make_pair_counter(pos, box_size=box, rp_edges=rp, pi_max=30.0)(jnp.asarray(w)))
    rr = np.asarray(random_pair_counts(jnp.asarray(w), rp_edges=rp, pi_max=30.0, box_size=box))
    xi = dd / rr - 1
    p = cylinder_shell_volumes(rp, 30.0) / box**3
    s2, s4 = (w**2).sum(), (w**4).sum()
    sigma_xi = np.sqrt(2 * (s2 * s2 - s4) * p * (1 - p)) / rr  # Var(DD) for independent uniform points
    z = xi / sigma_xi
    assert np.all(np.abs(z) < 4.5), z
    assert np.sum(z**2) < 8 + 5 * np.sqrt(16), z  # chi^2 with 8 dof, generous


def test_custom_jvp_matches_finite_differences(points):
    rng = np.random.default_rng(14)
    w0 = rng.uniform(0.05, 1.0, points.shape[0])
    dw = rng.normal(size=points.shape[0])
    f = make_wp(points, box_size=BOX, rp_edges=RP, pi_max=PI_MAX)
    _, tangent = jax.jvp(f, (jnp.asarray(w0),), (jnp.asarray(dw),))
    h = 1e-5
    fd = (np.asarray(f(jnp.asarray(w0 + h * dw))) - np.asarray(f(jnp.asarray(w0 - h * dw)))) / (2 * h)
    np.testing.assert_allclose(tangent, fd, rtol=1e-7)
    # reverse mode (what NUTS uses) agrees with forward mode
    c = rng.normal(size=RP.size - 1)
    g = jax.grad(lambda w: jnp.dot(f(w), c))(jnp.asarray(w0))
    np.testing.assert_allclose(jnp.dot(g, dw), jnp.dot(tangent, c), rtol=1e-10)


def test_pair_counter_transforms_and_corrfunc_engine(points):
    rng = np.random.default_rng(15)
    ws = rng.uniform(0.0, 1.0, (3, points.shape[0]))
    ws[ws < 0.3] = 0.0
    opts = dict(box_size=BOX, rp_edges=RP, pi_max=PI_MAX)
    dd = make_pair_counter(points, **opts)
    batched = np.asarray(jax.jit(jax.vmap(dd))(jnp.asarray(ws)))
    for k in range(3):
        np.testing.assert_allclose(batched[k], dd(jnp.asarray(ws[k])), rtol=1e-14)
    jac = jax.jacfwd(dd)(jnp.asarray(ws[0]))
    jac_rev = jax.jacrev(dd)(jnp.asarray(ws[0]))
    np.testing.assert_allclose(jac, jac_rev, rtol=1e-12)
    cf = make_pair_counter(points, engine="corrfunc", nthreads=2, **opts)
    np.testing.assert_allclose(cf(jnp.asarray(ws[1])), dd(jnp.asarray(ws[1])), rtol=1e-10)
    with pytest.raises(ValueError, match="values only"):
        jax.grad(lambda w: cf(w).sum())(jnp.asarray(ws[1]))
    with pytest.raises(ValueError, match="engine"):
        make_pair_counter(points, engine="fast", **opts)


def test_wp_from_pair_counts_closed_form():
    w = jnp.asarray([1.0, 1.0, 1.0, 1.0])
    rr = random_pair_counts(w, rp_edges=[1.0, 2.0], pi_max=5.0, box_size=10.0)
    np.testing.assert_allclose(rr, [12 * np.pi * 3 * 10 / 1000])
    np.testing.assert_allclose(wp_from_pair_counts(rr, rr, 5.0), [0.0])
