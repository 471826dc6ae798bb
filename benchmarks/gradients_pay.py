"""Benchmark (issue 23): do gradients pay as the galaxy-halo model grows? NUTS against emcee at d = 4, 10, 20.

One likelihood, one engine, one machine, one run; only the number of free parameters changes:

* model: ``compose(knots(), quenching())`` (:mod:`shaminfer.galaxy_halo`: the median log10 M* at eight Mpeak
  knots, the mass-dependent scatter and quenching, 19 parameters) plus a multiplicative shear bias ``m`` on
  Delta Sigma (``DS -> (1 + m) DS``): 20 parameters. (The App. C SMHM of ``parametric()`` has near-exact
  trade-offs between its eight parameters: its posterior is a thin curved ridge, see benchmarks/RESULTS.md);
* catalog: the default universe (175 Mpc/h; ``--box-size`` for a smaller one) with lensing profiles down to
  log10 Mpeak = 11, as the demo's;
* statistics: the demo's binning (``engine_speed.DEMO_STATS``): SMF of all, red and blue galaxies in 8 bins;
  w_p and Delta Sigma of the samples log10 M* >= 10.5 red, >= 10.5 blue and >= 11 (all);
* engine: the tabulated engine for composed models (``make_predictor(..., model=..., engine="tabulated")``);
* data: the exact engine at theta_true (the blocks' defaults, ``m = 0``), Gaussian likelihood with diagonal
  errors of ``--frac-err`` (5%) of each datum;
* prior: uniform on each free parameter's default prior range (the blocks' ``prior``; ``m`` in (-0.05, 0.05));
  both samplers work in the unit coordinates u in (-1, 1)^d of those ranges;
* d = 4, 10, 20: the first d parameters of :data:`ORDER` are free, the others fixed at theta_true;
* start: both samplers start from theta_true plus a jitter of 1% of each prior range (NUTS's chains, emcee's
  walkers: the usual small ball), so that the figure measures sampling, not the search for the mode.

Samplers, each timed by wall clock with compilation, warm-up and burn-in included, and each run until the
largest R-hat over the free parameters is <= 1.01 (or ``--max-minutes``):

* NUTS (NumPyro, dense mass matrix, ``--chains`` chains vectorized, ``--warmup`` + ``--samples`` draws,
  extended by ``--samples`` until R-hat <= 1.01); one likelihood evaluation = one value + gradient (a leapfrog
  step), counted over warm-up and sampling;
* emcee (stretch move, 2 d + 2 walkers, likelihood vectorized over walkers; chunks of ``--chunk`` steps until
  R-hat <= 1.01 over the walkers, treated as chains, on the second half of the run, which is kept); one
  likelihood evaluation = one value.

ESS is the smallest bulk ESS over the free parameters (ArviZ). ``q_d`` = ESS/s(NUTS) / ESS/s(emcee).
A figure of ESS per second and ESS per likelihood evaluation against d for both samplers goes to
``--figure`` (figures/gradients_pay.png).

Run (emcee comes with the ``bench`` extra: ``.venv/bin/pip install -e ".[bench]"``)::

    JAX_ENABLE_X64=1 NUMBA_NUM_THREADS=2 .venv/bin/python benchmarks/gradients_pay.py

Last line: ``gradients_pay q4=<> q10=<> q20=<> ess_per_grad20=<> n_params_max=20 engine=tabulated``
(``ess_per_grad20``: NUTS's bulk ESS per value + gradient evaluation at d = 20).
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("JAX_ENABLE_X64", "1")

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402

from shaminfer import configure_jax  # noqa: E402

configure_jax()  # float64 + synchronous CPU dispatch, as in every entry point
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from hmc_vs_mcmc import _log, batched_box_log_prob, run_emcee, run_nuts  # noqa: E402

#: Free parameters in order: d = 4 frees the first four, d = 10 the first ten, d = 20 all of them.
ORDER = ("logsm_m120", "sigma_hi", "fq_cen_x0", "m",
         "logsm_m115", "logsm_m130", "sigma_lo", "fq_cen_lo", "fq_cen_hi", "fq_sat_hi",
         "logsm_m110", "logsm_m125", "logsm_m135", "logsm_m140", "logsm_m150", "scatter_x0", "scatter_k",
         "fq_cen_k", "fq_sat_lo", "fq_sat_x0")
DIMS = (4, 10, 20)
SHEAR_PRIOR = (-0.05, 0.05)


def setup_catalog(box_size=None):
    """Catalog, StatsConfig and model (19 parameters; ``m`` is the likelihood's) of the benchmark."""
    from shaminfer.galaxy_halo import compose, knots, quenching
    from shaminfer.stats import threshold_sample

    from shaminfer.app.forward import build_stats_config
    from shaminfer.catalogs import DEFAULT_UNIVERSE_PARAMS, synthetic_universe
    from engine_speed import DEMO_STATS

    # the demo's catalog: lensing profiles down to log10 Mpeak = 11 (the default universe stops at 11.5), so that
    # Delta Sigma of the log10 M* >= 10.5 samples stays defined over the whole prior
    catalog = synthetic_universe(0, box_size=box_size, progress=sys.stderr.isatty(),
                                 params=DEFAULT_UNIVERSE_PARAMS._replace(profile_logmpeak_min=11.0))
    config = build_stats_config(DEMO_STATS, catalog)
    config = config._replace(samples=(threshold_sample(10.5, color="red"), threshold_sample(10.5, color="blue"),
                                      threshold_sample(11.0)), smf_colors=("red", "blue"))
    model = compose(knots(), quenching())
    assert set(ORDER) == set(model.fields) | {"m"} and len(ORDER) == len(model.fields) + 1
    return catalog, config, model


def setup(box_size=None, frac_err=0.05):
    """Model, tabulated predictor, data and errors of the benchmark's likelihood (see the module docstring)."""
    from shaminfer.stats import make_predictor

    catalog, config, model = setup_catalog(box_size)
    t0 = time.perf_counter()
    tab = make_predictor(catalog, config, model=model, engine="tabulated")
    _log(f"catalog: {catalog.n} subhalos, {catalog.box_size} Mpc/h; tabulated engine {tab.grid.n_nodes} nodes, "
         f"built in {time.perf_counter() - t0:.1f} s")
    truth = model.defaults()
    data = _flat(make_predictor(catalog, config, model=model)(truth), 0.0)
    ranges = prior_ranges(model)
    return model, tab, truth, data, frac_err * jnp.abs(data), ranges


def prior_ranges(model):
    """Uniform prior range of every parameter: the blocks' default ranges and ``m`` in :data:`SHEAR_PRIOR`."""
    from shaminfer.galaxy_halo import block_of

    ranges = {f: tuple(block_of(model.blocks, f).prior[f]) for f in model.fields}
    ranges["m"] = SHEAR_PRIOR
    return ranges


def _flat(pred, m):
    return jnp.concatenate([jnp.ravel(pred.smf), jnp.ravel(pred.smf_color), jnp.ravel(pred.wp),
                            (1.0 + m) * jnp.ravel(pred.delta_sigma)])


def make_loglike(model, tab, truth, data, err, ranges, dim):
    """``loglike(u)``, u in (-1, 1)^dim, the first ``dim`` parameters of :data:`ORDER` free; and ``to_theta``."""
    free = ORDER[:dim]
    lo = jnp.asarray([ranges[f][0] for f in free])
    hi = jnp.asarray([ranges[f][1] for f in free])
    fixed = dict(truth._asdict(), m=0.0)

    def to_theta(u):
        return lo + 0.5 * (jnp.asarray(u) + 1.0) * (hi - lo)

    def loglike(u):
        vals = dict(fixed)
        vals.update(zip(free, to_theta(u)))
        theta = model.params_type(*(vals[f] for f in model.fields))
        r = (_flat(tab(theta), vals["m"]) - data) / err
        return -0.5 * jnp.sum(r * r)

    return loglike, to_theta


def run_dim(model, tab, truth, data, err, ranges, dim, args):
    loglike, to_theta = make_loglike(model, tab, truth, data, err, ranges, dim)
    u_true = 2.0 * (np.array([dict(truth._asdict(), m=0.0)[f] for f in ORDER[:dim]]) -
                    np.array([ranges[f][0] for f in ORDER[:dim]])) / np.array(
        [ranges[f][1] - ranges[f][0] for f in ORDER[:dim]]) - 1.0
    vg = jax.jit(jax.value_and_grad(loglike))
    jax.block_until_ready(vg(jnp.asarray(u_true)))
    t0 = time.perf_counter()
    for _ in range(20):
        jax.block_until_ready(vg(jnp.asarray(u_true)))
    t_grad = (time.perf_counter() - t0) / 20
    rng = np.random.default_rng(args.seed)

    def ball(n):  # starting points: theta_true plus a small jitter (1% of each prior range), inside the box
        return np.clip(u_true + 0.02 * rng.standard_normal((n, dim)), -0.99, 0.99)

    nuts = run_nuts(loglike, to_theta, chains=args.chains, warmup=args.warmup, samples=args.samples,
                    seed=args.seed, max_seconds=60.0 * args.max_minutes, dense_mass=True,
                    chain_method="vectorized", dim=dim, init_u=ball(args.chains))
    walkers = 2 * dim + 2
    em = run_emcee(batched_box_log_prob(loglike), walkers=walkers, chunk=args.chunk, seed=args.seed, max_seconds=60.0 * args.max_minutes,
                   vectorize=True, to_theta=jax.jit(to_theta), name=f"emcee (d={dim}, {walkers} walkers)", dim=dim,
                   p0=ball(walkers))
    row = dict(d=dim, grad_ms=1e3 * t_grad,
               nuts=dict(seconds=nuts["seconds"], rhat=nuts["rhat"], ess=nuts["ess"], evals=nuts["grad_evals"],
                         draws=nuts["draws"], converged=nuts["converged"]),
               emcee=dict(seconds=em["seconds"], rhat=em["rhat"], ess=em["ess"], evals=em["calls"],
                          walkers=walkers, converged=em["converged"]))
    row["q"] = (nuts["ess"] / nuts["seconds"]) / (em["ess"] / em["seconds"])
    _log(f"d={dim}: value+grad {row['grad_ms']:.2f} ms; NUTS ESS/s {nuts['ess'] / nuts['seconds']:.2f} "
         f"(R-hat {nuts['rhat']:.4f}, {nuts['grad_evals']} gradients); emcee ESS/s {em['ess'] / em['seconds']:.2f} "
         f"(R-hat {em['rhat']:.4f}, {em['calls']} values); q = {row['q']:.2f}")
    return row


def plot(rows, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    d = [r["d"] for r in rows]
    fig, ax = plt.subplots(1, 2, figsize=(9, 3.4))
    for key, label, style in (("nuts", "NUTS (value + gradient)", "o-"), ("emcee", "emcee (value)", "s--")):
        ax[0].semilogy(d, [r[key]["ess"] / r[key]["seconds"] for r in rows], style, label=label)
        ax[1].semilogy(d, [r[key]["ess"] / r[key]["evals"] for r in rows], style, label=label)
    ax[0].set(xlabel="free parameters d", ylabel="min bulk ESS / s", xticks=d)
    ax[1].set(xlabel="free parameters d", ylabel="min bulk ESS / likelihood evaluation", xticks=d)
    for r in rows:
        ax[0].annotate(f"q={r['q']:.1f}", (r["d"], r["nuts"]["ess"] / r["nuts"]["seconds"]),
                       textcoords="offset points", xytext=(4, 6), fontsize=8)
    ax[0].legend(fontsize=8)
    fig.suptitle("knot SMHM + scatter + quenching + shear bias, tabulated engine, same likelihood", fontsize=9)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp.png")
    fig.savefig(tmp, dpi=120)
    os.replace(tmp, path)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--box-size", type=float, default=None, help="smaller synthetic universe [Mpc/h]")
    ap.add_argument("--frac-err", type=float, default=0.05)
    ap.add_argument("--dims", type=int, nargs="+", default=list(DIMS))
    ap.add_argument("--chains", type=int, default=4)
    ap.add_argument("--warmup", type=int, default=500)
    ap.add_argument("--samples", type=int, default=500)
    ap.add_argument("--chunk", type=int, default=1000, help="emcee steps between convergence checks")
    ap.add_argument("--max-minutes", type=float, default=15.0, help="wall-time bound of each sampler run")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--figure", default="figures/gradients_pay.png")
    ap.add_argument("--json", default="", help="also write the per-d figures here")
    args = ap.parse_args(argv)
    if any(d < 1 or d > len(ORDER) for d in args.dims):
        ap.error(f"--dims: expected values in 1..{len(ORDER)}, found {args.dims}")
    model, tab, truth, data, err, ranges = setup(args.box_size, args.frac_err)
    rows = [run_dim(model, tab, truth, data, err, ranges, d, args) for d in args.dims]
    if args.figure:
        plot(rows, Path(args.figure))
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=1))
    for r in rows:
        _log(json.dumps(r))
    qs = " ".join(f"q{r['d']}={r['q']:.2f}" for r in rows)
    last = rows[-1]
    print(f"gradients_pay {qs} ess_per_grad{last['d']}={last['nuts']['ess'] / last['nuts']['evals']:.4f} "
          f"n_params_max={max(r['d'] for r in rows)} engine=tabulated")
    return rows


if __name__ == "__main__":
    main()
