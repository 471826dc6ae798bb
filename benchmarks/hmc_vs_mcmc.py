"""Benchmark (issue 7): do gradients pay? NUTS + tabulated engine against the conventional method.

Same catalog, data, likelihood and prior for every sampler:

* catalog: the default universe ``synthetic_universe()`` (175 Mpc/h, ~3.4e5 subhalos), or with
  ``--box-size L`` the same generator in a smaller box (``--box-size 40``: the demo's volume, ~4,000
  subhalos, where the baseline can be run to convergence); shipped SHAMNet;
* statistics: the demo's SMF + w_p + Delta Sigma of three threshold samples
  (benchmarks/engine_speed.py, ``demo_setup``);
* data: the exact-engine prediction at the demo's theta_true, Gaussian
  likelihood with diagonal errors of ``--frac-err`` (5%) of each datum;
* prior: ``shaminfer.inference.priors.domain_prior`` (uniform on SHAMNet's
  training box in its eigen-coordinates); every sampler works in the box's
  unit coordinates ``u`` in (-1, 1)^4; ESS and R-hat are computed on theta.

Samplers (all timed by wall clock, warm-up / burn-in and compilation included):

1. **NUTS + tabulated engine** (NumPyro, or BlackJAX with ``--nuts-backend blackjax``; ``--chains``
   chains of ``--warmup`` + ``--samples``, extended by ``--samples`` until R-hat <= 1.01);
2. **emcee + tabulated engine** (``--walkers`` walkers, stretch move,
   likelihood vectorized over walkers; run in chunks until R-hat <= 1.01 over
   the walkers, treated as chains, on the second half of the run, which is
   kept; the first half is burn-in): isolates the value of gradients (``q``);
3. **emcee + Monte Carlo SHAM** (the conventional method, Sec. 4.1: one
   fixed-seed Monte Carlo realization per likelihood call, hard bins, Corrfunc
   ``wp``, plain Delta Sigma means; ``shaminfer.stats.montecarlo``).
   With ``--mc-cov R`` its likelihood adds, in quadrature to the data errors,
   the scatter of the Monte Carlo prediction between ``R`` independent seeds
   at theta_true: the usual remedy when the model is a single realization.
   Without it, at 5% data errors, one realization's noise is several times
   the error bars (in the 40 Mpc/h box), the likelihood is rough and emcee
   does not converge. With it, the baseline samples a wider posterior than
   samplers 1-2 (that width is the price of the method); its ESS per second
   is still the figure of merit.

A likelihood call of the baseline (3) costs a SHAMNet pass over all
subhalos plus three Corrfunc counts: about 0.5 s on the default universe,
where emcee needs ~5e5 calls to reach R-hat <= 1.01, i.e. about three days,
and 3-4 ms (one thread) in the demo's 40 Mpc/h box. Unless it converges within
``--mc-max-minutes``, the baseline is stopped there (its R-hat is printed,
and its measured cost per call is used) and its time to convergence is
*extrapolated* as
``max(calls that sampler 2 needed, calls already made) x (measured seconds
per baseline call)``, with the ESS of sampler 2. That assumes the Monte Carlo likelihood mixes as well
as the smooth tabulated one, which favours the baseline: its fixed-seed noise
makes the likelihood piecewise constant and, at this data precision, rough.
The last line then carries ``baseline_extrapolated=1`` and a second estimate,
``ratio_own_ess``: r with the baseline's own bulk ESS per second so far (from
chains that have not converged, so also an estimate).

Run::

    JAX_ENABLE_X64=1 NUMBA_NUM_THREADS=2 nice -n 10 .venv/bin/python benchmarks/hmc_vs_mcmc.py --max-minutes 3
    JAX_ENABLE_X64=1 NUMBA_NUM_THREADS=1 taskset -c 1 .venv/bin/python benchmarks/hmc_vs_mcmc.py --box-size 40 \
        --max-minutes 10 --mc-max-minutes 95 --mc-cov 64

The second command is the measured one (benchmarks/RESULTS.md): the baseline converges there in about 85 minutes
on one core, so it is a measurement (``baseline_extrapolated=0``), not an estimate.

Last line: ``hmc_vs_mcmc ess_per_second_ratio=<r> same_engine_ratio=<q> hmc_seconds=<h> baseline_seconds=<b>
baseline_extrapolated=<0|1> nuts_backend=<numpyro|blackjax> mc_cov=<R>`` with ``r`` = (min bulk ESS / s of NUTS + tabulated) / (the same for emcee +
Monte Carlo) and ``q`` the same ratio against emcee + tabulated.
"""
from __future__ import annotations

import argparse
import os
import sys
import time

os.environ.setdefault("JAX_ENABLE_X64", "1")

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402

from shaminfer import configure_jax  # noqa: E402

configure_jax()  # float64 + synchronous CPU dispatch, as in every entry point
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from engine_speed import demo_setup, flat  # noqa: E402


def _log(msg):
    print(msg, file=sys.stderr, flush=True)


def diagnostics(theta_draws):
    """(max R-hat, min bulk ESS) over the theta components; ``theta_draws`` (chain, draw, d)."""
    import arviz as az

    ds = az.convert_to_dataset({"theta": np.asarray(theta_draws)})
    rhat = float(np.max(az.rhat(ds)["theta"].values))
    ess = float(np.min(az.ess(ds, method="bulk")["theta"].values))
    return rhat, ess


#: The samplers' unconstrained coordinates z of u in (-1, 1) (:func:`to_unit`): ``"logit"``, u = 2 sigmoid(z) - 1
#: (NumPyro's transform of a Uniform site), or ``"probit"``, u = 2 Phi(z) - 1, under which the uniform prior is a
#: standard normal in z: where the likelihood is flat towards a bound the density in z has a Gaussian tail, not the
#: logit's exponential one.
COORDS = ("logit", "probit")


def _check_coords(coords):
    if coords not in COORDS:
        raise ValueError(f"coords: expected one of {COORDS}, found {coords!r}")


def to_unit(z, coords="logit"):
    """u in (-1, 1) of the unconstrained z (see :data:`COORDS`)."""
    from jax.scipy.special import ndtr

    _check_coords(coords)
    return 2.0 * (jax.nn.sigmoid(z) if coords == "logit" else ndtr(z)) - 1.0


def to_unit_np(z, coords="logit"):
    """:func:`to_unit` in NumPy (no compilation for a new shape of ``z``)."""
    from scipy.special import expit, ndtr

    _check_coords(coords)
    z = np.asarray(z, dtype=np.float64)
    return 2.0 * (expit(z) if coords == "logit" else ndtr(z)) - 1.0


def from_unit(u, coords="logit"):
    """Inverse of :func:`to_unit` (NumPy)."""
    from scipy.special import ndtri

    _check_coords(coords)
    u = np.asarray(u, dtype=np.float64)
    return np.log1p(u) - np.log1p(-u) if coords == "logit" else ndtri(0.5 * (u + 1.0))


def unit_log_density(loglike_u, coords="logit"):
    """Log posterior density in z: ``loglike_u(to_unit(z))`` plus the uniform prior's density in z."""
    _check_coords(coords)

    def log_density(z):
        u = to_unit(z, coords)
        prior = jnp.sum(jnp.log(0.5 * (1.0 - u * u))) if coords == "logit" else -0.5 * jnp.sum(z * z)
        return loglike_u(u) + prior

    return log_density


def unit_site(coords="logit"):
    """Name of :func:`unit_model`'s sample site in ``coords`` (its draws are ``"u"`` in both)."""
    _check_coords(coords)
    return "u" if coords == "logit" else "z"


def unit_model(loglike_u, dim, coords="logit"):
    """The NumPyro model both samplers' targets share: ``u ~ Uniform(-1, 1)^dim`` and the factor ``loglike_u(u)``.

    ``coords="probit"``: the site is ``z ~ Normal(0, 1)^dim`` and ``u = 2 Phi(z) - 1`` a deterministic site, the
    same posterior of u in other unconstrained coordinates (:data:`COORDS`)."""
    import numpyro
    import numpyro.distributions as dist

    _check_coords(coords)

    def model():
        if coords == "logit":
            u = numpyro.sample("u", dist.Uniform(-1.0, 1.0).expand([dim]).to_event(1))
        else:
            z = numpyro.sample("z", dist.Normal(0.0, 1.0).expand([dim]).to_event(1))
            u = numpyro.deterministic("u", to_unit(z, coords))
        numpyro.factor("loglike", loglike_u(u))

    return model


def run_nuts(loglike_u, to_theta, *, chains, warmup, samples, seed, max_seconds, dense_mass, chain_method, dim=4,
             init_u=None, laplace=False, metric="adapt", pool=100, init_metric=None, init_grads=0, coords="logit",
             min_ess=0):
    """NumPyro NUTS on ``u`` in (-1, 1)^dim, extended by ``samples`` until R-hat <= 1.01 and the smallest bulk
    ESS >= ``min_ess``, or ``max_seconds``.

    ``init_u`` (chains, dim): starting points (default: NumPyro's uniform draws in the unconstrained space).
    ``coords``: the unconstrained coordinates NUTS moves in (:data:`COORDS`; ``init_metric`` is in them).
    ``laplace``: start instead from the package's Laplace start (:func:`shaminfer.inference.initialization.
    laplace_init`: per-chain L-BFGS modes from uniform draws, overdispersed by the Laplace covariance), whose time
    and gradient calls are counted; or from ``init_u`` with ``init_metric``, an inverse mass matrix in the
    unconstrained coordinates whose ``init_grads`` value + gradient evaluations are counted. The metric ``metric``:

    * ``"adapt"``: NumPyro's windowed adaptation of the mass matrix, starting from the Laplace covariance;
    * ``"laplace"``: the Laplace covariance held fixed; warm-up adapts only the step size;
    * ``"pooled"``: ``warmup`` steps and ``pool`` draws per chain with the Laplace covariance fixed, then the
      draws' covariance pooled over all chains as the fixed metric, ``warmup // 2`` more steps adapting the step
      size, and sampling (the first phase's draws are warm-up: counted, not kept).

    Returns seconds, R-hat, min bulk ESS, draws and ``grad_evals``: likelihood value + gradient evaluations
    (leapfrog steps of every chain, warm-up and the Laplace start included).
    """
    from numpyro.infer import MCMC, NUTS

    model = unit_model(loglike_u, dim, coords)
    site = unit_site(coords)

    def phase(imm, adapt, n_warmup, n_samples, key, init):
        kernel = NUTS(model, target_accept_prob=0.8, dense_mass=dense_mass,
                      inverse_mass_matrix=None if imm is None else jnp.asarray(imm), adapt_mass_matrix=adapt)
        mc = MCMC(kernel, num_warmup=n_warmup, num_samples=n_samples, num_chains=chains, chain_method=chain_method,
                  progress_bar=False)
        mc.warmup(key, extra_fields=("num_steps",), collect_warmup=True, init_params=init)
        return mc, int(np.sum(mc.get_extra_fields()["num_steps"]))

    t0 = time.perf_counter()
    draws = []
    init, imm, grad_evals = None, init_metric, int(init_grads)
    if laplace:
        from shaminfer.inference.initialization import laplace_init

        start = laplace_init(model, jax.random.PRNGKey(seed + 1), chains, log=_log)
        init = {site: jnp.stack([p[site] for p in start.positions])}
        imm, grad_evals = start.inverse_mass_matrix, start.gradient_calls
        _log(f"NUTS (d={dim}): Laplace start, {grad_evals} gradients, {time.perf_counter() - t0:.1f} s")
    elif init_u is not None:
        init = {site: jnp.asarray(from_unit(init_u, coords))}
    if imm is None:
        metric = "adapt"
    if metric == "pooled":
        pre, n = phase(imm, False, warmup, pool, jax.random.PRNGKey(seed + 2), init)
        pre.run(pre.post_warmup_state.rng_key, extra_fields=("num_steps",))
        grad_evals += n + int(np.sum(pre.get_extra_fields()["num_steps"]))
        z = np.asarray(pre.get_samples(group_by_chain=True)[site]).reshape(-1, dim)
        if coords == "logit":  # the site is u; NUTS moves in its unconstrained coordinates
            z = from_unit(z, coords)
        imm, init = np.cov(z.T), pre.last_state.z
        _log(f"NUTS (d={dim}): metric from {z.shape[0]} pooled draws, {grad_evals} gradients, "
             f"{time.perf_counter() - t0:.1f} s")
        warmup = max(warmup // 2, 1)
    mcmc, n = phase(imm, metric == "adapt", warmup, samples, jax.random.PRNGKey(seed), init)
    grad_evals += n
    key = mcmc.post_warmup_state.rng_key
    while True:
        mcmc.run(key, extra_fields=("num_steps",))
        grad_evals += int(np.sum(mcmc.get_extra_fields()["num_steps"]))
        draws.append(np.asarray(mcmc.get_samples(group_by_chain=True)["u"]))
        u = np.concatenate(draws, axis=1)
        theta = np.asarray(to_theta(u))
        rhat, ess = diagnostics(theta)
        elapsed = time.perf_counter() - t0
        _log(f"NUTS (d={dim}): {u.shape[0]} chains x {u.shape[1]} draws, R-hat {rhat:.4f}, min bulk ESS {ess:.0f}, "
             f"{grad_evals} gradients, {elapsed:.1f} s")
        if (rhat <= 1.01 and ess >= min_ess) or elapsed > max_seconds:
            break
        mcmc.post_warmup_state = mcmc.last_state
        key = mcmc.post_warmup_state.rng_key
    return dict(seconds=elapsed, rhat=rhat, ess=ess, draws=u.shape[0] * u.shape[1], grad_evals=grad_evals,
                converged=rhat <= 1.01, u=u, inverse_mass_matrix=imm)


def run_nuts_blackjax(loglike_u, to_theta, *, chains, warmup, samples, seed, max_seconds):
    """BlackJAX NUTS on the same target: u = tanh(z) maps R^4 onto the prior box (log-Jacobian added), window
    adaptation with a dense mass matrix, chains vectorized with ``vmap``, each run one jitted ``lax.scan``."""
    import blackjax

    def logdensity(z):
        u = jnp.tanh(z)
        return loglike_u(u) + jnp.sum(jnp.log1p(-u * u))

    def adapt_one(key, z0):
        (state, params), _ = blackjax.window_adaptation(blackjax.nuts, logdensity, is_mass_matrix_diagonal=False).run(
            key, z0, num_steps=warmup)
        return state, params

    def sample_one(key, state, params):
        step = blackjax.nuts(logdensity, step_size=params["step_size"],
                             inverse_mass_matrix=params["inverse_mass_matrix"]).step

        def body(st, k):
            st, _ = step(k, st)
            return st, st.position

        return jax.lax.scan(body, state, jax.random.split(key, samples))

    adapt = jax.jit(jax.vmap(adapt_one))
    sample = jax.jit(jax.vmap(sample_one))
    t0 = time.perf_counter()
    k_init, k_adapt, key = jax.random.split(jax.random.PRNGKey(seed), 3)
    z0 = jax.random.uniform(k_init, (chains, 4), minval=-2.0, maxval=2.0)
    state, params = adapt(jax.random.split(k_adapt, chains), z0)
    draws = []
    while True:
        key, k = jax.random.split(key)
        state, z = sample(jax.random.split(k, chains), state, params)
        draws.append(np.tanh(np.asarray(z)))
        u = np.concatenate(draws, axis=1)
        rhat, ess = diagnostics(np.asarray(to_theta(u)))
        elapsed = time.perf_counter() - t0
        _log(f"NUTS (BlackJAX): {u.shape[0]} chains x {u.shape[1]} draws, R-hat {rhat:.4f}, min bulk ESS {ess:.0f}, "
             f"step sizes {np.round(np.asarray(params['step_size']), 3).tolist()}, {elapsed:.1f} s")
        if rhat <= 1.01 or elapsed > max_seconds:
            break
    return dict(seconds=elapsed, rhat=rhat, ess=ess, draws=u.shape[0] * u.shape[1])


def batched_box_log_prob(loglike):
    """emcee's vectorized ``log_prob(u (W, d)) -> (W,)``: ``loglike`` (jitted, vmapped over walkers) inside the
    box ``|u| < 1`` of the unconstrained coordinates, ``-inf`` outside (the flat prior's support)."""
    ll_batch = jax.jit(jax.vmap(loglike))

    def log_prob(u):
        u = np.atleast_2d(u)
        inside = np.all(np.abs(u) < 1.0, axis=1)
        out = np.full(u.shape[0], -np.inf)
        if inside.any():
            out[inside] = np.asarray(ll_batch(jnp.asarray(u[inside])))
        return out

    return log_prob


def batched_unit_log_prob(loglike, coords):
    """emcee's vectorized ``log_prob(z (W, d)) -> (W,)`` in the unconstrained coordinates ``coords``
    (:func:`unit_log_density`, jitted and vmapped over walkers)."""
    lp_batch = jax.jit(jax.vmap(unit_log_density(loglike, coords)))
    return lambda z: np.asarray(lp_batch(jnp.asarray(np.atleast_2d(z))))


def run_emcee(log_prob, *, walkers, chunk, seed, max_seconds, vectorize, to_theta, name, min_chunks=1, dim=4,
              p0=None, start_seconds=0.0, start_calls=0, moves="stretch", min_ess=0):
    """emcee in chunks until R-hat <= 1.01 and the smallest bulk ESS >= ``min_ess`` on the second half (walkers as
    chains), or ``max_seconds``.

    ``p0`` (walkers, dim): starting points (default: uniform in (-0.9, 0.9)^dim); ``start_seconds`` and
    ``start_calls``: what finding them cost (e.g. :func:`laplace_start.laplace_walkers`), added to the run's. ``moves``:
    ``"stretch"`` (emcee's default affine-invariant stretch move) or ``"de"`` (differential evolution, 80%
    ``DEMove`` and 20% ``DESnookerMove``, the mixture emcee's documentation suggests for harder targets)."""
    import emcee

    rng = np.random.default_rng(seed)
    np.random.seed(seed)  # emcee's moves draw from NumPy's global generator
    p0 = rng.uniform(-0.9, 0.9, (walkers, dim)) if p0 is None else np.asarray(p0, dtype=np.float64)
    if moves not in ("stretch", "de"):
        raise ValueError(f"emcee moves: expected 'stretch' or 'de', found {moves!r}")
    mv = None if moves == "stretch" else [(emcee.moves.DEMove(), 0.8), (emcee.moves.DESnookerMove(), 0.2)]
    sampler = emcee.EnsembleSampler(walkers, dim, log_prob, vectorize=vectorize, moves=mv)
    t0 = time.perf_counter() - start_seconds
    state = p0
    nchunk = 0
    while True:
        state = sampler.run_mcmc(state, chunk, progress=False)
        nchunk += 1
        chain = sampler.get_chain()  # (step, walker, 4)
        kept = chain[chain.shape[0] // 2:]
        theta = np.asarray(to_theta(np.swapaxes(kept, 0, 1)))
        rhat, ess = diagnostics(theta)
        elapsed = time.perf_counter() - t0
        calls = chain.shape[0] * walkers + start_calls
        _log(f"{name}: {chain.shape[0]} steps x {walkers} walkers ({calls} calls), R-hat {rhat:.4f}, "
             f"min bulk ESS {ess:.0f} (second half), acceptance {np.mean(sampler.acceptance_fraction):.2f}, "
             f"{elapsed:.1f} s")
        if (rhat <= 1.01 and ess >= min_ess and nchunk >= min_chunks) or elapsed > max_seconds:
            break
    return dict(seconds=elapsed, rhat=rhat, ess=ess, calls=calls, converged=rhat <= 1.01)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--max-minutes", type=float, default=3.0, help="wall-time bound of NUTS and emcee + tabulated")
    ap.add_argument("--mc-max-minutes", type=float, default=None,
                    help="wall-time bound of the Monte Carlo baseline (default: --max-minutes)")
    ap.add_argument("--box-size", type=float, default=None,
                    help="box of the synthetic universe [Mpc/h] (default: the default universe's 175)")
    ap.add_argument("--frac-err", type=float, default=0.05)
    ap.add_argument("--chains", type=int, default=4)
    ap.add_argument("--warmup", type=int, default=500)
    ap.add_argument("--samples", type=int, default=1000)
    ap.add_argument("--walkers", type=int, default=32)
    ap.add_argument("--chunk", type=int, default=500, help="emcee steps between convergence checks (tabulated)")
    ap.add_argument("--mc-chunk", type=int, default=50, help="emcee steps between checks (Monte Carlo baseline)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--diag-mass", action="store_true", help="NUTS with a diagonal mass matrix (default: dense)")
    ap.add_argument("--chain-method", default="vectorized", choices=("vectorized", "sequential"))
    ap.add_argument("--nuts-backend", default="numpyro", choices=("numpyro", "blackjax"),
                    help="NUTS implementation of sampler 1 (both: dense mass matrix, chains vectorized)")
    ap.add_argument("--mc-cov", type=int, default=0,
                    help="baseline only: add the variance of the Monte Carlo prediction over this many seeds at "
                         "theta_true to the data variance (0: off, the baseline uses the data errors alone)")
    ap.add_argument("--nuts-only", action="store_true", help="stop after the NUTS run")
    args = ap.parse_args(argv)
    max_s = 60.0 * args.max_minutes
    mc_max_s = 60.0 * (args.max_minutes if args.mc_max_minutes is None else args.mc_max_minutes)

    from shaminfer.inference.priors import domain_prior, theta_from_unit, unit_from_theta
    from shaminfer.stats import make_predictor
    from shaminfer.stats.montecarlo import kernel_variates, montecarlo_evaluator
    from shaminfer.stats.predict import resolve_smhm
    from shaminfer.stats.tabulated import make_tabulated_predictor
    from shaminfer.stats.weights import galaxy_logsm_pdf_params

    catalog, config, net, theta_true = demo_setup(box_size=args.box_size)
    _log(f"catalog: {catalog.n} subhalos in a {catalog.box_size} Mpc/h box")
    prior = domain_prior(net=net)
    t0 = time.perf_counter()
    tab = make_tabulated_predictor(catalog, config, net=net, log=_log)
    _log(f"tabulated tables ready in {time.perf_counter() - t0:.1f} s ({tab.tables.nodes.size} nodes)")
    data = flat(jax.jit(make_predictor(catalog, config, net=net))(theta_true))
    err = args.frac_err * jnp.abs(data)
    data_np, err_np = np.asarray(data), np.asarray(err)

    def to_theta_vec(u):
        return jnp.stack(theta_from_unit(prior, jnp.asarray(u)), axis=-1)

    to_theta = jax.jit(to_theta_vec)

    def loglike_u(u):
        r = (flat(tab(theta_from_unit(prior, u))) - data) / err
        return -0.5 * jnp.sum(r * r)

    # 1. NUTS + tabulated
    if args.nuts_backend == "blackjax":
        nuts = run_nuts_blackjax(loglike_u, to_theta, chains=args.chains, warmup=args.warmup, samples=args.samples,
                                 seed=args.seed, max_seconds=max_s)
    else:
        nuts = run_nuts(loglike_u, to_theta, chains=args.chains, warmup=args.warmup, samples=args.samples,
                        seed=args.seed, max_seconds=max_s, dense_mass=not args.diag_mass,
                        chain_method=args.chain_method)
    hmc_rate = nuts["ess"] / nuts["seconds"]
    if args.nuts_only:
        return dict(nuts=nuts)

    # 2. emcee + tabulated (vectorized over walkers)
    em_tab = run_emcee(batched_box_log_prob(loglike_u), walkers=args.walkers, chunk=args.chunk, seed=args.seed, max_seconds=max_s,
                       vectorize=True, to_theta=to_theta, name="emcee+tabulated")
    tab_rate = em_tab["ess"] / em_tab["seconds"]

    # 3. emcee + Monte Carlo SHAM (conventional): fixed-seed variates, hard bins, Corrfunc w_p
    smhm_fn, _ = resolve_smhm(net=net)
    logm = jnp.asarray(np.asarray(catalog.logmpeak, dtype=np.float64))
    z = jnp.asarray(kernel_variates(args.seed + 1, catalog.n))

    @jax.jit
    def draw_with(u, zz):  # a realization of log10 M* at the unit-box point u for the kernel variates zz
        mu, sigma = galaxy_logsm_pdf_params(theta_from_unit(prior, u), logm, smhm=smhm_fn)
        return mu + sigma * zz

    nthreads = int(os.environ.get("NUMBA_NUM_THREADS", "2"))
    realization = montecarlo_evaluator(catalog, config, nthreads=nthreads)

    def mc_vector(u, zz):
        pred = realization(np.asarray(draw_with(jnp.asarray(u), zz)))
        return np.concatenate([np.ravel(pred.smf), np.ravel(pred.wp), np.ravel(pred.delta_sigma)])

    err_mc = err_np
    if args.mc_cov > 0:
        # the conventional remedy for a one-realization model: add the realization scatter of the model,
        # measured at the fiducial point (theta_true) over --mc-cov independent seeds, to the data variance
        u_true = jnp.asarray(unit_from_theta(prior, theta_true))
        reals = np.stack([mc_vector(u_true, jnp.asarray(kernel_variates(args.seed + 1000 + k, catalog.n)))
                          for k in range(args.mc_cov)])
        var_mc = np.var(reals, axis=0, ddof=1)
        err_mc = np.sqrt(err_np**2 + var_mc)
        ratio = np.sqrt(var_mc) / err_np
        _log(f"baseline errors: Monte Carlo realization scatter over {args.mc_cov} seeds added in quadrature; "
             f"scatter / data error: median {np.median(ratio):.2f}, max {np.max(ratio):.2f}")

    def log_prob_mc(u):
        u = np.asarray(u)
        if np.any(np.abs(u) >= 1.0):
            return -np.inf
        vec = mc_vector(u, z)
        r = (vec - data_np) / err_mc
        val = -0.5 * float(np.sum(r * r))
        return val if np.isfinite(val) else -np.inf

    em_mc = run_emcee(log_prob_mc, walkers=args.walkers, chunk=args.mc_chunk, seed=args.seed, max_seconds=mc_max_s,
                      vectorize=False, to_theta=to_theta, name="emcee+MonteCarlo")
    sec_per_call = em_mc["seconds"] / em_mc["calls"]
    if em_mc["converged"]:
        baseline_seconds, baseline_ess, extrapolated = em_mc["seconds"], em_mc["ess"], 0
    else:
        # it needs at least the calls that sampler 2 needed, and more than it has already made
        calls = max(em_tab["calls"], em_mc["calls"])
        baseline_seconds = calls * sec_per_call
        baseline_ess, extrapolated = em_tab["ess"], 1
        _log(f"baseline not converged in {mc_max_s / 60:.0f} min (R-hat {em_mc['rhat']:.3f} after {em_mc['calls']} "
             f"calls, {sec_per_call:.3f} s per call): extrapolated to {calls} calls = "
             f"{baseline_seconds:.0f} s with ESS {baseline_ess:.0f} (r is then an estimate, not a measurement)")
    base_rate = baseline_ess / baseline_seconds
    # second estimate for an unconverged baseline: its own ESS per second so far (bulk ESS of the kept half)
    own_key = "" if em_mc["converged"] else f" ratio_own_ess={hmc_rate / (em_mc['ess'] / em_mc['seconds']):.0f}"
    _log(f"ESS/s: NUTS+tab {hmc_rate:.2f}, emcee+tab {tab_rate:.2f}, emcee+MC {base_rate:.4f}; "
         f"emcee+tab s/call {em_tab['seconds'] / em_tab['calls'] * 1e3:.3f} ms (vectorized), "
         f"NUTS: {nuts['draws']} draws, R-hat {nuts['rhat']:.4f}, ESS {nuts['ess']:.0f}")
    print(f"hmc_vs_mcmc ess_per_second_ratio={hmc_rate / base_rate:.0f} same_engine_ratio={hmc_rate / tab_rate:.2f} "
          f"hmc_seconds={nuts['seconds']:.1f} baseline_seconds={baseline_seconds:.0f} "
          f"baseline_extrapolated={extrapolated} nuts_backend={args.nuts_backend} mc_cov={args.mc_cov}{own_key}")
    return dict(nuts=nuts, em_tab=em_tab, em_mc=em_mc, sec_per_call=sec_per_call)


if __name__ == "__main__":
    main()
