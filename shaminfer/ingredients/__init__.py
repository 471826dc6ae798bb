"""Parametric ingredients of the paper: Eqs. 3, 4, A1-A2, B1-B3, C1-C2, E1."""
from .analytic_smf import DEFAULT_LOGMH_GRID, abundance_grid, analytic_smf, default_logmh_grid, kernel_cdf, kernel_pdf, smf_with_scatter
from .scatter import DEFAULT_SCATTER_PARAMS, SCATTER_BOUNDS, ScatterParams, checked_scatter_dex, scatter_dex
from .schechter import (
    DEFAULT_SCHECHTER_PARAMS,
    SCHECHTER_BOUNDS,
    SchechterParams,
    checked_schechter_smf,
    schechter_smf,
)
from .shmf import (
    DEFAULT_SHMF_PARAMS,
    ShmfParams,
    checked_cumulative_shmf,
    checked_differential_shmf,
    cumulative_shmf,
    differential_shmf,
    log10_cumulative_shmf,
    shmf_mc,
    shmf_y0,
)
from .sigmoid import clipped_log10, inverse_sigmoid, sigmoid
from .smhm import (
    DEFAULT_SMHM_PARAMS,
    SMHM_BOUNDS,
    SmhmParams,
    checked_three_roll_smhm,
    smhm_params_from_unbounded,
    smhm_params_to_unbounded,
    three_roll_smhm,
)
from .theta import DEFAULT_SHAM_PARAMS, ShamParams, scatter_of, schechter_of
from .triweight import triweight_bin_prob, triweight_cdf, triweight_pdf, triweight_threshold_prob
from .validate import check_params

__all__ = [
    "DEFAULT_LOGMH_GRID", "abundance_grid", "analytic_smf", "default_logmh_grid", "kernel_cdf", "kernel_pdf", "smf_with_scatter",
    "DEFAULT_SCATTER_PARAMS", "SCATTER_BOUNDS", "ScatterParams", "checked_scatter_dex", "scatter_dex",
    "DEFAULT_SCHECHTER_PARAMS", "SCHECHTER_BOUNDS", "SchechterParams", "checked_schechter_smf", "schechter_smf",
    "DEFAULT_SHMF_PARAMS", "ShmfParams", "checked_cumulative_shmf", "checked_differential_shmf",
    "cumulative_shmf", "differential_shmf", "log10_cumulative_shmf", "shmf_mc", "shmf_y0",
    "clipped_log10", "inverse_sigmoid", "sigmoid",
    "DEFAULT_SMHM_PARAMS", "SMHM_BOUNDS", "SmhmParams", "checked_three_roll_smhm",
    "smhm_params_from_unbounded", "smhm_params_to_unbounded", "three_roll_smhm",
    "DEFAULT_SHAM_PARAMS", "ShamParams", "scatter_of", "schechter_of",
    "triweight_bin_prob", "triweight_cdf", "triweight_pdf", "triweight_threshold_prob",
    "check_params",
]
