"""The scatter at Mpeak knots: against numpy's linear interpolation, constant beyond the ends, inside the bounds,
gradients, the defaults against Eq. 4's default roll, composition, both engines, and refused kinds."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from shaminfer.galaxy_halo import (KNOT_SCATTER_BLOCK, MASS_SCATTER_BLOCK, SCATTER_KNOTS, KnotScatterParams,
                                   compose, knot_scatter, knots, mass_scatter, parametric, quenching)

from .fd import assert_engines_close, assert_grad_matches_fd, fd_jacobian

X = np.concatenate([np.linspace(10.0, 15.5, 223), np.asarray(SCATTER_KNOTS)])


def _values(seed=0):
    lo, hi = np.array(list(KNOT_SCATTER_BLOCK.prior.values())).T
    return np.random.default_rng(seed).uniform(lo, hi)


def test_is_linear_between_knots_constant_beyond_and_stays_between_the_knot_values():
    y = _values()
    sigma = np.asarray(knot_scatter(KnotScatterParams(*y), X))
    np.testing.assert_allclose(sigma, np.interp(X, SCATTER_KNOTS, y), rtol=0, atol=1e-15)
    np.testing.assert_allclose(sigma[X <= SCATTER_KNOTS[0]], y[0], atol=1e-15)
    np.testing.assert_allclose(sigma[X >= SCATTER_KNOTS[-1]], y[-1], atol=1e-15)
    assert np.all(sigma >= y.min() - 1e-15) and np.all(sigma <= y.max() + 1e-15)
    # hand check between the second and third knots
    x = 12.25
    assert float(knot_scatter(KnotScatterParams(*y), x)) == pytest.approx(0.75 * y[1] + 0.25 * y[2], abs=1e-15)


def test_gradient_is_the_hat_basis_and_matches_finite_differences():
    y = jnp.asarray(_values(3))
    f = lambda v: knot_scatter(KnotScatterParams(*v), X)  # noqa: E731
    jac = np.asarray(jax.jacfwd(f)(y))
    fd = fd_jacobian(f, y)
    np.testing.assert_allclose(jac, fd, atol=1e-8)
    np.testing.assert_allclose(jac.sum(axis=1), 1.0, atol=1e-12)  # linear in the parameters, partition of unity
    assert np.all(jac >= 0.0)
    np.testing.assert_allclose(np.asarray(jax.jacrev(f)(y)), jac, atol=1e-12)


def test_defaults_are_the_default_roll_at_the_knots():
    _, roll = mass_scatter("roll")
    theta = compose(knots()).defaults()
    ref = np.asarray([roll(theta, x) for x in SCATTER_KNOTS])
    np.testing.assert_allclose(list(KNOT_SCATTER_BLOCK.defaults.values()), ref, atol=5e-4)


def test_both_kernels_take_either_scatter_and_unknown_kinds_are_refused():
    for kernel in (knots, parametric):
        assert kernel().blocks[1] is MASS_SCATTER_BLOCK
        assert kernel(scatter="knots").blocks[1] is KNOT_SCATTER_BLOCK
    with pytest.raises(ValueError, match=r"scatter: expected one of \['roll', 'knots'\], found 'linear'"):
        knots(scatter="linear")


def test_composes_both_engines_agree_and_the_likelihood_gradient_matches_finite_differences():
    from shaminfer.catalogs import small_test_universe
    from shaminfer.stats import make_config, make_predictor, threshold_sample

    model = compose(knots(scatter="knots"), quenching())
    assert len(model.fields) == 19 and model.fields[8:12] == KnotScatterParams._fields
    cat = small_test_universe(seed=0)
    cfg = make_config(smf_edges=np.linspace(9.6, 11.4, 7), smf_colors=("red", "blue"),
                      samples=(threshold_sample(10.3, color="red"),), rp_edges=np.logspace(-0.5, 0.8, 5),
                      pi_max=15.0, ds_rbins=())
    theta = model.defaults()._replace(sigma_m120=0.33, sigma_m130=0.2)
    exact = make_predictor(cat, cfg, model=model)
    tab = make_predictor(cat, cfg, model=model, engine="tabulated", nthreads=1)
    a, b = exact(theta), tab(theta)
    assert_engines_close(a, b)

    def loss(v):
        p = exact(model.params_type(*v))
        return jnp.sum(jnp.log(p.smf)) + jnp.sum(jnp.log(p.smf_color)) + jnp.sum(p.wp)

    assert_grad_matches_fd(loss, jnp.asarray(theta, dtype=jnp.float64), range(8, 12), model.fields)  # the scatter knots
    with pytest.raises(ValueError, match="block 'scatter_knots', field 'sigma_m110'"):
        model.check_theta(model.defaults()._replace(sigma_m110=1.5))
