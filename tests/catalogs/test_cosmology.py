import numpy as np
from colossus.cosmology import cosmology

from shaminfer.catalogs.cosmology import (
    halo_bias,
    halo_concentration,
    linear_power,
    mean_matter_density,
    using_cosmology,
)


def test_mean_density_units():
    # rho_m = Om0 * rho_crit, rho_crit = 2.775e11 h^2 Msun / Mpc^3
    np.testing.assert_allclose(mean_matter_density(), 0.3071 * 2.77536627e11, rtol=1e-4)


def test_bias_and_concentration_trends():
    m = np.array([11.0, 12.0, 13.0, 14.0, 15.0])
    b = halo_bias(m, 0.0)
    c = halo_concentration(m, 0.0)
    assert np.all(np.diff(b) > 0) and 0.5 < b[0] < 1.0 and b[-1] > 2
    assert np.all(np.diff(c) < 0) and np.all((c > 3) & (c < 20))
    assert np.all(linear_power([0.01, 0.1, 1.0], 0.0) > linear_power([0.01, 0.1, 1.0], 1.0))


def test_previous_cosmology_is_restored():
    try:
        before = cosmology.getCurrent()
    except Exception:
        before = None
    cosmology.setCosmology("planck18", persistence="")
    try:
        with using_cosmology() as cosmo:
            assert abs(cosmo.Om0 - 0.3071) < 1e-6
        assert cosmology.getCurrent().name == "planck18"
    finally:
        if before is not None:
            cosmology.setCurrent(before)
