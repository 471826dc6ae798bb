import jax
import jax.numpy as jnp
import numpy as np
from jax.test_util import check_grads

from shaminfer.ingredients import (
    DEFAULT_SHMF_PARAMS,
    DEFAULT_SMHM_PARAMS,
    ScatterParams,
    abundance_grid,
    analytic_smf,
    clipped_log10,
    cumulative_shmf,
    differential_shmf,
    scatter_dex,
    smf_with_scatter,
    three_roll_smhm,
    triweight_pdf,
)

LOGSM = jnp.linspace(9.0, 12.0, 31)
CUM = lambda m: cumulative_shmf(DEFAULT_SHMF_PARAMS, m)
SMHM = lambda m: three_roll_smhm(DEFAULT_SMHM_PARAMS, m)


def _smf(lo, hi, *, grid=None, kernel="triweight"):
    return analytic_smf(SMHM, lambda m: scatter_dex(ScatterParams(lo, hi), m), CUM, LOGSM, logmh_grid=grid, kernel=kernel)


def _brute_force(lo, hi, n=60001):
    # Eq. 2 directly: midpoint rule over log10 Mpeak with the triweight density
    m = np.linspace(8.5, 17.0, n)
    mid = 0.5 * (m[1:] + m[:-1])
    dn = np.asarray(differential_shmf(DEFAULT_SHMF_PARAMS, mid)) * (m[1] - m[0])
    mu = np.asarray(SMHM(mid))
    sig = np.asarray(scatter_dex(ScatterParams(lo, hi), mid))
    return np.array([np.sum(dn * np.asarray(triweight_pdf(x, mu, sig))) for x in np.asarray(LOGSM)])


def test_matches_brute_force_eq2_with_mass_dependent_scatter():
    for lo, hi in ((0.1, 0.5), (0.45, 0.15)):
        ref = _brute_force(lo, hi)
        got = np.asarray(_smf(lo, hi))
        diff = np.asarray(clipped_log10(got, 1e-15) - clipped_log10(ref, 1e-15))
        # rms 2e-4 dex; the largest deviation sits where the triweight's compact support ends
        assert np.sqrt(np.mean(diff**2)) < 3e-4 and np.max(np.abs(diff)) < 1.5e-3, (lo, hi, diff)


def test_converges_with_grid():
    coarse = np.asarray(_smf(0.2, 0.3, grid=abundance_grid(300, 8.5, 17.0)))
    fine = np.asarray(_smf(0.2, 0.3, grid=abundance_grid(2400, 8.5, 17.0)))
    assert np.max(np.abs(np.log10(coarse / fine))) < 1e-3


def test_zero_scatter_reproduces_jacobian_formula_b1():
    # Eq. B1: phi(M*) = phi_h(Mpeak(M*)) dMpeak/dM*
    x = LOGSM[LOGSM <= 11.5]
    grid = abundance_grid(4000, 8.5, 17.0)
    got = np.asarray(smf_with_scatter(grid, SMHM(grid), jnp.full(grid.shape, 1e-5), CUM(grid), x))
    fine = jnp.linspace(8.5, 17, 200001)
    mh = jnp.interp(x, SMHM(fine), fine)
    slope = jax.vmap(jax.grad(SMHM))(mh)
    expected = differential_shmf(DEFAULT_SHMF_PARAMS, mh) / slope
    np.testing.assert_allclose(got, expected, rtol=5e-3)


def test_number_density_conserved_when_scatter_added():
    # integrate phi over a wide range: N(> low mass) is the same with and without scatter
    grid = abundance_grid(1500, 8.5, 17.0)
    x = jnp.linspace(float(SMHM(grid[0])) - 2.0, float(SMHM(grid[-1])) + 2.0, 20001)
    tot = []
    for s in (0.05, 0.3, 0.5):
        phi = smf_with_scatter(grid, SMHM(grid), jnp.full(grid.shape, s), CUM(grid), x)
        tot.append(float(jnp.trapezoid(phi, x)))
    np.testing.assert_allclose(tot, float(CUM(grid[0]) - CUM(grid[-1])), rtol=1e-6)


def test_more_scatter_raises_high_mass_tail():
    lo = _smf(0.1, 0.1)
    hi = _smf(0.4, 0.4)
    assert np.all(np.asarray(hi)[-8:] > np.asarray(lo)[-8:])  # Fig. 2: Eddington bias at high mass


def test_flat_smhm_segments_are_handled():
    grid = jnp.linspace(10, 14, 401)
    flat = jnp.where(grid < 12, SMHM(grid), SMHM(12.0))
    phi = smf_with_scatter(grid, flat, jnp.full(grid.shape, 0.2), CUM(grid), LOGSM)
    assert np.all(np.isfinite(np.asarray(phi))) and np.all(np.asarray(phi) >= 0)


def test_gaussian_kernel_option_and_gradients():
    g = _smf(0.3, 0.2, kernel="gaussian")
    t = _smf(0.3, 0.2)
    assert np.max(np.abs(np.log10(np.asarray(g)[:20] / np.asarray(t)[:20]))) < 0.05
    grid = abundance_grid(200, 9.0, 16.5)

    def f(lo, hi, shift):
        return smf_with_scatter(grid, SMHM(grid) + shift, scatter_dex(ScatterParams(lo, hi), grid), CUM(grid), jnp.array([10.0, 11.0]))

    check_grads(f, (0.3, 0.2, 0.01), order=1, modes=["fwd", "rev"], eps=1e-6)
