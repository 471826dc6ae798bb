"""NUTS with both backends on a tiny catalog: InferenceData, agreement, a user term, checkpoints, resuming."""
import json

import numpy as np
import pytest

from shaminfer.inference.diagnostics import convergence, theta_summary, truth_coverage
from shaminfer.app.fit import load_posterior, run_fit
from shaminfer.inference.priors import THETA_NAMES

from .conftest import RESUME_SETTINGS, TINY_SETTINGS

N_DRAWS = TINY_SETTINGS.num_samples


@pytest.mark.parametrize("backend", ["numpyro", "blackjax"])
def test_inference_data_has_every_group(tiny_fits, tiny_model, tiny_problem, backend):
    res = tiny_fits[backend]
    assert res.complete
    for idata in (res.idata, load_posterior(res.run_dir)):
        assert {"posterior", "sample_stats", "log_likelihood", "posterior_predictive", "observed_data",
                "constant_data"} <= set(idata.groups())
        post = idata.posterior
        assert post.sizes["chain"] == 2 and post.sizes["draw"] == N_DRAWS
        assert set(THETA_NAMES) <= set(post.data_vars)
        for name in ("diverging", "step_size", "tree_depth", "lp", "acceptance_rate", "energy", "n_steps"):
            assert idata.sample_stats[name].shape == (2, N_DRAWS), name
        assert idata.sample_stats["diverging"].dtype == bool
        assert [t.name for t in tiny_model.terms] == ["smf", "wp", "delta_sigma", "cic"]
        for term in tiny_model.terms:
            site = f"obs_{term.name}"
            assert idata.log_likelihood[site].shape == (2, N_DRAWS, term.data.size)
            assert idata.posterior_predictive[site].shape == (2, N_DRAWS, term.data.size)
            np.testing.assert_array_equal(idata.observed_data[site], term.data)
            np.testing.assert_array_equal(idata.constant_data[f"cov_{site}"], term.cov)
        attrs = idata.attrs
        assert attrs["backend"] == backend and attrs["complete"] == 1 and attrs["draws_done"] == N_DRAWS
        assert json.loads(attrs["config_json"]) == {"test": "tiny"}
        assert {"numpyro", "blackjax", "arviz", "jax"} <= set(json.loads(attrs["versions_json"]))
        np.testing.assert_allclose(attrs["theta_true"], np.asarray(tiny_problem["truth"]))
    assert not [p for p in res.run_dir.iterdir() if ".tmp" in p.name]


def test_backends_agree_within_monte_carlo_error(tiny_fits, tiny_problem):
    a = theta_summary(tiny_fits["numpyro"].idata)
    b = theta_summary(tiny_fits["blackjax"].idata)
    for name in THETA_NAMES:
        diff = abs(a.loc[name, "mean"] - b.loc[name, "mean"])
        mcse = np.hypot(a.loc[name, "mcse_mean"], b.loc[name, "mcse_mean"])
        assert diff < 4 * mcse, (name, diff, mcse)
    for res in tiny_fits.values():
        conv = convergence(res.idata)
        assert conv.rhat_max < 1.1 and conv.divergences == 0 and conv.ess_bulk_min > 40
        assert sum(truth_coverage(res.idata, tiny_problem["truth"]).values()) >= 3


def test_the_user_term_carries_information(tiny_fits, tiny_problem):
    """The counts-in-cells term enters the posterior: its replicated data scatter around its data."""
    idata = tiny_fits["numpyro"].idata
    data = np.asarray(idata.observed_data["obs_cic"])
    pred = np.asarray(idata.posterior["pred_cic"]).reshape(-1, 2)
    sd = np.sqrt(np.diag(np.asarray(idata.constant_data["cov_obs_cic"])))
    assert np.all(np.abs(pred.mean(axis=0) - data) < 2 * sd)
    assert np.all(np.isfinite(np.asarray(idata.log_likelihood["obs_cic"])))


@pytest.mark.parametrize("backend", ["numpyro", "blackjax"])
def test_interrupted_run_resumes_to_the_same_draws(standin_model, tmp_path, backend):
    """Stop after one chunk (a valid partial posterior.nc), resume, and match an uninterrupted run."""
    kwargs = dict(config={"test": "resume"}, log=lambda m: None)
    settings = RESUME_SETTINGS._replace(backend=backend)
    full = run_fit(standin_model, settings, tmp_path / "full", **kwargs).idata
    first = run_fit(standin_model, settings, tmp_path / "cut", max_chunks=1, **kwargs)
    assert not first.complete
    partial = load_posterior(tmp_path / "cut")
    assert partial.attrs["complete"] == 0 and partial.posterior.sizes["draw"] == RESUME_SETTINGS.chunk_size
    resumed = run_fit(standin_model, settings, tmp_path / "cut", **kwargs)
    assert resumed.complete and resumed.idata.posterior.sizes["draw"] == RESUME_SETTINGS.num_samples
    for name in THETA_NAMES:
        np.testing.assert_array_equal(resumed.idata.posterior[name], full.posterior[name])
    np.testing.assert_array_equal(resumed.idata.log_likelihood["obs_wp"], full.log_likelihood["obs_wp"])


def test_a_checkpoint_of_another_configuration_is_refused(tiny_fits, tiny_model):
    run_dir = tiny_fits["numpyro"].run_dir
    with pytest.raises(ValueError, match=r"checkpoint of this configuration, found one that differs in \['sampler'\]"):
        run_fit(tiny_model, TINY_SETTINGS._replace(seed=7), run_dir, config={"test": "tiny"}, log=lambda m: None)
    with pytest.raises(ValueError, match="sampler.num_chains: expected an integer >= 1"):
        run_fit(tiny_model, TINY_SETTINGS._replace(num_chains=0), run_dir, log=lambda m: None)


def test_a_chunk_compiles_once(standin_model):
    """The jitted chunk of draws is traced once and reused for every further chunk."""
    from shaminfer.inference.nuts_numpyro import NumpyroNUTS
    from shaminfer.inference.sampling import chunk_key

    sampler = NumpyroNUTS(standin_model, RESUME_SETTINGS._replace(num_warmup=10))
    state = sampler.warmup(chunk_key(0, 0))
    for i in range(3):
        state, draws = sampler.sample(state, chunk_key(0, 1, i), 5)
        assert draws.unit.shape == (2, 5, 4) and np.all(np.abs(draws.unit) < 1)
    assert sampler._chunk._cache_size() == 1


@pytest.mark.parametrize("content", [b"", b"not a netCDF file\n", b"\x89HDF\r\n\x1a\n" + bytes(64)])
def test_an_unreadable_posterior_is_one_clear_error(tmp_path, content):
    path = tmp_path / "posterior.nc"
    path.write_bytes(content)
    with pytest.raises(ValueError) as info:
        load_posterior(tmp_path)
    msg = str(info.value)
    assert msg.startswith(f"{path}: unreadable posterior") and "rerun the fit" in msg and "\n" not in msg


def test_a_fit_with_student_t_and_poisson_terms(tmp_path):
    """Sites of every family reach the posterior file: log-likelihoods, replicates (integer for counts)."""
    from shaminfer.inference.model import build_model
    from shaminfer.inference.priors import domain_prior
    from shaminfer.inference.terms import PoissonTerm, StudentTTerm

    from ..inference.standin import DOMAIN, THETA_TRUE, forward

    pred = forward(THETA_TRUE)
    counts = np.round(np.asarray(pred.smf) * 2.0e5)
    wp = np.asarray(pred.wp).ravel()
    terms = [PoissonTerm("counts", counts, lambda th, out: out.smf * 2.0e5),
             StudentTTerm("wp", wp, np.diag((0.05 * wp) ** 2), lambda th, out: out.wp, df=5.0)]
    model = build_model(forward, terms, domain_prior(domain=DOMAIN), domain=DOMAIN)
    settings = RESUME_SETTINGS._replace(backend="numpyro")
    res = run_fit(model, settings, tmp_path / "run", log=lambda m: None)
    idata = load_posterior(res.run_dir)
    n = settings.num_samples
    assert idata.log_likelihood["obs_counts"].shape == (2, n, counts.size)
    assert np.all(np.isfinite(idata.log_likelihood["obs_wp"]))
    reps = np.asarray(idata.posterior_predictive["obs_counts"])
    assert np.all(reps == np.round(reps)) and np.all(reps >= 0)
    assert "cov_obs_counts" not in idata.constant_data and "cov_obs_wp" in idata.constant_data
