"""Test-wide settings: the entry points' JAX configuration (float64, synchronous CPU dispatch; tests also run with
JAX_ENABLE_X64=1), a private disk cache, and the stand-in inference model shared by the core and shell tests."""
import os

os.environ.setdefault("JAX_ENABLE_X64", "1")

import pytest  # noqa: E402

from shaminfer import configure_jax  # noqa: E402

configure_jax()


@pytest.fixture(scope="session", autouse=True)
def _private_cache_dir(tmp_path_factory):
    """Keep catalogs, profiles and tables built by the tests (notebooks included) out of the user's cache."""
    old = os.environ.get("SHAMINFER_CACHE_DIR")
    os.environ["SHAMINFER_CACHE_DIR"] = str(tmp_path_factory.mktemp("shaminfer_cache"))
    yield
    if old is None:
        os.environ.pop("SHAMINFER_CACHE_DIR", None)
    else:
        os.environ["SHAMINFER_CACHE_DIR"] = old


@pytest.fixture(scope="session")
def standin_terms():
    """SMF, w_p and Delta Sigma terms of the stand-in at THETA_TRUE (noise-free)."""
    from shaminfer.inference.terms import DeltaSigmaTerm, SMFTerm, WpTerm

    from .inference.standin import THETA_TRUE, covariances, forward

    pred = forward(THETA_TRUE)
    cs, cw, cd = covariances(pred)
    return [SMFTerm(pred.smf, cs), WpTerm(pred.wp, cw, samples=[0, 1, 2]),
            DeltaSigmaTerm(pred.delta_sigma, cd, samples=[0, 1, 2])]


@pytest.fixture(scope="session")
def standin_model(standin_terms):
    """The NumPyro model of the stand-in forward model with a prior over its domain."""
    from shaminfer.inference.model import build_model
    from shaminfer.inference.priors import domain_prior

    from .inference.standin import DOMAIN, forward

    prior = domain_prior(domain=DOMAIN)
    return build_model(forward, standin_terms, prior, domain=DOMAIN)
