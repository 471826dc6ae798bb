"""A NUTS driver for the benchmarks that compiles once per target: BlackJAX NUTS with the step sizes and the dense
metric as traced arguments, so that changing the metric between rounds costs no compilation.

Scheme (:func:`run_nuts_rounds`), on the log density of :func:`hmc_vs_mcmc.unit_log_density` in the unconstrained
coordinates ``coords``:

1. the package's Laplace start (:func:`shaminfer.inference.initialization.laplace_init` on
   :func:`hmc_vs_mcmc.unit_model`): per-chain L-BFGS from uniform draws, starts overdispersed by 2, the Laplace
   covariance as the first metric; its time and gradient calls are counted;
2. ``warmup`` steps adapting each chain's step size by dual averaging (``target_accept``, 0.8), then ``pool`` draws
   per chain whose covariance, pooled over the chains, becomes the metric;
3. rounds of ``chunk`` kept draws per chain until the largest R-hat is <= 1.01 and the smallest bulk ESS >=
   ``min_ess`` (or ``max_seconds``). Before a round, whenever the kept draws per chain have reached twice the
   number behind the metric, the metric is re-estimated from all draws since step 2 (``refresh``); after every
   change of metric ``rewarm`` steps re-adapt the step sizes (counted, not kept).

Between metric changes each chain is a NUTS chain with a fixed kernel. One likelihood evaluation is one value +
gradient (a leapfrog step, an optimizer step or a chain's initial state). One function is compiled per target:
``block`` steps of every chain, adapting or not (each phase's length is rounded to a multiple of ``block``).
"""
from __future__ import annotations

import time
from functools import partial

import jax
import jax.numpy as jnp
import numpy as np

from hmc_vs_mcmc import _log, diagnostics, to_unit, unit_log_density, unit_model, unit_site


def _strong(tree):
    """The arrays of ``tree`` without JAX's weak types, so that every call of the jitted step hits one cache entry."""
    return jax.tree_util.tree_map(lambda a: jnp.asarray(a).astype(jnp.asarray(a).dtype), tree)


def _nuts_advance(log_density, target_accept):
    """Jitted ``advance(keys, states, da_states, step_sizes, metric, adapting, n)``: ``n`` (static) NUTS steps per
    chain, vectorized over chains. ``adapting`` (traced): each chain moves with its dual-averaging iterate and updates
    it, else with ``step_sizes``. Returns the states, the dual-averaging states and per step the positions,
    leapfrog steps and divergences. One function for adaptation and sampling: one compilation per target."""
    import blackjax
    from blackjax.adaptation.step_size import dual_averaging_adaptation

    _, da_update, _ = dual_averaging_adaptation(target_accept)

    @partial(jax.jit, static_argnums=6)
    def advance(keys, states, da_states, step_sizes, metric, adapting, n):
        def one(key, state, da, eps_fixed):
            def body(carry, k):
                st, da = carry
                eps = jnp.where(adapting, jnp.exp(da.log_step_size), eps_fixed)
                st, info = blackjax.nuts(log_density, eps, metric).step(k, st)
                da_new = da_update(da, info.acceptance_rate)
                da = jax.tree_util.tree_map(lambda a, b: jnp.where(adapting, a, b), da_new, da)
                return (st, da), (st.position, info.num_integration_steps, info.is_divergent)

            (state, da), out = jax.lax.scan(body, (state, da), jax.random.split(key, n))
            return state, da, out

        return jax.vmap(one)(keys, states, da_states, step_sizes)

    return advance


def run_nuts_rounds(loglike_u, to_theta, *, dim, chains, seed, max_seconds, coords="probit", warmup=100, pool=100,
                    rewarm=50, chunk=100, block=50, min_ess=0.0, refresh=True, step_size=0.5,
                    target_accept=0.8):
    """BlackJAX NUTS on ``u`` in (-1, 1)^dim by the scheme of the module docstring.

    Returns seconds, R-hat, min bulk ESS, draws (kept, all chains), ``grad_evals`` (value + gradient evaluations,
    the Laplace start included), divergences (kept draws), ``metrics`` (how many metrics were used), ``u`` (chains,
    draws, dim) and the last ``inverse_mass_matrix``.
    """
    import blackjax
    from blackjax.adaptation.step_size import dual_averaging_adaptation

    from shaminfer.inference.initialization import laplace_init

    log_density = unit_log_density(loglike_u, coords)
    advance = _nuts_advance(log_density, target_accept)
    da_init, _, da_final = dual_averaging_adaptation(target_accept)
    t0 = time.perf_counter()
    key = jax.random.PRNGKey(seed)
    start = laplace_init(unit_model(loglike_u, dim, coords), jax.random.PRNGKey(seed + 1), chains, log=_log)
    z0 = jnp.stack([jnp.asarray(p[unit_site(coords)], dtype=jnp.float64) for p in start.positions])
    # the Laplace covariance, or the identity where the Hessian at the best mode was not positive definite
    metric = jnp.asarray(np.eye(dim) if start.inverse_mass_matrix is None else start.inverse_mass_matrix,
                         dtype=jnp.float64)
    grad_evals = int(start.gradient_calls) + chains
    states = jax.vmap(lambda z: blackjax.nuts(log_density, step_size, metric).init(z))(z0)
    _log(f"NUTS rounds (d={dim}): Laplace start, {grad_evals} gradients, {time.perf_counter() - t0:.1f} s")

    def keys():
        nonlocal key
        key, k = jax.random.split(key)
        return jax.random.split(k, chains)

    def steps(states, eps, n_steps, adapting):
        """``n_steps`` (rounded to a multiple of ``block``) steps per chain: (states, dual averaging, draws,
        divergences)."""
        nonlocal grad_evals
        da = jax.vmap(da_init)(eps)
        out, divergent = [], 0
        for _ in range(max(1, round(n_steps / block))):
            args = _strong((keys(), states, da, eps, metric, jnp.asarray(adapting)))
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

    states, eps = readapt(states, jnp.full(chains, step_size), warmup)
    states, pooled, _ = sample(states, eps, pool)
    seen = [pooled]  # post-warm-up draws behind the next metric
    metric, n_metric, n_metrics = jnp.asarray(np.cov(pooled.reshape(-1, dim).T)), pooled.shape[1], 2
    states, eps = readapt(states, eps, rewarm)
    _log(f"NUTS rounds (d={dim}): metric from {pooled.shape[0] * pooled.shape[1]} pooled draws, {grad_evals} "
         f"gradients, {time.perf_counter() - t0:.1f} s")
    kept, divergences = [], 0
    while True:
        n_kept = sum(k.shape[1] for k in kept)
        if refresh and n_kept >= 2 * n_metric:
            allz = np.concatenate(seen, axis=1)
            metric, n_metric, n_metrics = jnp.asarray(np.cov(allz.reshape(-1, dim).T)), allz.shape[1], n_metrics + 1
            states, eps = readapt(states, eps, rewarm)
            _log(f"NUTS rounds (d={dim}): metric from {allz.shape[0] * allz.shape[1]} draws, step sizes "
                 f"{np.round(np.asarray(eps), 3).tolist()}")
        states, z, div = sample(states, eps, chunk)
        kept.append(z)
        seen.append(z)
        divergences += div
        zk = np.concatenate(kept, axis=1)
        u = np.asarray(to_unit(jnp.asarray(zk), coords))
        rhat, ess = diagnostics(np.asarray(to_theta(u)))
        elapsed = time.perf_counter() - t0
        _log(f"NUTS rounds (d={dim}): {zk.shape[0]} chains x {zk.shape[1]} draws, R-hat {rhat:.4f}, min bulk ESS "
             f"{ess:.0f}, {grad_evals} gradients, {divergences} divergences, {elapsed:.1f} s")
        if (rhat <= 1.01 and ess >= min_ess) or elapsed > max_seconds:
            break
    return dict(seconds=elapsed, rhat=rhat, ess=ess, draws=zk.shape[0] * zk.shape[1], grad_evals=grad_evals,
                divergences=divergences, metrics=n_metrics, converged=rhat <= 1.01, u=u,
                inverse_mass_matrix=np.asarray(metric))
