import numpy as np
import pytest

from shaminfer.catalogs.density_field import gaussian_mesh, sample_cells
from shaminfer.catalogs.lpt import (
    displace,
    interpolate_mesh,
    positions_near_nodes,
    smooth_field,
    spherical_collapse_divergence,
    tophat_smoother,
    zeldovich_displacement,
)

L, N = 100.0, 16


def _nodes(n=N, box=L):
    q = np.arange(n) * box / n
    return np.meshgrid(q, q, q, indexing="ij")


def _minus_divergence_k(psi, box):
    """-div psi in Fourier space (rfft layout) with every mode on a Nyquist plane set to zero."""
    n = psi.shape[1]
    kf = 2 * np.pi / box
    k = np.fft.fftfreq(n, 1.0 / n) * kf
    kz = np.fft.rfftfreq(n, 1.0 / n) * kf
    ks = (k[:, None, None], k[None, :, None], kz[None, None, :])
    out = -sum(1j * ks[a] * np.fft.rfftn(psi[a]) for a in range(3))
    return _drop_nyquist(out)


def _drop_nyquist(fk):
    n = fk.shape[0]
    fk = fk.copy()
    fk[n // 2], fk[:, n // 2], fk[:, :, -1] = 0, 0, 0
    return fk


def test_single_mode_displacement_matches_closed_form():
    # delta = A cos(k . q)  =>  Psi = -A k / k^2 sin(k . q)
    x, y, z = _nodes()
    kvec = 2 * np.pi / L * np.array([2.0, -1.0, 3.0])
    phase = kvec[0] * x + kvec[1] * y + kvec[2] * z
    amp = 0.3
    psi = zeldovich_displacement(amp * np.cos(phase), L)
    for a in range(3):
        np.testing.assert_allclose(psi[a], -amp * kvec[a] / (kvec @ kvec) * np.sin(phase), atol=1e-12)
    # with Gaussian smoothing the mode is scaled by exp(-k^2 R^2 / 2)
    r_s = 4.0
    psi_s = zeldovich_displacement(amp * np.cos(phase), L, r_s)
    np.testing.assert_allclose(psi_s, psi * np.exp(-0.5 * (kvec @ kvec) * r_s**2), atol=1e-12)


def test_minus_divergence_is_the_density():
    f = gaussian_mesh(np.random.default_rng(1), lambda k: 50 * k / (1 + (k / 0.1) ** 3), n_mesh=N, box_size=L,
                      smoothing=3.0).field
    psi = zeldovich_displacement(f, L)
    # the Nyquist planes carry no first derivative; compare every other mode
    fk = _drop_nyquist(np.fft.rfftn(f))
    np.testing.assert_allclose(_minus_divergence_k(psi, L), fk, atol=1e-9 * np.abs(fk).max())
    assert np.abs(fk).max() > 0


def test_spherical_collapse_divergence():
    d = np.array([-1e-3, 0.0, 1e-3, 0.1])
    np.testing.assert_allclose(spherical_collapse_divergence(d), d + d**2 / 6 + d**3 / 18, rtol=2e-4)
    np.testing.assert_allclose(spherical_collapse_divergence([1.5, 2.0, 10.0]), 3.0)
    assert np.all(np.diff(spherical_collapse_divergence(np.linspace(-10, 1.5, 50))) > 0)
    # voids expand less than in Zel'dovich
    assert spherical_collapse_divergence(-3.0) > -3.0


def test_augmented_displacement_is_zeldovich_on_large_scales():
    x, y, z = _nodes(32)
    phase = 2 * np.pi / L * x  # the fundamental mode, k R_s = 0.063 for R_s = 1
    f = 0.05 * np.cos(phase)
    za = zeldovich_displacement(f, L, 1.0)
    aug = zeldovich_displacement(f, L, 1.0, spherical_collapse=True)
    np.testing.assert_allclose(aug[0], za[0], atol=0.01 * np.abs(za[0]).max())
    # and differs on a collapsed small-scale peak: more infall
    g = np.zeros((32, 32, 32))
    g[16, 16, 16] = 3.0
    za, aug = zeldovich_displacement(g, L, 6.0), zeldovich_displacement(g, L, 6.0, spherical_collapse=True)
    assert abs(aug[0][14, 16, 16]) > abs(za[0][14, 16, 16])
    # the multiscale criterion collapses a region that is collapsed only once smoothed: still more infall
    wide = np.zeros((32, 32, 32))
    wide[13:20, 13:20, 13:20] = 3.0
    wide[16, 16, 16] = 1.0  # below 3/2 itself, but its top-hat neighbourhood (R = 4 Mpc/h) is above
    assert smooth_field(wide, L, 4.0)[16, 16, 16] > 1.5
    plain = zeldovich_displacement(wide, L, 6.0, spherical_collapse=True)
    multi = zeldovich_displacement(wide, L, 6.0, spherical_collapse=True, collapse_radii=(4.0,))
    inward = [f[0][15, 16, 16] - f[0][17, 16, 16] for f in (plain, multi)]
    assert inward[1] > inward[0] > 0


def test_interpolation_and_displacement():
    rng = np.random.default_rng(3)
    f = rng.standard_normal((2, 8, 8, 8))
    h = 10.0 / 8
    # nodes give the node values, mid-points the mean of the two neighbours, periodic images the same
    np.testing.assert_allclose(interpolate_mesh(f, [[2 * h, 3 * h, 7 * h]], 10.0)[0], f[:, 2, 3, 7], atol=1e-12)
    np.testing.assert_allclose(interpolate_mesh(f, [[7.5 * h, 0.0, 0.0]], 10.0)[0],
                               0.5 * (f[:, 7, 0, 0] + f[:, 0, 0, 0]), atol=1e-12)
    p = rng.random((20, 3)) * 10.0
    np.testing.assert_allclose(interpolate_mesh(f, p + 10.0, 10.0), interpolate_mesh(f, p, 10.0), atol=1e-12)
    with pytest.raises(ValueError, match="pos: expected shape"):
        interpolate_mesh(f, p[:, :2], 10.0)
    # a weak single mode along y: a dense line of points keeps its number and gets the density 1 + delta
    n, amp, m = 32, 0.05, 200_000
    _, y, _ = _nodes(n)
    delta = amp * np.cos(2 * np.pi / L * 3 * y)
    q = np.stack([np.full(m, 7.0), (np.arange(m) + 0.5) * L / m, np.full(m, 41.0)], axis=1)
    xe = displace(q, zeldovich_displacement(delta, L), L)
    assert xe.shape == q.shape and xe.min() >= 0 and xe.max() < L
    np.testing.assert_array_equal(xe[:, [0, 2]], q[:, [0, 2]])
    counts = np.histogram(xe[:, 1], bins=n, range=(0, L))[0]
    assert counts.sum() == m
    centre = (np.arange(n) + 0.5) * L / n
    np.testing.assert_allclose(counts / (m / n) - 1, amp * np.cos(2 * np.pi / L * 3 * centre), atol=0.15 * amp)


def test_tent_positions():
    rng = np.random.default_rng(4)
    pos = positions_near_nodes(rng, np.zeros(200_000, dtype=int), 10, 20.0)
    d = (pos + 10.0) % 20.0 - 10.0  # about node 0, across the periodic edge
    assert np.abs(d).max() < 2.0
    assert abs(d.mean()) < 0.01
    np.testing.assert_allclose(d.var(axis=0), 2.0**2 / 6, rtol=0.02)  # triangle of half-width h: h^2 / 6


def test_smoothing_of_a_mode():
    x, _, _ = _nodes()
    k = 2 * np.pi / L * 2
    f = np.cos(k * x)
    r = 5.0
    kr = k * r
    w = 3 * (np.sin(kr) - kr * np.cos(kr)) / kr**3
    np.testing.assert_allclose(smooth_field(f, L, r), w * f, atol=1e-12)
    np.testing.assert_allclose(smooth_field(np.full((N, N, N), 2.5), L, r), 2.5, atol=1e-12)
    with pytest.raises(ValueError, match="radius"):
        smooth_field(f, L, -1.0)


def test_smoother_reuses_the_transform_bit_for_bit():
    """Oracle: the direct top-hat convolution by FFT on the full |k| grid, one radius at a time."""
    f = gaussian_mesh(np.random.default_rng(4), lambda k: 1e3 / (1 + k**2), n_mesh=N, box_size=L,
                      smoothing=0.0).field
    kf = 2 * np.pi / L
    k1 = np.fft.fftfreq(N, 1.0 / N) * kf
    kz = np.fft.rfftfreq(N, 1.0 / N) * kf
    k = np.sqrt(k1[:, None, None] ** 2 + k1[None, :, None] ** 2 + kz[None, None, :] ** 2)
    smooth = tophat_smoother(f, L)
    for r in (0.3, 2.0, 6.5, 31.0):
        x = k * r
        with np.errstate(invalid="ignore", divide="ignore"):
            w = np.where(x < 1e-3, 1.0 - x**2 / 10.0, 3.0 * (np.sin(x) - x * np.cos(x)) / x**3)
        expect = np.fft.irfftn(np.fft.rfftn(f) * w, s=f.shape, axes=(0, 1, 2))
        np.testing.assert_array_equal(smooth(r), expect)
        np.testing.assert_array_equal(smooth_field(f, L, r), expect)
    np.testing.assert_array_equal(smooth(0.0), f)
    with pytest.raises(ValueError, match="radius"):
        smooth(np.nan)


def _cross_bias(tracer_pos, field, box, kmax):
    n = field.shape[0]
    idx = np.floor(tracer_pos / box * n).astype(int) % n
    counts = np.bincount(np.ravel_multi_index(idx.T, field.shape), minlength=field.size).reshape(field.shape)
    dt, dm = np.fft.rfftn(counts / counts.mean() - 1), np.fft.rfftn(field)
    kf = 2 * np.pi / box
    kx, kz = np.fft.fftfreq(n, 1.0 / n) * kf, np.fft.rfftfreq(n, 1.0 / n) * kf
    k = np.sqrt(kx[:, None, None] ** 2 + kx[None, :, None] ** 2 + kz[None, None, :] ** 2)
    s = (k > 0) & (k < kmax)
    return np.sum((dt * dm.conj()).real[s]) / np.sum(np.abs(dm[s]) ** 2)


def test_lagrangian_bias_becomes_one_plus_b_after_displacement():
    # weak field (linear regime): exp(b delta) tracers have Lagrangian bias b, displaced ones 1 + b
    box, n, b = 200.0, 32, 1.5
    rng = np.random.default_rng(7)
    mesh = gaussian_mesh(rng, lambda k: 3000.0 * k / (1 + (k / 0.05) ** 3), n_mesh=n, box_size=box, smoothing=0.0,
                         fixed_amplitude=True)
    assert 0.02 < np.sqrt(mesh.variance) < 0.2
    nodes = sample_cells(rng, mesh, b, 2_000_000)
    q = positions_near_nodes(rng, nodes, n, box)
    kmax = 0.1
    assert abs(_cross_bias(q, mesh.field, box, kmax) / b - 1) < 0.1
    x = displace(q, zeldovich_displacement(mesh.field, box), box)
    assert abs(_cross_bias(x, mesh.field, box, kmax) / (1 + b) - 1) < 0.1
