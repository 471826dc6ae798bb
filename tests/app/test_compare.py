"""Comparing runs: figures, the summary table, and LOO only when the log-likelihoods match."""
import numpy as np

from shaminfer.app.compare import combined_loglik, compare_runs, loo_compatible
from shaminfer.inference.inference_data import import_arviz


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
