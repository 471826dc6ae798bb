"""run_fit with a composed galaxy-halo model: every parameter by name, through to posterior.nc and compare."""
import numpy as np
import pytest

from shaminfer.app.compare import compare_runs
from shaminfer.app.fit import load_posterior, run_fit
from shaminfer.catalogs import small_test_universe
from shaminfer.galaxy_halo import compose, parametric, quenching
from shaminfer.inference.diagnostics import (convergence, parameter_names, stored_truth, theta_summary,
                                             truth_coverage)
from shaminfer.inference.model import build_model
from shaminfer.inference.model_prior import fit_blocks, model_prior
from shaminfer.inference.model_terms import SMFColorTerm
from shaminfer.inference.sampling import SamplerSettings
from shaminfer.inference.terms import SMFTerm
from shaminfer.stats import make_config, make_predictor


@pytest.fixture(scope="module")
def composed_fit(tmp_path_factory):
    """Parametric SMHM + quenching (19 parameters) fitted to its own noiseless total, red and blue SMFs."""
    model = compose(parametric(), quenching())
    cfg = make_config(smf_edges=np.linspace(9.6, 11.4, 10), smf_colors=("red", "blue"))
    forward = make_predictor(small_test_universe(seed=0), cfg, model=model)
    truth = model.defaults()
    pred = forward(truth)
    terms = [SMFTerm(pred.smf, np.diag((0.03 * pred.smf) ** 2))]
    for i, c in enumerate(("red", "blue")):
        y = np.asarray(pred.smf_color[i])
        terms.append(SMFColorTerm(y, np.diag((0.03 * y) ** 2), color_index=i, name=f"smf_{c}"))
    fit = build_model(forward, terms, model_prior(fit_blocks(model, terms)))
    settings = SamplerSettings(num_chains=2, num_warmup=40, num_samples=40, chunk_size=40, seed=3, init="prior", max_tree_depth=5,
                               progress_bar=False)
    run_dir = tmp_path_factory.mktemp("composed")
    result = run_fit(fit, settings, run_dir, attrs={"theta_true": np.asarray(truth)}, log=lambda m: None)
    return model, truth, result, run_dir


def test_every_parameter_is_in_the_posterior_by_name(composed_fit):
    model, truth, result, run_dir = composed_fit
    idata = load_posterior(run_dir)
    assert parameter_names(idata) == list(model.fields) and len(model.fields) == 19
    for name in model.fields:
        draws = np.asarray(idata.posterior[name])
        assert draws.shape == (2, 40) and np.all(np.isfinite(draws))
    assert sorted(idata.log_likelihood.data_vars) == ["obs_smf", "obs_smf_blue", "obs_smf_red"]
    assert list(theta_summary(idata).index) == list(model.fields)
    conv = convergence(idata)
    assert conv.num_chains == 2 and np.isfinite(conv.rhat_max)
    assert set(truth_coverage(idata, truth)) == set(model.fields)
    assert idata.attrs["theta_names"] == ",".join(model.fields)


def test_compare_handles_runs_with_block_parameters(composed_fit, tmp_path):
    _, _, _, run_dir = composed_fit
    res = compare_runs([run_dir, run_dir], tmp_path / "cmp", names=["a", "b"], log=lambda m: None)
    summary = res.summary if hasattr(res, "summary") else None
    assert (tmp_path / "cmp" / "summary.csv").exists()
    text = (tmp_path / "cmp" / "summary.csv").read_text()
    assert "fq_sat_x0_mean" in text and "logsm_0_sd" in text
    assert summary is None or len(summary) == 2


def test_the_stored_truth_is_read_by_name_and_unknown_values_are_left_out(composed_fit):
    model, truth, _, run_dir = composed_fit
    idata = load_posterior(run_dir)
    assert stored_truth(idata) == dict(zip(model.fields, (float(x) for x in truth)))
    raw = np.asarray(idata.attrs["theta_true"], dtype=float).copy()
    raw[model.fields.index("fq_cen_k")] = np.nan  # e.g. a nuisance the mock did not have
    idata.attrs["theta_true"] = raw
    got = stored_truth(idata)
    assert "fq_cen_k" not in got and len(got) == len(model.fields) - 1
    idata.attrs["theta_true"] = raw[:5]  # another length: nothing rather than values under the wrong names
    assert stored_truth(idata) == {}
