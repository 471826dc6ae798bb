import numpy as np
import pytest

from shaminfer.catalogs.density_field import (
    gaussian_correlation,
    gaussian_mesh,
    lognormal_exponent,
    positions_in_cells,
    sample_cells,
)


def power(k):
    return 2e4 * k / (1 + (k / 0.02) ** 2.5)


def test_field_variance_matches_theory():
    kw = dict(n_mesh=48, box_size=100.0, smoothing=3.0)
    var = np.mean([gaussian_mesh(np.random.default_rng(s), power, **kw).variance for s in range(4)])
    expect = gaussian_correlation(0.0, power, **kw)[0]
    assert abs(var / expect - 1) < 0.1
    # the correlation falls with distance
    xi = gaussian_correlation([0.0, 5.0, 20.0], power, **kw)
    assert xi[0] > xi[1] > xi[2]


def test_field_two_point_function_matches_theory():
    kw = dict(n_mesh=48, box_size=100.0, smoothing=3.0)
    m = gaussian_mesh(np.random.default_rng(5), power, **kw)
    shift = 4  # cells along each axis: r = 4 * 100/48
    xi_meas = np.mean([np.mean(m.field * np.roll(m.field, shift, axis=a)) for a in range(3)])
    xi_th = gaussian_correlation(shift * m.cell_size, power, **kw)[0]
    assert abs(xi_meas / xi_th - 1) < 0.25


def test_lognormal_exponent():
    np.testing.assert_allclose(lognormal_exponent(1.0, 0.4), 1.0, rtol=1e-14)
    b = np.array([0.5, 1.5, 3.0])
    bl = lognormal_exponent(b, 0.4)
    np.testing.assert_allclose(np.expm1(bl**2 * 0.4), b**2 * np.expm1(0.4), rtol=1e-12)
    assert np.all(np.diff(bl) > 0)


def test_cell_sampling_is_proportional_to_weights():
    rng = np.random.default_rng(2)
    m = gaussian_mesh(rng, power, n_mesh=8, box_size=40.0, smoothing=1.0)
    cells = sample_cells(rng, m, 1.7, 400_000)
    counts = np.bincount(cells, minlength=m.field.size)
    w = np.exp(1.7 * m.field.ravel())
    expect = 400_000 * w / w.sum()
    chi2 = np.sum((counts - expect) ** 2 / expect)
    assert chi2 / m.field.size < 1.3
    pos = positions_in_cells(rng, cells[:1000], m)
    assert pos.min() >= 0 and pos.max() < 40.0
    np.testing.assert_array_equal((pos // m.cell_size).astype(int),
                                  np.stack(np.unravel_index(cells[:1000], (8, 8, 8)), axis=1))


def test_cell_sampling_equals_the_plain_inverse_transform():
    """Oracle: cumulative weights and one unsorted binary search per draw give the same cells, bit for bit."""
    m = gaussian_mesh(np.random.default_rng(5), power, n_mesh=16, box_size=40.0, smoothing=1.0)
    for exponent, n in ((1.3, 50_000), (-0.4, 7), (0.0, 1000), (2.5, 1)):
        g = exponent * m.field.ravel()
        cdf = np.cumsum(np.exp(g - g.max()))
        u = np.random.default_rng(9).random(n) * cdf[-1]
        expect = np.minimum(np.searchsorted(cdf, u, side="right"), g.size - 1)
        np.testing.assert_array_equal(sample_cells(np.random.default_rng(9), m, exponent, n), expect)
        work = np.full(m.field.size, np.nan)  # scratch content must not matter
        np.testing.assert_array_equal(sample_cells(np.random.default_rng(9), m, exponent, n, work=work), expect)
    with pytest.raises(ValueError, match=r"work: expected a float64 array of shape \(4096,\)"):
        sample_cells(np.random.default_rng(9), m, 1.0, 3, work=np.empty(10))


def test_fixed_amplitude_field_has_the_expected_power_in_every_mode():
    n, box = 16, 80.0
    m = gaussian_mesh(np.random.default_rng(8), power, n_mesh=n, box_size=box, smoothing=2.0, fixed_amplitude=True)
    fk = np.fft.rfftn(m.field)
    kf = 2 * np.pi / box
    kx, kz = np.fft.fftfreq(n, 1.0 / n) * kf, np.fft.rfftfreq(n, 1.0 / n) * kf
    k = np.sqrt(kx[:, None, None] ** 2 + kx[None, :, None] ** 2 + kz[None, None, :] ** 2)
    # unnormalised FFT of a field with power P: |F_k|^2 = P(k) W(k)^2 n^6 / V
    expect = power(np.where(k > 0, k, 1.0)) * np.exp(-(k * 2.0) ** 2) * n**6 / box**3
    np.testing.assert_allclose(np.abs(fk)[k > 0], np.sqrt(expect[k > 0]), rtol=1e-3)  # P is interpolated on a grid
    # a Gaussian draw scatters around it instead
    g = np.abs(np.fft.rfftn(gaussian_mesh(np.random.default_rng(8), power, n_mesh=n, box_size=box,
                                          smoothing=2.0).field))[k > 0] / np.sqrt(expect[k > 0])
    assert g.std() > 0.3


def test_negative_exponents_sample_underdense_cells():
    rng = np.random.default_rng(9)
    m = gaussian_mesh(rng, power, n_mesh=8, box_size=40.0, smoothing=1.0)
    big = m._replace(field=m.field * 300.0)  # exp(-5 * field) would overflow without the shift
    cells = sample_cells(rng, big, -5.0, 1000)
    assert np.all(np.isfinite(cells)) and np.all(cells == np.argmin(big.field))
