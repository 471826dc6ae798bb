"""The shipped components on a small hand-built set of subhalos: what each one sets (against the ingredients they
are built from and the sigmoids of Eq. A1), the ranges and monotonic trends of the probabilities, and exact
float64 derivatives in every parameter of each component's blocks (jacfwd against central differences)."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from shaminfer.galaxy_halo import (
    DISRUPTION_BLOCK,
    MASS_SCATTER_BLOCK,
    QUENCHING_BLOCK,
    SHAM_BLOCK,
    SM_OFFSET_BLOCK,
    SMHM_BLOCK,
    Population,
    Subhalos,
    disruption,
    make_params,
    parametric,
    quenching,
    sham,
    stellar_mass_offset,
)
from shaminfer.ingredients import ScatterParams, scatter_dex, three_roll_smhm
from shaminfer.ingredients.theta import scatter_of

FULL = (SMHM_BLOCK, MASS_SCATTER_BLOCK, SM_OFFSET_BLOCK, QUENCHING_BLOCK, DISRUPTION_BLOCK)

# 8 centrals, then 8 satellites (same Mpeak grid) in hosts of increasing mass
LOGM = np.array([10.8, 11.2, 11.6, 12.0, 12.4, 12.8, 13.4, 14.2])
N = LOGM.size
HOSTS = np.linspace(12.0, 15.0, N)
VMAX_FRAC = np.array([0.95, 0.2, 0.85, 0.4, 0.55, 0.7, 0.3, 0.99])


def _subhalos():
    logm = np.concatenate([LOGM, LOGM])
    is_central = np.concatenate([np.ones(N), np.zeros(N)])
    host = np.concatenate([LOGM, HOSTS])
    vfrac = np.concatenate([np.ones(N), VMAX_FRAC])
    return Subhalos(jnp.asarray(logm), jnp.asarray(is_central), jnp.asarray(host), {"vmax_frac": jnp.asarray(vfrac)})


SUB = _subhalos()
THETA = make_params(FULL, dict(fq_cen_x0=12.3, dis_slope=0.1))


def _sigmoid(x, x0, k, lo, hi):  # Eq. A1 in NumPy
    return lo + (hi - lo) / (1.0 + np.exp(-k * (np.asarray(x) - x0)))


def _base_population(n=2 * N):
    return Population(mu=jnp.full(n, 10.5), sigma=jnp.full(n, 0.2))


def test_parametric_sets_the_app_c_smhm_and_eq_4_scatter():
    pop = parametric().apply(THETA, SUB, Population())
    smhm = SMHM_BLOCK.take(THETA)
    s = MASS_SCATTER_BLOCK.take(THETA)
    np.testing.assert_allclose(pop.mu, three_roll_smhm(smhm, SUB.logmpeak), rtol=1e-15)
    np.testing.assert_allclose(pop.sigma, scatter_dex(ScatterParams(s.sigma_lo, s.sigma_hi, s.scatter_x0, s.scatter_k),
                                                      SUB.logmpeak), rtol=1e-15)
    # the scatter block's roll is free: sigma goes from sigma_lo to sigma_hi around scatter_x0 with speed scatter_k
    np.testing.assert_allclose(pop.sigma, _sigmoid(SUB.logmpeak, 12.0, 1.0, 0.35, 0.2), rtol=1e-14)
    moved = parametric().apply(THETA._replace(scatter_x0=13.0, scatter_k=4.0), SUB, Population())
    np.testing.assert_allclose(moved.sigma, _sigmoid(SUB.logmpeak, 13.0, 4.0, 0.35, 0.2), rtol=1e-14)
    assert pop.survive is None and pop.quenched is None
    # mu rises with Mpeak at the defaults
    assert np.all(np.diff(np.asarray(pop.mu[:N])) > 0)


def test_stellar_mass_offset_shifts_mu_exactly():
    pop = parametric().apply(THETA, SUB, Population())
    for d in (0.0, 0.05, -0.3):
        shifted = stellar_mass_offset().apply(THETA._replace(dlogsm=d), SUB, pop)
        np.testing.assert_array_equal(shifted.mu, pop.mu + d)
        np.testing.assert_array_equal(shifted.sigma, pop.sigma)
        assert shifted.survive is None and shifted.quenched is None


def test_quenching_probabilities():
    pop = quenching().apply(THETA, SUB, _base_population())
    q = QUENCHING_BLOCK.take(THETA)
    pq = np.asarray(pop.quenched)
    assert np.all((pq >= 0.0) & (pq <= 1.0))
    f_cen = _sigmoid(LOGM, q.fq_cen_x0, q.fq_cen_k, q.fq_cen_lo, q.fq_cen_hi)
    np.testing.assert_allclose(pq[:N], f_cen, rtol=1e-14)  # centrals: Eq. A1 in Mpeak
    boost = _sigmoid(HOSTS, q.fq_sat_x0, 1.0, q.fq_sat_lo, q.fq_sat_hi)
    np.testing.assert_allclose(pq[N:], f_cen + (1.0 - f_cen) * boost, rtol=1e-14)
    assert np.all(pq[N:] > pq[:N])  # satellites more often quenched than centrals of the same Mpeak
    # at fixed Mpeak, P(q) of a satellite rises with its host's mass
    one = Subhalos(jnp.full(6, 11.5), jnp.zeros(6), jnp.linspace(12.0, 15.0, 6), {})
    rising = np.asarray(quenching().apply(THETA, one, _base_population(6)).quenched)
    assert np.all(np.diff(rising) > 0) and np.all((rising >= 0) & (rising <= 1))
    # the extremes stay in [0, 1]
    edge = THETA._replace(fq_cen_lo=0.0, fq_cen_hi=1.0, fq_sat_lo=0.0, fq_sat_hi=1.0, fq_cen_k=10.0)
    pe = np.asarray(quenching().apply(edge, SUB, _base_population()).quenched)
    assert np.all((pe >= 0.0) & (pe <= 1.0))
    # the component leaves the kernel alone
    np.testing.assert_array_equal(pop.mu, 10.5)
    assert pop.survive is None


def test_disruption_survival():
    pop = disruption().apply(THETA, SUB, _base_population())
    d = DISRUPTION_BLOCK.take(THETA)
    ps = np.asarray(pop.survive)
    np.testing.assert_array_equal(ps[:N], 1.0)  # centrals always survive
    x0 = d.dis_x0 + d.dis_slope * (HOSTS - 13.0)
    np.testing.assert_allclose(ps[N:], _sigmoid(VMAX_FRAC, x0, d.dis_k, d.dis_floor, 1.0), rtol=1e-14)
    assert np.all((ps[N:] >= d.dis_floor) & (ps[N:] <= 1.0)) and np.all(ps[N:] < 1.0)
    # rises with the proxy at a fixed host mass, and tends to the floor for the most stripped
    proxy = jnp.linspace(0.05, 1.0, 9)
    one = Subhalos(jnp.full(9, 11.5), jnp.zeros(9), jnp.full(9, 13.0), {"vmax_frac": proxy})
    rising = np.asarray(disruption().apply(THETA, one, _base_population(9)).survive)
    assert np.all(np.diff(rising) > 0) and np.all((rising >= d.dis_floor) & (rising <= 1.0))
    assert rising[0] == pytest.approx(d.dis_floor, abs=2e-3)
    # another proxy name is read from props
    alt = Subhalos(SUB.logmpeak, SUB.is_central, SUB.host_logmpeak, {"mvir_frac": SUB.props["vmax_frac"]})
    comp = disruption(proxy="mvir_frac")
    assert comp.requires == ("host_index", "mvir_frac")
    np.testing.assert_array_equal(comp.apply(THETA, alt, _base_population()).survive, ps)
    with pytest.raises(ValueError, match="disruption proxy"):
        disruption(proxy="vmax/vpeak")
    assert pop.quenched is None


def test_sham_with_a_stand_in_smhm():
    theta = make_params([SHAM_BLOCK])
    comp = sham(smhm=lambda th, m: 10 + 0.5 * (m - 12))
    assert comp.role == "smhm" and comp.blocks == (SHAM_BLOCK,)
    pop = comp.apply(theta, SUB, Population())
    np.testing.assert_allclose(pop.mu, 10 + 0.5 * (SUB.logmpeak - 12), rtol=1e-15)
    np.testing.assert_allclose(pop.sigma, scatter_dex(scatter_of(theta), SUB.logmpeak), rtol=1e-15)
    comp.check(theta._replace(sigma_lo=0.9))  # a stand-in SMHM has no training domain to check
    with pytest.raises(ValueError, match="smhm: expected a callable"):
        sham(smhm="three_roll")


def test_roles_and_requirements():
    assert [(c.name, c.role) for c in (sham(smhm=lambda t, m: m), parametric(), stellar_mass_offset(), quenching(),
                                      disruption())] == [("sham", "smhm"), ("parametric", "smhm"),
                                                         ("sm_offset", "mass_offset"), ("quenching", "quenching"),
                                                         ("disruption", "survival")]
    assert parametric().requires == () and stellar_mass_offset().requires == ()
    assert quenching().requires == ("host_index",) and disruption().requires == ("host_index", "vmax_frac")
    assert parametric().blocks == (SMHM_BLOCK, MASS_SCATTER_BLOCK)


def _outputs(component, field, base):
    def f(theta):
        return getattr(component.apply(theta, SUB, base), field)

    return f


def _check_fd(fun, theta, fields, *, h=1e-6, rtol=1e-6):
    jac = jax.jacfwd(fun)(theta)
    for name in fields:
        ad = np.asarray(getattr(jac, name))
        v = getattr(theta, name)
        up = np.asarray(fun(theta._replace(**{name: v + h})))
        dn = np.asarray(fun(theta._replace(**{name: v - h})))
        fd = (up - dn) / (2 * h)
        scale = np.max(np.abs(ad))
        assert scale > 1e-6, f"derivative along {name} vanishes everywhere"
        np.testing.assert_allclose(fd, ad, rtol=rtol, atol=1e-8 * scale, err_msg=name)
    # parameters of other blocks do not move the output
    others = [f for f in theta._fields if f not in fields]
    for name in others:
        assert np.all(np.asarray(getattr(jac, name)) == 0.0), name


BASE = Population(mu=jnp.linspace(9.5, 11.5, 2 * N), sigma=jnp.full(2 * N, 0.2))


@pytest.mark.parametrize("component,field,blocks", [
    (parametric(), "mu", (SMHM_BLOCK,)),
    (parametric(), "sigma", (MASS_SCATTER_BLOCK,)),
    (stellar_mass_offset(), "mu", (SM_OFFSET_BLOCK,)),
    (quenching(), "quenched", (QUENCHING_BLOCK,)),
    (disruption(), "survive", (DISRUPTION_BLOCK,)),
], ids=["parametric-mu", "parametric-sigma", "offset-mu", "quenching", "disruption"])
def test_gradients_match_central_differences(component, field, blocks):
    fields = [f for b in blocks for f in b.fields]
    _check_fd(_outputs(component, field, BASE), THETA, fields)


def test_sham_gradients_match_central_differences():
    theta = make_params([SHAM_BLOCK])
    comp = sham(smhm=lambda th, m: 10 + 0.5 * (m - 12) + 0.3 * th.logphi_star + 0.2 * th.alpha * (m - 12))
    _check_fd(_outputs(comp, "mu", Population()), theta, ("logphi_star", "alpha"))
    _check_fd(_outputs(comp, "sigma", Population()), theta, ("sigma_lo", "sigma_hi"))
