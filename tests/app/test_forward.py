"""The forward-model glue: statistics configuration, pruning, the jackknife by weight masking."""
import numpy as np
import pytest

from shaminfer.app.forward import (
    build_predictor,
    build_stats_config,
    jackknife_predictions,
    leave_out_catalog,
    prune_stats_config,
    term_layouts,
)
from shaminfer.inference.mock import subvolume_labels

from .conftest import TINY_STATS


def test_stats_config_and_pruning(tiny_catalog):
    config = build_stats_config(TINY_STATS, tiny_catalog)
    assert len(config.smf_edges) == 6 and len(config.rp_edges) == 4 and len(config.samples) == 2
    assert config.ds_rbins[0] == tiny_catalog.lensing.rbins[0] and config.ds_rbins[-1] == tiny_catalog.lensing.rbins[-1]
    smf_only = prune_stats_config(config, ["smf"])
    assert smf_only.samples == () and smf_only.rp_edges == () and smf_only.ds_rbins == ()
    assert prune_stats_config(config, ["wp"]).ds_rbins == () and prune_stats_config(config, ["wp"]).smf_edges == ()


def test_jackknife_by_masking_equals_leaving_the_subvolume_out(tiny_catalog, tiny_problem):
    """Oracle: make_predictor on the catalog without subvolume k (corrections undone)."""
    from shaminfer.stats.predict import make_predictor

    config, net, truth = tiny_problem["config"], tiny_problem["net"], tiny_problem["truth"]
    n_side = 2
    preds = jackknife_predictions(tiny_catalog, config, truth, n_side=n_side, net=net)
    assert len(preds) == 8
    labels = subvolume_labels(tiny_catalog.pos, tiny_catalog.box_size, n_side)
    frac = 7 / 8
    two_pi_max = 2 * config.pi_max
    for k in (0, 5):
        sub = leave_out_catalog(tiny_catalog, labels != k)
        assert sub.n == int((labels != k).sum())
        ref = make_predictor(sub, config, net=net)(truth)
        np.testing.assert_allclose(preds[k].smf * frac, ref.smf, rtol=1e-10)
        np.testing.assert_allclose((preds[k].wp + two_pi_max) / frac - two_pi_max, ref.wp, rtol=1e-9)
        np.testing.assert_allclose(preds[k].delta_sigma, ref.delta_sigma, rtol=1e-10)


def test_term_layouts_label_the_built_in_terms(tiny_catalog, tiny_problem):
    layouts = term_layouts(tiny_problem["config"], tiny_catalog, tiny_problem["terms"])
    assert set(layouts) == {"smf", "wp", "delta_sigma"}  # the user's term gets the default layout
    wp = layouts["wp"]
    assert wp.x.size == tiny_problem["mock"].wp.size and wp.logx and wp.group_labels[0] == "log10 M* >= 10.5"
    with pytest.raises(ValueError, match="forward.engine: expected one of"):
        build_predictor(tiny_catalog, tiny_problem["config"], {"engine": "fast"}, net=tiny_problem["net"])


def test_jackknife_of_a_model_equals_leaving_the_subvolume_out(tiny_catalog):
    """Oracle for the model path: a model reading no host structure (the parametric SMHM) on the catalog
    without subvolume k, corrections undone -- SMF, w_p and Delta Sigma."""
    from shaminfer.galaxy_halo import compose, parametric
    from shaminfer.stats.predict import make_predictor

    model = compose(parametric())
    config = build_stats_config(TINY_STATS, tiny_catalog)
    theta = model.defaults(logsm_0=10.1, sigma_hi=0.25)
    preds = jackknife_predictions(tiny_catalog, config, theta, n_side=2, model=model)
    labels = subvolume_labels(tiny_catalog.pos, tiny_catalog.box_size, 2)
    frac, two_pi_max = 7 / 8, 2 * config.pi_max
    for k in (1, 6):
        ref = make_predictor(leave_out_catalog(tiny_catalog, labels != k), config, model=model)(theta)
        np.testing.assert_allclose(preds[k].smf * frac, ref.smf, rtol=1e-10)
        np.testing.assert_allclose((preds[k].wp + two_pi_max) / frac - two_pi_max, ref.wp, rtol=1e-9)
        np.testing.assert_allclose(preds[k].delta_sigma, ref.delta_sigma, rtol=1e-10)


def test_jackknife_colours_add_up_and_average_to_the_full_catalog():
    """With quenching (host structure kept): red + blue = all in every resampling, and -- the SMFs being linear
    in the weights, each object left out of exactly one of K resamplings -- the mean over resamplings of the
    (volume-corrected) SMFs equals the full catalog's, total and per colour."""
    from shaminfer.catalogs import small_test_universe
    from shaminfer.galaxy_halo import compose, parametric, quenching
    from shaminfer.stats.predict import make_predictor

    catalog = small_test_universe(0)
    model = compose(parametric(), quenching())
    stats = dict(TINY_STATS, statistics=["smf", "wp"], smf_colors=["red", "blue"],
                 samples=[{"kind": "threshold", "lo": 10.5, "color": "red"},
                          {"kind": "threshold", "lo": 10.5, "color": "blue"},
                          {"kind": "threshold", "lo": 10.5}])
    config = build_stats_config(stats, catalog)
    assert config.smf_colors == ("red", "blue") and [s.color for s in config.samples] == ["red", "blue", "all"]
    theta = model.defaults(fq_cen_hi=0.8)
    preds = jackknife_predictions(catalog, config, theta, n_side=2, model=model)
    full = make_predictor(catalog, config, model=model)(theta)
    for p in preds:
        np.testing.assert_allclose(p.smf_color.sum(axis=0), p.smf, rtol=1e-10)
        assert p.wp.shape == (3, 3) and np.all(np.isfinite(p.wp))
    np.testing.assert_allclose(np.mean([p.smf for p in preds], axis=0), full.smf, rtol=1e-10)
    np.testing.assert_allclose(np.mean([p.smf_color for p in preds], axis=0), full.smf_color, rtol=1e-10)
    pruned = prune_stats_config(config, ["smf", "wp"])
    assert pruned.smf_colors == () and pruned.smf_edges == config.smf_edges
    assert prune_stats_config(config, ["smf_color"]).smf_edges == config.smf_edges
