"""The application shell: TOML configuration, resumable runs, plots, comparison, the demo and the CLI.

It sits above the functional core (:mod:`shaminfer.inference` and the
stages before it) and is the only layer that reads configuration files,
writes run folders and draws plots:

* :mod:`.config`, :mod:`.toml_io` -- the ``mock`` / ``fit`` TOML schema (every key documented there);
  :mod:`.model_config` -- its ``[model]`` table (any galaxy-halo model) and the checks against the model;
* :mod:`.forward` -- the forward model and jackknife resamplings built from a configuration;
* :mod:`.mock_io` -- mock data files; :mod:`.fit` -- resumable, checkpointed NUTS runs;
* :mod:`.pipeline` -- ``shaminfer mock`` and ``shaminfer fit`` end to end;
* :mod:`.plots`, :mod:`.compare` -- figures and run comparison;
* :mod:`.demo` -- ``make demo``; :mod:`.cli`, :mod:`.train_shamnet` -- the ``shaminfer`` command line;
* :mod:`.atomic` -- atomic writes and pickle-free ``.npz`` reads.
"""
from .compare import CompareResult, compare_runs
from .config import ConfigError, FitConfig, MockConfig, load_fit_config, load_mock_config
from .demo import DEMO_THETA_TRUE, DemoResult, demo_configs, run_demo
from .fit import FitResult, load_posterior, run_fit
from .mock_io import load_covariance_file, load_mock, save_mock
from .pipeline import run_fit_config, run_mock, write_fit_outputs

__all__ = [
    "CompareResult", "compare_runs",
    "ConfigError", "FitConfig", "MockConfig", "load_fit_config", "load_mock_config",
    "DEMO_THETA_TRUE", "DemoResult", "demo_configs", "run_demo",
    "FitResult", "load_posterior", "run_fit",
    "load_covariance_file", "load_mock", "save_mock",
    "run_fit_config", "run_mock", "write_fit_outputs",
]
