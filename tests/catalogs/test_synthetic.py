import numpy as np
import pytest

from shaminfer.catalogs import (
    DEFAULT_UNIVERSE_PARAMS,
    SMALL_TEST_UNIVERSE_PARAMS,
    cache,
    satellite_fraction,
    small_test_universe,
    synthetic_universe,
)
from shaminfer.catalogs.cosmology import mean_matter_density
from shaminfer.catalogs.lensing import delta_sigma_per_object
from shaminfer.catalogs.nfw import radius_200m
from shaminfer.ingredients import DEFAULT_SHMF_PARAMS, cumulative_shmf


def test_documented_satellite_fraction():
    np.testing.assert_allclose(satellite_fraction([10.0, 11.0, 12.0, 13.0, 14.0, 15.0]), [0.3, 0.3, 0.2, 0.1, 0, 0],
                               atol=1e-12)


def test_small_universe_contents(small_universe):
    cat = small_universe
    p = SMALL_TEST_UNIVERSE_PARAMS
    assert cat.meta["origin"] == "synthetic_universe" and "SYNTHETIC" in cat.meta["description"]
    assert cat.box_size == p.box_size and 5000 < cat.n < 12000
    assert cat.logmpeak.min() >= p.logmpeak_min
    # total particle mass is the mean matter density times the volume
    rho_m = mean_matter_density()
    np.testing.assert_allclose(cat.particle_mass * cat.particle_pos.shape[0], rho_m * cat.volume, rtol=1e-12)
    assert cat.particle_pos.shape[0] < 300_000
    # profiles for every object above the documented cut, in the default bins
    np.testing.assert_array_equal(cat.lensing.index, np.flatnonzero(cat.logmpeak >= p.profile_logmpeak_min))
    np.testing.assert_allclose(cat.lensing.rbins[[0, -1]], [0.1, 10.0])
    # a row of the stored profiles equals a fresh Eq. F4 sum over the stored particles
    rows = [0, cat.lensing.index.size // 2]
    fresh = delta_sigma_per_object(cat.pos[cat.lensing.index[rows]], cat.particle_pos, cat.particle_mass,
                                   cat.box_size, rbins=cat.lensing.rbins, los_axis=cat.lensing.los_axis)
    np.testing.assert_allclose(fresh, cat.lensing.delta_sigma[rows], rtol=1e-12)


def test_mass_function_matches_app_a(small_universe):
    cat = small_universe
    m = np.arange(11.0, 13.6, 0.25)
    expect = cat.volume * np.asarray(cumulative_shmf(DEFAULT_SHMF_PARAMS, m, 0.0))
    obs = np.array([(cat.logmpeak >= x).sum() for x in m])
    pulls = (obs - expect) / np.sqrt(expect)
    assert np.all(np.abs(pulls) < 4), pulls


def test_satellites_live_inside_more_massive_hosts(small_universe):
    cat = small_universe
    sat = np.flatnonzero(cat.host_index >= 0)
    host = cat.host_index[sat]
    frac = sat.size / cat.n
    assert 0.15 < frac < 0.35
    assert np.all(cat.host_index[host] == -1)
    assert np.all(cat.logmpeak[host] >= cat.logmpeak[sat] + DEFAULT_UNIVERSE_PARAMS.host_gap_dex - 1e-12)
    d = cat.pos[sat] - cat.pos[host]
    d -= cat.box_size * np.round(d / cat.box_size)
    r = np.linalg.norm(d, axis=1)
    rdelta = radius_200m(cat.logmpeak[host], cat.meta["rho_m"])
    assert np.all(r <= rdelta * (1 + 1e-9))
    assert np.median(r / rdelta) < 0.5  # concentrated towards the centre (NFW)
    # the satellite fraction falls with mass
    lo = (cat.logmpeak < 11.5)
    hi = (cat.logmpeak >= 12.5)
    assert (cat.host_index[lo] >= 0).mean() > (cat.host_index[hi] >= 0).mean()


def test_massive_halos_are_more_clustered(small_universe):
    # counts of neighbours within 8 Mpc/h around massive vs low-mass centrals (mass-dependent bias)
    cat = small_universe
    cen = cat.is_central
    big = np.flatnonzero(cen & (cat.logmpeak >= 12.5))
    small = np.flatnonzero(cen & (cat.logmpeak < 11.5))[:400]
    tracers = cat.pos[cen & (cat.logmpeak >= 11.0) & (cat.logmpeak < 12.0)]

    def xi_cross(idx):  # mean cross-correlation in the 2-8 Mpc/h shell
        d = tracers[None, :, :] - cat.pos[idx, None, :]
        d -= cat.box_size * np.round(d / cat.box_size)
        r = np.linalg.norm(d, axis=2)
        random = tracers.shape[0] / cat.volume * 4 / 3 * np.pi * (8.0**3 - 2.0**3)
        return np.mean(np.sum((r > 2.0) & (r < 8.0), axis=1)) / random - 1

    assert xi_cross(big) > 1.15 * xi_cross(small) > 0


def test_deterministic_and_cached(small_universe, tmp_path, monkeypatch):
    # the fixture stored it (other tests of the run may have cached other universes beside it)
    files = set(cache.cache_dir("catalogs").glob("synthetic-*.npz"))
    assert files
    again = small_test_universe(seed=0)  # from the cache: no new file
    assert set(cache.cache_dir("catalogs").glob("synthetic-*.npz")) == files
    np.testing.assert_array_equal(again.pos, small_universe.pos)
    fresh = small_test_universe(seed=0, cache=False)  # rebuilt from scratch
    for name in ("pos", "logmpeak", "host_index", "particle_pos"):
        np.testing.assert_array_equal(getattr(fresh, name), getattr(small_universe, name))
    np.testing.assert_array_equal(fresh.lensing.delta_sigma, small_universe.lensing.delta_sigma)
    # the per-subhalo properties are deterministic and survive the npz round trip of the cache
    for cat in (again, fresh):
        assert set(cat.properties) == {"host_logmpeak", "vmax_frac"}
        for name in cat.properties:
            np.testing.assert_array_equal(cat.properties[name], small_universe.properties[name])


def _satellite_radius_and_mass_ratio(cat):
    """Host-centric radius r / R_200m (host) and log10 M_host / Mpeak of the satellites of ``cat``."""
    sat = np.flatnonzero(cat.host_index >= 0)
    host = cat.host_index[sat]
    d = cat.pos[sat] - cat.pos[host]
    d -= cat.box_size * np.round(d / cat.box_size)
    x = np.linalg.norm(d, axis=1) / radius_200m(cat.logmpeak[host], cat.meta["rho_m"])
    return sat, x, cat.logmpeak[host] - cat.logmpeak[sat]


def test_host_mass_and_vmax_fraction(small_universe):
    cat = small_universe
    host_m, v = cat.properties["host_logmpeak"], cat.properties["vmax_frac"]
    cen = cat.is_central
    sat = np.flatnonzero(~cen)
    np.testing.assert_array_equal(host_m[cen], cat.logmpeak[cen])
    np.testing.assert_array_equal(host_m[sat], cat.logmpeak[cat.host_index[sat]])
    assert np.all((v > 0.0) & (v <= 1.0))
    # centrals barely below Vpeak, satellites stripped (module docstring, item 6)
    assert 0.93 < np.median(v[cen]) < 0.97 and v[cen].min() > 0.7
    assert 0.6 < np.median(v[sat]) < 0.8 < np.median(v[cen])
    assert np.mean((v[sat] >= 0.3) & (v[sat] <= 1.0)) > 0.98


def test_vmax_fraction_falls_with_mass_ratio_and_rises_with_radius(small_universe):
    from scipy.stats import spearmanr

    cat = small_universe
    sat, x, ratio = _satellite_radius_and_mass_ratio(cat)
    v = cat.properties["vmax_frac"][sat]
    assert spearmanr(ratio, v)[0] < -0.2
    assert spearmanr(x, v)[0] > 0.2
    assert np.median(v[ratio > 2.0]) < np.median(v[ratio < 1.0]) - 0.05
    assert np.median(v[x < 0.3]) < np.median(v[x > 0.7]) - 0.1


def test_parameter_validation():
    for bad in (10.0, 20.0, 2500.0, float("nan")):
        with pytest.raises(ValueError, match=r"box_size: expected a value above 2 x the largest lensing radius \(20 Mpc/h\)"):
            synthetic_universe(box_size=bad, cache=False)
    with pytest.raises(ValueError, match="logmpeak_min"):
        synthetic_universe(logmpeak_min=float("nan"), cache=False)
    with pytest.raises(ValueError, match="m_sat_zero"):
        synthetic_universe(params=DEFAULT_UNIVERSE_PARAMS._replace(m_sat_zero=10.0), cache=False)


def test_mass_sampler_is_unbiased_over_seeds():
    # Monte Carlo oracle: over many seeds the binned counts scatter around App. A with unit Poisson pulls
    from shaminfer.catalogs.synthetic import _draw_logmpeak

    p = DEFAULT_UNIVERSE_PARAMS._replace(box_size=80.0)
    edges = np.arange(11.0, 14.01, 0.5)
    expect = -np.diff(p.box_size**3 * np.asarray(cumulative_shmf(DEFAULT_SHMF_PARAMS, edges, 0.0)))
    pulls = np.array([(np.histogram(_draw_logmpeak(np.random.default_rng(s), p), edges)[0] - expect)
                      / np.sqrt(expect) for s in range(40)])
    assert np.all(np.abs(pulls.mean(axis=0)) < 4 / np.sqrt(40)), pulls.mean(axis=0)
    assert 0.7 < np.mean(pulls**2) < 1.3


def test_arguments_override_params(monkeypatch):
    from shaminfer.catalogs import synthetic

    seen = []
    monkeypatch.setattr(synthetic, "_cached", lambda seed, p, **kw: seen.append((seed, p)))
    synthetic_universe(3, params=SMALL_TEST_UNIVERSE_PARAMS)
    assert seen[-1] == (3, SMALL_TEST_UNIVERSE_PARAMS)
    synthetic_universe(params=SMALL_TEST_UNIVERSE_PARAMS, redshift=1.0, box_size=60)
    assert seen[-1][1] == SMALL_TEST_UNIVERSE_PARAMS._replace(redshift=1.0, box_size=60.0)
    synthetic_universe(logmpeak_min=11.5)
    assert seen[-1][1] == DEFAULT_UNIVERSE_PARAMS._replace(logmpeak_min=11.5)


def test_float64_mass_function_matches_ingredients():
    from shaminfer.catalogs.synthetic import _log10_cumulative_shmf_f64
    from shaminfer.ingredients import log10_cumulative_shmf

    m = np.linspace(9.0, 16.5, 301)
    for z in (0.0, 0.7, 2.0):
        np.testing.assert_allclose(_log10_cumulative_shmf_f64(m, z),
                                   np.asarray(log10_cumulative_shmf(DEFAULT_SHMF_PARAMS, m, z)), rtol=1e-13)


def _low_k_cross(a, b, box, n=24, kmax=0.2):
    """sum P_ab / sum P_bb over 0 < k < kmax for two point sets counted on an n^3 mesh."""
    def contrast(p):
        idx = np.minimum((p / box * n).astype(int), n - 1)
        c = np.bincount(np.ravel_multi_index(idx.T, (n, n, n)), minlength=n**3).reshape(n, n, n)
        return np.fft.rfftn(c / c.mean() - 1)

    da, db = contrast(a), contrast(b)
    kf = 2 * np.pi / box
    kx, kz = np.fft.fftfreq(n, 1.0 / n) * kf, np.fft.rfftfreq(n, 1.0 / n) * kf
    k = np.sqrt(kx[:, None, None] ** 2 + kx[None, :, None] ** 2 + kz[None, None, :] ** 2)
    s = (k > 0) & (k < kmax)
    return np.sum((da * db.conj()).real[s]) / np.sum(np.abs(db[s]) ** 2)


def test_generation_seeds_and_large_scale_bias():
    # stages 1-4 without profiles, on a 100 Mpc/h box: deterministic, seed-dependent, and the halos' bias
    # relative to the particles at k < 0.2 h/Mpc is the Tinker bias (host mass for satellites) within 15%
    from shaminfer.catalogs.cosmology import halo_bias
    from shaminfer.catalogs.synthetic import _generate

    p = DEFAULT_UNIVERSE_PARAMS._replace(box_size=100.0, n_mesh=64, particle_mass=2e11)
    a, again, other = _generate(0, p), _generate(0, p), _generate(1, p)
    for name in ("pos", "logm", "host", "particles", "host_logm", "vmax_frac"):
        np.testing.assert_array_equal(a[name], again[name])
    assert not np.array_equal(a["pos"][:100], other["pos"][:100])
    assert not np.array_equal(a["vmax_frac"][:100], other["vmax_frac"][:100])
    assert a["particles"].shape[0] * a["m_p"] == pytest.approx(a["rho_m"] * p.box_size**3, rel=1e-12)
    host_m = np.where(a["host"] >= 0, a["logm"][np.maximum(a["host"], 0)], a["logm"])
    for lo, hi in ((11.0, 12.0), (12.5, 16.0)):
        s = (a["logm"] >= lo) & (a["logm"] < hi)
        expect = np.mean(halo_bias(host_m[s], 0.0))
        got = _low_k_cross(a["pos"][s], a["particles"], p.box_size)
        assert abs(got / expect - 1) < 0.15, (lo, got, expect)


def test_build_without_profiles_then_lensing_profiles_alone(small_universe):
    from shaminfer.catalogs import lensing_profiles
    from shaminfer.catalogs.synthetic import build_universe

    p = SMALL_TEST_UNIVERSE_PARAMS
    bare = build_universe(0, p, profiles=False, progress=False)
    assert bare.lensing is None
    np.testing.assert_array_equal(bare.pos, small_universe.pos)
    np.testing.assert_array_equal(bare.particle_pos, small_universe.particle_pos)
    prof = lensing_profiles(bare, logmpeak_min=p.profile_logmpeak_min, los_axis=p.los_axis, cache=False,
                            progress=False)
    np.testing.assert_array_equal(prof.index, small_universe.lensing.index)
    np.testing.assert_array_equal(prof.delta_sigma, small_universe.lensing.delta_sigma)
