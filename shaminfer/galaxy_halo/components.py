"""The shipped components of a galaxy-halo model.

A component reads its parameter block(s) from the flat theta and per-subhalo
arrays (:class:`Subhalos`), and fills part of a :class:`Population`:

* ``role="smhm"`` sets each subhalo's log10 M* kernel, median ``mu`` and
  width ``sigma`` (Eqs. 4-5): :func:`sham` (SHAMNet, the paper's four
  parameters) or :func:`parametric` (the App. C three-roll SMHM with its own
  eight parameters and a four-parameter mass-dependent scatter, Eq. 4; the SMF
  is then a prediction, not matched by construction);
* ``role="mass_offset"`` shifts ``mu``: :func:`stellar_mass_offset`, a global
  ``dlogsm`` nuisance (e.g. a stellar-population-synthesis systematic);
* ``role="quenching"`` sets ``P(quenched)``: :func:`quenching`, smooth
  sigmoids (Eq. A1) in Mpeak for centrals, raised for satellites by a sigmoid
  in host mass (environmental quenching);
* ``role="survival"`` sets ``P(the satellite's galaxy survives)``:
  :func:`disruption`, a sigmoid in a stripping proxy (default Vmax / Vpeak)
  whose threshold moves with host mass.

All functions of theta are pure JAX and smooth, so the weights built from a
population (:mod:`shaminfer.stats`) keep exact gradients in every parameter.
"""
from __future__ import annotations

import functools
from typing import Callable, NamedTuple, Optional

import jax.numpy as jnp

from ..ingredients import SMHM_BOUNDS, ShamParams, SmhmParams
from ..ingredients.smhm import DEFAULT_SMHM_PDICT
from ..ingredients.theta import DEFAULT_SHAM_PDICT
from ..ingredients.scatter import scatter_dex, ScatterParams
from ..ingredients.sigmoid import sigmoid
from ..ingredients.smhm import three_roll_smhm
from ..ingredients.theta import scatter_of
from .blocks import ParamBlock, make_block
from .quenching_knots import KNOT_QUENCHING_BLOCK, knot_quenched_fraction
from .scatter_knots import KNOT_SCATTER_BLOCK, knot_scatter

__all__ = [
    "Subhalos", "Population", "Component", "ROLES", "resolve_smhm",
    "SHAM_BLOCK", "SMHM_BLOCK", "MassScatterParams", "MASS_SCATTER_BLOCK", "QuenchingParams", "QUENCHING_BLOCK",
    "DisruptionParams", "DISRUPTION_BLOCK", "SmOffsetParams", "SM_OFFSET_BLOCK",
    "sham", "parametric", "quenching", "disruption", "stellar_mass_offset", "SCATTER_KINDS", "mass_scatter",
    "QUENCHING_KINDS",
]

#: Order in which components apply; a model has at most one component per role and exactly one "smhm".
ROLES = ("smhm", "mass_offset", "quenching", "survival")


class Subhalos(NamedTuple):
    """Per-subhalo arrays a model reads (JAX constants, shape (N,)).

    Attributes
    ----------
    logmpeak : log10 Mpeak [Msun/h].
    is_central : 1.0 for centrals, 0.0 for satellites (all 1 without host structure).
    host_logmpeak : log10 Mpeak of the host [Msun/h] (own mass for centrals).
    props : dict name -> array, the catalog properties the model requires.
    """

    logmpeak: jnp.ndarray
    is_central: jnp.ndarray
    host_logmpeak: jnp.ndarray
    props: dict


class Population(NamedTuple):
    """What a model says about each subhalo's galaxy (arrays (N,); None: not modelled).

    Attributes
    ----------
    mu, sigma : median log10 M* [Msun] and the triweight width [dex] (Eqs. 4-5, App. E).
    survive : probability that the galaxy exists (satellite disruption); None means 1.
    quenched : probability that the galaxy is quenched (red); None means no colours.
    """

    mu: Optional[jnp.ndarray] = None
    sigma: Optional[jnp.ndarray] = None
    survive: Optional[jnp.ndarray] = None
    quenched: Optional[jnp.ndarray] = None


class Component(NamedTuple):
    """One piece of a galaxy-halo model.

    Attributes
    ----------
    name : str
    role : one of :data:`ROLES`.
    blocks : tuple of ParamBlock
    requires : tuple of str
        ``"host_index"`` (the host/satellite structure) and names of catalog properties.
    apply : callable ``(theta, subhalos, population) -> population``
        Pure JAX in ``theta`` (the flat parameter tuple of the whole fit).
    check : callable ``(theta) -> None`` or None
        Extra shell check of a concrete theta (e.g. SHAMNet's training domain).
    net : ShamNet or None
        The SHAMNet whose median this component evaluates (None: none); an
        engine may evaluate it on the subhalos that need it only
        (:mod:`shaminfer.stats.active_rows`).
    """

    name: str
    role: str
    blocks: tuple
    requires: tuple
    apply: Callable
    check: Optional[Callable] = None
    net: Optional[object] = None


def resolve_smhm(*, net=None, smhm=None):
    """The SMHM callable ``(theta, logmpeak) -> log10 M*`` and the SHAMNet it uses (or None).

    ``smhm`` wins when given; otherwise SHAMNet's ``predict_logsm`` with ``net``
    (``None``: the shipped weights, loaded once here) and ``monotone=False``: the
    bare network on each point. The statistics do not need an SMHM that rises with
    Mpeak (the bare network dips by < 1e-4 dex on a few theta in ten thousand,
    models/README.md), and the rising table costs 3001 network evaluations per
    theta, ten times the tabulated engine's gradient. Pass
    ``smhm=predict_logsm`` for the rising SMHM.
    """
    if smhm is not None:
        if not callable(smhm):
            raise ValueError(f"smhm: expected a callable (theta, logmpeak) -> log10 M*, found {type(smhm).__name__}")
        return smhm, None
    from ..shamnet import load_shamnet, predict_logsm

    net = load_shamnet() if net is None else net
    return functools.partial(predict_logsm, net=net, monotone=False), net


# --- SHAM (SHAMNet) -------------------------------------------------------------------------------------------
SHAM_BLOCK = make_block(
    "sham", ShamParams, DEFAULT_SHAM_PDICT,
    # outer box of SHAMNet's training domain (the exact, rotated domain is checked by the component)
    bounds=dict(logphi_star=(-2.6, -2.0), alpha=(-1.3, -0.9), sigma_lo=(0.1, 0.5), sigma_hi=(0.1, 0.5)),
    prior=dict(logphi_star=(-2.36, -2.25), alpha=(-1.13, -1.0), sigma_lo=(0.1, 0.5), sigma_hi=(0.1, 0.5)),
    doc="SHAM: Schechter SMF (log10 phi*, alpha) and scatter at low / high Mpeak, through SHAMNet (Sec. 3)",
)


def sham(*, net=None, smhm=None) -> Component:
    """SHAM through SHAMNet (or a stand-in ``smhm``): the paper's four parameters (Sec. 3.2)."""
    smhm_fn, net_used = resolve_smhm(net=net, smhm=smhm)

    def apply(theta, sub, pop):
        th = SHAM_BLOCK.take(theta)
        return pop._replace(mu=smhm_fn(th, sub.logmpeak), sigma=scatter_dex(scatter_of(th), sub.logmpeak))

    def check(theta):
        if net_used is not None:
            from ..shamnet import check_theta_in_domain

            check_theta_in_domain(SHAM_BLOCK.take(theta), net=net_used)

    return Component("sham", "smhm", (SHAM_BLOCK,), (), apply, check, net_used)


# --- parametric SMHM (App. C) with mass-dependent scatter (Eq. 4) ---------------------------------------------
SMHM_BLOCK = make_block(
    "smhm", SmhmParams, DEFAULT_SMHM_PDICT, SMHM_BOUNDS,
    prior=dict(logsm_0=(9.7, 10.4), logmh_crit=(11.5, 12.3), lo_x0=(11.0, 12.9), lo_ylo=(3.0, 5.0),
               lo_yhi=(0.8, 1.8), hi_x0=(12.2, 13.6), hi_ylo=(0.0, 0.6), hi_yhi=(0.0, 0.8)),
    doc="three-roll median SMHM of App. C.1 (Eq. C1)",
)


class MassScatterParams(NamedTuple):
    """Scatter [dex] at low and high Mpeak, with the roll's position and speed free (Eq. 4)."""

    sigma_lo: float
    sigma_hi: float
    scatter_x0: float
    scatter_k: float


MASS_SCATTER_BLOCK = make_block(
    "scatter", MassScatterParams, dict(sigma_lo=0.35, sigma_hi=0.2, scatter_x0=12.0, scatter_k=1.0),
    bounds=dict(sigma_lo=(0.02, 1.0), sigma_hi=(0.02, 1.0), scatter_x0=(10.0, 14.0), scatter_k=(0.2, 10.0)),
    prior=dict(sigma_lo=(0.1, 0.6), sigma_hi=(0.05, 0.5), scatter_x0=(11.0, 13.0), scatter_k=(0.5, 3.0)),
    doc="mass-dependent scatter of log10 M* at fixed Mpeak (Eq. 4 with x0 and k free)",
)


#: Scatter parameterizations of the ``parametric`` and ``knots`` kernels: Eq. 4 with its roll free, or the scatter's
#: values at fixed Mpeak knots (:mod:`.scatter_knots`).
SCATTER_KINDS = ("roll", "knots")


def mass_scatter(kind: str = "roll"):
    """``(block, sigma(theta, logmpeak))`` of a scatter parameterization in :data:`SCATTER_KINDS`."""
    if kind == "roll":
        def sigma(theta, logmpeak):
            s = MASS_SCATTER_BLOCK.take(theta)
            return scatter_dex(ScatterParams(s.sigma_lo, s.sigma_hi, s.scatter_x0, s.scatter_k), logmpeak)

        return MASS_SCATTER_BLOCK, sigma
    if kind == "knots":
        return KNOT_SCATTER_BLOCK, lambda theta, logmpeak: knot_scatter(KNOT_SCATTER_BLOCK.take(theta), logmpeak)
    raise ValueError(f"scatter: expected one of {list(SCATTER_KINDS)}, found {kind!r}")


def parametric(scatter: str = "roll") -> Component:
    """The App. C SMHM (8 parameters) with mass-dependent scatter (4, ``scatter`` in :data:`SCATTER_KINDS`): 12."""
    block, sigma = mass_scatter(scatter)

    def apply(theta, sub, pop):
        return pop._replace(mu=three_roll_smhm(SMHM_BLOCK.take(theta), sub.logmpeak), sigma=sigma(theta, sub.logmpeak))

    return Component("parametric", "smhm", (SMHM_BLOCK, block), (), apply)


# --- global stellar-mass offset -------------------------------------------------------------------------------
class SmOffsetParams(NamedTuple):
    """A shift [dex] added to every subhalo's median log10 M* before the weights."""

    dlogsm: float


SM_OFFSET_BLOCK = make_block("sm_offset", SmOffsetParams, dict(dlogsm=0.0), dict(dlogsm=(-0.5, 0.5)),
                             dict(dlogsm=(-0.1, 0.1)), doc="global stellar-mass offset (nuisance)")


def stellar_mass_offset() -> Component:
    """``mu -> mu + dlogsm`` for every subhalo (a nuisance, e.g. stellar-mass systematics)."""

    def apply(theta, sub, pop):
        return pop._replace(mu=pop.mu + SM_OFFSET_BLOCK.take(theta).dlogsm)

    return Component("sm_offset", "mass_offset", (SM_OFFSET_BLOCK,), (), apply)


# --- quenching ------------------------------------------------------------------------------------------------
class QuenchingParams(NamedTuple):
    """Quenched fractions (Eq. A1 sigmoids).

    Centrals: ``f_cen = S(log10 Mpeak | fq_cen_x0, fq_cen_k, fq_cen_lo, fq_cen_hi)``.
    Satellites: ``f_sat = f_cen + (1 - f_cen) S(log10 M_host | fq_sat_x0, 1, fq_sat_lo, fq_sat_hi)``.
    """

    fq_cen_lo: float
    fq_cen_hi: float
    fq_cen_x0: float
    fq_cen_k: float
    fq_sat_lo: float
    fq_sat_hi: float
    fq_sat_x0: float


QUENCHING_BLOCK = make_block(
    "quenching", QuenchingParams,
    dict(fq_cen_lo=0.1, fq_cen_hi=0.85, fq_cen_x0=12.2, fq_cen_k=2.0, fq_sat_lo=0.15, fq_sat_hi=0.6,
         fq_sat_x0=13.2),
    bounds=dict(fq_cen_lo=(0.0, 1.0), fq_cen_hi=(0.0, 1.0), fq_cen_x0=(10.0, 15.0), fq_cen_k=(0.3, 10.0),
                fq_sat_lo=(0.0, 1.0), fq_sat_hi=(0.0, 1.0), fq_sat_x0=(11.0, 15.5)),
    prior=dict(fq_cen_lo=(0.0, 0.4), fq_cen_hi=(0.5, 1.0), fq_cen_x0=(11.5, 13.0), fq_cen_k=(0.5, 5.0),
               fq_sat_lo=(0.0, 0.5), fq_sat_hi=(0.2, 1.0), fq_sat_x0=(12.0, 14.5)),
    doc="quenched fraction of centrals (Mpeak) and satellites (boosted with host mass)",
)


#: ``quenching(kind=...)``: sigmoids (the default) or fractions at mass knots (:mod:`.quenching_knots`).
QUENCHING_KINDS = ("sigmoid", "knots")


def quenching(kind: str = "sigmoid") -> Component:
    """P(quenched | Mpeak, central/satellite, host mass): 7 parameters; gives red and blue samples.

    ``kind="sigmoid"``: :class:`QuenchingParams`; ``kind="knots"``: the fractions at mass knots
    (:class:`~.quenching_knots.KnotQuenchingParams`, linear in the parameters)."""
    if kind == "knots":
        def apply(theta, sub, pop):
            q = KNOT_QUENCHING_BLOCK.take(theta)
            return pop._replace(quenched=knot_quenched_fraction(q, sub.logmpeak, sub.host_logmpeak, sub.is_central))

        return Component("quenching", "quenching", (KNOT_QUENCHING_BLOCK,), ("host_index",), apply)
    if kind != "sigmoid":
        raise ValueError(f"quenching: expected one of {list(QUENCHING_KINDS)}, found {kind!r}")

    def apply(theta, sub, pop):
        q = QUENCHING_BLOCK.take(theta)
        f_cen = sigmoid(sub.logmpeak, q.fq_cen_x0, q.fq_cen_k, q.fq_cen_lo, q.fq_cen_hi)
        boost = sigmoid(sub.host_logmpeak, q.fq_sat_x0, 1.0, q.fq_sat_lo, q.fq_sat_hi)
        return pop._replace(quenched=f_cen + (1.0 - f_cen) * boost * (1.0 - sub.is_central))

    return Component("quenching", "quenching", (QUENCHING_BLOCK,), ("host_index",), apply)


# --- satellite disruption -------------------------------------------------------------------------------------
class DisruptionParams(NamedTuple):
    """Survival of a satellite's galaxy: ``S(proxy | dis_x0 + dis_slope (log10 M_host - 13), dis_k, dis_floor, 1)``."""

    dis_x0: float
    dis_slope: float
    dis_k: float
    dis_floor: float


DISRUPTION_BLOCK = make_block(
    "disruption", DisruptionParams, dict(dis_x0=0.5, dis_slope=0.05, dis_k=15.0, dis_floor=0.1),
    bounds=dict(dis_x0=(0.05, 1.0), dis_slope=(-0.3, 0.3), dis_k=(2.0, 60.0), dis_floor=(0.0, 1.0)),
    prior=dict(dis_x0=(0.3, 0.7), dis_slope=(-0.15, 0.15), dis_k=(5.0, 30.0), dis_floor=(0.0, 0.5)),
    doc="probability that a satellite's galaxy survives stripping (proxy threshold moving with host mass)",
)

_HOST_PIVOT = 13.0


def disruption(*, proxy: str = "vmax_frac") -> Component:
    """P(satellite survives | stripping proxy, host mass): 4 parameters; centrals always survive.

    Parameters
    ----------
    proxy : str, keyword-only
        Catalog property used as the stripping proxy, larger = less stripped
        (default ``"vmax_frac"`` = Vmax / Vpeak; ``Mvir / Mpeak`` works the same way).
    """
    if not isinstance(proxy, str) or not proxy.isidentifier():
        raise ValueError(f"disruption proxy: expected a property name, found {proxy!r}")

    def apply(theta, sub, pop):
        d = DISRUPTION_BLOCK.take(theta)
        x0 = d.dis_x0 + d.dis_slope * (sub.host_logmpeak - _HOST_PIVOT)
        p_sat = sigmoid(sub.props[proxy], x0, d.dis_k, d.dis_floor, 1.0)
        survive = sub.is_central + (1.0 - sub.is_central) * p_sat
        return pop._replace(survive=survive if pop.survive is None else pop.survive * survive)

    return Component("disruption", "survival", (DISRUPTION_BLOCK,), ("host_index", proxy), apply)
