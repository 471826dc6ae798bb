"""An ensemble driver for the benchmarks: many chains that move in lockstep, a leapfrog step of ``batch`` chains one
batched value + gradient, with the dense metric and the per-coordinate map of :mod:`nuts_rounds`; two kernels.

An evaluation of the tabulated engine reads its tables once for any number of parameter points, so it costs much
less per point in a large batch (at d = 20 on a 2-core CPU: 3.3 ms for one point, about 1 ms per point for 64).

* ``kernel="nuts"``: BlackJAX's NUTS (multinomial, iterative) in every chain, vectorized over the chains with a
  shared step size, its trees at most ``max_depth`` doublings deep (``2**max_depth - 1`` leapfrog steps). A batch
  waits for the longest trajectory among its chains, so an iteration costs that trajectory for each of them; a
  small ``max_depth`` bounds the wait. Step size: dual averaging of the chains' mean acceptance statistic, target
  ``target_accept`` (0.8).
* ``kernel="jittered"``: jittered HMC as in ChEES-HMC (Hoffman, Radul & Sountsov 2021), not NUTS: every chain takes
  the same number of leapfrog steps per iteration, ``ceil(h T / eps)``, the jitter ``h`` in (0, 1) from a Halton
  sequence shared by all chains, so none waits. Step size: dual averaging of the harmonic mean of the chains'
  acceptance probabilities, target ``target_accept`` (0.651). The trajectory length ``T`` is ``t_len`` in the
  metric's whitened coordinates (pi by default: on a standard normal, positions a uniformly jittered time below pi
  apart are uncorrelated on average), or with ``adapt_t`` it is adapted too, by Adam on the gradient of the ChEES
  criterion.

Scheme (:func:`run_lockstep_rounds`), on the log density of :func:`hmc_vs_mcmc.unit_log_density` in the
unconstrained coordinates ``coords`` (z):

1. the batched Laplace start (:func:`laplace_start.laplace_walkers`, ``start_chains`` L-BFGS runs from uniform
   draws advanced together), the chains drawn from the Laplace approximation N(best mode, S) as emcee's walkers
   are, S the first metric; its time and gradient calls are counted;
2. ``warmup`` iterations adapting the step size ``eps``, all chains sharing it; the second half of them gives the
   metric (and map, :func:`nuts_rounds.sas_fit`), then ``rewarm`` iterations re-adapt ``eps`` (dual averaging
   shrunk towards the current ``eps``);
3. rounds of ``chunk`` kept iterations until the largest R-hat over the chains is <= 1.01 and the smallest bulk
   ESS >= ``min_ess`` (or ``max_seconds``); whenever the kept draws have reached twice the number behind the
   metric, the metric and map are re-estimated from every kept draw (the chains move on with the same ``eps``,
   or after ``refresh_rewarm`` iterations re-adapting it: the step size barely moves between refreshes).

Between changes of metric, map, ``eps`` and ``T`` every iteration of a chain is a kernel that leaves the posterior
invariant (NUTS, or HMC with a trajectory of ``ceil(h_k T / eps)`` steps, ``h_k`` a fixed sequence). One
likelihood evaluation is one value + gradient of one chain (a leapfrog step, an optimizer step or an initial
state); a leapfrog step of a batch of chains is one batched call, counted as one evaluation per chain (with NUTS,
each chain is counted for the longest trajectory of its batch, which the batch computes). One function is compiled
per target.
"""
from __future__ import annotations

import time
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from hmc_vs_mcmc import _log, unit_log_density
from laplace_start import laplace_walkers
from nuts_rounds import MARGINALS, _strong, check_round, sas_fit, sas_log_jacobian, sas_to_x, sas_to_z

#: The kernels (module docstring).
KERNELS = ("nuts", "jittered")
#: Step-size adaptation targets: NUTS's mean acceptance statistic over chains, and ChEES-HMC's harmonic mean of the
#: acceptance probabilities (Hoffman et al. 2021).
TARGET_ACCEPT = {"nuts": 0.8, "jittered": 0.651}
#: Adam's learning rate for log T, and the largest change of log T per iteration.
T_LEARNING_RATE, T_CLIP = 0.025, 0.35
#: Most leapfrog steps in one trajectory.
MAX_LEAPFROG = 256
#: An energy error above this is a divergence.
DIVERGENCE = 1000.0
#: Iterations per compiled call: every phase is a whole number of blocks, so one compilation serves them all.
BLOCK = 5


class Adapt(NamedTuple):
    """Adaptation state: the dual averaging of log eps, log T with Adam's second moment (its first moment is the
    current gradient, b1 = 0) and its running average, the iteration count behind the averages, and the Halton
    index."""
    da: tuple
    log_t: jnp.ndarray
    adam_v: jnp.ndarray
    log_t_avg: jnp.ndarray
    n: jnp.ndarray
    halton: jnp.ndarray


def _functions(log_density_z, target_accept, adapt_t, kernel, max_depth, batch):
    """Jitted ``advance(key, x, value, grad, adapt, chol, eps, t_len, tp, adapting, fresh)``: :data:`BLOCK`
    iterations of all chains (x: (chains, d)); with ``adapting`` (traced) each iteration moves with the adaptation's
    current eps and T and updates them, else with ``eps`` and ``t_len``; with ``fresh`` (traced) the value and
    gradient at x are computed first (a new start or map), else ``value`` and ``grad`` are taken as they are.
    Returns the new (x, value, grad, adapt) and per iteration the positions in z, the leapfrog steps per chain and
    the divergences. ``kernel``, ``max_depth`` (NUTS's doublings) and ``batch`` as in :func:`run_lockstep_rounds`."""
    import blackjax.optimizers.dual_averaging as dual_averaging
    from blackjax.mcmc.dynamic_hmc import halton_sequence
    from blackjax.mcmc.hmc import HMCState
    from blackjax.mcmc.nuts import build_kernel

    _, da_update, _ = dual_averaging.dual_averaging()
    nuts_kernel = build_kernel(divergence_threshold=DIVERGENCE)

    def log_density_x(x, tp):
        return log_density_z(sas_to_z(x, tp)) + sas_log_jacobian(x, tp)

    def vg(x, tp):  # value + gradient of every chain, ``batch`` chains per batched evaluation
        return jax.lax.map(lambda xi: jax.value_and_grad(log_density_x)(xi, tp), x, batch_size=batch)

    @jax.jit
    def advance(key, x, value, grad, ad, chol, eps_fixed, t_fixed, tp, adapting, fresh):
        def leapfrog(i, carry):
            x, r, v, g, eps = carry
            r = r + 0.5 * eps * g @ chol
            x = x + eps * r @ chol.T
            v, g = vg(x, tp)
            r = r + 0.5 * eps * g @ chol
            return x, r, v, g, eps

        def iteration(carry, k):
            x0, v0, g0, ad = carry
            eps = jnp.where(adapting, jnp.exp(ad.da.log_x), eps_fixed)
            t_len = jnp.where(adapting, jnp.exp(ad.log_t), t_fixed)
            h = halton_sequence(ad.halton, 20)
            n_lf = jnp.clip(jnp.ceil(h * t_len / eps), 1, MAX_LEAPFROG).astype(jnp.int64)
            k_mom, k_acc = jax.random.split(k)
            r0 = jax.random.normal(k_mom, x0.shape)
            x1, r1, v1, g1, _ = jax.lax.fori_loop(0, n_lf, leapfrog, (x0, r0, v0, g0, eps))
            dh = (v1 - 0.5 * jnp.sum(r1 * r1, axis=1)) - (v0 - 0.5 * jnp.sum(r0 * r0, axis=1))
            finite = jnp.isfinite(dh) & jnp.all(jnp.isfinite(x1), axis=1)
            divergent = ~finite | (dh < -DIVERGENCE)
            alpha = jnp.where(finite, jnp.exp(jnp.minimum(dh, 0.0)), 0.0)
            accept = jax.random.uniform(k_acc, alpha.shape) < alpha
            x = jnp.where(accept[:, None], jnp.where(finite[:, None], x1, x0), x0)
            v = jnp.where(accept, v1, v0)
            g = jnp.where(accept[:, None], g1, g0)
            ad = jax.lax.cond(adapting, lambda a: _adapt(a, x0, x1, r1, alpha, divergent, chol, h, t_len), lambda a: a,
                              ad)._replace(halton=ad.halton + 1)
            return (x, v, g, ad), (sas_to_z(x, tp), jnp.full(x.shape[0], n_lf), divergent)

        def _adapt(ad, x0, x1, r1, alpha, divergent, chol, h, t_len):
            ok = ~divergent
            harmonic = 1.0 / jnp.mean(jnp.where(ok, 1.0 / jnp.maximum(alpha, 1e-20), 0.0)) * jnp.mean(ok)
            da = da_update(ad.da, target_accept - jnp.where(jnp.isfinite(harmonic), harmonic, 0.0))
            wgt = (ad.n + 1.0) ** -0.5
            if not adapt_t:  # T fixed: only the step size adapts
                return ad._replace(da=da, log_t_avg=(1 - wgt) * ad.log_t_avg + wgt * ad.log_t, n=ad.n + 1)
            # the ChEES criterion's gradient w.r.t. log T, in whitened coordinates y = chol^-1 x
            w = jnp.where(ok, alpha, 0.0)
            y0 = jax.scipy.linalg.solve_triangular(chol, x0.T, lower=True).T
            y1 = jax.scipy.linalg.solve_triangular(chol, jnp.where(ok[:, None], x1, x0).T, lower=True).T
            c1 = y1 - jnp.sum(w[:, None] * y1, axis=0) / (jnp.sum(w) + 1e-20)
            c0 = y0 - jnp.mean(y0, axis=0)
            per_chain = h * t_len * (jnp.sum(c1 * c1, axis=1) - jnp.sum(c0 * c0, axis=1)) * jnp.sum(c1 * r1, axis=1)
            grad_t = jnp.sum(w * jnp.where(ok, per_chain, 0.0)) / (jnp.sum(w) + 1e-20)
            # Adam ascending the criterion (b1 = 0, b2 = 0.95, as in ChEES-HMC's paper)
            m = -grad_t
            v = 0.95 * ad.adam_v + 0.05 * m * m
            step = jnp.clip(-T_LEARNING_RATE * m / (jnp.sqrt(v / (1.0 - 0.95 ** (ad.n + 1.0))) + 1e-8), -T_CLIP,
                            T_CLIP)
            log_t = jnp.where(jnp.isfinite(step), ad.log_t + step, ad.log_t)
            return ad._replace(da=da, log_t=log_t, adam_v=v, log_t_avg=(1 - wgt) * ad.log_t_avg + wgt * log_t,
                               n=ad.n + 1)

        def nuts_iteration(carry, k):
            x0, v0, g0, ad = carry
            eps = jnp.where(adapting, jnp.exp(ad.da.log_x), eps_fixed)
            keys, inverse_mass = jax.random.split(k, x0.shape[0]), chol @ chol.T
            states, info = jax.lax.map(  # ``batch`` chains at a time, vectorized (they wait for their longest tree)
                lambda a: nuts_kernel(a[0], a[1], lambda q: log_density_x(q, tp), eps, inverse_mass,
                                      max_num_doublings=max_depth), (keys, HMCState(x0, v0, g0)), batch_size=batch)
            mean_accept = jnp.mean(jnp.where(jnp.isfinite(info.acceptance_rate), info.acceptance_rate, 0.0))
            da = jax.lax.cond(adapting, lambda d: da_update(d, target_accept - mean_accept), lambda d: d, ad.da)
            return ((states.position, states.logdensity, states.logdensity_grad,
                     ad._replace(da=da, n=ad.n + 1, halton=ad.halton + 1)),
                    (sas_to_z(states.position, tp), info.num_integration_steps, info.is_divergent))

        value, grad = jax.lax.cond(fresh, lambda: vg(x, tp), lambda: (value, grad))
        body = nuts_iteration if kernel == "nuts" else iteration
        (x, value, grad, ad), out = jax.lax.scan(body, (x, value, grad, ad), jax.random.split(key, BLOCK))
        return x, value, grad, ad, out

    return advance


def run_lockstep_rounds(loglike_u, to_theta, *, dim, chains, seed, max_seconds, kernel="nuts", max_depth=3,
                        coords="probit", start_chains=4, warmup=40, rewarm=15, refresh_rewarm=0, chunk=25,
                        min_ess=0.0, step_size=0.3, t_len=np.pi, target_accept=None, marginal="sas", adapt_t=False,
                        batch=32):
    """``kernel`` (NUTS, trees at most ``max_depth`` doublings deep, or jittered HMC with ``t_len`` and ``adapt_t``)
    on ``u`` in (-1, 1)^dim by the scheme of the module docstring; ``chains`` chains in lockstep.

    ``warmup``, ``rewarm``, ``refresh_rewarm`` and ``chunk`` are rounded up to whole blocks of :data:`BLOCK`
    iterations (``refresh_rewarm`` may be 0); ``target_accept`` defaults to the kernel's :data:`TARGET_ACCEPT`.
    ``batch``: chains evaluated together, the batches one after another within a step (on the tabulated engine at
    d = 20 on a 2-core CPU one batch of 64 points took 58.7 ms, two of 32 46.2 ms; with NUTS each batch waits only
    for its own longest trajectory).
    Returns what :func:`nuts_rounds.run_nuts_rounds` returns (``grad_evals``: value + gradient evaluations of single
    chains, the Laplace start included), the final step size and trajectory length (jittered HMC; None for NUTS),
    and ``leapfrog_mean`` and ``leapfrog_max_mean``: the leapfrog steps per kept iteration of a chain, taken and
    computed (its batch's longest trajectory), on average.
    """
    import blackjax.optimizers.dual_averaging as dual_averaging

    if marginal not in MARGINALS:
        raise ValueError(f"marginal: expected one of {MARGINALS}, found {marginal!r}")
    if kernel not in KERNELS:
        raise ValueError(f"kernel: expected one of {KERNELS}, found {kernel!r}")
    if batch < 1:
        raise ValueError(f"batch: expected at least 1 chain, found {batch}")
    if kernel == "nuts" and not 1 <= max_depth <= 10:
        raise ValueError(f"max_depth: expected 1..10 doublings, found {max_depth}")
    if min(warmup, chunk) < 1 or min(rewarm, refresh_rewarm) < 0:
        raise ValueError(f"warmup and chunk: expected >= 1, rewarm and refresh_rewarm >= 0; found {warmup}, {chunk}, "
                         f"{rewarm}, {refresh_rewarm}")
    target_accept = TARGET_ACCEPT[kernel] if target_accept is None else target_accept
    name = f"lockstep NUTS (d={dim})" if kernel == "nuts" else f"ChEES (d={dim})"
    da_init, _, _ = dual_averaging.dual_averaging()
    advance = _functions(unit_log_density(loglike_u, coords), target_accept, adapt_t and kernel == "jittered",
                         kernel, max_depth, min(batch, chains))
    t0 = time.perf_counter()
    key = jax.random.PRNGKey(seed)
    x, _, grad_evals, cov = laplace_walkers(loglike_u, dim, chains, seed=seed, chains=start_chains, coords=coords)
    tp = np.zeros((4, dim))  # the identity map
    chol = jnp.asarray(np.linalg.cholesky(np.eye(dim) if cov is None else cov))
    value, grad, fresh = jnp.zeros(chains), jnp.zeros((chains, dim)), True  # fresh: the first call computes them
    _log(f"{name}: {chains} chains, Laplace start, {grad_evals} gradients, {time.perf_counter() - t0:.1f} s")
    eps, t_fixed = step_size, t_len

    def new_adaptation(eps, t_len, first=False):
        da = da_init(jnp.asarray(eps))
        if not first:  # re-adaptation: shrink towards the current step size, not ten times it
            da = da._replace(mu=jnp.log(jnp.asarray(eps)))
        return Adapt(da, jnp.log(jnp.asarray(t_len)), jnp.zeros(()),
                     jnp.log(jnp.asarray(t_len)), jnp.zeros(()), jnp.zeros((), dtype=jnp.int64))

    steps = np.zeros(2)  # kept iterations' leapfrog steps: per chain, and of the longest trajectory

    def run(n, adapting):
        """``n`` iterations (whole blocks) of all chains: their positions in z (chains, n, dim) and divergences."""
        nonlocal key, x, value, grad, ad, grad_evals, fresh
        zs, div = [], 0
        for _ in range(-(-n // BLOCK)):
            key, k = jax.random.split(key)
            args = _strong((k, jnp.asarray(x), value, grad, ad, chol, jnp.asarray(eps), jnp.asarray(t_fixed),
                            jnp.asarray(tp), jnp.asarray(adapting), jnp.asarray(fresh)))
            x, value, grad, ad, (z, n_lf, d) = advance(*args)
            n_lf = np.asarray(n_lf)  # (BLOCK, chains)
            # a batch of chains (contiguous, as lax.map groups them) computes its longest trajectory for each chain
            computed = sum(n_lf[:, b:b + batch].max(axis=1) * n_lf[:, b:b + batch].shape[1]
                           for b in range(0, chains, batch))
            grad_evals += int(np.sum(computed)) + chains * fresh
            if not adapting:
                steps[:] += np.mean(n_lf, axis=1).sum(), np.sum(computed) / chains
            fresh = False
            zs.append(np.swapaxes(np.asarray(z), 0, 1))
            div += int(np.sum(np.asarray(d)))
        return np.concatenate(zs, axis=1), div

    def readapt(n):
        nonlocal ad, eps, t_fixed
        if n > 0:
            ad = new_adaptation(eps, t_fixed)
            run(n, True)
            eps, t_fixed = float(np.exp(ad.da.log_x_avg)), float(np.exp(ad.log_t_avg))

    def new_metric(draws):
        nonlocal tp, chol, x, fresh
        z_now = np.asarray(jax.vmap(sas_to_z, in_axes=(0, None))(x, jnp.asarray(tp)))
        flat = draws.reshape(-1, dim)
        if marginal == "sas":
            tp = sas_fit(flat)
        chol = jnp.asarray(np.linalg.cholesky(np.cov(sas_to_x(flat, tp).T)))
        x, fresh = sas_to_x(z_now, tp), True

    ad = new_adaptation(eps, t_fixed, first=True)
    z, _ = run(warmup, True)
    eps, t_fixed = float(np.exp(ad.da.log_x_avg)), float(np.exp(ad.log_t_avg))
    n_metric = z.shape[1] - z.shape[1] // 2
    new_metric(z[:, -n_metric:])
    readapt(rewarm)

    def tuning():  # the step size, and the trajectory length where the kernel has one
        return f"eps {eps:.3f}" + (f", T {t_fixed:.3f}" if kernel == "jittered" else "")

    _log(f"{name}: metric from {chains * n_metric} draws, {tuning()}, {grad_evals} gradients, "
         f"{time.perf_counter() - t0:.1f} s")
    kept, divergences = [], 0
    while True:
        n_kept = sum(k.shape[1] for k in kept)
        if n_kept >= 2 * n_metric:
            allz = np.concatenate(kept, axis=1)
            new_metric(allz)
            n_metric = allz.shape[1]
            readapt(refresh_rewarm)
            _log(f"{name}: metric from {allz.shape[0] * allz.shape[1]} draws, {tuning()}")
        z, div = run(chunk, False)
        divergences += div
        zk, u, rhat, ess, elapsed, done = check_round(kept, z, coords, to_theta, t0, name, grad_evals, divergences,
                                                      min_ess, max_seconds)
        if done:
            break
    return dict(seconds=elapsed, rhat=rhat, ess=ess, draws=zk.shape[0] * zk.shape[1], grad_evals=grad_evals,
                divergences=divergences, converged=rhat <= 1.01, u=u, inverse_mass_matrix=np.asarray(chol @ chol.T),
                sas=np.asarray(tp), step_size=eps, trajectory_length=t_fixed if kernel == "jittered" else None,
                leapfrog_mean=steps[0] / zk.shape[1], leapfrog_max_mean=steps[1] / zk.shape[1])
