"""Quenched fractions at mass knots: against numpy's linear interpolation, constant beyond the ends, inside [0, 1],
gradients, the defaults against the sigmoid block's, red + blue = all on both engines, the likelihood gradient,
and refused kinds and values."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from shaminfer.galaxy_halo import (CEN_KNOTS, HOST_KNOTS, KNOT_QUENCHING_BLOCK, QUENCHING_BLOCK, KnotQuenchingParams,
                                   Population, Subhalos, compose, knot_quenched_fraction, knots, quenching)

from .fd import assert_engines_close, assert_grad_matches_fd, fd_jacobian

M = np.concatenate([np.linspace(10.0, 15.5, 101), np.asarray(CEN_KNOTS)])
HOST = np.linspace(11.0, 15.5, M.size)


def _values(seed=0):
    lo, hi = np.array(list(KNOT_QUENCHING_BLOCK.prior.values())).T
    return np.random.default_rng(seed).uniform(lo, hi)


def test_is_linear_between_knots_constant_beyond_and_a_probability():
    y = _values()
    q = KnotQuenchingParams(*y)
    cen = np.asarray(knot_quenched_fraction(q, M, M, np.ones(M.size)))
    f_cen = np.interp(M, CEN_KNOTS, y[:4])
    np.testing.assert_allclose(cen, f_cen, rtol=0, atol=1e-15)
    np.testing.assert_allclose(cen[M <= CEN_KNOTS[0]], y[0], atol=1e-15)
    np.testing.assert_allclose(cen[M >= CEN_KNOTS[-1]], y[3], atol=1e-15)
    sat = np.asarray(knot_quenched_fraction(q, M, HOST, np.zeros(M.size)))
    boost = np.interp(HOST, HOST_KNOTS, y[4:])
    np.testing.assert_allclose(sat, f_cen + (1.0 - f_cen) * boost, rtol=0, atol=1e-15)
    assert np.all(sat >= cen - 1e-15) and np.all((sat >= 0.0) & (sat <= 1.0))
    # hand check: a satellite at Mpeak 10^12.5 in a host of 10^13.25
    x = float(knot_quenched_fraction(q, 12.5, 13.25, 0.0))
    fc, b = 0.5 * (y[1] + y[2]), 0.75 * y[5] + 0.25 * y[6]
    assert x == pytest.approx(fc + (1 - fc) * b, abs=1e-15)
    # the corners of the box stay in [0, 1]
    for corner in (np.zeros(7), np.ones(7), np.r_[np.ones(4), np.zeros(3)], np.r_[np.zeros(4), np.ones(3)]):
        p = np.asarray(knot_quenched_fraction(KnotQuenchingParams(*corner), M, HOST, np.zeros(M.size)))
        assert np.all((p >= 0.0) & (p <= 1.0))


def test_gradient_matches_finite_differences():
    y = jnp.asarray(_values(3))
    is_cen = np.tile([1.0, 0.0], M.size // 2 + 1)[:M.size]
    f = lambda v: knot_quenched_fraction(KnotQuenchingParams(*v), M, HOST, is_cen)  # noqa: E731
    jac = np.asarray(jax.jacfwd(f)(y))
    np.testing.assert_allclose(jac, fd_jacobian(f, y), atol=1e-8)
    np.testing.assert_allclose(np.asarray(jax.jacrev(f)(y)), jac, atol=1e-12)
    # centrals do not depend on the host knots; satellites depend on both
    assert np.all(jac[is_cen == 1.0, 4:] == 0.0) and np.all(jac[is_cen == 0.0, 4:].sum(axis=1) > 0.0)
    # the central fraction is a partition of unity in the central knots
    np.testing.assert_allclose(jac[is_cen == 1.0, :4].sum(axis=1), 1.0, atol=1e-12)


def test_defaults_are_the_sigmoid_defaults_at_the_knots():
    sub_c = Subhalos(jnp.asarray(CEN_KNOTS), jnp.ones(4), jnp.asarray(CEN_KNOTS), {})
    theta = compose(knots(), quenching()).defaults()
    ref_c = np.asarray(quenching().apply(theta, sub_c, Population()).quenched)
    np.testing.assert_allclose(list(KNOT_QUENCHING_BLOCK.defaults.values())[:4], ref_c, atol=5e-4)
    # the satellite boost: P(q) of satellites of Mpeak 10^12 in hosts at the host knots, less their f_cen
    sub_s = Subhalos(jnp.full(3, 12.0), jnp.zeros(3), jnp.asarray(HOST_KNOTS), {})
    f_cen = float(quenching().apply(theta, Subhalos(jnp.full(1, 12.0), jnp.ones(1), jnp.full(1, 12.0), {}),
                                    Population()).quenched[0])
    ref_s = (np.asarray(quenching().apply(theta, sub_s, Population()).quenched) - f_cen) / (1.0 - f_cen)
    np.testing.assert_allclose(list(KNOT_QUENCHING_BLOCK.defaults.values())[4:], ref_s, atol=5e-4)


def test_kinds_blocks_and_refusals():
    assert quenching().blocks == (QUENCHING_BLOCK,) and quenching(kind="knots").blocks == (KNOT_QUENCHING_BLOCK,)
    assert quenching(kind="knots").requires == ("host_index",) and quenching(kind="knots").role == "quenching"
    with pytest.raises(ValueError, match=r"quenching: expected one of \['sigmoid', 'knots'\], found 'spline'"):
        quenching(kind="spline")
    model = compose(knots(scatter="knots"), quenching(kind="knots"))
    assert len(model.fields) == 19 and model.fields[-7:] == KnotQuenchingParams._fields
    with pytest.raises(ValueError, match=r"block 'quenching_knots', field 'fq_cen_m120'"):
        model.check_theta(model.defaults()._replace(fq_cen_m120=1.2))


def test_red_plus_blue_is_all_on_both_engines_and_the_likelihood_gradient_matches_finite_differences():
    from shaminfer.catalogs import small_test_universe
    from shaminfer.stats import make_config, make_predictor, threshold_sample

    model = compose(knots(scatter="knots"), quenching(kind="knots"))
    cat = small_test_universe(seed=0)
    cfg = make_config(smf_edges=np.linspace(9.6, 11.4, 7), smf_colors=("red", "blue"),
                      samples=(threshold_sample(10.3, color="red"), threshold_sample(10.3, color="blue")),
                      rp_edges=np.logspace(-0.5, 0.8, 5), pi_max=15.0, ds_rbins=())
    theta = model.defaults()._replace(fq_cen_m120=0.3, fq_sat_h130=0.5)
    exact = make_predictor(cat, cfg, model=model)
    tab = make_predictor(cat, cfg, model=model, engine="tabulated", nthreads=1)
    a, b = exact(theta), tab(theta)
    np.testing.assert_allclose(np.asarray(a.smf_color).sum(axis=0), np.asarray(a.smf), rtol=1e-12)
    assert_engines_close(a, b)

    def loss(v):
        p = exact(model.params_type(*v))
        return jnp.sum(jnp.log(p.smf_color)) + jnp.sum(p.wp)

    assert_grad_matches_fd(loss, jnp.asarray(theta, dtype=jnp.float64), range(12, 19), model.fields)  # the quenching knots
