"""What to predict: stellar-mass samples and the binning of the SMF, w_p and Delta Sigma.

A :class:`StatsConfig` is a NamedTuple of plain tuples and floats, so it is
hashable and can be a static argument of ``jax.jit``. It names

* ``smf_edges``: log10 M* [Msun] bin edges of the stellar mass function (Eq. 7);
* ``samples``: the galaxy samples (:class:`Sample`) whose w_p (Eqs. 13-17) and
  Delta Sigma (Eq. 11) are predicted, each a threshold (log10 M* >= lo) or a
  bin (lo <= log10 M* < hi);
* ``rp_edges`` [Mpc/h] and ``pi_max`` [Mpc/h]: the projected-separation bins
  and the line-of-sight half-depth of w_p;
* ``ds_rbins`` [Mpc/h]: the Delta Sigma radial bins, ``None`` for the
  catalog's own lensing bins (``catalog.lensing.rbins``), ``()`` for no Delta
  Sigma; otherwise a subset of the catalog's edges (annuli are merged exactly,
  area-weighted, see :mod:`shaminfer.stats.lensing`);
* ``los_axis``: the box axis used as the line of sight of w_p;
* ``smf_colors``: colours (``"red"``, ``"blue"``, ``"all"``) whose SMFs are
  predicted besides the total one (``Predictions.smf_color``), for models
  with quenching (:mod:`shaminfer.galaxy_halo`).

A sample's ``color`` is ``"all"`` (every galaxy) or, for a model with
quenching, ``"red"`` (quenched) or ``"blue"``: its weights are the triweight
weights times P(quenched) or 1 - P(quenched).

An empty ``smf_edges``, ``samples`` or ``rp_edges`` switches that statistic off
(its field of :class:`~shaminfer.stats.predict.Predictions` is then empty).
:func:`check_config` validates a configuration against a catalog once, at
the shell, before anything is traced.
"""
from __future__ import annotations

import math
from typing import NamedTuple, Optional

import numpy as np

__all__ = [
    "SAMPLE_KINDS",
    "SAMPLE_COLORS",
    "Sample",
    "StatsConfig",
    "threshold_sample",
    "bin_sample",
    "make_config",
    "DEFAULT_STATS_CONFIG",
    "check_config",
    "ds_bin_edges",
]

SAMPLE_KINDS = ("threshold", "bin")
SAMPLE_COLORS = ("all", "red", "blue")


class Sample(NamedTuple):
    """A galaxy sample selected on log10 M* [Msun].

    Attributes
    ----------
    kind : str
        ``"threshold"`` (log10 M* >= lo) or ``"bin"`` (lo <= log10 M* < hi).
    lo, hi : float
        log10 M* [Msun]; ``hi`` is ``inf`` for a threshold.
    color : str
        ``"all"``, ``"red"`` (quenched) or ``"blue"`` (star-forming).
    """

    kind: str
    lo: float
    hi: float = math.inf
    color: str = "all"


class StatsConfig(NamedTuple):
    """Binning of the predicted statistics (hashable; jit-static). See the module docstring."""

    smf_edges: tuple = ()
    samples: tuple = ()
    rp_edges: tuple = ()
    pi_max: float = 40.0
    ds_rbins: Optional[tuple] = None
    los_axis: int = 2
    smf_colors: tuple = ()


def threshold_sample(lo: float, *, color: str = "all") -> Sample:
    """The sample log10 M* >= ``lo`` [Msun] (of galaxies of ``color``)."""
    return Sample("threshold", float(lo), math.inf, str(color))


def bin_sample(lo: float, hi: float, *, color: str = "all") -> Sample:
    """The sample ``lo <= log10 M* < hi`` [Msun] (of galaxies of ``color``)."""
    return Sample("bin", float(lo), float(hi), str(color))


def _as_tuple(name: str, value) -> tuple:
    if value is None:
        return ()
    try:
        arr = np.asarray(value, dtype=np.float64).ravel()
    except (TypeError, ValueError):
        raise ValueError(f"{name}: expected a sequence of real numbers, found {value!r}") from None
    return tuple(float(v) for v in arr)


def make_config(*, smf_edges=(), samples=(), rp_edges=(), pi_max=40.0, ds_rbins=None, los_axis=2,
                smf_colors=()) -> StatsConfig:
    """Build a :class:`StatsConfig` from arrays or sequences (converted to tuples of floats).

    ``samples`` may hold :class:`Sample` or ``(kind, lo[, hi])`` tuples.
    Nothing is validated here; call :func:`check_config` with the catalog.
    """
    samp = []
    for s in samples:
        s = Sample(*s) if not isinstance(s, Sample) else s
        samp.append(Sample(str(s.kind), float(s.lo), float(s.hi), str(s.color)))
    return StatsConfig(
        smf_edges=_as_tuple("smf_edges", smf_edges),
        samples=tuple(samp),
        rp_edges=_as_tuple("rp_edges", rp_edges),
        pi_max=float(pi_max),
        ds_rbins=None if ds_rbins is None else _as_tuple("ds_rbins", ds_rbins),
        los_axis=int(los_axis),
        smf_colors=tuple(str(c) for c in smf_colors),
    )


#: SMF in 25 bins over 9 < log10 M* < 11.5 (Sec. 4.1 uses 50 over the same range), the threshold
#: samples log10 M* >= 10.5 and >= 11 (Sec. 4.2-4.3), w_p in 15 log bins over 0.1 < r_p < 20 Mpc/h with
#: pi_max = 40 Mpc/h, and Delta Sigma in the catalog's lensing bins.
DEFAULT_STATS_CONFIG = make_config(
    smf_edges=np.linspace(9.0, 11.5, 26),
    samples=(threshold_sample(10.5), threshold_sample(11.0)),
    rp_edges=np.logspace(-1.0, np.log10(20.0), 16),
    pi_max=40.0,
)


def _check_edges(name: str, edges: tuple, *, unit: str, positive: bool = False) -> np.ndarray:
    arr = np.asarray(edges, dtype=np.float64)
    if arr.size == 0:
        return arr
    if arr.size < 2:
        raise ValueError(f"{name}: expected at least 2 bin edges (or none to switch it off), found {arr.size}")
    bad = ~np.isfinite(arr)
    if bad.any():
        raise ValueError(f"{name}: expected finite edges [{unit}], found {int(bad.sum())} non-finite in {list(edges)}")
    steps = np.diff(arr) <= 0
    if steps.any():
        raise ValueError(
            f"{name}: expected strictly increasing edges [{unit}], found {int(steps.sum())} non-increasing "
            f"step(s) in {list(edges)}"
        )
    if positive and arr[0] <= 0:
        raise ValueError(f"{name}: expected a first edge > 0 [{unit}], found {arr[0]!r}")
    return arr


def ds_bin_edges(config: StatsConfig, catalog) -> np.ndarray:
    """Delta Sigma bin edges [Mpc/h] used for ``config`` on ``catalog`` (empty when none)."""
    lensing = getattr(catalog, "lensing", None)
    if config.ds_rbins is None:
        return np.asarray(lensing.rbins, dtype=np.float64) if lensing is not None else np.zeros(0)
    return np.asarray(config.ds_rbins, dtype=np.float64)


def check_config(config: StatsConfig, catalog) -> None:
    """Validate ``config`` against ``catalog`` once, at the shell.

    Checks: strictly increasing finite edges; samples of a known kind with
    finite bounds (``hi`` > ``lo`` for a bin, ``hi`` = inf for a threshold);
    ``0 < rp_edges[0]``, ``rp_edges[-1] < L/2`` and, when w_p is asked for,
    ``0 < pi_max < L/2`` (so every pair has one periodic image within reach); ``ds_rbins`` a subset of
    the catalog's lensing bin edges; ``los_axis`` in {0, 1, 2}.

    Raises
    ------
    ValueError
        Naming the field, what was expected, what was found and how many entries are bad.
    """
    if not isinstance(config, StatsConfig):
        raise ValueError(f"config: expected a StatsConfig, found {type(config).__name__}")
    box = float(catalog.box_size)
    _check_edges("config.smf_edges", config.smf_edges, unit="log10 Msun")
    for i, s in enumerate(config.samples):
        if not isinstance(s, Sample):
            raise ValueError(f"config.samples[{i}]: expected a Sample(kind, lo, hi, color), found {s!r}")
        if s.color not in SAMPLE_COLORS:
            raise ValueError(f"config.samples[{i}].color: expected one of {SAMPLE_COLORS}, found {s.color!r}")
        if s.kind not in SAMPLE_KINDS:
            raise ValueError(f"config.samples[{i}].kind: expected one of {SAMPLE_KINDS}, found {s.kind!r}")
        if not np.isfinite(s.lo):
            raise ValueError(f"config.samples[{i}].lo: expected a finite log10 M* [Msun], found {s.lo!r}")
        if s.kind == "bin" and not (np.isfinite(s.hi) and s.hi > s.lo):
            raise ValueError(f"config.samples[{i}].hi: expected a finite value above lo={s.lo!r} for a bin, "
                             f"found {s.hi!r}")
        if s.kind == "threshold" and s.hi != math.inf:
            raise ValueError(f"config.samples[{i}].hi: expected inf for a threshold sample, found {s.hi!r}")
    for c in config.smf_colors:
        if c not in SAMPLE_COLORS:
            raise ValueError(f"config.smf_colors: expected colours from {SAMPLE_COLORS}, found {c!r}")
    if config.smf_colors and not config.smf_edges:
        raise ValueError(f"config.smf_colors: asks for {list(config.smf_colors)} but smf_edges is empty")
    rp = _check_edges("config.rp_edges", config.rp_edges, unit="Mpc/h", positive=True)
    if rp.size and rp[-1] >= 0.5 * box:
        raise ValueError(f"config.rp_edges: expected the last edge below box_size/2 = {0.5 * box:g} Mpc/h, "
                         f"found {rp[-1]:g}")
    pi_max = float(config.pi_max)
    if rp.size and not (np.isfinite(pi_max) and 0.0 < pi_max < 0.5 * box):
        raise ValueError(f"config.pi_max: expected 0 < pi_max < box_size/2 = {0.5 * box:g} Mpc/h, found {pi_max!r}")
    if config.los_axis not in (0, 1, 2) or isinstance(config.los_axis, bool):
        raise ValueError(f"config.los_axis: expected 0, 1 or 2, found {config.los_axis!r}")
    if config.ds_rbins is not None:
        ds = _check_edges("config.ds_rbins", config.ds_rbins, unit="Mpc/h", positive=True)
        lensing = getattr(catalog, "lensing", None)
        if ds.size and lensing is None:
            raise ValueError("config.ds_rbins: expected a catalog with lensing profiles, found catalog.lensing None")
        if ds.size:
            cat = np.asarray(lensing.rbins, dtype=np.float64)
            match = np.isclose(ds[:, None], cat[None, :], rtol=1e-9, atol=0.0).any(axis=1)
            if not match.all():
                raise ValueError(
                    f"config.ds_rbins: expected edges taken from the catalog's lensing bins "
                    f"[{cat[0]:g}, {cat[-1]:g}] Mpc/h ({cat.size} edges), found {int((~match).sum())} edge(s) "
                    f"that are not catalog edges: {ds[~match].tolist()}"
                )
