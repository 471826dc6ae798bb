"""Gaussian and log-normal density fields on a periodic mesh, and biased tracer sampling.

A Gaussian field ``G`` with power spectrum ``P(k) W(k)^2`` (``W`` a Gaussian
smoothing of radius ``R_s``) is made by colouring white noise in Fourier
space (numpy real FFTs). The matter density is the log-normal transform
``1 + delta_m = exp(G - sigma_G^2 / 2)``, so that ``xi_m = exp(xi_G) - 1``.

Tracers with linear bias ``b`` are sampled cell by cell with probability
proportional to ``exp(b_ln G)``, which gives ``xi_t = exp(b_ln^2 xi_G) - 1``.
The log-normal exponent ``b_ln`` is calibrated so that the tracer correlation
at the pivot ``r_*`` equals ``b^2 xi_m(r_*)`` (:func:`lognormal_exponent`);
``b = 1`` gives ``b_ln = 1``, i.e. the tracer follows the matter field.

Units: box side and radii in Mpc/h, wavenumbers in h/Mpc.
"""
from __future__ import annotations

from typing import Callable, NamedTuple

import numba
import numpy as np

__all__ = [
    "GaussianMesh",
    "gaussian_mesh",
    "gaussian_correlation",
    "lognormal_exponent",
    "sample_cells",
    "positions_in_cells",
]


class GaussianMesh(NamedTuple):
    """A Gaussian random field on an ``n^3`` periodic mesh.

    Fields: ``field`` (n, n, n) float64 (zero mean), ``box_size`` [Mpc/h],
    ``variance`` the measured variance of ``field``.
    """

    field: np.ndarray
    box_size: float
    variance: float

    @property
    def n_mesh(self) -> int:
        return self.field.shape[0]

    @property
    def cell_size(self) -> float:
        return self.box_size / self.n_mesh


def _kgrid(n: int, box: float):
    kf = 2.0 * np.pi / box
    kx = np.fft.fftfreq(n, d=1.0 / n) * kf
    kz = np.fft.rfftfreq(n, d=1.0 / n) * kf
    return kx, kz


def gaussian_mesh(rng: np.random.Generator, power: Callable[[np.ndarray], np.ndarray], *, n_mesh: int,
                  box_size: float, smoothing: float, fixed_amplitude: bool = False) -> GaussianMesh:
    """Draw a zero-mean Gaussian field with power spectrum ``power(k) exp(-k^2 R_s^2)`` on an ``n_mesh^3`` mesh.

    Parameters
    ----------
    rng : numpy Generator
    power : callable k [h/Mpc] -> P(k) [(Mpc/h)^3]
    n_mesh : int, keyword-only
    box_size : float, keyword-only
        [Mpc/h]
    smoothing : float, keyword-only
        Gaussian smoothing radius R_s [Mpc/h]
    fixed_amplitude : bool, keyword-only
        Give every Fourier mode exactly the expected amplitude (random phases only; Angulo & Pontzen 2016):
        no scatter of the measured power around ``P(k)``, hence much less sample variance in two-point
        statistics of a small box.
    """
    n = int(n_mesh)
    white = rng.standard_normal((n, n, n))
    wk = np.fft.rfftn(white)
    del white
    if fixed_amplitude:  # unit-variance white noise has <|W_k|^2> = n^3 (unnormalised FFT)
        wk *= np.sqrt(float(n) ** 3) / np.maximum(np.abs(wk), 1e-300)
    kx, kz = _kgrid(n, box_size)
    k = np.sqrt(kx[:, None, None] ** 2 + kx[None, :, None] ** 2 + kz[None, None, :] ** 2)
    # white noise of unit variance per cell has P = V_cell; colour it to P(k) W(k)^2
    kk = np.logspace(np.log10(0.5 * kx[1]), np.log10(k.max() * 1.01), 512)
    pk = np.exp(np.interp(np.log(np.maximum(k, kk[0])), np.log(kk), np.log(power(kk))))
    cell_vol = (box_size / n) ** 3
    amp = np.sqrt(pk / cell_vol) * np.exp(-0.5 * (k * smoothing) ** 2)
    amp[0, 0, 0] = 0.0
    field = np.fft.irfftn(wk * amp, s=(n, n, n), axes=(0, 1, 2))
    field -= field.mean()
    return GaussianMesh(field=field, box_size=float(box_size), variance=float(field.var()))


def gaussian_correlation(r, power: Callable[[np.ndarray], np.ndarray], *, n_mesh: int, box_size: float,
                         smoothing: float) -> np.ndarray:
    """Expected correlation ``xi_G(r)`` of :func:`gaussian_mesh` (spherical cut at the mesh Nyquist wavenumber)."""
    knyq = np.pi * n_mesh / box_size
    kmin = 2.0 * np.pi / box_size
    k = np.logspace(np.log10(kmin), np.log10(knyq), 4096)
    pk = power(k) * np.exp(-((k * smoothing) ** 2))
    r = np.atleast_1d(np.asarray(r, dtype=np.float64))
    kr = k[None, :] * r[:, None]
    j0 = np.sinc(kr / np.pi)
    return np.trapezoid(k**3 * pk * j0, np.log(k), axis=1) / (2.0 * np.pi**2)


def lognormal_exponent(bias, xi_pivot: float) -> np.ndarray:
    """Exponent ``b_ln`` with ``exp(b_ln^2 xi_G) - 1 = b^2 (exp(xi_G) - 1)`` at the pivot ``xi_G = xi_pivot``.

    Requires ``bias >= 0``; returns ``b_ln >= 0`` and ``b_ln(1) = 1``.
    """
    b = np.asarray(bias, dtype=np.float64)
    return np.sqrt(np.log1p(b**2 * np.expm1(xi_pivot)) / xi_pivot)


@numba.njit(cache=True)
def _cumsum_in_place(a):  # pragma: no cover - compiled
    """Running sum in place, left to right: the same additions as ``numpy.cumsum``, bit for bit."""
    s = 0.0
    for i in range(a.size):
        s += a[i]
        a[i] = s


def sample_cells(rng: np.random.Generator, mesh: GaussianMesh, exponent: float, n: int, *, work=None) -> np.ndarray:
    """Draw ``n`` flat cell indices with probability proportional to ``exp(exponent * G)``.

    ``work``: optional float64 scratch array of ``mesh.field.size`` elements, reused across calls (many draws on
    one large mesh then touch no fresh memory); the draws do not depend on it.
    """
    size = mesh.field.size
    if work is None:
        work = np.empty(size)
    elif work.shape != (size,) or work.dtype != np.float64:
        raise ValueError(f"work: expected a float64 array of shape ({size},), found {work.dtype} {work.shape}")
    cdf = np.multiply(mesh.field.ravel(), exponent, out=work)
    cdf -= cdf.max()  # shifted so the largest weight is 1, whatever the sign of the exponent
    np.exp(cdf, out=cdf)
    _cumsum_in_place(cdf)
    u = rng.random(int(n)) * cdf[-1]
    order = np.argsort(u)  # sorted targets: the binary searches walk the cdf in order (cache friendly)
    cells = np.empty(u.size, dtype=np.int64)
    cells[order] = np.searchsorted(cdf, u[order], side="right")
    return np.minimum(cells, size - 1)


def positions_in_cells(rng: np.random.Generator, cells: np.ndarray, mesh: GaussianMesh) -> np.ndarray:
    """Uniform random positions [Mpc/h], shape (n, 3), inside the given flat cell indices."""
    n = mesh.n_mesh
    ijk = np.stack(np.unravel_index(cells, (n, n, n)), axis=-1).astype(np.float64)
    pos = (ijk + rng.random(ijk.shape)) * mesh.cell_size
    return np.where(pos >= mesh.box_size, 0.0, pos)
