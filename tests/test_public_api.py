"""The public API is pinned: every name that users import keeps resolving, and carries a docstring.

The lists below are the names of ``shaminfer``, ``shaminfer.inference``, ``shaminfer.stats``,
``shaminfer.catalogs``, ``shaminfer.shamnet`` and ``shaminfer.app``, the CLI's subcommands and every
TOML key. Removing or renaming one fails here: deprecate first, and update the list in the same change.
"""
import inspect

import pytest

import shaminfer

PINNED = {
    "shaminfer": """
        DEFAULT_LOGMH_GRID DEFAULT_SCATTER_PARAMS DEFAULT_SCHECHTER_PARAMS DEFAULT_SHAM_PARAMS DEFAULT_SHMF_PARAMS
        DEFAULT_SMHM_PARAMS LensingProfiles Predictions SCATTER_BOUNDS SCHECHTER_BOUNDS SMHM_BOUNDS Sample
        ScatterParams SchechterParams ShamParams ShmfParams SmhmParams StatsConfig SubhaloCatalog __version__
        abundance_grid analytic_smf bin_sample catalogs check_params check_theta_in_domain checked_cumulative_shmf
        checked_differential_shmf checked_predict_logsm checked_scatter_dex checked_schechter_smf
        checked_three_roll_smhm clipped_log10 configure_jax cumulative_shmf default_logmh_grid differential_shmf
        in_domain inference ingredients inverse_sigmoid kernel_cdf kernel_pdf lensing_profiles load_catalog
        load_halotools_catalog load_hlist load_shamnet log10_cumulative_shmf make_config make_predictor predict
        predict_logsm sample_domain save_catalog scatter_dex scatter_of schechter_of schechter_smf shamnet shmf_mc
        shmf_y0 sigmoid small_test_universe smf_with_scatter smhm_params_from_unbounded smhm_params_to_unbounded
        stats synthetic_universe three_roll_smhm threshold_sample triweight_bin_prob triweight_cdf triweight_pdf
        triweight_threshold_prob""",
    "shaminfer.inference": """
        CompareResult ConfigError Convergence DEFAULT_SAMPLER_SETTINGS DeltaSigmaTerm FitConfig FitResult
        GaussianTerm LikelihoodTerm MockConfig MockData PoissonTerm SMFTerm SamplerSettings ShamModel
        StudentTTerm ThetaPrior WpTerm box_prior build_model check_prior_in_domain compare_runs convergence domain_prior jackknife_covariance
        load_fit_config load_mock load_mock_config load_posterior make_mock make_sampler mock_terms run_fit
        save_mock shamnet_domain theta_summary truth_coverage
        SMFColorTerm fit_blocks model_prior nuisance_blocks shear_bias_block with_shear_bias""",
    "shaminfer.galaxy_halo": """
        ParamBlock make_block check_blocks params_type params_type_of_fields make_params fit_fields block_of
        check_params_in_blocks
        Component Population Subhalos ROLES GalaxyModel compose bind_catalog subhalo_arrays as_model
        sham parametric quenching disruption stellar_mass_offset resolve_smhm
        SHAM_BLOCK SMHM_BLOCK MASS_SCATTER_BLOCK QUENCHING_BLOCK DISRUPTION_BLOCK SM_OFFSET_BLOCK
        MassScatterParams QuenchingParams DisruptionParams SmOffsetParams
        knots KNOTS KNOT_SMHM_BLOCK KnotSmhmParams knot_smhm SCATTER_KINDS mass_scatter
        SCATTER_KNOTS KNOT_SCATTER_BLOCK KnotScatterParams knot_scatter
        QUENCHING_KINDS CEN_KNOTS HOST_KNOTS KNOT_QUENCHING_BLOCK KnotQuenchingParams knot_quenched_fraction""",
    "shaminfer.stats": """
        DEFAULT_REACH DEFAULT_STATS_CONFIG ENGINES MAX_MISSING_PROFILE_WEIGHT MC_KERNELS NodeGrid PAIR_ENGINES
        PairSums Predictions SAMPLE_COLORS SAMPLE_KINDS Sample StatsConfig Tables bin_sample check_config corrfunc_pair_counts
        cylinder_shell_volumes delta_sigma_from_weights draw_logsm ds_bin_edges galaxy_logsm_pdf_params
        kernel_variates load_or_build_tables make_config make_pair_counter make_predictor make_tabulated_predictor
        make_wp merge_annuli missing_profile_fraction montecarlo_evaluator montecarlo_from_logsm
        montecarlo_gradient montecarlo_predict montecarlo_realizations neighbour_sums node_grid pair_counts predict
        random_pair_counts resolve_smhm sample_weights smf_bin_weights smf_from_weights smf_poisson_sd
        threshold_sample wp_from_pair_counts""",
    "shaminfer.catalogs": """
        DEFAULT_RBINS DEFAULT_UNIVERSE_PARAMS LOGMPEAK_RANGE LensingProfiles REDSHIFT_RANGE
        SMALL_TEST_UNIVERSE_PARAMS SubhaloCatalog UniverseParams default_rbins delta_sigma_per_object
        lensing_profiles load_catalog load_halotools_catalog load_hlist load_particles read_hlist_header
        satellite_fraction
        save_catalog small_test_universe synthetic_universe""",
    "shaminfer.shamnet": """
        BasisShamNet DEFAULT_HIDDEN ShamNet ShamNetDomain architecture check_theta_in_domain checked_predict_logsm
        default_domain default_weights_path in_domain init_basis_shamnet init_shamnet load_kernel load_shamnet
        make_domain net_logsm predict_logsm sample_domain save_shamnet sdss_posterior shamnet_forward""",
    "shaminfer.app": """
        CompareResult ConfigError DEMO_THETA_TRUE DemoResult FitConfig FitResult MockConfig compare_runs
        demo_configs load_covariance_file load_fit_config load_mock load_mock_config load_posterior run_demo
        run_fit run_fit_config run_mock save_mock write_fit_outputs""",
}

#: The CLI's subcommands.
COMMANDS = {"mock", "fit", "compare", "demo", "train-shamnet"}

#: Every TOML key of ``shaminfer mock`` and ``shaminfer fit`` (dotted paths).
MOCK_KEYS = """
    catalog.source catalog.seed catalog.box_size catalog.redshift catalog.logmpeak_min catalog.profile_logmpeak_min
    catalog.path catalog.mass_column catalog.columns catalog.missing_host catalog.particles catalog.particle_mass
    stats.smf_edges stats.samples stats.rp_edges stats.pi_max stats.ds_rebin stats.statistics forward.engine
    forward.shamnet stats.smf_colors model.components model.disruption_proxy model.scatter model.quenching
    mock.theta_true mock.covariance mock.jackknife_n_side mock.noise mock.noise_seed mock.diag_regularization
    mock.output"""
FIT_KEYS = """
    data run_dir terms wp_samples delta_sigma_samples forward.engine forward.shamnet prior.kind prior.margin
    prior.lo prior.hi likelihood.family likelihood.df likelihood.shear_bias model.components model.disruption_proxy
    model.scatter model.quenching
    sampler.backend sampler.num_chains sampler.num_warmup sampler.num_samples
    sampler.chunk_size sampler.seed sampler.target_accept sampler.max_tree_depth sampler.dense_mass sampler.init
    sampler.progress_bar output.plots"""


def _module(name):
    import importlib

    return importlib.import_module(name)


@pytest.mark.parametrize("module", sorted(PINNED))
def test_pinned_names_resolve_and_are_exported(module):
    mod = _module(module)
    pinned = set(PINNED[module].split())
    missing = sorted(n for n in pinned if not hasattr(mod, n))
    assert not missing, f"{module}: public names gone: {missing}"
    assert pinned <= set(mod.__all__), f"{module}.__all__ lacks {sorted(pinned - set(mod.__all__))}"


@pytest.mark.parametrize("module", sorted(PINNED))
def test_public_callables_are_documented(module):
    mod = _module(module)
    undocumented = [n for n in mod.__all__ if callable(getattr(mod, n)) and not inspect.getdoc(getattr(mod, n))]
    assert not undocumented, f"{module}: public callables without a docstring: {undocumented}"


def test_cli_commands_are_pinned():
    from shaminfer.app.cli import build_parser

    sub = next(a for a in build_parser()._actions if a.dest == "command")
    assert COMMANDS <= set(sub.choices), sorted(COMMANDS - set(sub.choices))


def _dotted(schema, prefix=""):
    out = set()
    for key, value in schema.items():
        out |= _dotted(value, f"{prefix}{key}.") if isinstance(value, dict) else {prefix + key}
    return out


def test_toml_keys_are_pinned():
    from shaminfer.app import config

    assert set(MOCK_KEYS.split()) <= _dotted(config._MOCK_SCHEMA)
    assert set(FIT_KEYS.split()) <= _dotted(config._FIT_SCHEMA)


def test_the_inference_core_imports_no_shell():
    import subprocess
    import sys

    code = ("import sys, shaminfer.inference as i; i.make_sampler; "
            "print(sorted(m for m in sys.modules if m.startswith('shaminfer.app') or m in ('matplotlib', 'tomllib')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == "[]"
    assert shaminfer.inference.run_fit is _module("shaminfer.app.fit").run_fit  # the shell's names resolve lazily


def test_import_is_light():
    import subprocess
    import sys

    code = "import sys, shaminfer; print(int('numba' in sys.modules), int('colossus' in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert out == ["0", "0"]


def test_import_creates_no_array_so_configure_jax_still_applies():
    # the entry points call configure_jax() after importing shaminfer; both flags must still take effect
    import os
    import subprocess
    import sys

    code = (
        "import shaminfer, shaminfer.app.cli, shaminfer.stats, shaminfer.inference, shaminfer.shamnet, shaminfer.catalogs\n"
        "from jax._src import xla_bridge as xb\n"
        "before = bool(xb._backends)\n"
        "shaminfer.configure_jax()\n"
        "import jax, jax.numpy as jnp\n"
        "print(int(before), jnp.ones(2).dtype, int(jax.config.values['jax_cpu_enable_async_dispatch']))\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "JAX_ENABLE_X64"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env).stdout.split()
    assert out == ["0", "float64", "0"]
