"""Bayesian inference of theta: likelihood terms, priors, mocks, NUTS (NumPyro, BlackJAX), ArviZ output.

The last stage of the one-way data flow (catalog -> SHAMNet -> weights ->
statistics -> **likelihood terms -> sampler -> ArviZ**). It sees the forward
model only as ``predictor(theta) -> Predictions`` (``stats.make_predictor``).

* :mod:`.terms` -- the likelihood-term protocol and ``SMFTerm``, ``WpTerm``,
  ``DeltaSigmaTerm``, ``GaussianTerm`` (add your own);
* :mod:`.priors` -- uniform priors inside SHAMNet's training domain;
* :mod:`.model` -- the NumPyro model (one observed site ``obs_<name>`` per term);
* :mod:`.mock` -- mock data with a jackknife covariance; :mod:`.forward` builds
  the forward model and the jackknife resamplings from a configuration;
* :mod:`.sampling`, :mod:`.nuts_numpyro`, :mod:`.nuts_blackjax`,
  :mod:`.initialization` -- chunked NUTS with both libraries;
* :mod:`.fit` -- resumable, checkpointed runs; :mod:`.inference_data` -- the
  ArviZ ``InferenceData`` layout; :mod:`.diagnostics`, :mod:`.plots`,
  :mod:`.compare`;
* :mod:`.config`, :mod:`.pipeline`, :mod:`.demo` -- the TOML-driven shell
  behind ``shaminfer mock / fit / compare / demo``.
"""
from .compare import CompareResult, compare_runs
from .config import ConfigError, FitConfig, MockConfig, load_fit_config, load_mock_config
from .diagnostics import Convergence, convergence, theta_summary, truth_coverage
from .fit import FitResult, load_posterior, run_fit
from .mock import MockData, jackknife_covariance, load_mock, make_mock, mock_terms, save_mock
from .model import ShamModel, build_model
from .priors import ThetaPrior, box_prior, check_prior_in_domain, domain_prior, shamnet_domain
from .sampling import DEFAULT_SAMPLER_SETTINGS, SamplerSettings
from .terms import DeltaSigmaTerm, GaussianTerm, LikelihoodTerm, SMFTerm, WpTerm

__all__ = [
    "CompareResult", "compare_runs",
    "ConfigError", "FitConfig", "MockConfig", "load_fit_config", "load_mock_config",
    "Convergence", "convergence", "theta_summary", "truth_coverage",
    "FitResult", "load_posterior", "run_fit",
    "MockData", "jackknife_covariance", "load_mock", "make_mock", "mock_terms", "save_mock",
    "ShamModel", "build_model",
    "ThetaPrior", "box_prior", "check_prior_in_domain", "domain_prior", "shamnet_domain",
    "DEFAULT_SAMPLER_SETTINGS", "SamplerSettings",
    "DeltaSigmaTerm", "GaussianTerm", "LikelihoodTerm", "SMFTerm", "WpTerm",
]
