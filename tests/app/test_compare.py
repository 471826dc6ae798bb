"""Comparing runs: figures, the summary table, and LOO only when the log-likelihoods match and every run is complete."""
import json

import numpy as np

from shaminfer.app.compare import combined_loglik, compare_runs, loo_compatible
from shaminfer.app.fit import run_fit
from shaminfer.inference.inference_data import import_arviz

from .conftest import RESUME_SETTINGS


def test_compare_two_runs_of_the_same_data(tiny_fits, tmp_path):
    runs = [tiny_fits["numpyro"].run_dir, tiny_fits["blackjax"].run_dir]
    res = compare_runs(runs, tmp_path / "cmp", names=["numpyro", "blackjax"])
    for key in ("forest", "pair", "summary", "loo"):
        assert res.files[key].exists() and res.files[key].stat().st_size > 0, key
    assert list(res.summary.index) == ["numpyro", "blackjax"]
    assert res.loo is not None and set(res.loo.index) == {"numpyro", "blackjax"} and res.loo_reason == ""
    assert np.all(np.isfinite(res.loo["elpd_loo"]))


def test_loo_is_skipped_when_the_terms_differ(tiny_fits):
    az = import_arviz()
    a = tiny_fits["numpyro"].idata
    b = az.from_dict(posterior={"alpha": np.zeros((1, 5))},
                     observed_data={"obs_smf": np.asarray(a.observed_data["obs_smf"])})
    ok, reason = loo_compatible([a, b])
    assert not ok and "has likelihood terms ['smf']" in reason
    c = az.from_dict(posterior={"alpha": np.zeros((1, 5))},
                     observed_data={k: np.asarray(v) + 1.0 for k, v in a.observed_data.items()})
    ok, reason = loo_compatible([a, c])
    assert not ok and "different observed data" in reason
    merged = combined_loglik(a)
    n_obs = sum(a.observed_data[v].size for v in a.observed_data.data_vars)
    assert merged.log_likelihood["obs"].shape[-1] == n_obs


def test_a_partial_run_is_labelled_and_not_ranked_by_loo(standin_model, tmp_path):
    """A run stopped after one chunk of two: labelled everywhere; LOO skipped naming it, unless allow_partial."""
    kwargs = dict(config={"test": "partial"}, log=lambda m: None)
    run_fit(standin_model, RESUME_SETTINGS, tmp_path / "done", **kwargs)
    run_fit(standin_model, RESUME_SETTINGS, tmp_path / "cut", max_chunks=1, **kwargs)
    runs = [tmp_path / "done", tmp_path / "cut"]
    n, k = RESUME_SETTINGS.num_samples, RESUME_SETTINGS.chunk_size
    label = f"cut (partial: {k}/{n} draws)"
    res = compare_runs(runs, tmp_path / "cmp", log=lambda m: None)
    assert list(res.summary.index) == ["done", label]
    assert res.summary.loc[label, "draws"] == k and not res.summary.loc[label, "complete"]
    assert res.summary.loc["done", "draws"] == n and res.summary.loc["done", "complete"]
    assert res.loo is None and "loo" not in res.files
    assert f"run '{label}' stopped early" in res.loo_reason and "allow_partial=True" in res.loo_reason
    assert json.loads(res.files["json"].read_text())["partial"] == [label]
    res = compare_runs(runs, tmp_path / "cmp2", allow_partial=True, log=lambda m: None)
    assert res.loo is not None and set(res.loo.index) == {"done", label} and res.loo_reason == ""
