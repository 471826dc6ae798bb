"""Simulation-based calibration (Talts et al. 2018) of the SMF + w_p + Delta Sigma posterior.

For each of ``--n-fits`` replications:

1. draw theta from the prior (the default prior: SHAMNet's training box in its eigen-coordinates, uniform);
2. make a noisy mock: the forward model at theta plus one draw from the demo's regularized jackknife
   covariance (the demo's "full" preset: 40 Mpc/h synthetic box, SMF in 8 bins, three thresholds, w_p in
   6 bins, Delta Sigma); the mock's forward model is the tabulated engine, or with ``--exact-mocks`` the
   exact engine (does the table's interpolation bias the posterior?);
3. fit it with BlackJAX NUTS (window adaptation, dense mass matrix) on the tabulated engine, in the
   prior's unconstrained coordinates z (``u = 2 sigmoid(z) - 1``, the bounded transform the package's
   NumPyro model uses for its unit-cube site);
4. record the rank of the true value of every parameter among ``L = 99`` thinned posterior draws, and
   whether it lies in the central 68% and 95% intervals of all draws.

The fit is compiled once: the mock's data vector is an argument of one jitted, chain-vmapped function.
If the sampler and the likelihood are right, every rank is uniform on 0..L and the coverages are 0.68
and 0.95 up to binomial noise. The script reports, per parameter, the chi2 p-value of the rank
histogram (10 bins of 10 ranks) and the coverages, writes the rank histograms to ``--png``, and prints

``calibration n_fits=<> rank_chi2_p_min=<> cover68=<> cover95=<> exact_mocks=<0|1>``

where ``cover68``/``cover95`` are pooled over parameters and fits; the per-parameter figures and the
binomial 2-sigma band are printed above it.

Run::

    JAX_ENABLE_X64=1 NUMBA_NUM_THREADS=2 .venv/bin/python benchmarks/calibration.py [--n-fits 200]
        [--exact-mocks] [--png figures/calibration_ranks.png] [--seed 0]

Goals: n_fits >= 200, rank_chi2_p_min >= 0.01, each coverage within 2 binomial sigma of 0.68 / 0.95.
"""
from __future__ import annotations

import argparse
import functools
import sys
import tempfile
import time
from pathlib import Path

L_RANKS = 99
N_BINS = 10


def _mock_setup(out: Path):
    """The demo's mock problem: tabulated + exact predictors, prepared terms (covariances) and the prior."""
    from shaminfer.app.config import load_mock_config
    from shaminfer.app.demo import demo_configs
    from shaminfer.app.forward import build_catalog, build_predictor, build_stats_config, load_net
    from shaminfer.app.pipeline import run_mock
    from shaminfer.app.toml_io import dumps_toml
    from shaminfer.inference.mock import mock_terms
    from shaminfer.inference.priors import domain_prior
    from shaminfer.inference.terms import prepare_term

    doc = demo_configs(size="full", progress_bar=False)["mock"]
    (out / "mock.toml").write_text(dumps_toml(doc))
    cfg = load_mock_config(out / "mock.toml")
    mock = run_mock(cfg, log=lambda msg: None)
    net = load_net(doc["forward"])
    catalog = build_catalog(doc["catalog"])
    config = build_stats_config(doc["stats"], catalog)
    tab = build_predictor(catalog, config, {"engine": "tabulated"}, net=net)
    exact = build_predictor(catalog, config, {"engine": "exact"}, net=net)
    terms = tuple(prepare_term(t) for t in mock_terms(mock))
    return tab, exact, terms, domain_prior(net=net)


def _make_fit(tab, terms, prior, *, num_warmup, num_samples, num_chains, target_accept):
    """``fit(key, data_list) -> theta draws (chains, num_samples, 4), divergences``, compiled once."""
    import blackjax
    import jax
    import jax.numpy as jnp

    from shaminfer.inference.priors import theta_from_unit

    precisions = [jnp.asarray(t.precision) for t in terms]

    def theta_of(z):
        u = 2.0 * jax.nn.sigmoid(z) - 1.0
        return theta_from_unit(prior, u)

    def logdensity(z, data):
        theta = theta_of(z)
        out = tab(theta)
        ll = 0.0
        for term, q, y in zip(terms, precisions, data):
            r = y - term.predict(theta, out)
            ll = ll - 0.5 * r @ q @ r
        # uniform prior on u in (-1, 1)^4 through u = 2 sigmoid(z) - 1: log|du/dz| = sum log(2 s (1 - s))
        return ll + jnp.sum(jax.nn.log_sigmoid(z) + jax.nn.log_sigmoid(-z))

    def one_chain(key, data):
        k0, k1, k2 = jax.random.split(key, 3)
        z0 = jax.random.uniform(k0, (4,), minval=-1.0, maxval=1.0)
        ld = functools.partial(logdensity, data=data)
        adapt = blackjax.window_adaptation(blackjax.nuts, ld, is_mass_matrix_diagonal=False,
                                           target_acceptance_rate=target_accept)
        (state, params), _ = adapt.run(k1, z0, num_warmup)
        kernel = blackjax.nuts(ld, **params)

        def body(s, k):
            s, info = kernel.step(k, s)
            return s, (jnp.stack(list(theta_of(s.position))), info.is_divergent)

        _, (draws, div) = jax.lax.scan(body, state, jax.random.split(k2, num_samples))
        return draws, div.sum()

    @jax.jit
    def fit(key, data):
        keys = jax.random.split(key, num_chains)
        return jax.vmap(one_chain, in_axes=(0, None))(keys, data)

    return fit


def main(argv=None) -> int:
    from shaminfer import configure_jax

    configure_jax()
    import arviz as az
    import jax
    import numpy as np
    from scipy import stats as sps

    from shaminfer.inference.priors import THETA_NAMES, theta_from_unit

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n-fits", type=int, default=200)
    p.add_argument("--exact-mocks", action="store_true", help="mocks from the exact engine (fits stay tabulated)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--num-chains", type=int, default=2)
    p.add_argument("--num-warmup", type=int, default=300)
    p.add_argument("--num-samples", type=int, default=250, help="draws per chain (thinned to 99 in all)")
    p.add_argument("--target-accept", type=float, default=0.85)
    p.add_argument("--png", type=Path, default=None, help="rank histograms (default: none)")
    p.add_argument("--out", type=Path, default=None, help="scratch folder for the demo mock (default: temporary)")
    args = p.parse_args(argv)
    if args.num_chains * args.num_samples < L_RANKS:
        p.error(f"--num-chains x --num-samples: expected at least {L_RANKS} draws, found "
                f"{args.num_chains * args.num_samples}")

    scratch = Path(args.out or tempfile.mkdtemp(prefix="calibration_"))
    scratch.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    tab, exact, terms, prior = _mock_setup(scratch)
    mock_engine = exact if args.exact_mocks else tab
    chols = [np.asarray(t.scale_tril) for t in terms]
    fit = _make_fit(tab, terms, prior, num_warmup=args.num_warmup, num_samples=args.num_samples,
                    num_chains=args.num_chains, target_accept=args.target_accept)
    rng = np.random.default_rng(args.seed)
    key = jax.random.PRNGKey(args.seed)
    print(f"set-up {time.perf_counter() - t0:.1f} s; {args.n_fits} fits, mocks from the "
          f"{'exact' if args.exact_mocks else 'tabulated'} engine", flush=True)

    ranks, in68, in95, divergences, rhats = [], [], [], [], []
    t_fit = time.perf_counter()
    for i in range(args.n_fits):
        u = rng.uniform(-1.0, 1.0, size=4)
        theta = theta_from_unit(prior, u)
        truth = np.array([float(v) for v in theta])
        out = mock_engine(type(theta)(*[float(v) for v in theta]))
        data = []
        for term, chol in zip(terms, chols):
            mu = np.asarray(term.predict(theta, out))
            data.append(mu + chol @ rng.standard_normal(mu.size))
        draws, div = fit(jax.random.fold_in(key, i), [jax.numpy.asarray(d) for d in data])
        draws = np.asarray(draws)                                   # (chains, n, 4)
        flat = draws.reshape(-1, 4)
        thin = flat[np.linspace(0, flat.shape[0] - 1, L_RANKS).round().astype(int)]
        ranks.append((thin < truth).sum(axis=0))
        lo68, hi68 = np.quantile(flat, [0.16, 0.84], axis=0)
        lo95, hi95 = np.quantile(flat, [0.025, 0.975], axis=0)
        in68.append((truth > lo68) & (truth < hi68))
        in95.append((truth > lo95) & (truth < hi95))
        divergences.append(int(np.sum(div)))
        rhats.append(float(np.max(az.rhat(az.convert_to_dataset(draws))["x"].values)))
        if (i + 1) % 20 == 0:
            el = time.perf_counter() - t_fit
            print(f"  {i + 1}/{args.n_fits} fits, {el / (i + 1):.2f} s per fit", flush=True)
    seconds = time.perf_counter() - t0
    ranks, in68, in95 = np.array(ranks), np.array(in68), np.array(in95)
    n = len(ranks)

    bins = np.minimum(ranks * N_BINS // (L_RANKS + 1), N_BINS - 1)
    pvals = []
    for j, name in enumerate(THETA_NAMES):
        counts = np.bincount(bins[:, j], minlength=N_BINS)
        pval = float(sps.chisquare(counts).pvalue)
        pvals.append(pval)
        print(f"{name:12s} rank counts {counts.tolist()}  chi2 p={pval:.3f}  "
              f"cover68={in68[:, j].mean():.3f} cover95={in95[:, j].mean():.3f}")
    band = {q: 2 * np.sqrt(q * (1 - q) / n) for q in (0.68, 0.95)}
    print(f"2-sigma binomial band per parameter: 0.68 +- {band[0.68]:.3f}, 0.95 +- {band[0.95]:.3f} (n={n}); "
          f"pooled over 4 parameters: +- {band[0.68] / 2:.3f}, +- {band[0.95] / 2:.3f} (not independent)")
    ok68 = all(abs(in68[:, j].mean() - 0.68) <= band[0.68] for j in range(4))
    ok95 = all(abs(in95[:, j].mean() - 0.95) <= band[0.95] for j in range(4))
    print(f"every parameter inside the band: 68% {'yes' if ok68 else 'NO'}, 95% {'yes' if ok95 else 'NO'}; "
          f"fits with divergences {sum(d > 0 for d in divergences)}/{n}; R-hat max over fits {max(rhats):.3f} "
          f"(median {np.median(rhats):.3f}); wall {seconds:.0f} s")
    if args.png is not None:
        _plot(args.png, bins, n, args.exact_mocks)
        print(f"wrote {args.png}")
    print(f"calibration n_fits={n} rank_chi2_p_min={min(pvals):.3f} cover68={in68.mean():.3f} "
          f"cover95={in95.mean():.3f} exact_mocks={int(args.exact_mocks)}")
    return 0


def _plot(path: Path, bins, n: int, exact_mocks: bool) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np
    from scipy import stats as sps

    from shaminfer.inference.priors import THETA_NAMES

    fig, axes = plt.subplots(1, 4, figsize=(12, 2.8), sharey=True)
    expect = n / N_BINS
    lo, hi = sps.binom.ppf([0.005, 0.995], n, 1 / N_BINS)
    for j, (ax, name) in enumerate(zip(axes, THETA_NAMES)):
        ax.bar(np.arange(N_BINS), np.bincount(bins[:, j], minlength=N_BINS), width=1.0, color="C0", alpha=0.8)
        ax.axhspan(lo, hi, color="0.8", zorder=0)
        ax.axhline(expect, color="k", lw=1)
        ax.set_title(name)
        ax.set_xlabel(f"rank bin (of {N_BINS})")
    axes[0].set_ylabel("fits")
    fig.suptitle(f"SBC rank histograms, {n} fits, mocks from the {'exact' if exact_mocks else 'tabulated'} "
                 "engine, fits on the tabulated engine (band: 99% of a uniform histogram)", fontsize=9)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)


if __name__ == "__main__":
    sys.exit(main())
