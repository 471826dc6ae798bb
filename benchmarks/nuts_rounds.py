"""A NUTS driver for the benchmarks that compiles once per target: BlackJAX NUTS with the step sizes, the dense
metric and a per-coordinate map as traced arguments, so that changing them between rounds costs no compilation.

Scheme (:func:`run_nuts_rounds`), on the log density of :func:`hmc_vs_mcmc.unit_log_density` in the unconstrained
coordinates ``coords`` (z):

1. the batched Laplace start that emcee's walkers also get (:func:`laplace_start.laplace_walkers`: ``chains``
   L-BFGS runs from uniform draws advanced together, the chains drawn from the Laplace approximation at the best
   mode), the Laplace covariance as the first metric; its time and gradient calls are counted;
2. ``warmup`` steps adapting each chain's step size by dual averaging (``target_accept``, 0.8), then ``pool`` draws
   per chain, from which the metric (and the map) is estimated;
3. rounds of ``chunk`` kept draws per chain until the largest R-hat is <= 1.01 and the smallest bulk ESS >=
   ``min_ess`` (or ``max_seconds``). Before a round, whenever the kept draws per chain have reached twice the
   number behind the metric, the metric is re-estimated from all draws since step 2; after every
   change of metric ``rewarm`` steps re-adapt the step sizes (counted, not kept).

``marginal="sas"``: NUTS moves in x, with ``z_i = a_i + b_i sinh((asinh(x_i) + e_i) / c_i)`` per coordinate (the
sinh-arcsinh family of Jones & Pewsey 2009, which maps a standard normal onto a skewed, heavy- or light-tailed
density), the four numbers of each coordinate fitted by maximum likelihood to the draws whenever the metric is
estimated, and the metric then the covariance of the draws in x; the log density in x carries the map's
log-Jacobian, so the target is the same posterior. It removes the skewness and kurtosis of the marginals that a
dense metric cannot, where the data leave a parameter loosely bounded. ``marginal="none"``: x = z.

Between changes of metric or map each chain is a NUTS chain with a fixed kernel. One likelihood evaluation is one
value + gradient (a leapfrog step, an optimizer step or a chain's initial state). Two functions are compiled per
target: ``block`` steps of every chain, adapting or not (each phase's length is rounded to a multiple of
``block``), and the chains' initial states.
"""
from __future__ import annotations

import time
from functools import partial

import jax
import jax.numpy as jnp
import numpy as np

from hmc_vs_mcmc import _log, diagnostics, to_unit_np, unit_log_density
from laplace_start import laplace_walkers

MARGINALS = ("none", "sas")
#: Draws (over all chains) that a coordinate's sinh-arcsinh fit uses at most (evenly thinned).
SAS_FIT_DRAWS = 4000


def _strong(tree):
    """The arrays of ``tree`` without JAX's weak types, so that every call of the jitted step hits one cache entry."""
    return jax.tree_util.tree_map(lambda a: jnp.asarray(a).astype(jnp.asarray(a).dtype), tree)


def sas_to_z(x, p):
    """z of x under the map parameters ``p`` (4, d) (module docstring); JAX."""
    a, b, e, c = p[0], jnp.exp(p[1]), p[2], jnp.exp(p[3])
    return a + b * jnp.sinh((jnp.arcsinh(x) + e) / c)


def sas_log_jacobian(x, p):
    """log |dz/dx| of :func:`sas_to_z`, summed over coordinates; JAX."""
    b, e, c = jnp.exp(p[1]), p[2], jnp.exp(p[3])
    s = (jnp.arcsinh(x) + e) / c
    return jnp.sum(jnp.log(b) + jnp.log(jnp.cosh(s)) - jnp.log(c) - 0.5 * jnp.log1p(x * x))


def sas_to_x(z, p):
    """Inverse of :func:`sas_to_z`; NumPy, ``z`` (..., d)."""
    p = np.asarray(p)
    return np.sinh(np.exp(p[3]) * np.arcsinh((np.asarray(z) - p[0]) / np.exp(p[1])) - p[2])


def sas_fit(draws):
    """Maximum-likelihood map parameters (4, d) of the draws (n, d) in z, one coordinate at a time: the density
    of z when x is standard normal. A coordinate whose fit fails keeps a location-scale map."""
    from scipy.optimize import minimize

    z_all = np.asarray(draws)[:: max(1, len(draws) // SAS_FIT_DRAWS)]
    out = np.zeros((4, z_all.shape[1]))
    for i, z in enumerate(z_all.T):
        def nll(q, z=z):
            a, b, e, c = q[0], np.exp(q[1]), q[2], np.exp(q[3])
            w = (z - a) / b
            s = c * np.arcsinh(w) - e
            x = np.sinh(s)
            return -np.sum(-0.5 * x * x + np.log(c) + np.log(np.cosh(s)) - np.log(b) - 0.5 * np.log1p(w * w))

        q0 = np.array([np.mean(z), np.log(np.std(z)), 0.0, 0.0])
        res = minimize(nll, q0, method="Nelder-Mead", options=dict(maxiter=4000, xatol=1e-6, fatol=1e-6))
        out[:, i] = res.x if np.all(np.isfinite(res.x)) and np.isfinite(res.fun) and res.fun <= nll(q0) else q0
    return out


def check_round(kept, z, coords, to_theta, t0, name, grad_evals, divergences, min_ess, max_seconds):
    """Append the round ``z`` (chains, n, dim) to ``kept``; the kept draws in z and in u, their largest R-hat and
    smallest bulk ESS over theta, the seconds since ``t0`` and whether to stop (R-hat <= 1.01 and ESS >= ``min_ess``,
    or past ``max_seconds``); logged."""
    kept.append(z)
    zk = np.concatenate(kept, axis=1)
    u = to_unit_np(zk, coords)
    rhat, ess = diagnostics(np.asarray(to_theta(u)))
    elapsed = time.perf_counter() - t0
    _log(f"{name}: {zk.shape[0]} chains x {zk.shape[1]} draws, R-hat {rhat:.4f}, min bulk ESS {ess:.0f}, "
         f"{grad_evals} gradients, {divergences} divergences, {elapsed:.1f} s")
    return zk, u, rhat, ess, elapsed, (rhat <= 1.01 and ess >= min_ess) or elapsed > max_seconds


def _nuts_functions(log_density_z, target_accept):
    """Jitted ``advance(keys, states, da_states, step_sizes, metric, tp, adapting, n)``: ``n`` (static) NUTS steps
    per chain in x, vectorized over chains, the map parameters ``tp`` traced; ``adapting`` (traced): each chain
    moves with its dual-averaging iterate and updates it, else with ``step_sizes``. Returns the states, the
    dual-averaging states and per step the positions in z, leapfrog steps and divergences. And ``init(x, tp)``, the
    chains' states at x. One function for adaptation and sampling: one compilation per target."""
    import blackjax
    from blackjax.adaptation.step_size import dual_averaging_adaptation
    from blackjax.mcmc.hmc import HMCState

    _, da_update, _ = dual_averaging_adaptation(target_accept)

    def log_density_x(x, tp):
        return log_density_z(sas_to_z(x, tp)) + sas_log_jacobian(x, tp)

    @jax.jit
    def init(x, tp):
        value, grad = jax.vmap(jax.value_and_grad(log_density_x), in_axes=(0, None))(x, tp)
        return HMCState(x, value, grad)

    @partial(jax.jit, static_argnums=7)
    def advance(keys, states, da_states, step_sizes, metric, tp, adapting, n):
        def log_density(x):
            return log_density_x(x, tp)

        def one(key, state, da, eps_fixed):
            def body(carry, k):
                st, da = carry
                eps = jnp.where(adapting, jnp.exp(da.log_step_size), eps_fixed)
                st, info = blackjax.nuts(log_density, eps, metric).step(k, st)
                da_new = da_update(da, info.acceptance_rate)
                da = jax.tree_util.tree_map(lambda a, b: jnp.where(adapting, a, b), da_new, da)
                return (st, da), (sas_to_z(st.position, tp), info.num_integration_steps, info.is_divergent)

            (state, da), out = jax.lax.scan(body, (state, da), jax.random.split(key, n))
            return state, da, out

        return jax.vmap(one)(keys, states, da_states, step_sizes)

    return advance, init


def run_nuts_rounds(loglike_u, to_theta, *, dim, chains, seed, max_seconds, coords="probit", warmup=100, pool=100,
                    rewarm=50, chunk=100, block=50, min_ess=0.0, step_size=0.5,
                    target_accept=0.8, marginal="none"):
    """BlackJAX NUTS on ``u`` in (-1, 1)^dim by the scheme of the module docstring.

    Returns seconds, R-hat, min bulk ESS, draws (kept, all chains), ``grad_evals`` (value + gradient evaluations,
    the Laplace start included), divergences (kept draws), ``metrics`` (how many metrics were used), ``u`` (chains,
    draws, dim), the last ``inverse_mass_matrix`` (in x) and map parameters ``sas`` (4, dim).
    """
    from blackjax.adaptation.step_size import dual_averaging_adaptation

    if marginal not in MARGINALS:
        raise ValueError(f"marginal: expected one of {MARGINALS}, found {marginal!r}")
    advance, init = _nuts_functions(unit_log_density(loglike_u, coords), target_accept)
    da_init, _, da_final = dual_averaging_adaptation(target_accept)
    t0 = time.perf_counter()
    key = jax.random.PRNGKey(seed)
    z0, _, start_calls, cov = laplace_walkers(loglike_u, dim, chains, seed=seed, chains=chains, coords=coords)
    # the Laplace covariance, or the identity where the Hessian at the best mode was not positive definite
    metric = jnp.asarray(np.eye(dim) if cov is None else cov, dtype=jnp.float64)
    tp = np.zeros((4, dim))  # the identity map
    states = init(*_strong((jnp.asarray(z0), jnp.asarray(tp))))
    grad_evals = int(start_calls) + chains
    _log(f"NUTS rounds (d={dim}): Laplace start, {grad_evals} gradients, {time.perf_counter() - t0:.1f} s")

    def keys():
        nonlocal key
        key, k = jax.random.split(key)
        return jax.random.split(k, chains)

    def steps(states, eps, n_steps, adapting):
        """``n_steps`` (rounded to a multiple of ``block``) steps per chain: (states, dual averaging, draws in z,
        divergences)."""
        nonlocal grad_evals
        da = jax.vmap(da_init)(eps)
        out, divergent = [], 0
        for _ in range(max(1, round(n_steps / block))):
            args = _strong((keys(), states, da, eps, metric, jnp.asarray(tp), jnp.asarray(adapting)))
            states, da, (z, n_leap, div) = advance(*args, block)
            grad_evals += int(np.sum(n_leap))
            divergent += int(np.sum(div))
            out.append(np.asarray(z))
        return states, da, np.concatenate(out, axis=1), divergent

    def readapt(states, eps, n_steps):
        states, da, _, _ = steps(states, eps, n_steps, True)
        return states, jax.vmap(da_final)(da)

    def sample(states, eps, n_draws):
        states, _, z, divergent = steps(states, eps, n_draws, False)
        return states, z, divergent

    def new_metric(states, draws):
        """The metric (and map) from the ``draws`` (chains, n, dim) in z; the chains' states moved to the new
        x of their positions."""
        nonlocal metric, tp, grad_evals
        z_now = np.asarray(jax.vmap(sas_to_z, in_axes=(0, None))(states.position, jnp.asarray(tp)))
        flat = draws.reshape(-1, dim)
        if marginal == "sas":
            tp = sas_fit(flat)
        metric = jnp.asarray(np.cov(sas_to_x(flat, tp).T))
        grad_evals += chains
        return init(*_strong((jnp.asarray(sas_to_x(z_now, tp)), jnp.asarray(tp))))

    states, eps = readapt(states, jnp.full(chains, step_size), warmup)
    states, pooled, _ = sample(states, eps, pool)
    states = new_metric(states, pooled)
    n_metric, n_metrics = pooled.shape[1], 2
    states, eps = readapt(states, eps, rewarm)
    _log(f"NUTS rounds (d={dim}): metric from {pooled.shape[0] * pooled.shape[1]} pooled draws, {grad_evals} "
         f"gradients, {time.perf_counter() - t0:.1f} s")
    kept, divergences = [], 0
    while True:
        n_kept = sum(k.shape[1] for k in kept)
        if n_kept >= 2 * n_metric:
            allz = np.concatenate([pooled] + kept, axis=1)  # every draw since the warm-up
            states = new_metric(states, allz)
            n_metric, n_metrics = allz.shape[1], n_metrics + 1
            states, eps = readapt(states, eps, rewarm)
            _log(f"NUTS rounds (d={dim}): metric from {allz.shape[0] * allz.shape[1]} draws, step sizes "
                 f"{np.round(np.asarray(eps), 3).tolist()}")
        states, z, div = sample(states, eps, chunk)
        divergences += div
        zk, u, rhat, ess, elapsed, done = check_round(kept, z, coords, to_theta, t0, f"NUTS rounds (d={dim})",
                                                      grad_evals, divergences, min_ess, max_seconds)
        if done:
            break
    return dict(seconds=elapsed, rhat=rhat, ess=ess, draws=zk.shape[0] * zk.shape[1], grad_evals=grad_evals,
                divergences=divergences, metrics=n_metrics, converged=rhat <= 1.01, u=u,
                inverse_mass_matrix=np.asarray(metric), sas=np.asarray(tp))
