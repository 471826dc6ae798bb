"""TOML configuration: every bad key is named; the TOML writer round-trips."""
import tomllib

import pytest

from shaminfer.app.config import (
    ConfigError,
    edges_from_spec,
    load_fit_config,
    parse_fit_config,
    parse_mock_config,
)
from shaminfer.app.toml_io import dumps_toml

THETA = {"logphi_star": -2.3, "alpha": -1.07, "sigma_lo": 0.35, "sigma_hi": 0.22}


@pytest.mark.parametrize("raw, message", [
    ({"data": "m.npz", "sampler": {"num_chain": 2}},
     r"unknown key 'sampler.num_chain' \(did you mean 'sampler.num_chains'\?\)"),
    ({"data": "m.npz", "samplr": {}}, r"unknown key 'samplr' \(did you mean 'sampler'\?\)"),
    ({"data": "m.npz", "sampler": {"num_chains": 0}}, r"key 'sampler.num_chains': expected a value >= 1, found 0"),
    ({"data": "m.npz", "sampler": {"num_warmup": "many"}}, r"key 'sampler.num_warmup': expected an integer"),
    ({"data": "m.npz", "sampler": {"target_accept": 1.5}}, r"key 'sampler.target_accept': expected a number in"),
    ({"data": "m.npz", "sampler": {"backend": "emcee"}}, r"key 'sampler.backend': expected one of"),
    ({"data": 3}, r"key 'data': expected a string, found 3"),
    ({}, r"missing required key 'data'"),
    ({"data": "m.npz", "terms": ["smf", "cic"]}, r"key 'terms': expected a non-empty list of distinct names"),
    ({"data": "m.npz", "wp_samples": [0, -1]}, r"key 'wp_samples': expected a non-empty list of distinct"),
    ({"data": "m.npz", "prior": {"kind": "box", "lo": THETA}}, r"missing required key 'prior.hi'"),
    ({"data": "m.npz", "prior": {"lo": THETA}}, r"key 'prior.lo': only allowed with prior.kind = \"box\""),
    ({"data": "m.npz", "prior": {"kind": "box", "lo": {"alpha": 1}, "hi": THETA}},
     r"key 'prior.lo': expected a table with the 4 numbers"),
    ({"data": "m.npz", "likelihood": {"family": "cauchy"}}, r"key 'likelihood.family': expected one of"),
    ({"data": "m.npz", "likelihood": {"family": "student_t", "df": -1.0}},
     r"key 'likelihood.df': expected a positive finite number, found -1.0"),
])
def test_bad_fit_config_names_the_key(raw, message):
    with pytest.raises(ConfigError, match=message):
        parse_fit_config(raw, where="fit.toml")


@pytest.mark.parametrize("raw, message", [
    ({}, r"missing required key 'mock.theta_true'"),
    ({"mock": {"theta_true": THETA}, "catalog": {"source": "nbody"}}, r"key 'catalog.source': expected one of"),
    ({"mock": {"theta_true": THETA}, "catalog": {"source": "file"}}, r"key 'catalog.path': expected a catalog file"),
    ({"mock": {"theta_true": THETA}, "stats": {"smf_edges": [10.0, 9.0]}}, r"key 'stats.smf_edges': expected"),
    ({"mock": {"theta_true": THETA}, "stats": {"samples": [{"kind": "bin", "lo": 10.0}]}},
     r"key 'stats.samples': expected"),
    ({"mock": {"theta_true": THETA, "jackknife_n_side": 1}}, r"key 'mock.jackknife_n_side': expected a value >= 2"),
    ({"mock": {"theta_true": THETA, "nosie": True}}, r"unknown key 'mock.nosie' \(did you mean 'mock.noise'\?\)"),
])
def test_bad_mock_config_names_the_key(raw, message):
    with pytest.raises(ConfigError, match=message):
        parse_mock_config(raw, where="mock.toml")


def test_defaults_and_paths(tmp_path):
    path = tmp_path / "cfgs" / "fit_a.toml"
    path.parent.mkdir()
    path.write_text('data = "../mock.npz"\n[sampler]\nnum_chains = 2\nbackend = "blackjax"\n')
    cfg = load_fit_config(path)
    assert cfg.data == tmp_path / "mock.npz"
    assert cfg.run_dir == path.parent / "runs" / "fit_a"
    assert cfg.sampler.num_chains == 2 and cfg.sampler.backend == "blackjax" and cfg.sampler.dense_mass
    assert cfg.terms == () and cfg.prior["kind"] == "domain"  # (): every statistic in the data file
    assert cfg.likelihood == {"family": "gaussian", "df": 5.0}
    t = parse_fit_config({"data": "m.npz", "likelihood": {"family": "student_t", "df": 3}}, base_dir=tmp_path)
    assert t.likelihood == {"family": "student_t", "df": 3.0} and t.to_dict()["likelihood"]["df"] == 3.0
    mock = parse_mock_config({"mock": {"theta_true": THETA}}, base_dir=tmp_path)
    assert mock.output == tmp_path / "mock.npz" and mock.covariance == "jackknife" and not mock.noise
    assert edges_from_spec({"lo": 1.0, "hi": 100.0, "n": 2}, log=True) == pytest.approx((1.0, 10.0, 100.0))


def test_toml_writer_round_trips():
    doc = {"data": "m.npz", "terms": ["smf", "wp"], "sampler": {"num_chains": 2, "target_accept": 0.1 + 0.2,
                                                              "dense_mass": True},
           "mock": {"theta_true": THETA, "samples": [{"kind": "threshold", "lo": 10.0}]}}
    assert tomllib.loads(dumps_toml(doc)) == doc
    with pytest.raises(ValueError, match="non-finite"):
        dumps_toml({"x": float("nan")})
