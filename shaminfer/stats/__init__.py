"""Exact, differentiable summary statistics of SHAM galaxies in a subhalo catalog (Sec. 4).

Stage 3 of the data flow: catalog -> SHAMNet stellar masses -> per-subhalo
bin weights -> **summary statistics** -> likelihood terms.

* :mod:`~shaminfer.stats.config` -- :class:`Sample`, :class:`StatsConfig`, :func:`check_config`.
* :mod:`~shaminfer.stats.weights` -- triweight bin and sample weights (Eq. 6, App. E).
* :mod:`~shaminfer.stats.smf` -- the stellar mass function (Eqs. 7-8) and its Poisson error.
* :mod:`~shaminfer.stats.lensing` -- stacked Delta Sigma (Eqs. 10-12, App. F).
* :mod:`~shaminfer.stats.paircount` -- weighted pair counts and neighbour sums (numba; Corrfunc oracle).
* :mod:`~shaminfer.stats.clustering` -- w_p (Eqs. 13-20) through ``pure_callback`` + ``custom_jvp``.
* :mod:`~shaminfer.stats.predict` -- :func:`make_predictor`, :func:`predict`, :class:`Predictions`.
* :mod:`~shaminfer.stats.montecarlo` -- the conventional Monte Carlo SHAM of Sec. 4.1.
* :mod:`~shaminfer.stats.tabulated` -- the tabulated engine (``engine="tabulated"``): Mpeak-node tables, pure JAX.
"""
from .clustering import (
    PAIR_ENGINES,
    cylinder_shell_volumes,
    make_pair_counter,
    make_wp,
    random_pair_counts,
    wp_from_pair_counts,
)
from .config import (
    DEFAULT_STATS_CONFIG,
    SAMPLE_COLORS,
    SAMPLE_KINDS,
    Sample,
    StatsConfig,
    bin_sample,
    check_config,
    ds_bin_edges,
    make_config,
    threshold_sample,
)
from .lensing import MAX_MISSING_PROFILE_WEIGHT, delta_sigma_from_weights, merge_annuli, missing_profile_fraction
from .montecarlo import (
    MC_KERNELS,
    draw_logsm,
    kernel_variates,
    montecarlo_evaluator,
    montecarlo_from_logsm,
    montecarlo_gradient,
    montecarlo_predict,
    montecarlo_realizations,
)
from .paircount import DEFAULT_REACH, PairSums, corrfunc_pair_counts, neighbour_sums, pair_counts
from .predict import ENGINES, Predictions, make_predictor, predict, resolve_smhm
from .tabulated import NodeGrid, Tables, load_or_build_tables, make_tabulated_predictor, node_grid
from .smf import smf_from_weights, smf_poisson_sd
from .weights import galaxy_logsm_pdf_params, sample_weights, smf_bin_weights

__all__ = [
    "PAIR_ENGINES", "cylinder_shell_volumes", "make_pair_counter", "make_wp", "random_pair_counts",
    "wp_from_pair_counts",
    "DEFAULT_STATS_CONFIG", "SAMPLE_COLORS", "SAMPLE_KINDS", "Sample", "StatsConfig", "bin_sample", "check_config", "ds_bin_edges",
    "make_config", "threshold_sample",
    "MAX_MISSING_PROFILE_WEIGHT", "delta_sigma_from_weights", "merge_annuli", "missing_profile_fraction",
    "MC_KERNELS", "draw_logsm", "kernel_variates", "montecarlo_evaluator", "montecarlo_from_logsm", "montecarlo_gradient",
    "montecarlo_predict", "montecarlo_realizations",
    "DEFAULT_REACH", "PairSums", "corrfunc_pair_counts", "neighbour_sums", "pair_counts",
    "ENGINES", "Predictions", "make_predictor", "predict", "resolve_smhm",
    "NodeGrid", "Tables", "load_or_build_tables", "make_tabulated_predictor", "node_grid",
    "smf_from_weights", "smf_poisson_sd",
    "galaxy_logsm_pdf_params", "sample_weights", "smf_bin_weights",
]
