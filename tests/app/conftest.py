"""Fixtures of the shell tests: short fits on a tiny synthetic catalog built from a configuration."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from shaminfer.inference.model import build_model
from shaminfer.inference.sampling import SamplerSettings

from ..inference.standin import covariances

#: Settings of the short fits on the tiny catalog shared by several tests.
TINY_SETTINGS = SamplerSettings(num_chains=2, num_warmup=150, num_samples=160, chunk_size=80, seed=1,
                                progress_bar=False)
#: Settings of the stand-in runs of the resume test.
RESUME_SETTINGS = SamplerSettings(num_chains=2, num_warmup=50, num_samples=40, chunk_size=20, seed=2,
                                  init="prior", progress_bar=False)


TINY_CATALOG = {"source": "synthetic", "seed": 0, "box_size": 25.0, "logmpeak_min": 11.0,
                "profile_logmpeak_min": 11.0}
TINY_STATS = {"smf_edges": {"lo": 10.0, "hi": 11.5, "n": 5},
              "samples": [{"kind": "threshold", "lo": 10.5}, {"kind": "threshold", "lo": 11.0}],
              "rp_edges": {"lo": 0.5, "hi": 5.0, "n": 3}, "pi_max": 5.0, "ds_rebin": 5}


@pytest.fixture(scope="session")
def tiny_catalog(_private_cache_dir):
    """A 25 Mpc/h synthetic universe (about a thousand subhalos, every one with a lensing profile)."""
    from shaminfer.app.forward import build_catalog

    return build_catalog(TINY_CATALOG)


class WeightedCountsInCells:
    """A user-defined likelihood term (not in the package): weighted counts in cells (Sec. 5).

    Every subhalo contributes its probability ``w`` of having log10 M* >= ``threshold``
    (Eq. 6 with SHAMNet's median and the scatter of Eq. 4) to the count of its cubic
    cell; the statistic is the mean and the variance of the weighted counts over the
    ``n_side^3`` cells. It follows the LikelihoodTerm protocol (name, data, cov, predict).
    The median is the bare network on each subhalo (``monotone=False``, as in the
    statistics' forward models): on this catalog's thousand subhalos a gradient of the
    term costs 1.9 ms, against 6.3 ms with the rising table's 3001 network evaluations.
    """

    name = "cic"

    def __init__(self, catalog, data, cov, *, net, threshold=10.5, n_side=3):
        from shaminfer.inference.mock import subvolume_labels

        self.data, self.cov = np.asarray(data), np.asarray(cov)
        self.net, self.threshold, self.n_cells = net, threshold, n_side**3
        self.labels = jnp.asarray(subvolume_labels(catalog.pos, catalog.box_size, n_side))
        self.logmpeak = jnp.asarray(catalog.logmpeak)

    def predict(self, theta, output):
        from shaminfer.ingredients import scatter_dex, scatter_of, triweight_threshold_prob
        from shaminfer.shamnet import predict_logsm

        mu = predict_logsm(theta, self.logmpeak, net=self.net, monotone=False)
        w = triweight_threshold_prob(self.threshold, mu, scatter_dex(scatter_of(theta), self.logmpeak))
        counts = jax.ops.segment_sum(w, self.labels, num_segments=self.n_cells)
        return jnp.stack([counts.mean(), counts.var()])


@pytest.fixture(scope="session")
def tiny_problem(tiny_catalog):
    """Noise-free mock on the tiny catalog: SMF, w_p, Delta Sigma and the user's counts-in-cells term.

    As in ``shaminfer demo``, the mock is made by the exact engine and the fits use the
    tabulated one (``predictor``: on this catalog 0.7 ms per likelihood gradient, the
    exact engine 3.7 ms). The tabulated predictions differ from the exact ones by a few
    1e-4 (``shaminfer.stats.tabulated``), far inside the 3-6% errors of the mock.
    """
    from shaminfer.app.demo import DEMO_THETA_TRUE
    from shaminfer.app.forward import build_predictor, build_stats_config, load_net
    from shaminfer.inference.mock import make_mock, mock_terms

    net = load_net({})
    config = build_stats_config(TINY_STATS, tiny_catalog)
    exact = build_predictor(tiny_catalog, config, {"engine": "exact"}, net=net)
    predictor = build_predictor(tiny_catalog, config, {"engine": "tabulated"}, net=net)
    truth = DEMO_THETA_TRUE
    pred = exact(truth)
    covs = dict(zip(("smf", "wp", "delta_sigma"), covariances(pred, frac=(0.03, 0.06, 0.05))))
    mock = make_mock(exact, truth, covariance=covs)
    terms = mock_terms(mock)
    cic = WeightedCountsInCells(tiny_catalog, np.zeros(2), np.eye(2), net=net)
    cic_data = np.asarray(cic.predict(truth, pred))
    terms.append(WeightedCountsInCells(tiny_catalog, cic_data, np.diag((0.03 * cic_data) ** 2), net=net))
    return dict(net=net, config=config, predictor=predictor, mock=mock, terms=terms, truth=truth)


@pytest.fixture(scope="session")
def tiny_model(tiny_problem):
    from shaminfer.inference.priors import domain_prior, shamnet_domain

    net = tiny_problem["net"]
    return build_model(tiny_problem["predictor"], tiny_problem["terms"], domain_prior(net=net),
                       domain=shamnet_domain(net))


@pytest.fixture(scope="session")
def tiny_fits(tiny_model, tiny_problem, tmp_path_factory):
    """The tiny-catalog posterior sampled by both backends (same model, same settings)."""
    from shaminfer.app.fit import run_fit

    out = {}
    for backend in ("numpyro", "blackjax"):
        run_dir = tmp_path_factory.mktemp(f"fit_{backend}")
        out[backend] = run_fit(tiny_model, TINY_SETTINGS._replace(backend=backend), run_dir,
                               config={"test": "tiny"}, attrs={"theta_true": np.asarray(tiny_problem["truth"])},
                               log=lambda msg: None)
    return out
