"""Commented TOML templates of the ``mock`` and ``fit`` configurations (``shaminfer config-template``).

The template is generated from the schema itself (:mod:`.config`), so it
lists every key with its default value; :data:`KEY_COMMENTS` gives the one
comment line above each key. Required keys with no default get a working
example (:data:`EXAMPLES`): the fit template reads the file that the mock
template writes, so in an empty directory::

    shaminfer config-template mock > mock.toml && shaminfer mock mock.toml
    shaminfer config-template fit > fit.toml && shaminfer fit fit.toml

runs end to end.
"""
from __future__ import annotations

from typing import Mapping

from .config import _BY_MODEL, _FIT_SCHEMA, _MOCK_SCHEMA, _REQUIRED
from .toml_io import _scalar as toml_value  # the writer's inline form of one value

__all__ = ["TEMPLATE_KINDS", "KEY_COMMENTS", "EXAMPLES", "config_template", "schema_keys"]

TEMPLATE_KINDS = ("mock", "fit")

_FORWARD_SHAMNET = 'SHAMNet weights (.npz); "" = the shipped default (see `shaminfer domain --weights`)'

#: One comment per dotted key (and per table) of each configuration.
KEY_COMMENTS = {
    "mock": {
        "catalog": "which subhalo catalog the forward model runs on",
        "catalog.source": '"synthetic" (catalogs.synthetic_universe), "small_test", "file" (catalogs.load_catalog), '
                          '"hlist" (Rockstar / ConsistentTrees ASCII, .gz too) or "halotools" (a cached halotools '
                          'HDF5 catalog)',
        "catalog.seed": "random seed of the synthetic universe",
        "catalog.box_size": 'box side [Mpc/h]: "auto" = synthetic 175, hlist from its header; or a number '
                            '(synthetic, hlist)',
        "catalog.redshift": '"auto" = synthetic 0, hlist from its header, file name or scale column; or a number',
        "catalog.logmpeak_min": "mass cut in log10 Mpeak [Msun/h] (synthetic: its smallest mass)",
        "catalog.profile_logmpeak_min": "lensing profiles for subhalos above this log10 Mpeak [Msun/h]",
        "catalog.path": 'catalog file for source = "file", "hlist" or "halotools"; "" otherwise',
        "catalog.mass_column": '(hlist, halotools) the column used as Mpeak; "" = "Mpeak" / "halo_mpeak"',
        "catalog.columns": "(hlist, halotools) further columns kept as per-subhalo properties, by name",
        "catalog.missing_host": 'satellites whose host is below the cut: "central" (kept as centrals) or "raise"',
        "catalog.particles": '(file, hlist, halotools) dark-matter particle file for Delta Sigma: .h5/.hdf5/.npz '
                             'with positions "pos" (N, 3) [Mpc/h]; "" = none',
        "catalog.particle_mass": "mass of one particle [Msun/h]; 0 = the particle file's particle_mass",
        "stats": "the summary statistics: bins and galaxy samples (stats.StatsConfig)",
        "stats.smf_edges": "SMF bins in log10 M* [Msun]: {lo, hi, n} (n linear bins) or a list of edges",
        "stats.samples": 'galaxy samples of w_p and Delta Sigma: {kind = "threshold", lo} or '
                         '{kind = "bin", lo, hi}, in log10 M* [Msun]; add color = "red" or "blue" (a model with '
                         'quenching) for one colour',
        "stats.rp_edges": "projected-radius bins of w_p [Mpc/h]: {lo, hi, n} (log-spaced) or a list of edges",
        "stats.pi_max": "line-of-sight integration limit of w_p [Mpc/h]",
        "stats.ds_rebin": "merge the catalog's lensing annuli this many at a time for Delta Sigma",
        "stats.statistics": 'statistics the mock computes: any of "smf", "wp", "delta_sigma" (delta_sigma needs '
                            'lensing profiles or particles)',
        "stats.smf_colors": 'colours whose SMFs the mock computes too (smf_color), e.g. ["red", "blue"] (a model '
                            'with quenching); [] = none',
        "forward": "forward model",
        "forward.engine": 'engine the fits of this mock use: "exact", "corrfunc" or "tabulated" '
                          '(the mock itself is always computed with "exact")',
        "forward.shamnet": _FORWARD_SHAMNET,
        "model": "the galaxy-halo model (shaminfer.app.model_config); the default [\"sham\"] is SHAM through SHAMNet",
        "model.components": '"sham", "parametric" or "knots" (the stellar-mass kernel), and any of "quenching", '
                            '"disruption", "stellar_mass_offset"',
        "model.disruption_proxy": '(with "disruption") the per-subhalo catalog property it reads; "" = "vmax_frac"',
        "model.scatter": '(with "parametric" or "knots") "roll": Eq. 4 with its roll free; "knots": the scatter at '
                         'log10 Mpeak = 11, 12, 13, 14 (better conditioned in fits)',
        "model.quenching": '(with "quenching") "sigmoid": sigmoids in Mpeak and host mass; "knots": the quenched '
                           'fraction of centrals at log10 Mpeak = 11, 12, 13, 14 and the host quenching of '
                           'satellites at host log10 Mpeak = 12, 13, 14 (better conditioned in fits)',
        "mock": "the mock data",
        "mock.theta_true": "theta of the mock. SHAM: log10 phi*, alpha, sigma_lo and sigma_hi [dex], inside "
                           "SHAMNet's domain (`shaminfer domain`); other models: any parameters by name, the rest "
                           "at their blocks' defaults",
        "mock.covariance": '"jackknife", or an .npz file with cov_smf, cov_wp and cov_delta_sigma',
        "mock.jackknife_n_side": "jackknife subvolumes: n_side^3 of them",
        "mock.noise": "add one draw from the covariance to the data (false: noise-free mock)",
        "mock.noise_seed": "seed of that draw",
        "mock.diag_regularization": "use C + eps diag(C); only needed if the jackknife matrix is singular",
        "mock.output": "the mock data file this writes (.npz)",
    },
    "fit": {
        "data": "data file to fit (.npz, from `shaminfer mock` or the same layout)",
        "run_dir": 'run folder (posterior.nc, checkpoint, figures); "" = runs/<config name> beside this file',
        "terms": 'likelihood terms: any of "smf", "wp", "delta_sigma", "smf_color" (one term smf_<colour> per '
                 'colour); [] = every statistic in the data file',
        "wp_samples": "indices of the data file's galaxy samples used by w_p; [] = every sample",
        "delta_sigma_samples": "indices of the samples used by Delta Sigma; [] = every sample",
        "forward": "forward model; empty values keep the data file's",
        "forward.engine": '"" = the data file\'s engine, or "exact", "corrfunc", "tabulated"',
        "forward.shamnet": 'SHAMNet weights (.npz); "" = the data file\'s',
        "model": "the galaxy-halo model to fit; empty values keep the data file's model",
        "model.components": '[] = the data file\'s; or "sham" / "parametric" and any of "quenching", '
                            '"disruption", "stellar_mass_offset"',
        "model.scatter": '(with "parametric" or "knots") "roll" or "knots"; "" = the data file\'s',
        "model.quenching": '(with "quenching") "sigmoid" or "knots"; "" = the data file\'s',
        "model.disruption_proxy": '(with "disruption") the catalog property it reads; "" = the data file\'s or '
                                  '"vmax_frac"',
        "prior": "prior on theta; SHAM's parameters must lie inside SHAMNet's domain (`shaminfer domain`)",
        "prior.kind": '"domain" (SHAM on SHAMNet\'s training box, other blocks on their default ranges), "box" '
                      '(SHAM\'s four in prior.lo/hi) or "model" (default with [model]: "domain" with single fields\' '
                      'ranges from prior.lo/hi)',
        "prior.margin": 'fraction in (0, 0.5) by which the "domain" prior shrinks each half-width',
        "prior.lo": 'kind = "box": lower corner {logphi_star, alpha, sigma_lo, sigma_hi}; kind = "model": lower '
                    'edges by parameter name; {} otherwise',
        "prior.hi": 'kind = "box": upper corner {logphi_star, alpha, sigma_lo, sigma_hi}; kind = "model": upper '
                    'edges by parameter name; {} otherwise',
        "likelihood": "likelihood family of every term (inference.families)",
        "likelihood.family": '"gaussian" or "student_t" (heavy tails; the data file\'s covariance is its scale matrix)',
        "likelihood.df": "Student-t degrees of freedom, > 0 (the covariance is df / (df - 2) x the scale matrix)",
        "likelihood.shear_bias": "true: fit a multiplicative shear bias m, Delta Sigma -> (1 + m) Delta Sigma "
                                 "(prior [-0.05, 0.05] unless prior.lo/hi name m)",
        "sampler": "NUTS settings (inference.sampling.SamplerSettings)",
        "sampler.backend": '"numpyro" or "blackjax"',
        "sampler.num_chains": "independent chains",
        "sampler.num_warmup": "warmup (adaptation) steps per chain",
        "sampler.num_samples": "kept draws per chain",
        "sampler.chunk_size": "draws per chain between checkpoints; an interrupted run resumes from the last",
        "sampler.seed": "seeds warmup, every chunk of draws and the posterior-predictive draws",
        "sampler.target_accept": "target acceptance probability of the step-size adaptation, in (0, 1)",
        "sampler.max_tree_depth": "maximum number of trajectory doublings per NUTS step",
        "sampler.dense_mass": "adapt a dense (true) or diagonal (false) mass matrix",
        "sampler.init": '"laplace" (starts around per-chain modes, Laplace metric) or "prior" (uniform starts)',
        "sampler.progress_bar": "progress bars on stderr",
        "output": "outputs besides posterior.nc and summary.csv",
        "output.plots": "write the corner, trace and data-vs-posterior-predictive PNGs",
    },
}

#: Working values of the required keys (they have no default).
EXAMPLES = {
    "mock": {"mock.theta_true": {"logphi_star": -2.301, "alpha": -1.07, "sigma_lo": 0.35, "sigma_hi": 0.22}},
    "fit": {"data": "mock.npz"},
}

_SCHEMAS = {"mock": _MOCK_SCHEMA, "fit": _FIT_SCHEMA}


def schema_keys(kind: str) -> list[str]:
    """Every dotted key of the ``kind`` configuration's schema, in schema order."""
    def walk(schema: Mapping, prefix: str) -> list[str]:
        out = []
        for key, spec in schema.items():
            out += walk(spec, f"{prefix}{key}.") if isinstance(spec, Mapping) else [prefix + key]
        return out

    return walk(_schema(kind), "")


def _schema(kind: str) -> Mapping:
    if kind not in _SCHEMAS:
        raise ValueError(f"config template: expected one of {list(TEMPLATE_KINDS)}, found {kind!r}")
    return _SCHEMAS[kind]


def _comment(kind: str, path: str) -> str:
    return KEY_COMMENTS[kind].get(path, "see shaminfer.app.config")


def _entry(kind: str, path: str, key: str, spec) -> list[str]:
    if spec.default is _REQUIRED:
        value, note = EXAMPLES[kind][path], "required (an example value): "
    elif spec.default is _BY_MODEL:
        value, note = EXAMPLES[kind][path], "required for SHAM (an example value): "
    else:
        value, note = spec.default, ""
    return [f"# {note}{_comment(kind, path)}", f"{key} = {toml_value(value)}"]


def config_template(kind: str) -> str:
    """The commented TOML template of the ``kind`` ("mock" or "fit") configuration.

    Every key of the schema appears, set to its default (required keys: a
    working example), under one comment line; loading the text with
    :func:`~.config.load_mock_config` / :func:`~.config.load_fit_config`
    succeeds.

    Examples
    --------
    >>> print(config_template("fit").splitlines()[0])
    # shaminfer fit configuration: every key, set to its default (the schema is in shaminfer.app.config).
    """
    lines = [f"# shaminfer {kind} configuration: every key, set to its default "
             "(the schema is in shaminfer.app.config).",
             "# Relative paths are relative to this file. Written by `shaminfer config-template "
             f"{kind}`.", ""]

    def emit(table: Mapping, prefix: str) -> None:
        for key, spec in table.items():  # a table's own keys first, then its sub-tables
            if not isinstance(spec, Mapping):
                lines.extend(_entry(kind, prefix + key, key, spec))
        for key, spec in table.items():
            if isinstance(spec, Mapping):
                if lines[-1]:
                    lines.append("")
                lines.append(f"[{prefix}{key}]  # {_comment(kind, prefix + key)}")
                emit(spec, f"{prefix}{key}.")

    emit(_schema(kind), "")
    return "\n".join(lines).rstrip("\n") + "\n"
