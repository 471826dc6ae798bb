"""NFW halos for the synthetic universe: radii, Monte Carlo sampling and analytic Delta Sigma.

Conventions: a halo of mass ``M`` [Msun/h] is an NFW sphere truncated at
``R_200m = (3 M / (4 pi 200 rho_m))^(1/3)`` [comoving Mpc/h], with ``rho_m``
the comoving mean matter density [Msun/h (Mpc/h)^-3] and concentration
``c = R_200m / r_s``. Inside the sphere the enclosed mass is
``M mu(r/r_s) / mu(c)`` with ``mu(x) = ln(1 + x) - x / (1 + x)``.

The analytic lensing of a truncated NFW sphere uses the projected mass inside
a cylinder, ``M_2d(R)``, computed by Gauss-Legendre quadrature over spherical
shells (a shell of radius r > R puts the fraction ``1 - sqrt(1 - R^2/r^2)`` of
its mass inside the cylinder). The annulus average of Eq. 9 over
``[Rmin, Rmax)`` (the quantity Eq. F4 estimates from particles) is then

    <Delta Sigma> = [2 int_Rmin^Rmax M_2d(R) dR / R - (M_2d(Rmax) - M_2d(Rmin))] / A_ann.

:func:`nfw_projected_mass_untruncated` is the closed form for the infinite
NFW profile (Wright & Brainerd 2000), used as an oracle in the tests.
"""
from __future__ import annotations

import numpy as np
from scipy.special import lambertw

__all__ = [
    "nfw_mu",
    "radius_200m",
    "sample_nfw_radii",
    "sample_nfw_offsets",
    "nfw_projected_mass",
    "nfw_projected_mass_untruncated",
    "nfw_delta_sigma_annulus",
]

_GL_X, _GL_W = np.polynomial.legendre.leggauss(96)


def nfw_mu(x):
    """``mu(x) = ln(1 + x) - x / (1 + x)``, the NFW enclosed-mass shape."""
    x = np.asarray(x, dtype=np.float64)
    return np.log1p(x) - x / (1.0 + x)


def radius_200m(logm, rho_m):
    """Comoving ``R_200m`` [Mpc/h] of halos with ``log10 M_200m = logm`` [Msun/h]; ``rho_m`` in Msun/h (Mpc/h)^-3."""
    return (3.0 * 10.0 ** np.asarray(logm, dtype=np.float64) / (4.0 * np.pi * 200.0 * rho_m)) ** (1.0 / 3.0)


def sample_nfw_radii(rng: np.random.Generator, conc) -> np.ndarray:
    """Radii ``r / R_200m`` in (0, 1] of points drawn from truncated NFW profiles, one per entry of ``conc``.

    Inverse transform of ``mu(x) / mu(c)`` in closed form:
    ``x = -1 / W0(-exp(-1 - u mu(c))) - 1`` with ``W0`` the principal Lambert W branch.
    """
    conc = np.asarray(conc, dtype=np.float64)
    u = rng.random(conc.shape)
    y = u * nfw_mu(conc)
    s = -np.real(lambertw(-np.exp(-1.0 - y), 0))
    x = 1.0 / s - 1.0
    return np.clip(x / conc, 0.0, 1.0)


def sample_nfw_offsets(rng: np.random.Generator, conc, rdelta) -> np.ndarray:
    """Isotropic 3-D offsets [Mpc/h], shape (n, 3), from truncated NFW profiles with ``conc`` and ``rdelta``."""
    r = sample_nfw_radii(rng, conc) * np.asarray(rdelta, dtype=np.float64)
    cost = rng.uniform(-1.0, 1.0, r.shape)
    phi = rng.uniform(0.0, 2.0 * np.pi, r.shape)
    sint = np.sqrt(1.0 - cost**2)
    return np.stack([r * sint * np.cos(phi), r * sint * np.sin(phi), r * cost], axis=-1)


def nfw_projected_mass(R, mass, rdelta, conc):
    """Mass [Msun/h] of a truncated NFW sphere inside the cylinder of projected radius ``R`` [Mpc/h].

    ``R`` broadcasts against ``mass``, ``rdelta`` and ``conc``.
    """
    R, mass, rdelta, conc = np.broadcast_arrays(*(np.asarray(a, dtype=np.float64) for a in (R, mass, rdelta, conc)))
    rs = rdelta / conc
    norm = mass / nfw_mu(conc)
    inner = norm * nfw_mu(np.minimum(R, rdelta) / rs)
    # shells r in (R, rdelta): r = R cosh t, dr = R sinh t dt, sqrt(1 - R^2/r^2) = tanh t
    tmax = np.arccosh(np.maximum(rdelta / np.maximum(R, 1e-300), 1.0))
    t = 0.5 * tmax[..., None] * (_GL_X + 1.0)
    r = R[..., None] * np.cosh(t)
    x = r / rs[..., None]
    dmdr = norm[..., None] * x / (1.0 + x) ** 2 / rs[..., None]  # dM/dr = norm * d mu(r/rs)/dr
    integrand = dmdr * (1.0 - np.tanh(t)) * R[..., None] * np.sinh(t)
    outer = 0.5 * tmax * np.sum(_GL_W * integrand, axis=-1)
    return inner + np.where(R < rdelta, outer, 0.0)


def nfw_projected_mass_untruncated(R, rho_s, rs):
    """Closed-form projected mass [Msun/h] inside ``R`` for an infinite NFW profile.

    ``M_2d = 4 pi rho_s rs^3 [ln(x/2) + F(x)]`` with ``x = R/rs`` and
    ``F = arccosh(1/x)/sqrt(1-x^2)`` (x < 1), ``arccos(1/x)/sqrt(x^2-1)`` (x > 1).
    """
    x = np.asarray(R, dtype=np.float64) / rs
    with np.errstate(invalid="ignore", divide="ignore"):
        f_lo = np.arccosh(1.0 / np.minimum(x, 1.0)) / np.sqrt(1.0 - np.minimum(x, 1.0) ** 2)
        f_hi = np.arccos(1.0 / np.maximum(x, 1.0)) / np.sqrt(np.maximum(x, 1.0) ** 2 - 1.0)
    F = np.where(x < 1.0, f_lo, np.where(x > 1.0, f_hi, 1.0))
    return 4.0 * np.pi * rho_s * rs**3 * (np.log(x / 2.0) + F)


def nfw_delta_sigma_annulus(rbins, mass, rdelta, conc, *, n_quad=64):
    """Annulus-averaged Delta Sigma [h Msun / pc^2] of truncated NFW spheres, shape (..., nR).

    Parameters
    ----------
    rbins : array (nR + 1,)
        Projected-radius bin edges [Mpc/h].
    mass, rdelta, conc : arrays of a common shape (...)
        Halo mass [Msun/h], truncation radius [Mpc/h] and concentration.
    n_quad : int
        Gauss-Legendre nodes in ln R per annulus.
    """
    rbins = np.asarray(rbins, dtype=np.float64)
    mass, rdelta, conc = np.broadcast_arrays(*(np.asarray(a, dtype=np.float64) for a in (mass, rdelta, conc)))
    gx, gw = np.polynomial.legendre.leggauss(n_quad)
    lo, hi = np.log(rbins[:-1]), np.log(rbins[1:])
    lnR = 0.5 * (hi - lo)[:, None] * (gx + 1.0) + lo[:, None]  # (nR, q)
    ext = (Ellipsis,) + (None,) * 2
    m2d = nfw_projected_mass(np.exp(lnR), mass[ext], rdelta[ext], conc[ext])  # (..., nR, q)
    int_term = 2.0 * 0.5 * (hi - lo) * np.sum(gw * m2d, axis=-1)  # 2 int M2d dR/R
    edge = nfw_projected_mass(rbins, mass[..., None], rdelta[..., None], conc[..., None])
    area = np.pi * (rbins[1:] ** 2 - rbins[:-1] ** 2)
    return (int_term - (edge[..., 1:] - edge[..., :-1])) / area / 1e12
