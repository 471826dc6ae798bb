"""Benchmark (issue 23): do gradients pay as the galaxy-halo model grows? NUTS against emcee at d = 4, 10, 20.

One likelihood, one engine, one machine, one run; only the number of free parameters changes:

* model: ``compose(knots(scatter="knots"), quenching(kind="knots"))`` (:mod:`shaminfer.galaxy_halo`: the
  median log10 M* at eight Mpeak knots, the scatter at four Mpeak knots and the quenched fractions at mass knots,
  19 parameters; ``--quenching sigmoid``: the sigmoid quenching, ``quenching()``) plus a multiplicative
  shear bias ``m`` on Delta Sigma (``DS -> (1 + m) DS``): 20 parameters (``--scatter roll``: Eq. 4's scatter
  with its roll free instead, whose curvature varies strongly over the prior). (The App. C SMHM of ``parametric()`` has near-exact
  trade-offs between its eight parameters: its posterior is a thin curved ridge, see benchmarks/RESULTS.md);
* catalog: the default universe (175 Mpc/h; ``--box-size`` for a smaller one) with lensing profiles down to
  log10 Mpeak = 11, as the demo's;
* statistics: the demo's binning (``engine_speed.DEMO_STATS``): SMF of all, red and blue galaxies in 8 bins;
  w_p and Delta Sigma of the samples log10 M* >= 10.5 red, >= 10.5 blue and >= 11 (all);
* engine: the tabulated engine for composed models (``make_predictor(..., model=..., engine="tabulated")``);
* data: the exact engine at theta_true (the blocks' defaults, ``m = 0``), Gaussian likelihood with diagonal
  errors of ``--frac-err`` (5%) of each datum and, for the SMFs, the Poisson error of the box's galaxy counts in
  quadrature (:func:`data_errors`);
* prior: uniform on each free parameter's default prior range (the blocks' ``prior``; ``m`` in (-0.05, 0.05));
  both samplers move in unconstrained coordinates z of the unit coordinates u in (-1, 1)^d of those ranges, by
  default ``u = 2 Phi(z) - 1`` (``--coords probit``, ``--emcee-coords probit``), under which the uniform prior is
  a standard normal in z: where the data leave a parameter free up to a bound, its density in z has a Gaussian
  tail, where NumPyro's ``u = 2 sigmoid(z) - 1`` (``logit``) gives an exponential one (emcee may also move in u
  itself, ``--emcee-coords box``); the same posterior in other coordinates;
* d = 4, 10, 20: the first d parameters of :data:`ORDERS` are free, the others fixed at theta_true;
* start: both samplers start from the same batched Laplace start (:func:`laplace_start.laplace_walkers`:
  ``--chains`` L-BFGS runs from uniform draws advanced together, one batched call per evaluation), whose time and
  gradient calls each sampler pays; the chains and walkers are drawn from the Laplace approximation at the best
  mode, not overdispersed. ``--nuts-driver numpyro`` starts NUTS as the package's fits do
  (:func:`shaminfer.inference.initialization.laplace_init`, one run after another, the chains overdispersed by
  2). ``--emcee-start ball`` and (with ``--nuts-driver numpyro``) ``--nuts-start ball`` start from theta_true plus
  a jitter of 1% of each prior range, the usual small ball; NUTS then takes the Laplace metric at theta_true.

Samplers, each timed by wall clock with compilation, warm-up and burn-in included (JAX's compilation caches are
cleared before each, so that emcee, which runs second, does not reuse the likelihood's compilations from NUTS's
start), and each run until the largest R-hat over the free parameters is <= 1.01 and the smallest bulk ESS is >=
``--min-ess`` (1000), or ``--max-minutes``. The ESS floor compares runs of like precision: with R-hat alone NUTS
may stop after its first round at a few hundred ESS, when the start and compilation still dominate its time,
while emcee's ensemble reaches R-hat <= 1.01 only at several thousand:

* NUTS (dense metric), by default BlackJAX NUTS in ``--ensemble`` (128) chains in lockstep (``--nuts-driver
  lockstep``, :func:`lockstep_rounds.run_lockstep_rounds` with ``kernel="nuts"``): a leapfrog step of ``--batch``
  (32) chains is one batched evaluation of the tabulated engine, which costs much less per point than one point
  alone (the batches one after another); a batch waits for the longest trajectory among its chains, so the trees
  are at most ``--max-depth`` (3) doublings deep (7 leapfrog steps). One step size for all chains, adapted by dual
  averaging of their mean acceptance statistic (``--target-accept``, 0.8) over ``--warmup`` (40) iterations, whose
  second half gives the dense metric and a per-coordinate sinh-arcsinh map under which NUTS moves (``--marginal
  sas``, the default; ``none``: no map; the map takes out the skewness and kurtosis of the loosely bounded
  parameters' marginals), then 15 iterations re-adapting the step size; rounds of 25 kept iterations, the metric
  and map re-estimated from all kept draws whenever they have doubled. One compiled function serves every phase.
  One likelihood evaluation = one chain's value + gradient, each chain counted for the longest trajectory of its
  batch;
* ``--nuts-driver rounds``: BlackJAX NUTS in ``--chains`` (4) chains vectorized, compiled once per d
  (:func:`nuts_rounds.run_nuts_rounds`): ``--warmup`` steps adapting each chain's step size with the Laplace
  covariance as the metric, 100 draws per chain whose covariance pooled over the chains becomes the metric (and
  the map), then rounds of 100 kept draws, the metric re-estimated from all draws since the warm-up whenever the
  kept draws have doubled, 50 steps re-adapting the step sizes after each change of metric.
  ``--nuts-driver numpyro``: NumPyro's MCMC with ``--nuts-metric`` (``pooled``: ``--warmup`` steps and 100 draws
  per chain with the Laplace covariance, then the draws' covariance pooled over the chains, held fixed, with
  ``--warmup`` / 2 steps re-adapting the step size; ``laplace``: the Laplace covariance held fixed; ``adapt``:
  NumPyro's windowed adaptation from it, see ``hmc_vs_mcmc.run_nuts``), ``--samples`` draws extended by
  ``--samples`` until the stopping rule holds; each new metric costs NumPyro two compilations. One likelihood
  evaluation = one value + gradient (a leapfrog step or an optimizer step), counted over the start, warm-up and
  sampling;
* ``--nuts-driver chees``, not NUTS: jittered HMC in the lockstep driver (``kernel="jittered"``), the trajectory
  length ``--trajectory`` (pi, in the metric's whitened coordinates, jittered uniformly below it; 0: adapted by the
  ChEES criterion), the step size adapted by ChEES-HMC's dual averaging; every chain takes the same number of
  leapfrog steps, so none waits;
* emcee (2 d + 2 walkers, likelihood vectorized over walkers; ``--emcee-moves``: differential evolution, 80%
  ``DEMove`` and 20% ``DESnookerMove`` (default), or the stretch move; chunks of ``--chunk`` steps until the
  stopping rule holds over the walkers, treated as chains, on the second half of the run, which is kept); one
  likelihood evaluation = one value (the Laplace start's value + gradient calls are added).

ESS is the smallest bulk ESS over the free parameters (ArviZ). ``q_d`` = ESS/s(NUTS) / ESS/s(emcee).
A figure of ESS per second and ESS per likelihood evaluation against d for both samplers goes to
``--figure`` (figures/gradients_pay.png).

Run (emcee comes with the ``bench`` extra: ``.venv/bin/pip install -e ".[bench]"``)::

    JAX_ENABLE_X64=1 NUMBA_NUM_THREADS=2 .venv/bin/python benchmarks/gradients_pay.py

Last line: ``gradients_pay q4=<> q10=<> q20=<> ess_per_grad20=<> n_params_max=20 engine=tabulated``
(``ess_per_grad20``: NUTS's bulk ESS per value + gradient evaluation at d = 20).

``--nuts-only`` runs only NUTS (``--max-minutes 0``: one round of draws, 25 per chain with the lockstep driver,
100 with ``rounds`` or ``--samples`` with ``numpyro``, no extension) and prints
``gradients_pay_nuts d=<> ess=<> rhat=<> grads=<> seconds=<> ess_per_s=<>`` per d.

``--probe`` measures only the posterior's geometry: NUTS's leapfrog steps per draw with the Laplace metric at
theta_true held fixed (:func:`probe_geometry`), for ``--scatter`` and ``--smf-errors`` choices; one line
``gradients_pay_probe scatter=<> smf_errors=<> d=<> steps_median=<> steps_p90=<> step_size=<>`` per d.
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

import arviz  # noqa: E402,F401  (the diagnostics' import, about 2 s, before any sampler's clock starts)

configure_jax()  # float64 + synchronous CPU dispatch, as in every entry point
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from laplace_start import laplace_walkers  # noqa: E402
from lockstep_rounds import run_lockstep_rounds  # noqa: E402
from nuts_rounds import MARGINALS, run_nuts_rounds  # noqa: E402
from hmc_vs_mcmc import (COORDS, _log, batched_box_log_prob, batched_unit_log_prob, from_unit,  # noqa: E402
                         run_emcee, run_nuts, to_unit, unit_log_density, unit_model, unit_site)

#: Free parameters in order, per scatter parameterization (``--scatter``): d = 4 frees the first four, d = 10 the
#: first ten, d = 20 all of them. The two orders free the same SMHM and quenching parameters at each d.
ORDERS = {
    "knots": ("logsm_m120", "sigma_m130", "fq_cen_x0", "m",
              "logsm_m115", "logsm_m130", "sigma_m110", "fq_cen_lo", "fq_cen_hi", "fq_sat_hi",
              "logsm_m110", "logsm_m125", "logsm_m135", "logsm_m140", "logsm_m150", "sigma_m120", "sigma_m140",
              "fq_cen_k", "fq_sat_lo", "fq_sat_x0"),
    "roll": ("logsm_m120", "sigma_hi", "fq_cen_x0", "m",
             "logsm_m115", "logsm_m130", "sigma_lo", "fq_cen_lo", "fq_cen_hi", "fq_sat_hi",
             "logsm_m110", "logsm_m125", "logsm_m135", "logsm_m140", "logsm_m150", "scatter_x0", "scatter_k",
             "fq_cen_k", "fq_sat_lo", "fq_sat_x0"),
}
#: ``--quenching knots``: the same order with each sigmoid parameter replaced by the knot value it mostly sets.
QUENCH_KNOT_NAMES = dict(fq_cen_x0="fq_cen_m120", fq_cen_lo="fq_cen_m110", fq_cen_hi="fq_cen_m130",
                         fq_sat_hi="fq_sat_h130", fq_cen_k="fq_cen_m140", fq_sat_lo="fq_sat_h120",
                         fq_sat_x0="fq_sat_h140")
DIMS = (4, 10, 20)
SHEAR_PRIOR = (-0.05, 0.05)


def setup_catalog(box_size=None, scatter="knots", quenching_kind="sigmoid"):
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
    model = compose(knots(scatter=scatter), quenching(kind=quenching_kind))
    order = free_order(model)
    assert set(order) == set(model.fields) | {"m"} and len(order) == len(model.fields) + 1
    return catalog, config, model


def setup(box_size=None, frac_err=0.05, scatter="knots", poisson=True, quenching_kind="sigmoid"):
    """Model, tabulated predictor, data and errors of the benchmark's likelihood (see the module docstring)."""
    from shaminfer.stats import make_predictor

    catalog, config, model = setup_catalog(box_size, scatter, quenching_kind)
    t0 = time.perf_counter()
    tab = make_predictor(catalog, config, model=model, engine="tabulated")
    _log(f"catalog: {catalog.n} subhalos, {catalog.box_size} Mpc/h; tabulated engine {tab.grid.n_nodes} nodes, "
         f"built in {time.perf_counter() - t0:.1f} s")
    truth = model.defaults()
    pred = make_predictor(catalog, config, model=model)(truth)
    data = _flat(pred, 0.0)
    ranges = prior_ranges(model)
    return model, tab, truth, data, data_errors(pred, config, catalog.box_size, frac_err, poisson=poisson), ranges


def data_errors(pred, config, box_size, frac_err=0.05, *, poisson=True):
    """Diagonal errors of :func:`_flat`'s data: ``frac_err`` of each datum, and for the SMFs the Poisson error of
    the galaxy counts ``N = phi V dlog10M*`` in the box volume ``V`` added in quadrature.

    Without the Poisson part the top SMF bins, where the box holds less than one galaxy, carry 5% errors: the
    exponential tail of the mass function then pins the high-mass scatter to ~1e-3 dex and makes the posterior's
    curvature change by orders of magnitude (benchmarks/RESULTS.md, gradients_pay).
    """
    from shaminfer.stats import smf_poisson_sd

    smf = jnp.concatenate([jnp.ravel(pred.smf), jnp.ravel(pred.smf_color)])
    sd_n = jnp.ravel(smf_poisson_sd(jnp.reshape(smf, (-1, len(config.smf_edges) - 1)), config.smf_edges,
                                    float(box_size) ** 3))
    var_smf = (frac_err * smf) ** 2 + (sd_n ** 2 if poisson else 0.0)
    rest = jnp.concatenate([jnp.ravel(pred.wp), jnp.ravel(pred.delta_sigma)])
    return jnp.concatenate([jnp.sqrt(var_smf), frac_err * jnp.abs(rest)])


def prior_ranges(model):
    """Uniform prior range of every parameter: the blocks' default ranges and ``m`` in :data:`SHEAR_PRIOR`."""
    from shaminfer.galaxy_halo import block_of

    ranges = {f: tuple(block_of(model.blocks, f).prior[f]) for f in model.fields}
    ranges["m"] = SHEAR_PRIOR
    return ranges


def _flat(pred, m):
    return jnp.concatenate([jnp.ravel(pred.smf), jnp.ravel(pred.smf_color), jnp.ravel(pred.wp),
                            (1.0 + m) * jnp.ravel(pred.delta_sigma)])


def free_order(model):
    """:data:`ORDERS` entry of ``model`` (by its scatter parameterization; with the quenching knots' names where
    the model has them, :data:`QUENCH_KNOT_NAMES`)."""
    order = ORDERS["knots" if "sigma_m110" in model.fields else "roll"]
    if "fq_cen_m110" in model.fields:
        order = tuple(QUENCH_KNOT_NAMES.get(f, f) for f in order)
    return order


def make_loglike(model, tab, truth, data, err, ranges, dim):
    """``loglike(u)``, u in (-1, 1)^dim, the first ``dim`` parameters of :data:`ORDERS` free; and ``to_theta``."""
    free = free_order(model)[:dim]
    lo = np.asarray([ranges[f][0] for f in free], dtype=np.float64)
    hi = np.asarray([ranges[f][1] for f in free], dtype=np.float64)
    fixed = dict(truth._asdict(), m=0.0)

    def to_theta(u):  # NumPy for NumPy draws (no compilation per shape), JAX under tracing
        return lo + 0.5 * (u + 1.0) * (hi - lo)

    def loglike(u):
        vals = dict(fixed)
        vals.update(zip(free, to_theta(u)))
        theta = model.params_type(*(vals[f] for f in model.fields))
        r = (_flat(tab(theta), vals["m"]) - data) / err
        return -0.5 * jnp.sum(r * r)

    return jax.jit(loglike), to_theta  # jitted: an eager call (a sampler's init) compiles once, not per operation


def unit_truth(model, truth, ranges, dim):
    """theta_true of the first ``dim`` free parameters in the unit coordinates of their prior ranges."""
    free = free_order(model)[:dim]
    lo = np.array([ranges[f][0] for f in free])
    hi = np.array([ranges[f][1] for f in free])
    return 2.0 * (np.array([dict(truth._asdict(), m=0.0)[f] for f in free]) - lo) / (hi - lo) - 1.0


def laplace_metric_at(loglike, u, coords="logit"):
    """Inverse of the negative Hessian of the log posterior at the unit point ``u`` in the unconstrained
    coordinates ``coords`` (``hmc_vs_mcmc.COORDS``), eigenvalues floored at 0.1: a dense NUTS metric."""
    hess = jax.jit(jax.hessian(unit_log_density(loglike, coords)))
    w, v = np.linalg.eigh(-np.asarray(hess(jnp.asarray(from_unit(u, coords)))))
    return (v / np.maximum(w, 0.1)) @ v.T


def probe_geometry(model, tab, truth, data, err, ranges, dim, seed=0, coords="logit"):
    """Leapfrog steps per NUTS draw with the Laplace metric at theta_true held fixed: one chain, the step size
    adapted over 60 steps, then 40 draws. A near-Gaussian posterior needs few steps (about 7-31 at d = 20)."""
    from numpyro.infer import MCMC, NUTS

    loglike, _ = make_loglike(model, tab, truth, data, err, ranges, dim)
    u0 = unit_truth(model, truth, ranges, dim)
    metric = laplace_metric_at(loglike, u0, coords)
    mcmc = MCMC(NUTS(unit_model(loglike, dim, coords), dense_mass=True, inverse_mass_matrix=jnp.asarray(metric),
                     adapt_mass_matrix=False), num_warmup=60, num_samples=40, num_chains=1, progress_bar=False)
    mcmc.run(jax.random.PRNGKey(seed), init_params={unit_site(coords): jnp.asarray(from_unit(u0, coords))},
             extra_fields=("num_steps",))
    steps = np.asarray(mcmc.get_extra_fields()["num_steps"])
    return dict(d=dim, steps_median=float(np.median(steps)), steps_p90=float(np.percentile(steps, 90)),
                step_size=float(mcmc.last_state.adapt_state.step_size))


def run_dim(model, tab, truth, data, err, ranges, dim, args):
    loglike, to_theta = make_loglike(model, tab, truth, data, err, ranges, dim)
    u_true = unit_truth(model, truth, ranges, dim)
    vg = jax.jit(jax.value_and_grad(loglike))
    jax.block_until_ready(vg(jnp.asarray(u_true)))
    t0 = time.perf_counter()
    for _ in range(20):
        jax.block_until_ready(vg(jnp.asarray(u_true)))
    t_grad = (time.perf_counter() - t0) / 20
    rng = np.random.default_rng(args.seed)

    def ball(n):  # starting points: theta_true plus a small jitter (1% of each prior range), inside the box
        return np.clip(u_true + 0.02 * rng.standard_normal((n, dim)), -0.99, 0.99)

    laplace = args.nuts_start == "laplace"
    jax.clear_caches()  # each sampler pays its own compilations (see the module docstring)
    t0 = time.perf_counter()
    # from the ball: the Laplace metric at its centre, theta_true (a Hessian costs about 2 d gradients, counted)
    metric = None if laplace else laplace_metric_at(loglike, u_true, args.coords)
    t_metric = time.perf_counter() - t0
    if args.nuts_driver in ("lockstep", "chees"):
        nuts = run_lockstep_rounds(loglike, to_theta, dim=dim, chains=args.ensemble, seed=args.seed,
                                   max_seconds=60.0 * args.max_minutes,
                                   kernel="nuts" if args.nuts_driver == "lockstep" else "jittered",
                                   max_depth=args.max_depth, coords=args.coords, start_chains=args.chains,
                                   min_ess=args.min_ess, marginal=args.marginal, adapt_t=args.trajectory == 0.0,
                                   t_len=args.trajectory or 1.0, warmup=args.warmup, target_accept=args.target_accept,
                                   batch=args.batch)
        _log(f"{args.nuts_driver} (d={dim}): leapfrog steps per kept iteration {nuts['leapfrog_mean']:.2f} per "
             f"chain taken, {nuts['leapfrog_max_mean']:.2f} computed (its batch's longest)")
    elif args.nuts_driver == "rounds":
        nuts = run_nuts_rounds(loglike, to_theta, dim=dim, chains=args.chains, seed=args.seed,
                               max_seconds=60.0 * args.max_minutes, coords=args.coords, warmup=args.warmup,
                               min_ess=args.min_ess, target_accept=args.target_accept or 0.8,
                               marginal=args.marginal)
    else:
        nuts = run_nuts(loglike, to_theta, chains=args.chains, warmup=args.warmup, samples=args.samples,
                        seed=args.seed, max_seconds=60.0 * args.max_minutes, dense_mass=True,
                        chain_method="vectorized", dim=dim, init_u=None if laplace else ball(args.chains),
                        laplace=laplace, metric=args.nuts_metric, init_metric=metric,
                        init_grads=0 if laplace else 2 * dim, coords=args.coords, min_ess=args.min_ess)
    nuts["seconds"] += t_metric
    if args.nuts_only:
        return dict(d=dim, grad_ms=1e3 * t_grad, nuts=nuts)
    walkers = 2 * dim + 2
    # emcee moves in u (the prior's box) or in the unconstrained coordinates --emcee-coords
    ecoords = "logit" if args.emcee_coords == "box" else args.emcee_coords
    jax.clear_caches()
    if args.emcee_start == "laplace":
        p0, start_s, start_calls, _ = laplace_walkers(loglike, dim, walkers, seed=args.seed, chains=args.chains,
                                                      coords=ecoords)
        _log(f"emcee (d={dim}): Laplace start, {start_calls} gradients, {start_s:.1f} s")
    else:
        p0, start_s, start_calls = from_unit(ball(walkers), ecoords), 0.0, 0
    if args.emcee_coords == "box":
        log_prob, emcee_theta = batched_box_log_prob(loglike), jax.jit(to_theta)
        p0 = np.asarray(to_unit(p0, ecoords))
    else:
        log_prob = batched_unit_log_prob(loglike, ecoords)
        emcee_theta = jax.jit(lambda z: to_theta(to_unit(z, ecoords)))
    em = run_emcee(log_prob, walkers=walkers, chunk=args.chunk, seed=args.seed,
                   max_seconds=60.0 * args.max_minutes, vectorize=True, to_theta=emcee_theta,
                   name=f"emcee (d={dim}, {walkers} walkers)", dim=dim, p0=p0, start_seconds=start_s,
                   start_calls=start_calls, moves=args.emcee_moves, min_ess=args.min_ess)
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


def plot(rows, path, title, hmc="NUTS"):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    d = [r["d"] for r in rows]
    fig, ax = plt.subplots(1, 2, figsize=(9, 3.7))
    for key, label, style in (("nuts", f"{hmc} (value + gradient)", "o-"), ("emcee", "emcee (value)", "s--")):
        ax[0].semilogy(d, [r[key]["ess"] / r[key]["seconds"] for r in rows], style, label=label)
        ax[1].semilogy(d, [r[key]["ess"] / r[key]["evals"] for r in rows], style, label=label)
    ax[0].set(xlabel="free parameters d", ylabel="min bulk ESS / s", xticks=d)
    ax[1].set(xlabel="free parameters d", ylabel="min bulk ESS / likelihood evaluation", xticks=d)
    for r in rows:
        ax[0].annotate(f"q={r['q']:.1f}", (r["d"], r["nuts"]["ess"] / r["nuts"]["seconds"]),
                       textcoords="offset points", xytext=(4, 6), fontsize=8)
    ax[0].legend(fontsize=8)
    fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp.png")
    fig.savefig(tmp, dpi=120)
    os.replace(tmp, path)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--box-size", type=float, default=None, help="smaller synthetic universe [Mpc/h]")
    ap.add_argument("--frac-err", type=float, default=0.05)
    ap.add_argument("--scatter", choices=tuple(ORDERS), default="knots",
                    help="scatter parameterization of the knot SMHM (default: knots; roll: Eq. 4 with its roll free)")
    ap.add_argument("--quenching", choices=("knots", "sigmoid"), default="knots",
                    help="quenching parameterization: the fractions at mass knots (default) or sigmoids")
    ap.add_argument("--smf-errors", choices=("poisson", "fractional"), default="poisson",
                    help="SMF errors: --frac-err with the box's Poisson errors in quadrature (default), or alone")
    ap.add_argument("--nuts-only", action="store_true",
                    help="run only NUTS (to compare its set-ups); one line gradients_pay_nuts ... per d")
    ap.add_argument("--probe", action="store_true",
                    help="only measure NUTS's leapfrog steps per draw with a fixed Laplace metric (the geometry)")
    ap.add_argument("--dims", type=int, nargs="+", default=list(DIMS))
    ap.add_argument("--chains", type=int, default=4)
    ap.add_argument("--nuts-driver", choices=("lockstep", "rounds", "numpyro", "chees"), default="lockstep",
                    help="lockstep (default): BlackJAX NUTS in --ensemble chains in lockstep, trees at most "
                         "--max-depth doublings deep (lockstep_rounds.py); rounds: BlackJAX NUTS in --chains chains, "
                         "the metric re-estimated as the draws double (nuts_rounds.py); numpyro: NumPyro's MCMC with "
                         "--nuts-metric, --nuts-start, --samples; chees: not NUTS but jittered HMC with --ensemble "
                         "chains in lockstep (lockstep_rounds.py)")
    ap.add_argument("--ensemble", type=int, default=128,
                    help="chains of --nuts-driver lockstep and chees (default 128; their Laplace start runs --chains "
                         "L-BFGS)")
    ap.add_argument("--batch", type=int, default=32,
                    help="--nuts-driver lockstep and chees: chains per batched evaluation, the batches one after "
                         "another (default 32)")
    ap.add_argument("--max-depth", type=int, default=3,
                    help="--nuts-driver lockstep: NUTS's most tree doublings (default 3: at most 7 leapfrog steps)")
    ap.add_argument("--trajectory", type=float, default=float(np.pi),
                    help="--nuts-driver chees: trajectory length in the metric's whitened coordinates, jittered "
                         "uniformly below it (default pi); 0: adapted by the ChEES criterion")
    ap.add_argument("--marginal", choices=MARGINALS, default=None,
                    help="the per-coordinate map (all but --nuts-driver numpyro): sas (default), a sinh-arcsinh map "
                         "fitted to the draws with the metric, or none")
    ap.add_argument("--target-accept", type=float, default=None,
                    help="NUTS's target acceptance for the step-size adaptation (--nuts-driver lockstep: of the mean "
                         "over chains, or rounds; default 0.8)")
    ap.add_argument("--nuts-start", choices=("laplace", "ball"), default="laplace",
                    help="NUTS's start (--nuts-driver numpyro): the package's Laplace start (default) or emcee's "
                         "small ball around theta_true")
    ap.add_argument("--emcee-start", choices=("laplace", "ball"), default="laplace",
                    help="emcee's walkers: draws from the batched Laplace start (default) or a small ball around "
                         "theta_true")
    ap.add_argument("--emcee-moves", choices=("de", "stretch"), default="de",
                    help="emcee's proposal: differential evolution (default: 80%% DEMove, 20%% DESnookerMove) or the "
                         "stretch move")
    ap.add_argument("--nuts-metric", choices=("pooled", "laplace", "adapt"), default="pooled",
                    help="NUTS's dense metric after the Laplace start (hmc_vs_mcmc.run_nuts): pooled (default), "
                         "laplace (fixed) or adapt (NumPyro's windows)")
    ap.add_argument("--coords", choices=COORDS, default="probit",
                    help="NUTS's unconstrained coordinates of each prior range: probit (default; u = 2 Phi(z) - 1, "
                         "the uniform prior becomes a standard normal) or logit (NumPyro's transform)")
    ap.add_argument("--emcee-coords", choices=("box",) + COORDS, default="probit",
                    help="emcee's coordinates: unconstrained ones as --coords (default: probit) or the prior's box")
    ap.add_argument("--warmup", type=int, default=None,
                    help="warm-up steps (default 100; --nuts-driver lockstep and chees: 40 iterations)")
    ap.add_argument("--samples", type=int, default=None,
                    help="--nuts-driver numpyro: draws per chain, and per extension (default 300)")
    ap.add_argument("--chunk", type=int, default=1000, help="emcee steps between convergence checks")
    ap.add_argument("--max-minutes", type=float, default=15.0, help="wall-time bound of each sampler run")
    ap.add_argument("--min-ess", type=float, default=1000.0,
                    help="each sampler runs until R-hat <= 1.01 and its smallest bulk ESS >= this (default 1000)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--figure", default="figures/gradients_pay.png")
    ap.add_argument("--json", default="", help="also write the per-d figures here")
    args = ap.parse_args(argv)
    if args.nuts_driver != "numpyro" and (args.nuts_start != "laplace" or args.nuts_metric != "pooled"):
        ap.error("--nuts-start and --nuts-metric choose among the NumPyro driver's set-ups: add --nuts-driver numpyro")
    if args.nuts_driver == "numpyro" and (args.target_accept is not None or args.marginal is not None):
        ap.error("--target-accept and --marginal belong to the lockstep and rounds drivers: drop --nuts-driver numpyro")
    if args.nuts_driver != "numpyro" and args.samples is not None:
        ap.error("--samples belongs to the NumPyro driver (the others sample in rounds): add --nuts-driver numpyro")
    args.samples = 300 if args.samples is None else args.samples
    if args.nuts_driver == "chees" and args.target_accept is not None:
        ap.error("--target-accept belongs to the NUTS drivers (chees targets a harmonic mean of 0.651)")
    lockstep = args.nuts_driver in ("lockstep", "chees")
    if not lockstep and (args.batch, args.ensemble) != (ap.get_default("batch"), ap.get_default("ensemble")):
        ap.error("--batch and --ensemble belong to the lockstep drivers: add --nuts-driver lockstep or chees")
    if args.nuts_driver != "lockstep" and args.max_depth != ap.get_default("max_depth"):
        ap.error("--max-depth belongs to the lockstep driver: add --nuts-driver lockstep")
    if not 1 <= args.max_depth <= 10:
        ap.error(f"--max-depth: expected 1..10 doublings, found {args.max_depth}")
    args.marginal = args.marginal or ("none" if args.nuts_driver == "numpyro" else "sas")
    args.warmup = args.warmup if args.warmup is not None else (40 if lockstep else 100)
    if args.warmup < 1:
        ap.error(f"--warmup: expected at least 1 step, found {args.warmup}")
    if args.trajectory < 0.0:
        ap.error(f"--trajectory: expected a length >= 0 (0: adapted), found {args.trajectory}")
    if args.batch < 1:
        ap.error(f"--batch: expected at least 1 chain, found {args.batch}")
    if args.ensemble < 2:
        ap.error(f"--ensemble: expected at least 2 chains, found {args.ensemble}")
    if args.target_accept is not None and not 0.0 < args.target_accept < 1.0:
        ap.error(f"--target-accept: expected a value in (0, 1), found {args.target_accept}")
    n_max = len(ORDERS[args.scatter])
    if any(d < 1 or d > n_max for d in args.dims):
        ap.error(f"--dims: expected values in 1..{n_max}, found {args.dims}")
    model, tab, truth, data, err, ranges = setup(args.box_size, args.frac_err, args.scatter,
                                                 poisson=args.smf_errors == "poisson", quenching_kind=args.quenching)
    if args.probe:
        for d in args.dims:
            r = probe_geometry(model, tab, truth, data, err, ranges, d, args.seed, args.coords)
            print(f"gradients_pay_probe scatter={args.scatter} smf_errors={args.smf_errors} d={d} "
                  f"steps_median={r['steps_median']:.0f} steps_p90={r['steps_p90']:.0f} step_size={r['step_size']:.3f}")
        return None
    rows = [run_dim(model, tab, truth, data, err, ranges, d, args) for d in args.dims]
    if args.nuts_only:
        for r in rows:
            n = r["nuts"]
            print(f"gradients_pay_nuts d={r['d']} ess={n['ess']:.0f} rhat={n['rhat']:.4f} grads={n['grad_evals']} "
                  f"seconds={n['seconds']:.1f} ess_per_s={n['ess'] / n['seconds']:.2f}")
        return rows
    if args.figure:
        moves = "differential evolution" if args.emcee_moves == "de" else "stretch move"
        hmc = "jittered HMC" if args.nuts_driver == "chees" else "NUTS"
        chains = {"lockstep": f"{args.ensemble} chains in lockstep, trees <= {args.max_depth} doublings",
                  "chees": f"{args.ensemble} chains in lockstep"}.get(args.nuts_driver, f"{args.chains} chains")
        plot(rows, Path(args.figure), f"knot SMHM + knot scatter + {args.quenching} quenching + shear bias, tabulated "
                                      f"engine\n{hmc}: {chains}; emcee: {moves}; coordinates: {hmc} {args.coords}, "
                                      f"emcee {args.emcee_coords}", hmc)
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
