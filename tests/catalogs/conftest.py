"""Fixtures for the catalog tests: one shared small universe (built in the test run's private cache, tests/conftest.py)."""
import pytest


@pytest.fixture(scope="session")
def small_universe(_private_cache_dir):
    from shaminfer.catalogs import small_test_universe

    return small_test_universe(seed=0)
