import numpy as np
import pytest

from shaminfer.catalogs import SubhaloCatalog, cache, default_rbins, delta_sigma_per_object, lensing_profiles
from shaminfer.catalogs.nfw import nfw_delta_sigma_annulus


def brute_force_terms(obj, part, mp, box, rbins, los_axis):
    """Eq. F4 per (object, particle, annulus), min-image periodic in the projected plane: (M, Np, nR)."""
    ax = [a for a in range(3) if a != los_axis]
    d = part[None, :, ax] - obj[:, None, ax]
    d -= box * np.round(d / box)
    R = np.hypot(d[..., 0], d[..., 1])[..., None]
    lo, hi = rbins[:-1], rbins[1:]
    with np.errstate(divide="ignore"):
        G = np.where(R < lo, 2 * np.log(hi / lo), np.where(R < hi, 2 * np.log(hi / R) - 1, 0.0))
    return mp * G / (np.pi * (hi**2 - lo**2)) / 1e12


def brute_force(obj, part, mp, box, rbins, los_axis=2):
    return np.concatenate([brute_force_terms(o[None], part, mp, box, rbins, los_axis).sum(axis=1) for o in obj])


@pytest.fixture(scope="module")
def clustered():
    rng = np.random.default_rng(42)
    box = 30.0
    obj = rng.uniform(0, box, (40, 3))
    obj[:6] = [[0.01, 0.02, 5], [29.99, 15, 0.2], [15, 29.995, 29.9], [0.0, 0.0, 0.0], [7.5, 7.5, 7.5], [29.9, 0.1, 12]]
    halos = obj[rng.integers(0, 40, 15000)] + rng.normal(0, 0.7, (15000, 3))
    part = np.mod(np.concatenate([halos, rng.uniform(0, box, (15000, 3))]), box)
    part[part >= box] = 0.0
    return obj, part, box


@pytest.mark.parametrize("los_axis", [0, 1, 2])
@pytest.mark.parametrize("rbins", [default_rbins(15, 0.1, 10.0), np.array([0.05, 0.3, 0.31, 2.0, 2.5, 7.0, 14.0])])
def test_matches_brute_force_with_periodic_wrap(clustered, los_axis, rbins):
    obj, part, box = clustered
    ref = brute_force(obj, part, 3.3e10, box, rbins, los_axis)
    for cells in (1, 4, 7):
        ds = delta_sigma_per_object(obj, part, 3.3e10, box, rbins=rbins, los_axis=los_axis, cells_per_rmax=cells,
                                    chunk_size=7)
        np.testing.assert_allclose(ds, ref, rtol=1e-10, atol=1e-10 * np.abs(ref).max())
    # the wrap matters: objects at the box corners see particles across the faces
    ax = [a for a in range(3) if a != los_axis]
    d = np.abs(part[None, :, ax] - obj[:6, None, ax])
    assert (d.max(axis=2) > box - rbins[-1]).any()


@pytest.mark.parametrize("rbins", [
    np.array([0.2, 9.0]),  # one wide annulus: the running products take many flushes
    default_rbins(40, 0.05, 9.0),  # many narrow annuli: several per cell
    np.array([2.0, 2.2, 3.0, 9.0]),  # whole cells inside the inner edge
    np.array([0.01, 14.9]),  # outer edge just below half the box: runs of cells wrap onto themselves
])
@pytest.mark.parametrize("cells", [1, 3, 12, 40])
def test_matches_minimum_image_sum_near_edges(rbins, cells):
    """Oracle: Eq. F4 summed over every particle with the minimum image, objects on and near the box faces."""
    rng = np.random.default_rng(11)
    box = 30.0
    obj = np.concatenate([rng.uniform(0, box, (12, 3)),
                          [[0.0, 0.0, 1.0], [29.999999, 29.999999, 2.0], [1e-9, 15.0, 3.0], [15.0, 29.9999, 4.0],
                           [0.4, 29.6, 5.0], [29.5, 0.5, 6.0], [3.3, 3.3, 29.9]]])
    clump = obj[rng.integers(0, obj.shape[0], 6000)] + rng.normal(0, 0.4, (6000, 3))
    part = np.mod(np.concatenate([clump, rng.uniform(0, box, (8000, 3)), obj + 1e-3]), box)
    part[part >= box] = 0.0
    ref = brute_force(obj, part, 3.3e10, box, rbins)
    ds = delta_sigma_per_object(obj, part, 3.3e10, box, rbins=rbins, cells_per_rmax=cells, chunk_size=5)
    # the terms of Eq. F4 have both signs: judge each annulus against its largest entry
    err = np.abs(ds - ref) / np.abs(ref).max(axis=0)
    assert err.max() < 1e-12, err.max()


def test_objects_on_particles_and_a_dense_clump():
    """A particle at R = 0 counts inside every annulus; 2e5 particles in one annulus overflow no product."""
    rng = np.random.default_rng(5)
    box = 40.0
    obj = np.array([[20.0, 20.0, 1.0], [0.0, 0.0, 0.0]])
    ring = 20.0 + rng.uniform(0.5, 0.9, 200_000)[:, None] * np.array([1.0, 0.0, 0.0])
    part = np.concatenate([np.column_stack([ring[:, 0], np.full(ring.shape[0], 20.0), rng.uniform(0, box, 200_000)]),
                           obj])
    rbins = np.array([0.1, 0.3, 1.0, 3.0])
    ref = brute_force(obj, part, 1e9, box, rbins)
    np.testing.assert_allclose(delta_sigma_per_object(obj, part, 1e9, box, rbins=rbins), ref, rtol=1e-11)


def test_single_isolated_nfw_halo_matches_analytic():
    rng = np.random.default_rng(7)
    from shaminfer.catalogs.nfw import sample_nfw_offsets

    box, mass, rdelta, conc, n = 40.0, 1e14, 1.2, 5.0, 200_000
    centre = np.array([[13.3, 21.7, 20.0]])
    part = centre + sample_nfw_offsets(rng, np.full(n, conc), np.full(n, rdelta))
    mp = mass / n
    rbins = default_rbins(10, 0.05, 3.0)
    ds = delta_sigma_per_object(centre, part, mp, box, rbins=rbins)[0]
    expect = nfw_delta_sigma_annulus(rbins, mass, rdelta, conc)
    # Poisson noise of the particle sum, from the particles' own Eq. F4 terms
    terms = brute_force_terms(centre, part, mp, box, rbins, 2)[0]
    sigma = np.sqrt(np.sum(terms**2, axis=0))
    pull = (ds - expect) / sigma
    assert np.all(np.abs(pull) < 4), pull
    assert np.sum(pull**2) / pull.size < 2.5
    # and the truncated sphere has no excess mass beyond its radius: Delta Sigma(R > R_200m) = M / (pi R^2) average
    assert np.all(expect > 0) and abs(expect[-1] / ds[-1] - 1) < 0.02


def test_uniform_sheet_gives_zero():
    box, a = 24.0, 0.04
    g = (np.arange(int(box / a)) + 0.5) * a
    x, y = np.meshgrid(g, g, indexing="ij")
    sheet = np.stack([x.ravel(), y.ravel(), np.full(x.size, 3.0)], axis=1)
    mp = 1e9
    sigma_bar = mp / a**2 / 1e12  # h Msun / pc^2
    rbins = default_rbins(8, 0.5, 10.0)
    obj = np.array([[3.01, 7.77, 1.0], [0.003, 23.99, 20.0], [12.0, 12.0, 12.0]])
    ds = delta_sigma_per_object(obj, sheet, mp, box, rbins=rbins)
    # Sigma_bar(<R) and Sigma(R) are both ~ sigma_bar; they cancel to the lattice discreteness (~1%)
    assert np.all(np.abs(ds) < 2e-2 * sigma_bar), ds / sigma_bar
    # random uniform particles: zero within the Poisson noise
    rng = np.random.default_rng(3)
    part = rng.uniform(0, box, (100_000, 3))
    ds = delta_sigma_per_object(obj, part, mp, box, rbins=rbins)
    sigma = np.sqrt(np.sum(brute_force_terms(obj, part, mp, box, rbins, 2) ** 2, axis=1))
    assert np.all(np.abs(ds / sigma) < 4)


def test_input_validation():
    obj = np.ones((2, 3))
    part = np.ones((5, 3))
    with pytest.raises(ValueError, match="rbins: expected the outer edge below box_size/2"):
        delta_sigma_per_object(obj, part, 1e10, 10.0, rbins=[0.1, 6.0])
    with pytest.raises(ValueError, match="rbins: expected an outer / inner edge ratio below 1e50"):
        delta_sigma_per_object(obj, part, 1e10, 10.0, rbins=[1e-60, 1.0])
    with pytest.raises(ValueError, match="rbins: expected >= 2 positive"):
        delta_sigma_per_object(obj, part, 1e10, 10.0, rbins=[0.0, 1.0])
    with pytest.raises(ValueError, match="los_axis"):
        delta_sigma_per_object(obj, part, 1e10, 10.0, rbins=[0.1, 1.0], los_axis=3)
    with pytest.raises(ValueError, match="particle_mass"):
        delta_sigma_per_object(obj, part, 0.0, 10.0, rbins=[0.1, 1.0])
    with pytest.raises(ValueError, match=r"object_pos: expected finite coordinates in \[0, 10\) Mpc/h, found 1 row"):
        delta_sigma_per_object(np.array([[1, 2, 3], [1, 2, 10.0]]), part, 1e10, 10.0, rbins=[0.1, 1.0])
    with pytest.raises(ValueError, match=r"particle_pos: expected an array of shape \(n, 3\)"):
        delta_sigma_per_object(obj, np.ones(5), 1e10, 10.0, rbins=[0.1, 1.0])
    with pytest.raises(ValueError, match="catalog.particle_pos"):
        lensing_profiles(SubhaloCatalog(pos=obj, logmpeak=[12.0, 12.0], box_size=10.0))


def test_catalog_profiles_mass_cut_and_cache(clustered):
    obj, part, box = clustered
    logm = np.linspace(11.0, 14.0, obj.shape[0])
    cat = SubhaloCatalog(pos=obj, logmpeak=logm, box_size=box, particle_pos=part, particle_mass=2e10)
    rbins = default_rbins(6, 0.2, 5.0)
    prof = lensing_profiles(cat, logmpeak_min=12.5, rbins=rbins, los_axis=1)
    np.testing.assert_array_equal(prof.index, np.flatnonzero(logm >= 12.5))
    np.testing.assert_allclose(prof.delta_sigma, brute_force(obj[prof.index], part, 2e10, box, rbins, 1),
                               rtol=1e-10, atol=1e-12)
    assert prof.los_axis == 1
    files = sorted((cache.cache_dir("lensing")).glob("profiles-*.npz"))
    assert len(files) >= 1
    again = lensing_profiles(cat, logmpeak_min=12.5, rbins=rbins, los_axis=1)
    np.testing.assert_array_equal(again.delta_sigma, prof.delta_sigma)
    assert sorted(cache.cache_dir("lensing").glob("profiles-*.npz")) == files
    # a different option is a different cache entry
    other = lensing_profiles(cat, logmpeak_min=12.5, rbins=rbins, los_axis=0)
    assert not np.array_equal(other.delta_sigma, prof.delta_sigma)
    # attaching the profiles gives a valid catalog
    assert cat.replace(lensing=prof).lensing is prof
