"""Fixtures for the catalog tests: a private cache directory and one shared small universe."""
import os

import pytest


@pytest.fixture(scope="session", autouse=True)
def _private_cache_dir(tmp_path_factory):
    """Point the shaminfer disk cache at a temporary directory for the whole session."""
    old = os.environ.get("SHAMINFER_CACHE_DIR")
    os.environ["SHAMINFER_CACHE_DIR"] = str(tmp_path_factory.mktemp("shaminfer_cache"))
    yield
    if old is None:
        os.environ.pop("SHAMINFER_CACHE_DIR", None)
    else:
        os.environ["SHAMINFER_CACHE_DIR"] = old


@pytest.fixture(scope="session")
def small_universe(_private_cache_dir):
    from shaminfer.catalogs import small_test_universe

    return small_test_universe(seed=0)
