"""The [model] table of the TOML configuration: any galaxy-halo model through ``shaminfer mock`` and ``fit``.

Parsing, every bad input (a ConfigError naming the key), the prior of a fit with blocks and a shear bias,
and an end-to-end CLI run of a parametric SMHM with quenching on the small_test catalog.
"""
import subprocess
import sys

import numpy as np
import pytest

from shaminfer.app import model_config as mc
from shaminfer.app.cli import main
from shaminfer.app.config import ConfigError, parse_fit_config, parse_mock_config
from shaminfer.app.demo import DEMO_THETA_TRUE
from shaminfer.app.toml_io import dumps_toml
from shaminfer.galaxy_halo import QUENCHING_BLOCK, SMHM_BLOCK, compose, parametric, quenching
from shaminfer.ingredients import ShamParams

from .conftest import TINY_CATALOG, TINY_STATS

THETA = dict(DEMO_THETA_TRUE._asdict())
PQ = {"components": ["parametric", "quenching"]}

#: The end-to-end mock: red and blue SMFs and the w_p of red galaxies (robust to every prior draw on this box).
E2E_MOCK = {
    "catalog": {"source": "small_test"},
    "stats": {"smf_edges": {"lo": 9.6, "hi": 11.4, "n": 6},
              "samples": [{"kind": "threshold", "lo": 10.5, "color": "red"}],
              "rp_edges": {"lo": 0.5, "hi": 8.0, "n": 3}, "pi_max": 10.0, "statistics": ["smf", "wp"],
              "smf_colors": ["red", "blue"]},
    "forward": {"engine": "tabulated"},
    "model": PQ,
    "mock": {"theta_true": {"fq_cen_hi": 0.8}, "jackknife_n_side": 3, "output": "mock.npz"},
}
E2E_FIT = {
    "data": "mock.npz", "run_dir": "run",
    "prior": {"kind": "model", "lo": {"fq_cen_hi": 0.7}, "hi": {"fq_cen_hi": 0.9}},
    "sampler": {"num_chains": 2, "num_warmup": 20, "num_samples": 20, "chunk_size": 20, "max_tree_depth": 4,
                "init": "prior", "progress_bar": False},
}


def _write(path, doc):
    path.write_text(dumps_toml(doc))
    return path


def test_a_model_config_parses_by_name(tmp_path):
    cfg = parse_mock_config(E2E_MOCK, base_dir=tmp_path)
    model = compose(parametric(), quenching())
    assert cfg.model == {"components": ["parametric", "quenching"], "disruption_proxy": ""}
    assert cfg.theta_true._fields == model.fields and len(cfg.theta_true) == 19
    assert cfg.theta_true == model.defaults(fq_cen_hi=0.8)  # the rest at the blocks' defaults
    stored = cfg.to_dict()
    assert stored["model"] == cfg.model and stored["mock"]["theta_true"]["fq_cen_hi"] == 0.8
    assert stored["stats"]["samples"][0]["color"] == "red" and stored["stats"]["smf_colors"] == ["red", "blue"]
    # components in any order, a proxy with disruption; theta_true may be left out
    dis = parse_mock_config({"model": {"components": ["disruption", "parametric"], "disruption_proxy": "vmax_frac"}},
                            base_dir=tmp_path)
    assert "dis_x0" in dis.theta_true._fields and dis.theta_true.dis_x0 == 0.5
    fit = parse_fit_config({"data": "m.npz", "model": PQ, "prior": {"lo": {"fq_cen_hi": 0.6}}}, base_dir=tmp_path)
    assert fit.prior["kind"] == "model" and fit.to_dict()["model"] == fit.model  # "model" is the default with [model]


def test_the_scatter_at_knots_is_a_model_option(tmp_path):
    from shaminfer.galaxy_halo import KNOT_SCATTER_BLOCK, SCATTER_KINDS, knots

    assert mc.SCATTER_KINDS == SCATTER_KINDS
    table = {"components": ["knots", "quenching"], "scatter": "knots"}
    cfg = parse_mock_config({"model": table, "mock": {"theta_true": {"sigma_m130": 0.3}}}, base_dir=tmp_path)
    assert cfg.model == {"components": ["knots", "quenching"], "disruption_proxy": "", "scatter": "knots"}
    assert cfg.theta_true == compose(knots(scatter="knots"), quenching()).defaults(sigma_m130=0.3)
    assert cfg.to_dict()["model"]["scatter"] == "knots"
    assert [b.name for b in mc.galaxy_model(cfg.model).blocks][1] == KNOT_SCATTER_BLOCK.name
    # "roll" is the default and is not stored, so other models' stored configurations are unchanged
    roll = parse_mock_config({"model": dict(table, scatter="roll")}, base_dir=tmp_path)
    assert roll.model == {"components": ["knots", "quenching"], "disruption_proxy": ""}
    # a fit may change the scatter of the data file's model
    from shaminfer.app.pipeline import fit_model_table

    fit = parse_fit_config({"data": "m.npz", "model": {"scatter": "knots"}}, base_dir=tmp_path)
    assert fit.to_dict()["model"]["scatter"] == "knots"
    assert fit_model_table(fit, {"model": {"components": ["parametric"]}})["scatter"] == "knots"


def test_the_quenched_fractions_at_knots_are_a_model_option(tmp_path):
    from shaminfer.galaxy_halo import KNOT_QUENCHING_BLOCK, QUENCHING_KINDS, knots

    assert mc.QUENCHING_KINDS == QUENCHING_KINDS
    table = {"components": ["knots", "quenching"], "scatter": "knots", "quenching": "knots"}
    cfg = parse_mock_config({"model": table, "mock": {"theta_true": {"fq_cen_m120": 0.3}}}, base_dir=tmp_path)
    assert cfg.model == dict(table, disruption_proxy="")
    assert cfg.theta_true == compose(knots(scatter="knots"), quenching(kind="knots")).defaults(fq_cen_m120=0.3)
    assert [b.name for b in mc.galaxy_model(cfg.model).blocks][-1] == KNOT_QUENCHING_BLOCK.name
    # "sigmoid" is the default and is not stored
    sig = parse_mock_config({"model": dict(table, quenching="sigmoid")}, base_dir=tmp_path)
    assert "quenching" not in sig.model and "fq_cen_x0" in sig.theta_true._fields
    # a fit may change the quenching of the data file's model
    from shaminfer.app.pipeline import fit_model_table

    fit = parse_fit_config({"data": "m.npz", "model": {"quenching": "knots"}}, base_dir=tmp_path)
    assert fit_model_table(fit, {"model": {"components": ["parametric", "quenching"]}})["quenching"] == "knots"
    # refused: an unknown kind, knots without the quenching component, a value outside the block's bounds
    with pytest.raises(ConfigError, match=r"model.quenching.*'sigmoid', 'knots'.*'spline'"):
        parse_mock_config({"model": dict(table, quenching="spline")}, base_dir=tmp_path)
    with pytest.raises(ConfigError, match=r"model.quenching.*\"quenching\" component"):
        parse_mock_config({"model": {"components": ["knots"], "quenching": "knots"}}, base_dir=tmp_path)
    with pytest.raises(ConfigError, match=r"fq_cen_m130.*1.5"):
        parse_mock_config({"model": table, "mock": {"theta_true": {"fq_cen_m130": 1.5}}}, base_dir=tmp_path)


def test_sham_configs_are_unchanged(tmp_path):
    """No [model] (or components = ["sham"]) is SHAM as before: ShamParams, and the same stored configuration."""
    plain = parse_mock_config({"mock": {"theta_true": THETA}}, base_dir=tmp_path)
    named = parse_mock_config({"mock": {"theta_true": THETA}, "model": {"components": ["sham"]}}, base_dir=tmp_path)
    assert type(plain.theta_true) is ShamParams and plain.theta_true == DEMO_THETA_TRUE
    assert plain.to_dict() == named.to_dict() and "model" not in plain.to_dict()
    fit = parse_fit_config({"data": "m.npz"}, base_dir=tmp_path)
    assert fit.prior["kind"] == "domain" and not fit.shear_bias
    stored = fit.to_dict()
    assert "model" not in stored and stored["likelihood"] == {"family": "gaussian", "df": 5.0}
    assert set(stored) == {"data", "run_dir", "terms", "wp_samples", "delta_sigma_samples", "forward", "prior",
                           "likelihood", "sampler", "output"}  # the resume fingerprint of SHAM runs is unchanged


def test_synthetic_catalogs_have_what_the_config_check_assumes():
    from shaminfer.catalogs import small_test_universe

    cat = small_test_universe(0)
    assert sorted(cat.properties) == sorted(mc.SYNTHETIC_PROPERTIES) and cat.host_index is not None


@pytest.mark.parametrize("raw, message", [
    ({"model": {"components": ["parametric", "quenchin"]}},
     r"key 'model.components': unknown component 'quenchin' at position 1 \(did you mean 'quenching'\?\); "
     r"expected names from \['sham', 'parametric', 'knots', 'quenching', 'disruption', 'stellar_mass_offset'\]"),
    ({"model": {"components": ["knots", "parametric", "quenching"]}}, r"found \[.parametric., .knots.\]|found \[.knots., .parametric.\]"),
    ({"model": {"components": ["sham", "parametric"]}}, r"key 'model.components': expected exactly one stellar-mass"),
    ({"model": {"components": ["quenching"]}}, r"key 'model.components': expected exactly one stellar-mass"),
    ({"model": {"components": ["parametric", "parametric"]}}, r"key 'model.components': expected distinct"),
    ({"model": {"components": "parametric"}}, r"key 'model.components': expected a list"),
    ({"model": {"components": ["parametric"], "disruption_proxy": "vmax_frac"}},
     r"key 'model.disruption_proxy': only used with the \"disruption\" component"),
    ({"model": {"component": ["parametric"]}}, r"unknown key 'model.component' \(did you mean 'model.components'"),
    ({"model": {"components": ["knots"], "scatter": "linear"}}, r"key 'model.scatter': expected one of \['roll', 'knots'\]"),
    ({"model": {"components": ["sham"], "scatter": "knots"}, "mock": {"theta_true": THETA}},
     r"key 'model.scatter': 'knots' applies to the \"parametric\" and \"knots\" kernels"),
    ({"model": PQ, "mock": {"theta_true": {"fq_cen_hii": 0.5}}},
     r"key 'mock.theta_true.fq_cen_hii': unknown parameter 'fq_cen_hii' \(did you mean 'fq_cen_hi'\?\)"),
    ({"model": PQ, "mock": {"theta_true": {"fq_cen_hi": 1.5}}},
     r"key 'mock.theta_true.fq_cen_hi': block 'quenching', field 'fq_cen_hi': expected a value in the block's "
     r"bounds \[0, 1\], found 1.5"),
    ({"model": PQ, "mock": {"theta_true": {"logsm_0": "ten"}}}, r"key 'mock.theta_true.logsm_0': expected a number"),
    ({"model": PQ, "mock": {"theta_true": {"logphi_star": -2.3}}},
     r"key 'mock.theta_true.logphi_star': unknown parameter"),  # SHAM's fields are not the parametric model's
    ({"mock": {"theta_true": {"alpha": -1.0}}}, r"key 'mock.theta_true': expected a table with the 4 numbers"),
    ({"model": {"components": ["sham"]}}, r"missing required key 'mock.theta_true'"),
    ({"mock": {"theta_true": THETA}, "stats": {"samples": [{"kind": "threshold", "lo": 10.0, "color": "red"}]}},
     r"key 'stats.samples\[0\].color': 'red' needs a model with quenching, found a model without; add "
     r"\"quenching\" to model.components \(now \['sham'\]\)"),
    ({"model": {"components": ["parametric"]}, "stats": {"smf_colors": ["red", "blue"]}},
     r"key 'stats.smf_colors': \['red', 'blue'\] need a model with quenching"),
    ({"model": PQ, "stats": {"samples": [{"kind": "threshold", "lo": 10.0, "color": "green"}]}},
     r"key 'stats.samples': expected .*optional color from \['all', 'red', 'blue'\]"),
    ({"model": PQ, "stats": {"smf_colors": ["red", "red"]}}, r"key 'stats.smf_colors': expected a non-empty list of "
                                                             r"distinct names"),
    ({"model": {"components": ["sham", "quenching"]}, "mock": {"theta_true": THETA}},
     r"key 'forward.engine': \"tabulated\" tabulates SHAMNet for SHAM alone"),
    ({"mock": {"theta_true": THETA}, "stats": {"smf_colors": ["all"]}},
     r"key 'forward.engine': \"tabulated\" with SHAM computes no colour SMFs"),
    ({"model": {"components": ["parametric", "disruption"], "disruption_proxy": "mvir_frac"}},
     r"key 'model.components': the model 'parametric \+ disruption' needs the per-subhalo property 'mvir_frac', "
     r"which the catalog lacks: the synthetic catalog has \['host_logmpeak', 'vmax_frac'\]"),
])
def test_bad_model_mock_config_names_the_key(raw, message):
    with pytest.raises(ConfigError, match=r"^mock\.toml: " + message):
        parse_mock_config(raw, where="mock.toml")


def test_catalog_files_that_lack_what_the_model_reads_are_refused(tmp_path):
    from shaminfer.catalogs import SubhaloCatalog, save_catalog

    rng = np.random.default_rng(0)
    cat = SubhaloCatalog(pos=rng.uniform(0, 10, (20, 3)), logmpeak=rng.uniform(11, 13, 20), box_size=10.0,
                         redshift=0.0, properties={"vpeak": rng.uniform(100, 200, 20)})
    path = save_catalog(cat, tmp_path / "cat.npz")
    base = {"catalog": {"source": "file", "path": str(path)}, "stats": {"statistics": ["smf", "wp"]}}
    parse_mock_config({**base, "model": {"components": ["parametric"]}})  # needs nothing of the catalog
    with pytest.raises(ConfigError, match=r"key 'model.components': the model 'parametric \+ quenching' needs the "
                                          r"host/satellite structure \(host_index\), which the catalog file cat.npz"):
        parse_mock_config({**base, "model": PQ})
    hosts = cat.replace(host_index=np.full(20, -1))
    save_catalog(hosts, path)
    with pytest.raises(ConfigError, match=r"needs the per-subhalo property 'vmax_frac', which the catalog lacks: the "
                                          r"catalog file cat.npz has the properties \['vpeak'\]"):
        parse_mock_config({**base, "model": {"components": ["parametric", "disruption"]}})
    hlist = tmp_path / "hlist.list"
    hlist.write_text("# not read at parse time\n")
    with pytest.raises(ConfigError, match=r"'vmax_frac', which the catalog lacks: the hlist catalog keeps \['id', "
                                          r"'upid'\]; add the column to catalog.columns"):
        parse_mock_config({"catalog": {"source": "hlist", "path": str(hlist)}, "stats": {"statistics": ["smf"]},
                           "model": {"components": ["parametric", "disruption"]}})
    # and on a loaded catalog (the check the pipeline runs before any statistic)
    with pytest.raises(ValueError, match=r"key 'model.components': properties: the model 'parametric \+ disruption' "
                                         r"needs the per-subhalo property 'vmax_frac'"):
        mc.check_catalog_binds(hosts, mc.galaxy_model({"components": ["parametric", "disruption"]}))


@pytest.mark.parametrize("raw, message", [
    ({"model": {"components": ["parametric"]}, "prior": {"lo": {"logsm_00": 9.9}}},
     r"key 'prior.lo.logsm_00': unknown parameter 'logsm_00' \(did you mean 'logsm_0'\?\)"),
    ({"model": {"components": ["parametric"]}, "prior": {"hi": {"logsm_0": 20.0}}},
     r"key 'prior.hi.logsm_0': block 'smhm', field 'logsm_0': expected a value in the block's bounds \[8.5, 12\], "
     r"found 20.0"),
    ({"model": {"components": ["parametric"]}, "prior": {"lo": {"m": -0.1}}}, r"key 'prior.lo.m': unknown parameter"),
    ({"model": PQ, "prior": {"lo": {"fq_cen_lo": 0.5}}},
     r"key 'prior': block 'quenching', field 'fq_cen_lo': expected lo < hi, found \[0.5, 0.4\]"),
    ({"model": {"components": ["sham", "quenching"]}, "prior": {"lo": {"alpha": -1.2}}},
     r"key 'prior.lo': SHAM's parameters .* a box given in both prior.lo and prior.hi for all four"),
    ({"model": PQ, "prior": {"kind": "box", "lo": THETA, "hi": THETA}},
     r"key 'prior.kind': \"box\" is a box on SHAM's four parameters, found a model without them"),
    ({"model": PQ, "prior": {"kind": "domain", "hi": {"fq_cen_hi": 0.9}}},
     r"key 'prior.hi': only allowed with prior.kind = \"box\" or \"model\""),
    ({"prior": {"kind": "model", "lo": {"fq_cen_hi": "high"}}}, r"key 'prior.lo.fq_cen_hi': expected a number"),
    ({"prior": {"kind": "simplex"}}, r"key 'prior.kind': expected one of \['domain', 'box', 'model'\]"),
    ({"terms": ["smf", "wp"], "likelihood": {"shear_bias": True}},
     r"key 'likelihood.shear_bias': scales the delta_sigma term, found terms = \['smf', 'wp'\]"),
    ({"likelihood": {"shear_bias": "yes"}}, r"key 'likelihood.shear_bias': expected true/false"),
    ({"model": {"components": ["sham", "quenching"]}, "forward": {"engine": "tabulated"}},
     r"key 'forward.engine': \"tabulated\" tabulates SHAMNet for SHAM alone"),
    ({"terms": ["smf", "smf_colour"]}, r"key 'terms': expected a non-empty list of distinct names from \['smf', 'wp', "
                                       r"'delta_sigma', 'smf_color'\]"),
])
def test_bad_model_fit_config_names_the_key(raw, message):
    with pytest.raises(ConfigError, match=r"^fit\.toml: " + message):
        parse_fit_config({"data": "m.npz", **raw}, where="fit.toml")


def test_prior_ranges_by_name_and_the_shear_bias_block():
    from shaminfer.app.pipeline import prior_from_config
    from shaminfer.inference.model_terms import shear_bias_block
    from shaminfer.inference.priors import THETA_NAMES, domain_prior
    from shaminfer.shamnet import load_shamnet

    net = load_shamnet()
    model = compose(parametric(), quenching())
    blocks = model.blocks + (shear_bias_block(),)
    prior = prior_from_config({"kind": "model", "lo": {"fq_cen_hi": 0.7, "m": -0.1}, "hi": {"fq_cen_hi": 0.9}},
                              net=net, blocks=blocks)
    assert prior.names == model.fields + ("m",)
    lo = prior.center - prior.half_width
    hi = prior.center + prior.half_width
    i, j, k = prior.names.index("fq_cen_hi"), prior.names.index("m"), prior.names.index("logsm_0")
    np.testing.assert_allclose([lo[i], hi[i], lo[j], hi[j]], [0.7, 0.9, -0.1, 0.05])
    np.testing.assert_allclose([lo[k], hi[k]], SMHM_BLOCK.prior["logsm_0"])  # untouched: the block's default
    dom = prior_from_config({"kind": "domain"}, net=net, blocks=blocks)
    q = dom.names.index("fq_cen_hi")
    np.testing.assert_allclose([dom.center[q] - dom.half_width[q], dom.center[q] + dom.half_width[q]],
                               QUENCHING_BLOCK.prior["fq_cen_hi"])
    # SHAM alone: the four-parameter domain prior it always was; with a shear bias, the same block plus m
    legacy = domain_prior(net=net, margin=0.02)
    sham = prior_from_config({"kind": "domain", "margin": 0.02}, net=net)
    assert sham.names == THETA_NAMES
    for a, b in ((sham.center, legacy.center), (sham.basis, legacy.basis), (sham.half_width, legacy.half_width)):
        np.testing.assert_array_equal(a, b)
    from shaminfer.galaxy_halo import SHAM_BLOCK

    with_m = prior_from_config({"kind": "domain", "margin": 0.02}, net=net, blocks=(SHAM_BLOCK, shear_bias_block()))
    assert with_m.names == THETA_NAMES + ("m",)
    np.testing.assert_array_equal(with_m.basis[:4, :4], legacy.basis)
    np.testing.assert_array_equal(with_m.half_width[:4], legacy.half_width)


@pytest.fixture(scope="module")
def sham_lensing_mock(tmp_path_factory):
    """A SHAM mock on the tiny synthetic catalog (every subhalo has a lensing profile)."""
    from shaminfer.app.pipeline import run_mock

    out = tmp_path_factory.mktemp("sham_mock")
    cfg = parse_mock_config({"catalog": TINY_CATALOG, "stats": TINY_STATS, "forward": {"engine": "exact"},
                             "mock": {"theta_true": THETA, "jackknife_n_side": 2}}, base_dir=out)
    run_mock(cfg, log=lambda m: None)
    return out / "mock.npz"


def test_a_shear_bias_fit_of_a_sham_mock_adds_m(sham_lensing_mock, tmp_path):
    from shaminfer.app.pipeline import prepare_fit
    from shaminfer.inference.priors import THETA_NAMES, theta_from_unit

    cfg = parse_fit_config({"data": str(sham_lensing_mock), "forward": {"engine": "exact"},
                            "likelihood": {"shear_bias": True}, "prior": {"kind": "model", "lo": {"m": -0.1}}},
                           base_dir=tmp_path)
    fit = prepare_fit(cfg, log=lambda m: None)
    prior = fit.model.prior
    assert prior.names == THETA_NAMES + ("m",)
    np.testing.assert_allclose([prior.center[-1] - prior.half_width[-1], prior.center[-1] + prior.half_width[-1]],
                               [-0.1, 0.05])
    ds = next(t for t in fit.model.terms if t.name == "delta_sigma")
    theta = theta_from_unit(prior, np.zeros(prior.ndim))
    out = fit.model.forward(theta)
    base = ds.predict(theta._replace(m=0.0), out)
    np.testing.assert_allclose(ds.predict(theta._replace(m=0.04), out), 1.04 * base, rtol=1e-12)
    truth = fit.attrs["theta_true"]
    np.testing.assert_allclose(truth[:4], np.asarray(DEMO_THETA_TRUE))
    assert np.isnan(truth[4]) and fit.config["fit"]["likelihood"]["shear_bias"] is True


@pytest.fixture(scope="module")
def e2e(tmp_path_factory):
    """`shaminfer mock` then `shaminfer fit` on the small_test catalog, through the CLI's entry point."""
    out = tmp_path_factory.mktemp("e2e")
    mock_toml = _write(out / "mock.toml", E2E_MOCK)
    fit_toml = _write(out / "fit.toml", E2E_FIT)
    return out, mock_toml, fit_toml


def test_mock_then_fit_through_the_cli(e2e, capsys):
    from shaminfer.app.fit import load_posterior
    from shaminfer.inference.diagnostics import parameter_names, stored_truth

    out, mock_toml, fit_toml = e2e
    assert main(["mock", str(mock_toml)]) == 0
    assert "smf_color (2, 6)" in capsys.readouterr().out
    data = np.load(out / "mock.npz")
    assert data["smf_color"].shape == (2, 6) and data["cov_smf_color"].shape == (12, 12)
    np.testing.assert_allclose(data["smf_color"].sum(axis=0), data["smf"], rtol=1e-10)  # red + blue = all
    assert np.all(np.linalg.eigvalsh(data["cov_smf_color"]) > 0)
    fields = compose(parametric(), quenching()).fields
    assert str(data["theta_names"]).split(",") == list(fields)

    assert main(["fit", str(fit_toml), "--no-plots"]) == 0  # the fit takes the data file's model
    assert "truth inside the central 95% interval" in capsys.readouterr().out
    idata = load_posterior(out / "run")
    assert parameter_names(idata) == list(fields)
    for name in fields:
        assert np.asarray(idata.posterior[name]).shape == (2, 20)
    draws = np.asarray(idata.posterior["fq_cen_hi"])
    assert draws.min() >= 0.7 and draws.max() <= 0.9  # the prior range given by name
    assert sorted(idata.log_likelihood.data_vars) == ["obs_smf", "obs_smf_blue", "obs_smf_red", "obs_wp"]
    truth = stored_truth(idata)
    assert list(truth) == list(fields) and truth["fq_cen_hi"] == 0.8
    assert "fq_sat_x0" in (out / "run" / "summary.csv").read_text()


def test_fit_time_checks_against_the_data_files_model(e2e, tmp_path):
    """Before any catalog is built: prior fields and colours are checked against the data file's model."""
    from shaminfer.app.pipeline import prepare_fit

    out = e2e[0]
    if not (out / "mock.npz").exists():
        assert main(["mock", str(e2e[1])]) == 0
    data = str(out / "mock.npz")
    bad_prior = parse_fit_config({"data": data, "prior": {"kind": "model", "lo": {"fq_cen_hii": 0.5}}},
                                 base_dir=tmp_path, where="fit.toml")
    with pytest.raises(ConfigError, match=r"fit.toml: key 'prior.lo.fq_cen_hii': unknown parameter 'fq_cen_hii' "
                                          r"\(did you mean 'fq_cen_hi'\?\)"):
        prepare_fit(bad_prior)
    no_quenching = parse_fit_config({"data": data, "model": {"components": ["parametric"]}}, base_dir=tmp_path,
                                    where="fit.toml")
    with pytest.raises(ConfigError, match=r"fit.toml: key 'stats.samples\[0\].color' of the data file mock.npz: 'red' "
                                          r"needs a model with quenching"):
        prepare_fit(no_quenching)
    smf_only = no_quenching._replace(terms=("smf", "smf_color"))
    with pytest.raises(ConfigError, match=r"key 'stats.smf_colors' of the data file mock.npz: \['red', 'blue'\] need "
                                          r"a model with quenching.*or list the terms without \"smf_color\""):
        prepare_fit(smf_only)


def test_a_bad_model_exits_2_without_a_traceback(tmp_path, capsys):
    bad = _write(tmp_path / "bad.toml", {**E2E_MOCK, "model": {"components": ["parametric", "quenchin"]}})
    assert main(["mock", str(bad)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"shaminfer mock: error: {bad}: key 'model.components': unknown component 'quenchin'")
    assert "Traceback" not in err and err.count("\n") == 1
    proc = subprocess.run([sys.executable, "-m", "shaminfer.app.cli", "mock", str(bad)], capture_output=True,
                          text=True)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr and "did you mean 'quenching'" in proc.stderr
