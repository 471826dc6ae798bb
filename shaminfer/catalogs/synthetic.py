"""A synthetic default universe: an offline stand-in for a real N-body subhalo catalog.

THIS CATALOG IS SYNTHETIC. It is not a simulation: no particle was ever
evolved under gravity. It is built to have, by construction, the properties
the SHAM predictions rely on, so the package works out of the box:

1. **Subhalo mass function (App. A).** The number of subhalos with
   ``log10 Mpeak >= logmpeak_min`` is Poisson with mean ``V N_h(> m_min)``
   (``shaminfer.ingredients.cumulative_shmf`` at the catalog redshift), and
   each ``log10 Mpeak`` is drawn by inverse transform of ``N_h(> m)``. The
   catalog's cumulative mass function therefore matches App. A within Poisson
   errors, and ``Mpeak`` is used throughout as an ``M_200m``-like mass.
2. **Centrals and satellites.** Each subhalo is a satellite with probability
   ``f_sat(m) = f_sat_max * clip((m_sat_zero - m) / (m_sat_zero - m_sat_max), 0, 1)``
   (defaults: 0.3 at ``m <= 11``, 0.2 at 12, 0.1 at 13, 0 at ``m >= 14``).
   A satellite joins a central at least ``host_gap_dex`` more massive, chosen
   with probability proportional to the host mass; the few massive satellites
   with no such host become centrals (counted in ``meta``). Satellites sit at
   an NFW-distributed offset (truncated at the host ``R_200m``, median
   Diemer & Joyce 2019 concentration) from their host.
3. **Clustering: Lagrangian biasing + augmented Zel'dovich displacements** (:mod:`.lpt`). A Gaussian linear
   field ``delta_L`` with the colossus P(k) at the catalog redshift is drawn on an ``n_mesh^3`` mesh with
   fixed Fourier amplitudes (random phases only, Angulo & Pontzen 2016: far less sample variance in the
   two-point statistics of a 175 Mpc/h box). Centrals of mass M are drawn in Lagrangian space with
   probability ``exp(b_L delta_R)``, ``delta_R`` the field smoothed by a top-hat of 0.8 x the Lagrangian
   radius ``R_L = (3 M / 4 pi rho_m)^(1/3)`` (of the centre of M's ``_MASS_STEP`` bin) and
   ``b_L = b / A - 1``, ``b`` the Tinker et al. (2010) bias (steps of 0.02). Why this tracer: for a Gaussian
   field its correlation is ``exp(b_L^2 xi_R) - 1``, which is ``b_L^2 xi_L`` on scales where ``xi_R`` is
   small -- the linear bias with no pivot calibration, because a top-hat of radius R leaves modes with
   k << 1/R untouched -- and grows faster than linearly where ``b_L^2 xi_R`` approaches 1, as halo
   clustering in N-body simulations does between the one- and two-halo regimes. Smoothing on the full
   ``R_L`` erases that growth below about 2 R_L (w_p of Mpeak > 10^13 halos then has a shoulder of log
   slope -0.4 to -0.5 at 1-3 Mpc/h); ``0.8 R_L`` keeps enough of it (slope -0.6 to -1.3 over 0.3-20 Mpc/h)
   while the halo-matter excess it brings at 1-3 Mpc/h, which the stacked Delta Sigma integrates out to
   9 Mpc/h, stays within 15-20% of linear bias x the linear matter Delta Sigma (``0.5 R_L`` gives 1.4-1.5 x);
   all measured in ``benchmarks/catalog_validation.py``. Positions are scattered about the drawn mesh node by a tent
   kernel (a continuous, trilinear density) and moved by the displacement field (trilinear interpolation):
   Zel'dovich on scales above ``smoothing`` (Gaussian ``R_s``) and spherical collapse below (augmented LPT,
   Kitaura & Hess 2013; a node is collapsed if the field smoothed on 2, 3, 4 or 6 Mpc/h reaches 3/2,
   Neyrinck 2016), so the Eulerian bias is ``1 + b_L`` on large scales and collapsed regions fall together.
   ``A = 0.95`` absorbs the smearing of the field by the displacements (see ``_DISPLACED_AMPLITUDE``).
4. **Dark matter.** Particles of mass ``m_p ~= particle_mass`` (exactly
   ``rho_m V / N_p``) carry the mean matter density times the volume. Each
   central of mass M gets ``floor(M/m_p)`` (+1 with probability of the
   remainder) particles from its truncated NFW profile; the remaining
   particles are "diffuse": drawn in Lagrangian space like the centrals (cell-scale field, Lagrangian bias
   ``b_d / A - 1``) and moved by the same displacements, with the Eulerian
   linear bias ``b_d = (1 - f_h <b>_h) / (1 - f_h)`` that makes the total
   matter unbiased (``f_h``: halo mass fraction, ``<b>_h``: its mass-weighted
   bias). Satellites carry no particles of their own (their mass is inside
   the host's NFW sphere).
5. **Lensing.** Per-object Delta Sigma profiles (App. F, Eq. F4) for every
   subhalo with ``log10 Mpeak >= profile_logmpeak_min``.
6. **Per-subhalo properties** (``catalog.properties``). ``host_logmpeak``: ``log10 Mpeak`` [Msun/h] of the
   host halo, the subhalo's own for a central. ``vmax_frac``: the stripping proxy ``Vmax / Vpeak`` in (0, 1].
   Centrals: ``log10 vmax_frac = log10 0.95 + 0.03 eps``, clipped at 0 (Vpeak is a running maximum, so a
   central's Vmax sits a few percent below it after merger-driven peaks; about a quarter sit at 1). Satellites
   follow a bound mass fraction ``f = m / m_acc`` through the tidal track of cuspy NFW subhalos,
   ``Vmax / Vacc = 2^0.4 f^0.3 / (1 + f)^0.4`` (Penarrubia et al. 2010; used by Jiang & van den Bosch 2016),
   with ``Vacc ~= Vpeak``: Vmax falls much more slowly than the mass, as in the tidal stripping literature
   (van den Bosch et al. 2005, 2016; Jiang & van den Bosch 2016), and ``f <= 1`` keeps it at most 1.
   ``log10 f = -0.35 - 0.6 (1 - r / R_200m) - 0.25 (log10 M_host / Mpeak - 1) + 0.4 eps``, clipped into
   ``[-4, 0]`` (so ``vmax_frac >= 0.08``): subhalos near the host centre have spent longer inside the host
   and lost more mass (the retained fraction grows with host-centric radius), and at a large host-to-subhalo
   mass ratio dynamical friction is too slow to merge early-accreted subhalos, so the survivors have been
   stripped for longer; ``eps`` is a standard normal (orbits and infall times). With the NFW radii of item 2
   (median ``r / R_200m`` ~ 0.35) and a median mass ratio of 1.4-1.7 dex (50 and 175 Mpc/h boxes), the median
   satellite ``f`` is ~ 0.12 and its ``vmax_frac`` ~ 0.7 (0.57 in hosts above 10^14 Msun/h), 16-84% range
   ~ 0.5-0.9 and over 99% in 0.3-1 (about 5% at ``f = 1``, not yet stripped): Vmax / Vpeak ~ 0.6-0.9 for
   surviving subhalos, as in those papers. ``eps`` comes from a random stream of its own, so the other arrays
   do not depend on it.

The result is deterministic for a seed (independent random streams per stage
from ``numpy.random.SeedSequence``) and cached under the per-user cache
directory keyed by every parameter (see :mod:`shaminfer.catalogs.cache`).
"""
from __future__ import annotations

import sys
import time
from typing import NamedTuple

import numpy as np

from ..ingredients import DEFAULT_SHMF_PARAMS
from .cache import cache_dir, cache_key
from .catalog import LensingProfiles, SubhaloCatalog
from .cosmology import DEFAULT_COSMOLOGY, halo_bias, halo_concentration, linear_power, mean_matter_density
from .density_field import GaussianMesh, gaussian_mesh, sample_cells
from .io import load_catalog, save_catalog
from .lensing import DEFAULT_RBINS, delta_sigma_per_object
from .lpt import displace, positions_near_nodes, tophat_smoother, zeldovich_displacement
from .nfw import radius_200m, sample_nfw_offsets

__all__ = [
    "DEFAULT_UNIVERSE_PDICT",
    "UniverseParams",
    "DEFAULT_UNIVERSE_PARAMS",
    "SMALL_TEST_UNIVERSE_PARAMS",
    "satellite_fraction",
    "synthetic_universe",
    "small_test_universe",
    "build_universe",
]

_SCHEMA_VERSION = 5  # bump whenever the generator changes: it is part of the cache key
_LOGM_MAX = 16.5  # upper end of the inverse-transform grid; N_h(>16.5) V is negligible
_MASS_STEP = 0.25  # dex: centrals share the Lagrangian smoothing radius of their mass bin's centre
_SMOOTHING_FRACTION = 0.8  # centrals are biased on the linear field smoothed at this fraction of R_L
_BIAS_STEP = 0.02  # grouping of centrals in the Lagrangian bias
# Large-scale clustering amplitude A of displaced points relative to the linear field (the displacements smear
# the field and damp w_p at 5-20 Mpc/h): the Lagrangian biases are b / A - 1 so that the Eulerian bias comes
# out as b. Calibrated with the smoothing fraction on the mean w_p and Delta Sigma of seeds 0-4 of the default box
# (benchmarks/catalog_validation.py, where the alternatives measured are listed).
_DISPLACED_AMPLITUDE = 0.95
_COLLAPSE_RADII = (2.0, 3.0, 4.0, 6.0)  # Mpc/h, multiscale spherical-collapse criterion
# Vmax / Vpeak (item 6 of the module docstring): centrals' median and log scatter [dex]; the satellites' bound mass
# fraction log10 f = -a - b (1 - r / R_200m) - c (log10 M_host / Mpeak - 1) + sigma eps, clipped into [min, 0]
_VMAX_CENTRAL_MEDIAN, _VMAX_CENTRAL_SCATTER = 0.95, 0.03
_BOUND_A, _BOUND_B, _BOUND_C, _BOUND_SCATTER, _BOUND_LOG_MIN = 0.35, 0.6, 0.25, 0.4, -4.0
_TIDAL_MU, _TIDAL_ETA = 0.4, 0.3  # Penarrubia et al. (2010) tidal track of NFW-cusped subhalos

DEFAULT_UNIVERSE_PDICT = dict(
    box_size=175.0,  # Mpc/h
    logmpeak_min=11.0,  # log10 Msun/h
    redshift=0.0,
    particle_mass=1.0e11,  # Msun/h, nominal; the exact value is rho_m V / N_p
    n_mesh=128,
    smoothing=4.0,  # Mpc/h, Zel'dovich above, spherical collapse below (Gaussian transition radius)
    f_sat_max=0.3,
    m_sat_max=11.0,
    m_sat_zero=14.0,
    host_gap_dex=0.25,
    profile_logmpeak_min=11.5,
    los_axis=2,
)


class UniverseParams(NamedTuple):
    """Parameters of the synthetic universe (see the module docstring for their meaning and units)."""

    box_size: float
    logmpeak_min: float
    redshift: float
    particle_mass: float
    n_mesh: int
    smoothing: float
    f_sat_max: float
    m_sat_max: float
    m_sat_zero: float
    host_gap_dex: float
    profile_logmpeak_min: float
    los_axis: int


DEFAULT_UNIVERSE_PARAMS = UniverseParams(**DEFAULT_UNIVERSE_PDICT)
#: A tiny universe for tests of later stages: 50 Mpc/h, about 8000 subhalos, about 1.7e5 particles.
SMALL_TEST_UNIVERSE_PARAMS = DEFAULT_UNIVERSE_PARAMS._replace(
    box_size=50.0, particle_mass=6.0e10, n_mesh=64, profile_logmpeak_min=11.5)


def satellite_fraction(logmpeak, params: UniverseParams = DEFAULT_UNIVERSE_PARAMS) -> np.ndarray:
    """Probability that a subhalo of ``log10 Mpeak`` [Msun/h] is a satellite (linear fall in log mass)."""
    m = np.asarray(logmpeak, dtype=np.float64)
    frac = (params.m_sat_zero - m) / (params.m_sat_zero - params.m_sat_max)
    return params.f_sat_max * np.clip(frac, 0.0, 1.0)


def _check_params(p: UniverseParams) -> None:
    r_max = float(DEFAULT_RBINS[-1])
    if not np.isfinite(p.box_size) or p.box_size <= 2.0 * r_max or p.box_size > 2000.0:
        raise ValueError(f"box_size: expected a value above 2 x the largest lensing radius ({2.0 * r_max:g} Mpc/h) "
                         f"and at most 2000, found {p.box_size!r}")
    checks = [
        ("logmpeak_min", p.logmpeak_min, 9.0, 14.0),
        ("redshift", p.redshift, 0.0, 6.0),
        ("particle_mass", p.particle_mass, 1e6, 1e14),
        ("n_mesh", p.n_mesh, 8, 512),
        ("smoothing", p.smoothing, 0.0, 50.0),
        ("f_sat_max", p.f_sat_max, 0.0, 0.9),
        ("host_gap_dex", p.host_gap_dex, 0.0, 2.0),
        ("profile_logmpeak_min", p.profile_logmpeak_min, 6.0, 17.0),
    ]
    for name, val, lo, hi in checks:
        if not np.isfinite(val) or val < lo or val > hi:
            raise ValueError(f"{name}: expected a value in [{lo:g}, {hi:g}], found {val!r}")
    if p.m_sat_zero <= p.m_sat_max:
        raise ValueError(f"m_sat_zero: expected > m_sat_max = {p.m_sat_max}, found {p.m_sat_zero!r}")
    if p.los_axis not in (0, 1, 2):
        raise ValueError(f"los_axis: expected 0, 1 or 2, found {p.los_axis!r}")


def _wrap(pos: np.ndarray, box: float) -> np.ndarray:
    pos = np.mod(pos, box)
    return np.where(pos >= box, 0.0, pos)  # np.mod(-tiny, L) can round to L


def _log10_cumulative_shmf_f64(logm, redshift, params=DEFAULT_SHMF_PARAMS) -> np.ndarray:
    """Eq. A2 in float64 NumPy, whatever the JAX precision mode (the catalog must not depend on it).

    Identical to :func:`shaminfer.ingredients.log10_cumulative_shmf` (checked in the tests).
    """
    def s(x, x0, k, lo, hi):  # Eq. A1
        return lo + (hi - lo) / (1.0 + np.exp(-k * (x - x0)))

    q = params
    mc = s(redshift, q.mc_zc, q.mc_k, q.mc_ylo, q.mc_yhi)
    y0 = s(redshift, q.y0_zc, q.y0_k, q.y0_ylo, q.y0_yhi)
    m = np.asarray(logm, dtype=np.float64)
    return y0 + s(m, mc, q.k, q.y_lo, q.y_hi) * (m - mc)


def _draw_logmpeak(rng, p: UniverseParams) -> np.ndarray:
    grid = np.linspace(p.logmpeak_min, _LOGM_MAX, 20001)
    logn = _log10_cumulative_shmf_f64(grid, p.redshift)
    n_mean = p.box_size**3 * 10.0 ** logn[0]
    n = rng.poisson(n_mean)
    # N(>m)/N(>m_min) = u  <=>  log10 N(>m) = log10 N(>m_min) + log10 u ; invert on the monotone grid
    target = logn[0] + np.log10(1.0 - rng.random(n))  # 1 - u in (0, 1]
    return np.interp(-target, -logn, grid)


def _assign_hosts(rng, logm: np.ndarray, p: UniverseParams):
    """Return host_index (-1 for centrals) and the number of satellites turned into centrals."""
    n = logm.size
    is_sat = rng.random(n) < satellite_fraction(logm, p)
    u = rng.random(n)
    n_promoted = 0
    for _ in range(2):  # second pass after promoting satellites that have no possible host
        cen = np.flatnonzero(~is_sat)
        order = cen[np.argsort(-logm[cen], kind="stable")]  # centrals by decreasing mass
        cum_w = np.cumsum(10.0 ** (logm[order] - 12.0))
        sats = np.flatnonzero(is_sat)
        # number of centrals at least host_gap_dex above each satellite
        asc = logm[order][::-1]
        k = order.size - np.searchsorted(asc, logm[sats] + p.host_gap_dex, side="left")
        orphan = k == 0
        if orphan.any():
            is_sat[sats[orphan]] = False
            n_promoted += int(orphan.sum())
            continue
        pick = np.searchsorted(cum_w, u[sats] * cum_w[k - 1], side="right")
        host = np.full(n, -1, dtype=np.int64)
        host[sats] = order[np.minimum(pick, k - 1)]
        return host, n_promoted
    raise RuntimeError("host assignment did not converge")  # unreachable: promotion removes all orphans


def _vmax_fraction(rng, logm: np.ndarray, host: np.ndarray, r_frac: np.ndarray) -> np.ndarray:
    """Stripping proxy ``Vmax / Vpeak`` in (0, 1] per subhalo (item 6 of the module docstring).

    ``logm``: log10 Mpeak [Msun/h]; ``host``: host row, -1 for centrals; ``r_frac``: host-centric radius in
    units of the host ``R_200m`` (read for satellites only).
    """
    eps = rng.standard_normal(logm.size)
    sat = host >= 0
    log_v = np.log10(_VMAX_CENTRAL_MEDIAN) + _VMAX_CENTRAL_SCATTER * eps
    ratio = logm[np.where(sat, host, np.arange(logm.size))] - logm  # log10 M_host / Mpeak, 0 for centrals
    log_f = np.clip(-_BOUND_A - _BOUND_B * (1.0 - r_frac) - _BOUND_C * (ratio - 1.0) + _BOUND_SCATTER * eps,
                    _BOUND_LOG_MIN, 0.0)
    f = 10.0**log_f
    tidal = (2.0**_TIDAL_MU) * f**_TIDAL_ETA / (1.0 + f) ** _TIDAL_MU
    return np.where(sat, np.minimum(tidal, 1.0), 10.0 ** np.minimum(log_v, 0.0))


def _generate(seed: int, p: UniverseParams) -> dict:
    """Stages 1-4 and 6 (masses, hosts, positions, particles, properties) of :func:`build_universe`: all but the
    lensing profiles."""
    t0 = time.perf_counter()
    streams = [np.random.default_rng(s) for s in np.random.SeedSequence([int(seed), 4]).spawn(8)]
    box = float(p.box_size)
    rho_m = mean_matter_density(DEFAULT_COSMOLOGY)

    # 1. masses (App. A), 2. centrals / satellites
    logm = _draw_logmpeak(streams[0], p)
    host, n_promoted = _assign_hosts(streams[1], logm, p)
    cen = np.flatnonzero(host < 0)
    sat = np.flatnonzero(host >= 0)

    # 3. the linear field, its Zel'dovich displacement, and the centrals: Lagrangian biasing, then displaced
    linear = gaussian_mesh(streams[2], lambda k: linear_power(k, p.redshift), n_mesh=p.n_mesh, box_size=box,
                           smoothing=0.0, fixed_amplitude=True)
    psi = zeldovich_displacement(linear.field, box, p.smoothing, spherical_collapse=True,
                                 collapse_radii=_COLLAPSE_RADII)
    bias = halo_bias(logm, p.redshift)
    b_lag = bias / _DISPLACED_AMPLITUDE - 1.0
    rng = streams[3]
    q = np.empty((cen.size, 3))
    mbin = np.floor((logm[cen] - p.logmpeak_min) / _MASS_STEP).astype(np.int64)
    smooth = tophat_smoother(linear.field, box)  # one FFT of the field for every mass bin's radius
    work = np.empty(linear.field.size)  # the draws' scratch mesh, reused by every call
    for mb in np.unique(mbin):
        in_bin = np.flatnonzero(mbin == mb)
        logm_mid = p.logmpeak_min + (mb + 0.5) * _MASS_STEP
        radius = (3.0 * 10.0**logm_mid / (4.0 * np.pi * rho_m)) ** (1.0 / 3.0)  # Lagrangian radius
        field = smooth(_SMOOTHING_FRACTION * radius)
        mesh = GaussianMesh(field=field, box_size=box, variance=float(field.var()))
        group = np.round(b_lag[cen[in_bin]] / _BIAS_STEP).astype(np.int64)
        for g in np.unique(group):
            members = in_bin[group == g]
            cells = sample_cells(rng, mesh, g * _BIAS_STEP, members.size, work=work)
            q[members] = positions_near_nodes(rng, cells, p.n_mesh, box)
        del field, mesh
    pos = np.empty((logm.size, 3))
    del smooth
    pos[cen] = displace(q, psi, box)
    del q

    # satellites: NFW offsets inside their host
    conc = halo_concentration(logm, p.redshift)
    rdelta = radius_200m(logm, rho_m)
    hs = host[sat]
    offsets = sample_nfw_offsets(streams[4], conc[hs], rdelta[hs])
    pos[sat] = _wrap(pos[hs] + offsets, box)
    r_frac = np.ones(logm.size)
    r_frac[sat] = np.linalg.norm(offsets, axis=1) / rdelta[hs]
    del offsets

    # 4. particles: NFW spheres around centrals + diffuse component (Lagrangian bias b_d - 1, displaced)
    total_mass = rho_m * box**3
    n_part = int(round(total_mass / p.particle_mass))
    m_p = total_mass / n_part
    rng = streams[5]
    expect = 10.0 ** logm[cen] / m_p
    n_halo = np.floor(expect).astype(np.int64) + (rng.random(cen.size) < expect % 1.0)
    if n_halo.sum() > n_part:
        raise ValueError(f"particle_mass: the halos need {n_halo.sum()} particles but the box holds {n_part}; "
                         "lower logmpeak_min or check the mass function")
    owner = np.repeat(cen, n_halo)
    halo_part = _wrap(pos[owner] + sample_nfw_offsets(rng, conc[owner], rdelta[owner]), box)
    f_h = n_halo.sum() / n_part
    b_h = float(np.sum(n_halo * bias[cen]) / max(n_halo.sum(), 1))
    b_diffuse = max((1.0 - f_h * b_h) / (1.0 - f_h), 0.0) if f_h < 1.0 else 1.0
    n_diffuse = n_part - int(n_halo.sum())
    rng = streams[6]
    cells = sample_cells(rng, linear, b_diffuse / _DISPLACED_AMPLITUDE - 1.0, n_diffuse, work=work)
    diffuse = displace(positions_near_nodes(rng, cells, p.n_mesh, box), psi, box)
    particles = np.concatenate([halo_part, diffuse])
    del halo_part, diffuse, cells, owner, psi, work

    # 6. per-subhalo properties: host mass and Vmax / Vpeak
    host_logm = np.where(host >= 0, logm[np.maximum(host, 0)], logm)
    vmax_frac = _vmax_fraction(streams[7], logm, host, r_frac)
    return dict(pos=pos, logm=logm, host=host, particles=particles, m_p=m_p, rho_m=rho_m, n_promoted=n_promoted,
                f_h=f_h, b_diffuse=b_diffuse, host_logm=host_logm, vmax_frac=vmax_frac,
                t_gen=time.perf_counter() - t0)


def build_universe(seed: int, params: UniverseParams, *, profiles: bool = True, progress=None) -> SubhaloCatalog:
    """Generate the synthetic universe for ``params`` (no caching; see :func:`synthetic_universe`).

    ``profiles=False`` skips stage 5 and leaves ``lensing`` None (:func:`shaminfer.catalogs.lensing_profiles`
    with ``logmpeak_min=params.profile_logmpeak_min`` and ``los_axis=params.los_axis`` computes it alone).
    """
    _check_params(params)
    p = params
    t0 = time.perf_counter()
    gen = _generate(seed, p)
    pos, logm, host, particles, m_p = gen["pos"], gen["logm"], gen["host"], gen["particles"], gen["m_p"]
    box = float(p.box_size)
    t_gen = time.perf_counter() - t0

    # 5. lensing profiles
    lensing = None
    if profiles:
        idx = np.flatnonzero(logm >= p.profile_logmpeak_min)
        ds = delta_sigma_per_object(pos[idx], particles, m_p, box, rbins=DEFAULT_RBINS, los_axis=p.los_axis,
                                    progress=progress)
        lensing = LensingProfiles(rbins=DEFAULT_RBINS, index=idx, delta_sigma=ds, los_axis=p.los_axis)
    meta = dict(
        origin="synthetic_universe",
        description="SYNTHETIC catalog (not an N-body simulation): App. A mass function, Lagrangian-biased "
                    "(Tinker10) centrals moved by augmented Zel'dovich displacements, NFW satellites and "
                    "particles, host_logmpeak and vmax_frac properties; see shaminfer.catalogs.synthetic",
        seed=int(seed),
        cosmology=DEFAULT_COSMOLOGY,
        rho_m=float(gen["rho_m"]),
        n_promoted_satellites=int(gen["n_promoted"]),
        halo_mass_fraction=float(gen["f_h"]),
        diffuse_bias=float(gen["b_diffuse"]),
        generation_seconds=float(t_gen),
        profile_seconds=float(time.perf_counter() - t0 - t_gen),
        **{f"param_{k}": v for k, v in p._asdict().items()},
    )
    return SubhaloCatalog(pos=pos, logmpeak=logm, box_size=box, redshift=p.redshift, host_index=host,
                          particle_pos=particles, particle_mass=m_p, lensing=lensing, meta=meta,
                          properties=dict(host_logmpeak=gen["host_logm"], vmax_frac=gen["vmax_frac"]))


def _cached(seed: int, params: UniverseParams, *, cache: bool, progress) -> SubhaloCatalog:
    _check_params(params)
    if not cache:
        return build_universe(seed, params, progress=progress)
    key = cache_key(dict(seed=int(seed), **params._asdict()), schema_version=_SCHEMA_VERSION)
    path = cache_dir("catalogs") / f"synthetic-{key}.npz"
    if path.exists():
        return load_catalog(path)
    cat = build_universe(seed, params, progress=progress)
    save_catalog(cat, path)
    return cat


def synthetic_universe(seed=0, *, box_size=None, logmpeak_min=None, redshift=None, params=None, cache=True,
                       progress=None) -> SubhaloCatalog:
    """The default SYNTHETIC universe (see module docstring): subhalos, particles and lensing profiles.

    Parameters
    ----------
    seed : int
        Random seed; the catalog is a deterministic function of seed and parameters.
    box_size : float or None, keyword-only
        Periodic box side [Mpc/h]; None takes it from ``params`` (default 175).
    logmpeak_min : float or None, keyword-only
        Lowest ``log10 Mpeak`` [Msun/h]; None takes it from ``params`` (default 11).
    redshift : float or None, keyword-only
        Snapshot redshift for the mass function, power spectrum, bias and
        concentrations; None takes it from ``params`` (default 0).
    params : UniverseParams or None, keyword-only
        Full parameter set (default :data:`DEFAULT_UNIVERSE_PARAMS`); the three
        arguments above, when given, replace its fields.
    cache : bool, keyword-only
        Load from / store to the per-user cache.
    progress : bool or None, keyword-only
        Progress bar for the lensing profiles (None: only on a terminal).

    Returns
    -------
    SubhaloCatalog
        With ``host_index``, particles, ``lensing``, ``properties`` ``host_logmpeak`` and ``vmax_frac`` and
        ``meta["origin"] == "synthetic_universe"``.
    """
    p = DEFAULT_UNIVERSE_PARAMS if params is None else params
    changes = dict(box_size=box_size, logmpeak_min=logmpeak_min, redshift=redshift)
    p = p._replace(**{k: float(v) for k, v in changes.items() if v is not None})
    return _cached(seed, p, cache=cache, progress=progress)


def small_test_universe(seed=0, *, cache=True) -> SubhaloCatalog:
    """A tiny deterministic SYNTHETIC universe for tests (50 Mpc/h, ~8e3 subhalos, ~1.7e5 particles, profiles
    for ``log10 Mpeak >= 11.5``); builds in a few seconds, then loads from the cache."""
    return _cached(seed, SMALL_TEST_UNIVERSE_PARAMS, cache=cache, progress=False)


if __name__ == "__main__":  # pragma: no cover - manual smoke run
    cat = synthetic_universe(progress=sys.stderr.isatty())
    print(cat, dict(cat.meta))
