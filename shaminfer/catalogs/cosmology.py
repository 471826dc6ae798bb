"""Cosmology of the synthetic universe, via colossus (power spectrum, bias, concentration).

The default is colossus' ``"multidark-planck"`` parameter set (flat LCDM,
H0 = 67.77, Om0 = 0.3071, Ob0 = 0.0482, sigma8 = 0.8288, ns = 0.96), the
cosmology of the Bolshoi-Planck simulation to which the App. A subhalo mass
function is calibrated. colossus keeps its cosmology as global state, so every
call here sets the requested cosmology, does its work, and restores whatever
was current before (no hidden state leaks out of this module); persistence is
off, so nothing is written under the home directory.

Units (all comoving): k in h/Mpc, P(k) in (Mpc/h)^3, rho_m in Msun/h
(Mpc/h)^-3, halo masses M_200m in Msun/h.
"""
from __future__ import annotations

import contextlib
import warnings

import numpy as np

__all__ = [
    "DEFAULT_COSMOLOGY",
    "using_cosmology",
    "mean_matter_density",
    "linear_power",
    "halo_bias",
    "halo_concentration",
]

#: colossus name of the default cosmology (Bolshoi-Planck / MultiDark-Planck).
DEFAULT_COSMOLOGY = "multidark-planck"


@contextlib.contextmanager
def using_cosmology(name: str = DEFAULT_COSMOLOGY):
    """Context manager yielding the colossus ``Cosmology`` ``name``, restoring the previous one on exit."""
    from colossus.cosmology import cosmology

    try:
        previous = cosmology.getCurrent()
    except Exception:  # colossus raises when no cosmology was ever set
        previous = None
    cosmo = cosmology.setCosmology(name, persistence="")
    try:
        yield cosmo
    finally:
        if previous is not None:
            cosmology.setCurrent(previous)


def mean_matter_density(name: str = DEFAULT_COSMOLOGY) -> float:
    """Comoving mean matter density ``rho_m`` [Msun/h (Mpc/h)^-3] (colossus gives Msun h^2 / kpc^3)."""
    with using_cosmology(name) as cosmo:
        return float(cosmo.rho_m(0.0)) * 1e9


def linear_power(k, redshift: float, name: str = DEFAULT_COSMOLOGY) -> np.ndarray:
    """Linear matter power spectrum ``P(k, z)`` [(Mpc/h)^3] at wavenumbers ``k`` [h/Mpc] (Eisenstein-Hu)."""
    with using_cosmology(name) as cosmo:
        return np.asarray(cosmo.matterPowerSpectrum(np.asarray(k, dtype=np.float64), float(redshift)))


def _on_grid(fn, logm, lo=9.0, hi=16.5, n=76):
    grid = np.linspace(lo, hi, n)
    return np.interp(np.asarray(logm, dtype=np.float64), grid, fn(10.0**grid))


def halo_bias(logm, redshift: float, name: str = DEFAULT_COSMOLOGY) -> np.ndarray:
    """Linear halo bias ``b(M_200m, z)`` of Tinker et al. (2010), interpolated on a grid in log10 M [Msun/h]."""
    from colossus.lss import bias

    with using_cosmology(name):
        return _on_grid(lambda m: bias.haloBias(m, float(redshift), "200m", model="tinker10"), logm)


def halo_concentration(logm, redshift: float, name: str = DEFAULT_COSMOLOGY) -> np.ndarray:
    """Median ``c_200m(M_200m, z)`` of Diemer & Joyce (2019), interpolated on a grid in log10 M [Msun/h].

    Masses where the model is undefined (colossus returns a negative value)
    are given the nearest valid value.
    """
    from colossus.halo import concentration

    def conc(m):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            c = np.asarray(concentration.concentration(m, "200m", float(redshift), model="diemer19"), dtype=float)
        ok = c > 0
        if not ok.any():
            raise ValueError(f"redshift: the diemer19 concentration model is undefined at z={redshift!r}")
        idx = np.arange(c.size)
        return np.interp(idx, idx[ok], c[ok])

    with using_cosmology(name):
        return _on_grid(conc, logm)
