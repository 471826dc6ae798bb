"""Validated containers for a subhalo catalog and its per-object lensing profiles.

A :class:`SubhaloCatalog` is the input of every prediction in the package
(Sec. 4): subhalo positions in a periodic box, ``log10 Mpeak`` (the SHAM
mass proxy, App. A), the host/satellite structure and the matter that lenses,
either as dark-matter particles or as precomputed per-object Delta Sigma
profiles (:class:`LensingProfiles`, App. F, Eq. F4).

Both containers are frozen and validated once, at construction (the shell of
the package): every array is checked for shape, dtype, finiteness and range,
and a ``ValueError`` names the field, what was expected, what was found and
how many rows are bad. Nothing is dropped or repaired silently. The arrays
are stored as read-only copies.

Units: positions in comoving Mpc/h, masses in Msun/h, Delta Sigma in
h Msun / pc^2 (comoving), radii in comoving Mpc/h.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Mapping, Optional

import numpy as np

__all__ = [
    "LOGMPEAK_RANGE",
    "REDSHIFT_RANGE",
    "LensingProfiles",
    "SubhaloCatalog",
]

#: Accepted range of log10 Mpeak [Msun/h]; anything outside is almost surely a unit error.
LOGMPEAK_RANGE = (6.0, 17.0)
#: Accepted range of the snapshot redshift.
REDSHIFT_RANGE = (0.0, 20.0)


def _frozen(arr: np.ndarray) -> np.ndarray:
    arr.setflags(write=False)
    return arr


def _as_float_array(name: str, value, *, shape_tail: tuple, what: str) -> np.ndarray:
    """Copy ``value`` to a C-contiguous float64 array, checking ndim, trailing shape and finiteness."""
    try:
        arr = np.array(value, dtype=np.float64, copy=True, order="C")
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name}: expected {what}, found an object that is not a float array ({exc})") from None
    ndim = 1 + len(shape_tail)
    if arr.ndim != ndim or arr.shape[1:] != shape_tail:
        raise ValueError(f"{name}: expected {what}, found shape {arr.shape}")
    bad = ~np.isfinite(arr)
    if bad.any():
        nrow = int(bad.reshape(arr.shape[0], -1).any(axis=1).sum()) if arr.ndim > 1 else int(bad.sum())
        raise ValueError(f"{name}: expected finite values, found {nrow} row(s) with NaN or inf")
    return arr


def _as_int_array(name: str, value, *, what: str) -> np.ndarray:
    arr = np.asarray(value)
    if arr.ndim != 1:
        raise ValueError(f"{name}: expected {what}, found shape {arr.shape}")
    if arr.size and not np.issubdtype(arr.dtype, np.integer):
        if np.issubdtype(arr.dtype, np.floating) and np.all(np.isfinite(arr)) and np.all(arr == np.round(arr)):
            pass  # integral floats (e.g. from a text file) are accepted
        else:
            raise ValueError(f"{name}: expected {what} (integers), found dtype {arr.dtype}")
    return np.array(arr, dtype=np.int64, copy=True)


def _check_scalar(name: str, value, lo: float, hi: float, *, lo_open: bool = False, unit: str = "") -> float:
    try:
        val = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name}: expected a real number, found {value!r}") from None
    bad = not np.isfinite(val) or val > hi or (val <= lo if lo_open else val < lo)
    if bad:
        left = "(" if lo_open else "["
        raise ValueError(f"{name}: expected a finite value in {left}{lo}, {hi}]{unit}, found {value!r}")
    return val


def _check_in_box(name: str, pos: np.ndarray, box_size: float) -> None:
    out = (pos < 0.0) | (pos >= box_size)
    if out.any():
        rows = out.any(axis=1)
        raise ValueError(
            f"{name}: expected coordinates in [0, box_size={box_size:g}) Mpc/h, found {int(rows.sum())} row(s) "
            f"outside (min {pos.min():.6g}, max {pos.max():.6g}); wrap periodic positions with x % box_size first"
        )


def _checked_property(name, value, n: int) -> np.ndarray:
    if not isinstance(name, str) or not name.isidentifier():
        raise ValueError(f"properties: expected identifier names (letters, digits, _), found {name!r}")
    arr = np.asarray(value)
    if arr.ndim != 1 or arr.shape[0] != n:
        raise ValueError(f"properties[{name!r}]: expected {n} values (one per row of pos), found shape {arr.shape}")
    if np.issubdtype(arr.dtype, np.integer) or arr.dtype == bool:
        return _frozen(np.array(arr, dtype=np.int64, copy=True))
    arr = _as_float_array(f"properties[{name!r}]", arr, shape_tail=(), what=f"an array of shape (N={n},)")
    return _frozen(arr)


def _checked_region(region, box: float, ppos) -> tuple:
    try:
        axis, lo, hi = region
        axis, lo, hi = int(axis), float(lo), float(hi)
    except (TypeError, ValueError):
        raise ValueError(f"particle_region: expected (axis, lo, hi) or None, found {region!r}") from None
    if ppos is None:
        raise ValueError("particle_region: given without particle_pos")
    if axis not in (0, 1, 2) or not (np.isfinite(lo) and np.isfinite(hi) and lo < hi and hi - lo <= box
                                     and -box < lo < box):
        raise ValueError(f"particle_region: expected an axis in 0..2 and -box_size < lo < hi <= lo + box_size "
                         f"(box_size = {box:g} Mpc/h), found {region!r}")
    outside = ((ppos[:, axis] - lo) % box) >= (hi - lo)
    if outside.any():
        raise ValueError(f"particle_pos: expected particles inside particle_region [{lo:g}, {hi:g}) along axis "
                         f"{axis}, found {int(outside.sum())} outside")
    return axis, lo, hi


@dataclass(frozen=True, eq=False)
class LensingProfiles:
    """Per-object annulus-averaged Delta Sigma profiles (App. F, Eq. F4).

    Parameters
    ----------
    rbins : array (nR + 1,)
        Strictly increasing, positive projected-radius bin edges [Mpc/h, comoving].
    index : int array (M,)
        Distinct indices into the parent :class:`SubhaloCatalog` of the objects
        that have a profile.
    delta_sigma : array (M, nR)
        ``<Delta Sigma>`` averaged over each annulus ``[rbins[j], rbins[j+1])``
        [h Msun / pc^2, comoving], row ``i`` for object ``index[i]``.
    los_axis : int
        Box axis (0, 1 or 2) used as the line of sight; the profile integrates
        the full periodic depth along it.
    """

    rbins: np.ndarray
    index: np.ndarray
    delta_sigma: np.ndarray
    los_axis: int = 2

    def __post_init__(self):
        rbins = _as_float_array("lensing.rbins", self.rbins, shape_tail=(), what="a 1-d array of radial bin edges")
        if rbins.size < 2:
            raise ValueError(f"lensing.rbins: expected at least 2 bin edges, found {rbins.size}")
        if rbins[0] <= 0.0:
            raise ValueError(f"lensing.rbins: expected positive edges [Mpc/h], found first edge {rbins[0]!r}")
        nonincr = np.diff(rbins) <= 0
        if nonincr.any():
            raise ValueError(f"lensing.rbins: expected strictly increasing edges, found {int(nonincr.sum())} "
                             f"non-increasing step(s) in {rbins.tolist()}")
        index = _as_int_array("lensing.index", self.index, what="a 1-d array of catalog indices")
        if index.size and np.unique(index).size != index.size:
            raise ValueError(f"lensing.index: expected distinct catalog indices, found "
                             f"{index.size - np.unique(index).size} duplicate(s)")
        if index.size and index.min() < 0:
            raise ValueError(f"lensing.index: expected indices >= 0, found {int((index < 0).sum())} negative")
        nR = rbins.size - 1
        ds = _as_float_array("lensing.delta_sigma", self.delta_sigma, shape_tail=(nR,),
                             what=f"an array of shape (M, nR={nR}) [h Msun / pc^2]")
        if ds.shape[0] != index.size:
            raise ValueError(f"lensing.delta_sigma: expected {index.size} rows (one per lensing.index), "
                             f"found {ds.shape[0]}")
        if self.los_axis not in (0, 1, 2) or isinstance(self.los_axis, bool):
            raise ValueError(f"lensing.los_axis: expected 0, 1 or 2, found {self.los_axis!r}")
        object.__setattr__(self, "rbins", _frozen(rbins))
        object.__setattr__(self, "index", _frozen(index))
        object.__setattr__(self, "delta_sigma", _frozen(ds))
        object.__setattr__(self, "los_axis", int(self.los_axis))

    @property
    def n_radii(self) -> int:
        """Number of radial bins ``nR``."""
        return self.rbins.size - 1

    @property
    def rmid(self) -> np.ndarray:
        """Geometric bin centres [Mpc/h], shape (nR,)."""
        return np.sqrt(self.rbins[1:] * self.rbins[:-1])


@dataclass(frozen=True, eq=False)
class SubhaloCatalog:
    """A validated, immutable catalog of simulated subhalos in a periodic box.

    Parameters
    ----------
    pos : array (N, 3)
        Comoving positions [Mpc/h] in ``[0, box_size)``.
    logmpeak : array (N,)
        ``log10 Mpeak`` [Msun/h], within :data:`LOGMPEAK_RANGE`.
    box_size : float
        Side ``L`` of the periodic box [Mpc/h].
    redshift : float
        Snapshot redshift.
    host_index : int array (N,) or None
        ``-1`` for a central (host) halo, otherwise the row of its host, which
        must itself be a central.
    particle_pos : array (Np, 3) or None
        Dark-matter particle positions [Mpc/h] in ``[0, box_size)``.
    particle_mass : float or None
        Mass of one particle [Msun/h]; given iff ``particle_pos`` is.
    particle_region : tuple (axis, lo, hi) or None
        None: the particles fill the box. Otherwise they are only those of the
        periodic interval ``[lo, hi)`` [Mpc/h] along ``axis`` (``lo`` may be
        negative and ``hi`` above ``box_size``): one MPI rank's slab and its
        ghost zones (:func:`shaminfer.catalogs.io.load_catalog` under MPI).
    lensing : LensingProfiles or None
        Precomputed per-object Delta Sigma profiles (App. F).
    meta : mapping str -> str | int | float | bool
        Free-form provenance (e.g. ``origin="synthetic_universe"``).
    properties : mapping str -> array (N,)
        Named per-subhalo columns beyond the ones above: halo ids, a host mass,
        a stripping proxy, any column a loader was asked to keep. Each is a
        finite 1-d float64 or int64 array with one value per row; names are
        identifiers (letters, digits, ``_``), as read from the source.

    Raises
    ------
    ValueError
        Naming the field, what was expected, what was found and how many rows are bad.
    """

    pos: np.ndarray
    logmpeak: np.ndarray
    box_size: float
    redshift: float = 0.0
    host_index: Optional[np.ndarray] = None
    particle_pos: Optional[np.ndarray] = None
    particle_mass: Optional[float] = None
    lensing: Optional[LensingProfiles] = None
    particle_region: Optional[tuple] = None
    meta: Mapping = field(default_factory=dict)
    properties: Mapping = field(default_factory=dict)

    def __post_init__(self):
        box = _check_scalar("box_size", self.box_size, 0.0, 1e5, lo_open=True, unit=" Mpc/h")
        z = _check_scalar("redshift", self.redshift, *REDSHIFT_RANGE)
        pos = _as_float_array("pos", self.pos, shape_tail=(3,), what="an array of shape (N, 3) [Mpc/h]")
        _check_in_box("pos", pos, box)
        n = pos.shape[0]
        logm = _as_float_array("logmpeak", self.logmpeak, shape_tail=(), what=f"an array of shape (N={n},)")
        if logm.shape[0] != n:
            raise ValueError(f"logmpeak: expected {n} values (one per row of pos), found {logm.shape[0]}")
        lo, hi = LOGMPEAK_RANGE
        out = (logm < lo) | (logm > hi)
        if out.any():
            raise ValueError(f"logmpeak: expected log10 Mpeak [Msun/h] in [{lo}, {hi}], found {int(out.sum())} "
                             f"row(s) outside (min {logm.min():.4g}, max {logm.max():.4g}); "
                             "pass log10 of Mpeak in Msun/h")
        object.__setattr__(self, "box_size", box)
        object.__setattr__(self, "redshift", z)
        object.__setattr__(self, "pos", _frozen(pos))
        object.__setattr__(self, "logmpeak", _frozen(logm))

        if self.host_index is not None:
            host = _as_int_array("host_index", self.host_index, what=f"an array of shape (N={n},)")
            if host.shape[0] != n:
                raise ValueError(f"host_index: expected {n} values (one per row of pos), found {host.shape[0]}")
            bad = (host < -1) | (host >= n)
            if bad.any():
                raise ValueError(f"host_index: expected -1 (central) or a row in [0, {n}), found {int(bad.sum())} "
                                 "row(s) outside")
            sat = np.flatnonzero(host >= 0)
            selfref = host[sat] == sat
            if selfref.any():
                raise ValueError(f"host_index: expected satellites to point at another row, found "
                                 f"{int(selfref.sum())} row(s) pointing at themselves")
            nested = host[host[sat]] != -1
            if nested.any():
                raise ValueError(f"host_index: expected every host to be a central (host_index[host] == -1), "
                                 f"found {int(nested.sum())} satellite(s) whose host is itself a satellite")
            object.__setattr__(self, "host_index", _frozen(host))

        if (self.particle_pos is None) != (self.particle_mass is None):
            raise ValueError("particle_pos / particle_mass: expected both or neither, found only "
                             + ("particle_pos" if self.particle_pos is not None else "particle_mass"))
        if self.particle_pos is not None:
            ppos = _as_float_array("particle_pos", self.particle_pos, shape_tail=(3,),
                                   what="an array of shape (Np, 3) [Mpc/h]")
            _check_in_box("particle_pos", ppos, box)
            mp = _check_scalar("particle_mass", self.particle_mass, 0.0, 1e18, lo_open=True, unit=" Msun/h")
            object.__setattr__(self, "particle_pos", _frozen(ppos))
            object.__setattr__(self, "particle_mass", mp)
        if self.particle_region is not None:
            object.__setattr__(self, "particle_region", _checked_region(self.particle_region, box,
                                                                         self.particle_pos))

        if self.lensing is not None:
            if not isinstance(self.lensing, LensingProfiles):
                raise ValueError(f"lensing: expected a LensingProfiles or None, found {type(self.lensing).__name__}")
            idx = self.lensing.index
            bad = idx >= n
            if bad.any():
                raise ValueError(f"lensing.index: expected indices in [0, {n}), found {int(bad.sum())} outside")
            if self.lensing.rbins[-1] >= 0.5 * box:
                raise ValueError(f"lensing.rbins: expected the outer edge below box_size/2 = {0.5 * box:g} Mpc/h, "
                                 f"found {self.lensing.rbins[-1]:g}")

        props = {}
        for name, value in dict(self.properties).items():
            props[name] = _checked_property(name, value, n)
        object.__setattr__(self, "properties", MappingProxyType(props))

        meta = dict(self.meta)
        for key, val in meta.items():
            if not isinstance(key, str) or not isinstance(val, (str, int, float, bool, np.integer, np.floating)):
                raise ValueError(f"meta: expected str keys and str/int/float/bool values, found {key!r}: "
                                 f"{type(val).__name__}")
        object.__setattr__(self, "meta", MappingProxyType(meta))

    # ------------------------------------------------------------------ helpers
    @property
    def n(self) -> int:
        """Number of subhalos ``N``."""
        return self.pos.shape[0]

    @property
    def volume(self) -> float:
        """Box volume [(Mpc/h)^3]."""
        return self.box_size**3

    @property
    def is_central(self) -> np.ndarray:
        """Bool array (N,): True for centrals (all True when ``host_index`` is None)."""
        if self.host_index is None:
            return np.ones(self.n, dtype=bool)
        return self.host_index < 0

    def require_property(self, name: str, *, needed_by: str = "") -> np.ndarray:
        """The per-subhalo column ``name``; a ``ValueError`` naming what the catalog has when it is absent."""
        if name not in self.properties:
            who = f"{needed_by} needs " if needed_by else "expected "
            raise ValueError(f"properties: {who}the per-subhalo property {name!r}, which this catalog "
                             f"({self.meta.get('origin', 'unknown origin')}) lacks; it has "
                             f"{sorted(self.properties) or 'none'}")
        return self.properties[name]

    def replace(self, **changes) -> "SubhaloCatalog":
        """Return a new, re-validated catalog with some fields changed."""
        return dataclasses.replace(self, **changes)

    def __repr__(self) -> str:  # arrays would flood the terminal
        parts = [f"n={self.n}", f"box_size={self.box_size:g}", f"redshift={self.redshift:g}"]
        if self.host_index is not None:
            parts.append(f"satellites={int((self.host_index >= 0).sum())}")
        if self.particle_pos is not None:
            parts.append(f"particles={self.particle_pos.shape[0]} x {self.particle_mass:.4g} Msun/h")
            if self.particle_region is not None:
                parts.append(f"particle_region={self.particle_region}")
        if self.lensing is not None:
            parts.append(f"lensing={self.lensing.index.size} x {self.lensing.n_radii} bins")
        if self.properties:
            parts.append(f"properties={sorted(self.properties)}")
        if "origin" in self.meta:
            parts.append(f"origin={self.meta['origin']!r}")
        return f"SubhaloCatalog({', '.join(parts)})"
