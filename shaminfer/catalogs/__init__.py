"""Subhalo catalogs: the validated container, a synthetic default universe, loaders and App. F lensing.

* :class:`SubhaloCatalog`, :class:`LensingProfiles` -- frozen, validated containers (``catalog``).
* :func:`synthetic_universe`, :func:`small_test_universe` -- the SYNTHETIC offline universe (``synthetic``).
* :func:`save_catalog`, :func:`load_catalog` -- our NPZ / HDF5 schema, :func:`load_particles` (``io``);
  :func:`load_hlist` (Rockstar / ConsistentTrees ASCII, ``hlist``);
  :func:`load_halotools_catalog` (halotools cached HDF5, ``halotools``).
* :func:`delta_sigma_per_object`, :func:`lensing_profiles` -- per-object Delta Sigma, Eq. F4 (``lensing``).
"""
from .catalog import LOGMPEAK_RANGE, REDSHIFT_RANGE, LensingProfiles, SubhaloCatalog
from .halotools import load_halotools_catalog
from .hlist import load_hlist, read_hlist_header
from .io import load_catalog, load_particles, save_catalog
from .lensing import DEFAULT_RBINS, default_rbins, delta_sigma_per_object, lensing_profiles
from .synthetic import (
    DEFAULT_UNIVERSE_PARAMS,
    SMALL_TEST_UNIVERSE_PARAMS,
    UniverseParams,
    satellite_fraction,
    small_test_universe,
    synthetic_universe,
)

__all__ = [
    "LOGMPEAK_RANGE", "REDSHIFT_RANGE", "LensingProfiles", "SubhaloCatalog",
    "load_catalog", "load_particles", "save_catalog", "load_hlist", "read_hlist_header", "load_halotools_catalog",
    "DEFAULT_RBINS", "default_rbins", "delta_sigma_per_object", "lensing_profiles",
    "DEFAULT_UNIVERSE_PARAMS", "SMALL_TEST_UNIVERSE_PARAMS", "UniverseParams", "satellite_fraction",
    "small_test_universe", "synthetic_universe",
]
