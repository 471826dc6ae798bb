"""Lagrangian biasing and Zel'dovich displacements on a periodic mesh.

The linear density contrast ``delta_L(q)`` on an ``n^3`` mesh (node ``i`` at
``q = i L / n``; :func:`shaminfer.catalogs.density_field.gaussian_mesh` with no
smoothing) defines, at first order in Lagrangian perturbation theory
(Zel'dovich 1970), the displacement

    Psi(k) = i k / k^2 delta_L(k),   so that  -div Psi = delta_L,

and an element at Lagrangian position ``q`` moves to ``x = q + Psi(q)``.
:func:`zeldovich_displacement` computes ``Psi`` by FFT (optionally from the
field smoothed by ``exp(-k^2 R_s^2 / 2)``, the "truncated" Zel'dovich
approximation, which limits shell crossing on small scales), and
:func:`displace` moves points by ``Psi`` interpolated trilinearly (cloud in
cell) between the mesh nodes.

Tracers are drawn in Lagrangian space with probability proportional to
``exp(b_L delta_R(q))``, ``delta_R`` the linear field smoothed by a top-hat of
radius ``R`` (:func:`smooth_field`). For a Gaussian field the cross-correlation
of such tracers with the linear field is exactly ``b_L xi_{R,L}(r)`` (no
calibration), which tends to ``b_L xi_L(r)`` for ``r >> R``; after the
Zel'dovich displacement the large-scale Eulerian bias is ``1 + b_L``.

Units: box side, positions, radii and displacements in Mpc/h, wavenumbers in h/Mpc.
"""
from __future__ import annotations

import numba
import numpy as np

__all__ = [
    "smooth_field",
    "tophat_smoother",
    "spherical_collapse_divergence",
    "zeldovich_displacement",
    "interpolate_mesh",
    "displace",
    "positions_near_nodes",
]


def _check_mesh(field) -> np.ndarray:
    f = np.asarray(field, dtype=np.float64)
    if f.ndim != 3 or len(set(f.shape)) != 1 or f.shape[0] < 2:
        raise ValueError(f"field: expected a cubic (n, n, n) mesh with n >= 2, found shape {f.shape}")
    return f


def _wavenumbers(n: int, box_size: float, derivative: bool = False):
    """Wavenumbers [h/Mpc] along a full axis and along the rfft axis; ``derivative`` zeroes the Nyquist mode
    (a first derivative of a real field has no real Nyquist component)."""
    kf = 2.0 * np.pi / box_size
    kx = np.fft.fftfreq(n, d=1.0 / n) * kf
    kz = np.fft.rfftfreq(n, d=1.0 / n) * kf
    if derivative and n % 2 == 0:
        kx[n // 2] = 0.0
        kz[-1] = 0.0
    return kx, kz


def _tophat(x: np.ndarray) -> np.ndarray:
    """Fourier transform of a unit-volume spherical top-hat, ``3 (sin x - x cos x) / x^3`` (1 at x = 0)."""
    small = x < 1e-3
    xs = np.where(small, 1.0, x)
    return np.where(small, 1.0 - x**2 / 10.0, 3.0 * (np.sin(xs) - xs * np.cos(xs)) / xs**3)


def _check_radius(radius) -> None:
    if not np.isfinite(radius) or radius < 0:
        raise ValueError(f"radius: expected a finite value >= 0 [Mpc/h], found {radius!r}")


def tophat_smoother(field, box_size: float):
    """``smooth(radius)``: the mesh ``field`` convolved with a spherical top-hat of ``radius`` [Mpc/h].

    One FFT of the field and one table of the distinct ``|k|`` of the mesh serve every radius, so each radius
    costs one inverse FFT; the values are those of :func:`smooth_field` bit for bit.

    Parameters
    ----------
    field : array (n, n, n)
        Real field on the periodic mesh.
    box_size : float
        Box side [Mpc/h].

    Returns
    -------
    callable
        ``smooth(radius) -> numpy.ndarray`` of shape (n, n, n), float64; radius 0 returns a copy of ``field``.
    """
    f = _check_mesh(field)
    n = f.shape[0]
    kx, kz = _wavenumbers(n, box_size)
    k = np.sqrt(kx[:, None, None] ** 2 + kx[None, :, None] ** 2 + kz[None, None, :] ** 2)
    k_values, k_index = np.unique(k.ravel(), return_inverse=True)
    k_index = k_index.reshape(k.shape)
    del k
    fk = np.fft.rfftn(f)

    def smooth(radius: float) -> np.ndarray:
        _check_radius(radius)
        if radius == 0:
            return f.copy()
        return np.fft.irfftn(fk * _tophat(k_values * radius)[k_index], s=f.shape, axes=(0, 1, 2))

    return smooth


def smooth_field(field, box_size: float, radius: float) -> np.ndarray:
    """The mesh ``field`` convolved with a spherical top-hat of ``radius`` [Mpc/h] (periodic, by FFT).

    Parameters
    ----------
    field : array (n, n, n)
        Real field on the periodic mesh.
    box_size : float
        Box side [Mpc/h].
    radius : float
        Top-hat radius [Mpc/h]; 0 returns a copy of ``field``.

    Returns
    -------
    numpy.ndarray
        The smoothed field, shape (n, n, n), float64. For several radii of one field,
        :func:`tophat_smoother` transforms the field once.
    """
    _check_radius(radius)
    return tophat_smoother(field, box_size)(radius)


def spherical_collapse_divergence(field) -> np.ndarray:
    """Minus the divergence of the spherical-collapse displacement, ``3 - 3 sqrt(1 - 2 delta / 3)`` (3 where
    ``delta >= 3/2``: collapsed), Bernardeau (1994); equals ``delta + delta^2 / 6 + ...`` for small ``delta``.

    Parameters
    ----------
    field : array
        Linear density contrast.

    Returns
    -------
    numpy.ndarray
        Same shape as ``field``, values in ``(-inf, 3]``.
    """
    d = np.asarray(field, dtype=np.float64)
    return 3.0 - 3.0 * np.sqrt(np.maximum(1.0 - 2.0 * d / 3.0, 0.0))


def zeldovich_displacement(field, box_size: float, smoothing: float = 0.0, *, spherical_collapse: bool = False,
                           collapse_radii=()) -> np.ndarray:
    """Displacement ``Psi = i k / k^2 delta(k)`` [Mpc/h] of the linear density contrast ``field`` (Zel'dovich).

    With ``spherical_collapse`` the small scales follow the spherical-collapse divergence instead (augmented
    LPT, Kitaura & Hess 2013): ``Psi = i k / k^2 [W(k) delta(k) + (1 - W(k)) D(k)]``, ``D`` from
    :func:`spherical_collapse_divergence` and ``W = exp(-k^2 R_s^2 / 2)``, so that large scales are exactly
    Zel'dovich while collapsed regions contract. ``collapse_radii`` adds the multiscale criterion of Neyrinck
    (2016): a node whose field smoothed by a top-hat of any of these radii reaches 3/2 is collapsed
    (``D = 3``), so that group-sized regions fall together rather than only single cells. Without
    ``spherical_collapse``, ``W`` truncates the Zel'dovich field.

    Parameters
    ----------
    field : array (n, n, n)
        Linear density contrast on the periodic mesh (node ``i`` at ``i L / n``).
    box_size : float
        Box side ``L`` [Mpc/h].
    smoothing : float
        Gaussian radius ``R_s`` [Mpc/h] of ``W``; 0 means ``W = 1`` (pure Zel'dovich).
    spherical_collapse : bool, keyword-only
        Use the augmented (Zel'dovich + spherical collapse) displacement.
    collapse_radii : sequence of float, keyword-only
        Top-hat radii [Mpc/h] of the multiscale collapse criterion (only with ``spherical_collapse``).

    Returns
    -------
    numpy.ndarray
        Shape (3, n, n, n): the x, y, z components at the mesh nodes; without ``spherical_collapse``,
        ``-div Psi = W delta``.
    """
    f = _check_mesh(field)
    if not np.isfinite(box_size) or box_size <= 0:
        raise ValueError(f"box_size: expected a finite value > 0 [Mpc/h], found {box_size!r}")
    if not np.isfinite(smoothing) or smoothing < 0:
        raise ValueError(f"smoothing: expected a finite value >= 0 [Mpc/h], found {smoothing!r}")
    n = f.shape[0]
    kx, kz = _wavenumbers(n, box_size)
    k2 = kx[:, None, None] ** 2 + kx[None, :, None] ** 2 + kz[None, None, :] ** 2
    k2[0, 0, 0] = 1.0
    w = np.exp(-0.5 * k2 * smoothing**2)
    dk = np.fft.rfftn(f) * w
    if spherical_collapse:
        d = spherical_collapse_divergence(f)
        smooth = tophat_smoother(f, box_size) if len(collapse_radii) else None
        for r in collapse_radii:  # collapsed on any of these scales: collapsed (multiscale, Neyrinck 2016)
            d[smooth(r) >= 1.5] = 3.0
        dk += np.fft.rfftn(d) * (1.0 - w)
    dk /= k2
    dk[0, 0, 0] = 0.0
    dx, dz = _wavenumbers(n, box_size, derivative=True)
    out = np.empty((3, n, n, n))
    for a, ka in enumerate((dx[:, None, None], dx[None, :, None], dz[None, None, :])):
        out[a] = np.fft.irfftn(1j * ka * dk, s=f.shape, axes=(0, 1, 2))
    return out


@numba.njit(cache=True)
def _trilinear(fields, pos, inv_h, out):  # pragma: no cover - compiled
    c, n = fields.shape[0], fields.shape[1]
    for p in range(pos.shape[0]):
        x, y, z = pos[p, 0] * inv_h, pos[p, 1] * inv_h, pos[p, 2] * inv_h
        i0, j0, k0 = int(np.floor(x)), int(np.floor(y)), int(np.floor(z))
        fx, fy, fz = x - i0, y - j0, z - k0
        i0, j0, k0 = i0 % n, j0 % n, k0 % n
        i1, j1, k1 = (i0 + 1) % n, (j0 + 1) % n, (k0 + 1) % n
        gx, gy, gz = 1.0 - fx, 1.0 - fy, 1.0 - fz
        for a in range(c):
            f = fields[a]
            out[p, a] = (gx * (gy * (gz * f[i0, j0, k0] + fz * f[i0, j0, k1])
                               + fy * (gz * f[i0, j1, k0] + fz * f[i0, j1, k1]))
                         + fx * (gy * (gz * f[i1, j0, k0] + fz * f[i1, j0, k1])
                                 + fy * (gz * f[i1, j1, k0] + fz * f[i1, j1, k1])))


def interpolate_mesh(fields, pos, box_size: float) -> np.ndarray:
    """Trilinear (cloud-in-cell) periodic interpolation of mesh fields at positions.

    Parameters
    ----------
    fields : array (c, n, n, n)
        ``c`` fields on the periodic mesh, node ``i`` at ``i L / n``.
    pos : array (N, 3)
        Positions [Mpc/h] (any real values; wrapped periodically).
    box_size : float
        Box side ``L`` [Mpc/h].

    Returns
    -------
    numpy.ndarray
        Shape (N, c), float64.
    """
    f = np.ascontiguousarray(fields, dtype=np.float64)
    if f.ndim != 4 or len(set(f.shape[1:])) != 1:
        raise ValueError(f"fields: expected shape (c, n, n, n), found {f.shape}")
    x = np.ascontiguousarray(pos, dtype=np.float64)
    if x.ndim != 2 or x.shape[1] != 3:
        raise ValueError(f"pos: expected shape (N, 3), found {x.shape}")
    out = np.empty((x.shape[0], f.shape[0]))
    _trilinear(f, x, f.shape[1] / float(box_size), out)
    return out


def displace(pos, psi, box_size: float) -> np.ndarray:
    """Move Lagrangian positions ``q`` to ``q + Psi(q)`` (``Psi`` interpolated by :func:`interpolate_mesh`),
    wrapped into ``[0, box_size)``.

    Parameters
    ----------
    pos : array (N, 3)
        Lagrangian positions [Mpc/h].
    psi : array (3, n, n, n)
        Displacement field, e.g. from :func:`zeldovich_displacement`.
    box_size : float
        Box side [Mpc/h].

    Returns
    -------
    numpy.ndarray
        Eulerian positions, shape (N, 3).
    """
    x = np.mod(np.asarray(pos, dtype=np.float64) + interpolate_mesh(psi, pos, box_size), box_size)
    return np.where(x >= box_size, 0.0, x)


def positions_near_nodes(rng: np.random.Generator, nodes, n_mesh: int, box_size: float) -> np.ndarray:
    """Positions [Mpc/h] scattered around flat mesh-node indices by a tent kernel of half-width one cell.

    Each coordinate is ``(i + u_1 + u_2 - 1) L / n`` with ``u_1, u_2`` uniform in [0, 1): if the nodes are
    drawn with probabilities ``w_i``, the positions have the density ``sum_i w_i T(x - x_i)``, the trilinear
    (cloud-in-cell) interpolation of ``w`` -- continuous, with no imprint of the cell boundaries.

    Parameters
    ----------
    rng : numpy Generator
    nodes : array of int
        Flat indices into the ``n_mesh^3`` mesh (C order).
    n_mesh : int
        Mesh size per axis.
    box_size : float
        Box side [Mpc/h].

    Returns
    -------
    numpy.ndarray
        Shape (N, 3), wrapped into ``[0, box_size)``.
    """
    ijk = np.stack(np.unravel_index(np.asarray(nodes), (n_mesh,) * 3), axis=-1).astype(np.float64)
    pos = (ijk + rng.random(ijk.shape) + rng.random(ijk.shape) - 1.0) * (box_size / n_mesh)
    pos = np.mod(pos, box_size)
    return np.where(pos >= box_size, 0.0, pos)
