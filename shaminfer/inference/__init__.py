"""Bayesian inference of theta: likelihood terms, priors, mocks, NUTS (NumPyro, BlackJAX), ArviZ data.

The last stage of the one-way data flow (catalog -> SHAMNet -> weights ->
statistics -> **likelihood terms -> sampler -> ArviZ**). It sees the forward
model only as ``predictor(theta) -> Predictions`` (``stats.make_predictor``),
and it reads no configuration file, writes no file and draws no plot: the
application shell that does (TOML, resumable runs, plots, comparison, the
demo and the CLI) is :mod:`shaminfer.app`.

* :mod:`.terms` -- the likelihood-term protocol and ``SMFTerm``, ``WpTerm``,
  ``DeltaSigmaTerm``, ``GaussianTerm`` (add your own), ``StudentTTerm``, ``PoissonTerm``;
* :mod:`.families` -- Gaussian, Student-t and Poisson log-likelihoods (joint and leave-one-out);
* :mod:`.priors` -- uniform priors inside SHAMNet's training domain;
* :mod:`.model_prior` -- the prior of a fit with parameter blocks (:mod:`shaminfer.galaxy_halo`);
* :mod:`.model_terms` -- colour SMF terms and terms with a nuisance parameter (shear bias);
* :mod:`.model` -- the NumPyro model (one observed site ``obs_<name>`` per term);
* :mod:`.mock` -- mock data vectors and their jackknife covariance;
* :mod:`.sampling` (settings, the chunked-sampler protocol), :mod:`.samplers`
  (``make_sampler``), :mod:`.nuts_numpyro`, :mod:`.nuts_blackjax`,
  :mod:`.initialization` -- chunked NUTS with both libraries;
* :mod:`.inference_data` -- the ArviZ ``InferenceData`` layout;
  :mod:`.diagnostics` -- R-hat, ESS, coverage.

For convenience the shell's main entry points are importable from here too
(``run_fit``, ``load_posterior``, ``FitResult``, ``save_mock``, ``load_mock``,
``compare_runs``, ``CompareResult``, the configuration loaders): they are
resolved from :mod:`shaminfer.app` on first access, so importing this package
never imports the shell.
"""
from importlib import import_module

from .diagnostics import Convergence, convergence, theta_summary, truth_coverage
from .mock import MockData, jackknife_covariance, make_mock, mock_terms
from .model import ShamModel, build_model
from .model_prior import fit_blocks, model_prior, nuisance_blocks
from .model_terms import SMFColorTerm, shear_bias_block, with_shear_bias
from .priors import ThetaPrior, box_prior, check_prior_in_domain, domain_prior, shamnet_domain
from .samplers import make_sampler
from .sampling import DEFAULT_SAMPLER_SETTINGS, SamplerSettings
from .terms import DeltaSigmaTerm, GaussianTerm, LikelihoodTerm, PoissonTerm, SMFTerm, StudentTTerm, WpTerm

#: Shell names re-exported here (name -> module of :mod:`shaminfer.app`), resolved on first access.
SHELL_NAMES = {
    "CompareResult": "compare", "compare_runs": "compare",
    "ConfigError": "config", "FitConfig": "config", "MockConfig": "config",
    "load_fit_config": "config", "load_mock_config": "config",
    "FitResult": "fit", "load_posterior": "fit", "run_fit": "fit",
    "load_mock": "mock_io", "save_mock": "mock_io",
}

__all__ = [
    "Convergence", "convergence", "theta_summary", "truth_coverage",
    "MockData", "jackknife_covariance", "make_mock", "mock_terms",
    "ShamModel", "build_model",
    "fit_blocks", "model_prior", "nuisance_blocks", "SMFColorTerm", "shear_bias_block", "with_shear_bias",
    "ThetaPrior", "box_prior", "check_prior_in_domain", "domain_prior", "shamnet_domain",
    "make_sampler", "DEFAULT_SAMPLER_SETTINGS", "SamplerSettings",
    "DeltaSigmaTerm", "GaussianTerm", "LikelihoodTerm", "PoissonTerm", "SMFTerm", "StudentTTerm", "WpTerm",
    *SHELL_NAMES,
]


def __getattr__(name):
    if name in SHELL_NAMES:
        value = getattr(import_module(f"shaminfer.app.{SHELL_NAMES[name]}"), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'shaminfer.inference' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(__all__))
