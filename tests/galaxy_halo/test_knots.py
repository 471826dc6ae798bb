"""The knot SMHM: against scipy's cubic Hermite spline, linear relations exact, C1 at the knots, gradients,
composition, and both engines."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy.interpolate import CubicHermiteSpline

from shaminfer.galaxy_halo import KNOT_SMHM_BLOCK, KNOTS, KnotSmhmParams, compose, knot_smhm, knots, quenching
from shaminfer.galaxy_halo.knots import knot_slopes

from .fd import fd_jacobian

X = np.concatenate([np.linspace(10.5, 15.5, 211), np.asarray(KNOTS)])


def _values(seed=0):
    rng = np.random.default_rng(seed)
    base = np.array(list(KNOT_SMHM_BLOCK.defaults.values()))
    return base + rng.uniform(-0.3, 0.3, base.size)


def test_matches_scipy_cubic_hermite_inside_and_continues_linearly_outside():
    y = _values()
    k = np.asarray(KNOTS)
    slopes = knot_slopes() @ y
    mu = np.asarray(knot_smhm(KnotSmhmParams(*y), X))
    inside = (X >= k[0]) & (X <= k[-1])
    np.testing.assert_allclose(mu[inside], CubicHermiteSpline(k, y, slopes)(X[inside]), rtol=0, atol=1e-12)
    lo, hi = X < k[0], X > k[-1]
    np.testing.assert_allclose(mu[lo], y[0] + slopes[0] * (X[lo] - k[0]), atol=1e-12)
    np.testing.assert_allclose(mu[hi], y[-1] + slopes[-1] * (X[hi] - k[-1]), atol=1e-12)
    # Catmull-Rom slopes: centred differences inside, one-sided at the ends
    np.testing.assert_allclose(slopes[1:-1], (y[2:] - y[:-2]) / (k[2:] - k[:-2]), rtol=1e-12)
    np.testing.assert_allclose(slopes[0], (y[1] - y[0]) / (k[1] - k[0]), rtol=1e-12)


def test_reproduces_a_linear_relation_exactly_and_is_c1_at_the_knots():
    k = np.asarray(KNOTS)
    y = 1.7 * (k - 12.0) + 10.2
    np.testing.assert_allclose(knot_smhm(KnotSmhmParams(*y), X), 1.7 * (X - 12.0) + 10.2, atol=1e-12)
    p = KnotSmhmParams(*_values(1))
    d = jax.vmap(jax.grad(lambda x: knot_smhm(p, x)))
    eps = 1e-7
    np.testing.assert_allclose(d(jnp.asarray(k - eps)), d(jnp.asarray(k + eps)), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(knot_smhm(p, k - eps), knot_smhm(p, k + eps), atol=1e-5)


def test_gradient_in_the_knot_values_is_the_interpolation_basis_and_matches_finite_differences():
    y = jnp.asarray(_values(2))
    f = lambda v: knot_smhm(KnotSmhmParams(*v), X)  # noqa: E731
    jac = np.asarray(jax.jacfwd(f)(y))
    fd = fd_jacobian(f, y)
    np.testing.assert_allclose(jac, fd, atol=1e-7)
    np.testing.assert_allclose(jac.sum(axis=1), 1.0, atol=1e-12)  # a constant shift moves every median by it
    np.testing.assert_allclose(np.asarray(jax.jacrev(f)(y)), jac, atol=1e-12)


def test_composes_and_both_engines_agree():
    from shaminfer.catalogs import small_test_universe
    from shaminfer.stats import make_config, make_predictor, threshold_sample

    model = compose(knots(), quenching())
    assert len(model.fields) == 19 and model.fields[:8] == KnotSmhmParams._fields
    cat = small_test_universe(seed=0)
    cfg = make_config(smf_edges=np.linspace(9.6, 11.4, 7), smf_colors=("red", "blue"),
                      samples=(threshold_sample(10.3, color="red"),), rp_edges=np.logspace(-0.5, 0.8, 5),
                      pi_max=15.0, ds_rbins=())
    exact = make_predictor(cat, cfg, model=model)(model.defaults())
    tab = make_predictor(cat, cfg, model=model, engine="tabulated", nthreads=1)(model.defaults())
    for f in ("smf", "smf_color", "wp"):
        a, b = np.asarray(getattr(exact, f)), np.asarray(getattr(tab, f))
        assert np.max(np.abs(b / a - 1)) < 5e-3, f
    with pytest.raises(ValueError, match="block 'smhm_knots', field 'logsm_m120'"):
        model.check_theta(model.defaults()._replace(logsm_m120=20.0))


def test_defaults_are_the_app_c_default_smhm_at_the_knots():
    from shaminfer.ingredients.smhm import DEFAULT_SMHM_PDICT, SmhmParams, three_roll_smhm

    ref = np.asarray(three_roll_smhm(SmhmParams(**DEFAULT_SMHM_PDICT), jnp.asarray(KNOTS)))
    np.testing.assert_allclose(list(KNOT_SMHM_BLOCK.defaults.values()), ref, atol=5e-4)
