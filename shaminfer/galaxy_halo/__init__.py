"""Galaxy-halo models beyond SHAM: named parameter blocks, components, composition.

A model maps (flat theta, per-subhalo arrays) to each subhalo's log10 M*
kernel (median and width, Eqs. 4-5) and to population probabilities
(survival of satellites, quenched fraction). :mod:`shaminfer.stats` turns a
population into exact, differentiable SMF, w_p and Delta Sigma of all, red
and blue galaxies. ``compose(sham())`` is the paper's four-parameter model;
``compose(parametric(), quenching(), disruption(), stellar_mass_offset())``
has 24 parameters; :func:`knots` is a stellar-mass kernel whose parameters are
the median log10 M* at fixed Mpeak knots (better conditioned in fits than the
App. C SMHM of :func:`parametric`), and ``quenching(kind="knots")`` gives the
quenched fractions at mass knots in the same way.

This stage sits between :mod:`shaminfer.shamnet` and :mod:`shaminfer.stats`.
"""
from .blocks import (ParamBlock, block_of, check_blocks, check_params_in_blocks, fit_fields, make_block, make_params,
                     params_type, params_type_of_fields)
from .components import (
    DISRUPTION_BLOCK,
    MASS_SCATTER_BLOCK,
    QUENCHING_BLOCK,
    QUENCHING_KINDS,
    ROLES,
    SCATTER_KINDS,
    SHAM_BLOCK,
    SM_OFFSET_BLOCK,
    SMHM_BLOCK,
    Component,
    DisruptionParams,
    MassScatterParams,
    Population,
    QuenchingParams,
    SmOffsetParams,
    Subhalos,
    disruption,
    mass_scatter,
    parametric,
    quenching,
    resolve_smhm,
    sham,
    stellar_mass_offset,
)
from .compose import GalaxyModel, as_model, bind_catalog, check_model_blocks_with, compose, subhalo_arrays
from .knots import KNOT_SMHM_BLOCK, KNOTS, KnotSmhmParams, knot_smhm, knots
from .quenching_knots import CEN_KNOTS, HOST_KNOTS, KNOT_QUENCHING_BLOCK, KnotQuenchingParams, knot_quenched_fraction
from .scatter_knots import KNOT_SCATTER_BLOCK, SCATTER_KNOTS, KnotScatterParams, knot_scatter

__all__ = [
    "ParamBlock", "block_of", "check_blocks", "check_params_in_blocks", "fit_fields", "make_block", "make_params",
    "params_type", "params_type_of_fields",
    "DISRUPTION_BLOCK", "MASS_SCATTER_BLOCK", "QUENCHING_BLOCK", "ROLES", "SHAM_BLOCK", "SM_OFFSET_BLOCK",
    "SMHM_BLOCK", "Component", "DisruptionParams", "MassScatterParams", "Population", "QuenchingParams",
    "SmOffsetParams", "Subhalos", "disruption", "parametric", "SCATTER_KINDS", "mass_scatter", "quenching",
    "resolve_smhm", "sham", "stellar_mass_offset",
    "GalaxyModel", "as_model", "bind_catalog", "check_model_blocks_with", "compose", "subhalo_arrays",
    "KNOT_SMHM_BLOCK", "KNOTS", "KnotSmhmParams", "knot_smhm", "knots",
    "KNOT_SCATTER_BLOCK", "SCATTER_KNOTS", "KnotScatterParams", "knot_scatter",
    "QUENCHING_KINDS", "CEN_KNOTS", "HOST_KNOTS", "KNOT_QUENCHING_BLOCK", "KnotQuenchingParams",
    "knot_quenched_fraction",
]
