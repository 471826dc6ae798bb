"""StatsConfig construction and its one-time validation against a catalog."""
import math

import numpy as np
import pytest

from shaminfer.catalogs import SubhaloCatalog, small_test_universe
from shaminfer.stats import (
    DEFAULT_STATS_CONFIG,
    Sample,
    StatsConfig,
    bin_sample,
    check_config,
    make_config,
    threshold_sample,
)


@pytest.fixture(scope="module")
def catalog():
    return small_test_universe()


def test_config_is_hashable_and_built_from_arrays():
    cfg = make_config(smf_edges=np.linspace(9, 11, 5), samples=[("threshold", 10.5), ("bin", 10.0, 10.5)],
                      rp_edges=np.logspace(-1, 1, 4), pi_max=20)
    assert hash(cfg) == hash(make_config(smf_edges=[9, 9.5, 10, 10.5, 11], samples=[threshold_sample(10.5),
                                         bin_sample(10.0, 10.5)], rp_edges=np.logspace(-1, 1, 4), pi_max=20.0))
    assert cfg.samples[0] == Sample("threshold", 10.5, math.inf)
    assert all(isinstance(v, float) for v in cfg.smf_edges)
    assert isinstance(DEFAULT_STATS_CONFIG, StatsConfig)


def test_valid_configs_pass(catalog):
    check_config(make_config(smf_edges=np.linspace(9, 11, 5), samples=[threshold_sample(10.5)],
                             rp_edges=np.logspace(-1, 1, 4), pi_max=20.0, ds_rbins=catalog.lensing.rbins[::5]),
                 catalog)
    check_config(make_config(), catalog)
    big = SubhaloCatalog(pos=np.zeros((1, 3)), logmpeak=[12.0], box_size=175.0)
    check_config(DEFAULT_STATS_CONFIG._replace(ds_rbins=()), big)


@pytest.mark.parametrize("changes,match", [
    (dict(smf_edges=[9.0, 10.0, 10.0]), r"smf_edges: expected strictly increasing.*found 1 non-increasing"),
    (dict(smf_edges=[9.0]), r"smf_edges: expected at least 2"),
    (dict(smf_edges=[9.0, np.nan]), r"smf_edges: expected finite"),
    (dict(rp_edges=[0.0, 1.0, 2.0]), r"rp_edges: expected a first edge > 0"),
    (dict(rp_edges=[0.1, 1.0, 30.0]), r"rp_edges: expected the last edge below box_size/2 = 25"),
    (dict(rp_edges=[0.1, 1.0], pi_max=25.0), r"pi_max: expected 0 < pi_max < box_size/2 = 25"),
    (dict(rp_edges=[0.1, 1.0], pi_max=-1.0), r"pi_max"),
    (dict(samples=[Sample("cut", 10.0)]), r"samples\[0\].kind: expected one of"),
    (dict(samples=[Sample("bin", 10.0, 9.0)]), r"samples\[0\].hi: expected a finite value above lo"),
    (dict(samples=[Sample("threshold", 10.0, 11.0)]), r"samples\[0\].hi: expected inf"),
    (dict(samples=[Sample("threshold", np.nan)]), r"samples\[0\].lo: expected a finite"),
    (dict(ds_rbins=(0.1, 0.2, 5.0)), r"ds_rbins: expected edges taken from the catalog's lensing bins.*found 2"),
    (dict(los_axis=3), r"los_axis"),
])
def test_bad_configs_name_the_field(catalog, changes, match):
    cfg = make_config()._replace(**{k: (tuple(v) if isinstance(v, list) else v) for k, v in changes.items()})
    with pytest.raises(ValueError, match=match):
        check_config(cfg, catalog)


def test_ds_rbins_need_profiles():
    cat = SubhaloCatalog(pos=np.zeros((1, 3)), logmpeak=[12.0], box_size=50.0)
    with pytest.raises(ValueError, match="catalog.lensing None"):
        check_config(make_config(ds_rbins=[0.1, 1.0]), cat)
    with pytest.raises(ValueError, match="expected a StatsConfig"):
        check_config({"rp_edges": ()}, cat)
