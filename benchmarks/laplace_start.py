"""A batched Laplace start for the benchmarks' samplers (emcee's walkers, the NUTS rounds' and jittered HMC's chains).

The package's :func:`shaminfer.inference.initialization.laplace_init` optimizes one chain after another, each
value + gradient a separate call, after NumPyro has built (and compiled) the model once per chain. The tabulated
engine reads its tables once for a whole batch of parameter points, so here ``starts`` L-BFGS runs go at once:
one L-BFGS-B run on the sum of their negative log densities, whose blocks are independent (the sum's gradient is
the stacked gradients), so every evaluation is one batched call, restarted where it stopped as ``laplace_init``
does at SHAMNet's kinks (:func:`shaminfer.inference.initialization.minimize_restarting`). The Hessian at the best
mode is taken by central differences of the gradient, in batches of the same size (one compiled function serves
the whole start).
"""
from __future__ import annotations

import time

import jax
import jax.numpy as jnp
import numpy as np

from hmc_vs_mcmc import _log, unit_log_density
from shaminfer.inference.initialization import (FALLBACK_JITTER, laplace_covariance, minimize_restarting,
                                                multimodal_message)

#: Half-width of the uniform starting box in z (NumPyro's ``init_to_uniform``).
RADIUS = 2.0
#: Central-difference step of the Hessian in z.
FD_STEP = 1e-5


def batched_laplace(log_density_z, dim, starts, *, seed, max_iter=400, max_restarts=5):
    """Modes of ``starts`` L-BFGS runs from uniform draws in (-RADIUS, RADIUS)^dim, all advanced together.

    Returns the modes (starts, dim), their potentials (-log density), the Laplace covariance S at the best mode
    (None where the Hessian there is not positive definite) and the value + gradient evaluations (one per point
    in every batched call).
    """
    neg = jax.jit(jax.vmap(jax.value_and_grad(lambda z: -log_density_z(z))))
    calls = 0

    def batch(points):
        nonlocal calls
        calls += starts
        v, g = neg(jnp.asarray(points, dtype=jnp.float64))
        return np.asarray(v, dtype=np.float64), np.asarray(g, dtype=np.float64)

    def fun(flat):
        v, g = batch(flat.reshape(starts, dim))
        if not (np.all(np.isfinite(v)) and np.all(np.isfinite(g))):
            return np.inf, np.zeros(flat.size)
        return float(np.sum(v)), g.ravel()

    x0 = np.random.default_rng(seed).uniform(-RADIUS, RADIUS, (starts, dim)).ravel()
    x, _ = minimize_restarting(fun, x0, max_iter=max_iter, max_restarts=max_restarts)
    modes = x.reshape(starts, dim)
    potentials = batch(modes)[0]
    best = modes[int(np.nanargmin(potentials))]
    # central differences of the gradient, 2 dim points in batches of ``starts`` (the last one padded)
    steps = np.concatenate([np.eye(dim), -np.eye(dim)]) * FD_STEP
    points = best + steps
    pad = -len(points) % starts
    points = np.concatenate([points, np.repeat(best[None], pad, axis=0)])
    grads = np.concatenate([batch(p)[1] for p in points.reshape(-1, starts, dim)])[:2 * dim]
    hess = (grads[:dim] - grads[dim:]) / (2.0 * FD_STEP)
    return modes, potentials, laplace_covariance(0.5 * (hess + hess.T)), calls


def laplace_walkers(loglike_u, dim, walkers, *, seed, chains=4, coords="logit"):
    """emcee's walkers (or the NUTS rounds' and jittered HMC's chains) from the batched Laplace start.

    :func:`batched_laplace` with ``chains`` L-BFGS runs, then ``walkers`` draws from the Laplace approximation
    N(best mode, S) in the unconstrained coordinates ``coords`` (:data:`hmc_vs_mcmc.COORDS`), or the modes plus
    the package's ``FALLBACK_JITTER`` where the Hessian is not positive definite. Returns the walkers (walkers,
    dim) in z, the seconds, the value + gradient calls spent and S (None where there is none)."""
    t0 = time.perf_counter()
    modes, potentials, cov, calls = batched_laplace(unit_log_density(loglike_u, coords), dim, chains, seed=seed + 1)
    message = multimodal_message(potentials)
    if message is not None:
        _log(f"Laplace start: {message}")
    rng = np.random.default_rng(seed + 3)
    eps = rng.standard_normal((walkers, dim))
    if cov is None:
        _log("Laplace start: the Hessian at the best mode is not positive definite; walkers start at the modes "
             f"plus N(0, {FALLBACK_JITTER}^2) jitter")
        z = modes[np.arange(walkers) % chains] + FALLBACK_JITTER * eps
    else:
        z = modes[int(np.nanargmin(potentials))] + eps @ np.linalg.cholesky(cov).T
    return z, time.perf_counter() - t0, calls, cov
