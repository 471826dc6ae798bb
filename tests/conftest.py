"""Test-wide settings: the entry points' JAX configuration (float64, synchronous CPU dispatch; tests also run with
JAX_ENABLE_X64=1), and a private disk cache."""
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
