"""shaminfer: exact, differentiable SHAM predictions of clustering and lensing, with HMC.

Data flow one way (``../shared/STYLE.md``): catalog -> SHAMNet stellar masses
-> per-subhalo triweight weights -> summary statistics -> likelihood terms ->
sampler -> ArviZ. One subpackage per stage:

* :mod:`shaminfer.ingredients` - Eqs. 3, 4, A1-A2, B1-B3, C1-C2, E1 (imported eagerly);
* :mod:`shaminfer.shamnet` - SHAMNet (Sec. 3, App. C-D): ``predict_logsm``;
* :mod:`shaminfer.catalogs` - ``SubhaloCatalog``, ``synthetic_universe``, loaders, App. F profiles;
* :mod:`shaminfer.stats` - ``make_predictor`` for the SMF, w_p and Delta Sigma (Sec. 4);
* :mod:`shaminfer.inference` - likelihood terms, NumPyro/BlackJAX NUTS, ArviZ output.

Names from the later stages are re-exported lazily (first attribute access
imports the stage), so ``import shaminfer`` stays light: importing it creates
no JAX array, so :func:`configure_jax` can still run afterwards.
"""
from importlib import import_module

from .ingredients import *  # noqa: F401,F403  (re-export; the list is ingredients.__all__)
from .ingredients import __all__ as _ingredients_all

__version__ = "0.1.0"


def configure_jax() -> None:
    """The JAX settings of every shaminfer entry point; call it before creating any JAX array.

    * float64 (``jax_enable_x64``): the statistics and the App. B quadrature
      need it;
    * synchronous CPU dispatch (``jax_cpu_enable_async_dispatch=False``): the
      exact engine's pair counts run in a ``jax.pure_callback``, and with the
      CPU client's asynchronous dispatch a callback whose arguments are still
      being transferred can wait forever behind work queued after it (seen
      here on one CPU core; JAX issue #25861). The flag is read when the CPU
      client starts, so it has no effect once an array exists.
    """
    import jax

    jax.config.update("jax_enable_x64", True)
    jax.config.update("jax_cpu_enable_async_dispatch", False)


_LAZY = {
    # shamnet
    "predict_logsm": "shamnet",
    "checked_predict_logsm": "shamnet",
    "load_shamnet": "shamnet",
    "check_theta_in_domain": "shamnet",
    "in_domain": "shamnet",
    "sample_domain": "shamnet",
    # catalogs
    "SubhaloCatalog": "catalogs",
    "LensingProfiles": "catalogs",
    "synthetic_universe": "catalogs",
    "small_test_universe": "catalogs",
    "load_catalog": "catalogs",
    "save_catalog": "catalogs",
    "load_hlist": "catalogs",
    "load_halotools_catalog": "catalogs",
    "lensing_profiles": "catalogs",
    # stats
    "Predictions": "stats",
    "StatsConfig": "stats",
    "Sample": "stats",
    "make_config": "stats",
    "threshold_sample": "stats",
    "bin_sample": "stats",
    "make_predictor": "stats",
    "predict": "stats",
}
_SUBPACKAGES = ("ingredients", "shamnet", "catalogs", "stats", "inference")

__all__ = list(_ingredients_all) + list(_LAZY) + list(_SUBPACKAGES) + ["__version__", "configure_jax"]


def __getattr__(name):
    if name in _SUBPACKAGES:
        return import_module(f".{name}", __name__)
    if name in _LAZY:
        value = getattr(import_module(f".{_LAZY[name]}", __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'shaminfer' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(__all__))
