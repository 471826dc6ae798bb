"""Starting points and an initial metric for NUTS from per-chain optimization (a Laplace start).

The likelihoods here are often far narrower than SHAMNet's domain (the
prior), so chains started uniformly over the prior spend most of warmup
walking to the posterior with tiny steps and deep trees -- and every leapfrog
step costs a forward-model gradient. :func:`laplace_init` instead

1. draws one starting point per chain uniformly over the prior
   (NumPyro's ``init_to_uniform`` in the unconstrained coordinates);
2. runs L-BFGS on the potential (negative log posterior) from each, with
   exact gradients, to each chain's own posterior mode (so distinct modes
   stay distinct), restarting it where it stopped while that still helps
   (SHAMNet's SELU activations, Eq. D2, put kinks in the gradient that can
   end a line search early);
3. takes the Hessian at the best mode by central differences of the
   gradient, and its inverse ``S`` (the Laplace covariance);
4. starts chain ``c`` at ``mode_c + k L eps_c`` with ``L L^T = S``,
   ``eps_c ~ N(0, I)`` and overdispersion ``k`` (default 2), as recommended
   for R-hat, and hands ``S`` to the adaptation as its initial inverse mass
   matrix.

A mode at the prior's edge is not a problem: in the unconstrained
coordinates the prior's Jacobian adds curvature, so the mode is finite and
the Hessian positive definite. If the Hessian is nevertheless not positive
definite (L-BFGS stopped off a minimum, e.g. at a kink of SHAMNet's SELU
activations, Eq. D2; a direction neither the prior nor the data constrain;
a non-finite gradient near the mode), there is no Laplace covariance: the
chains start at their modes plus jitter of standard deviation ``0.1 k`` in
every unconstrained coordinate, the metric starts at the identity, and one
line (:func:`fallback_message`) says so. That is harmless: the starts and
the initial metric only seed warmup, which adapts the step size and mass
matrix from its own draws and is discarded, so the posterior is unchanged;
at worst warmup needs more of its steps to settle, as with ``init="prior"``.
"""
from __future__ import annotations

from typing import Callable, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax.flatten_util import ravel_pytree
from numpyro.infer.initialization import init_to_uniform
from numpyro.infer.util import initialize_model

__all__ = ["InitResult", "laplace_init", "prior_init", "fallback_message", "INIT_METHODS"]

INIT_METHODS = ("laplace", "prior")


class InitResult(NamedTuple):
    """Per-chain unconstrained starting points (pytrees of the model's latent sites).

    Attributes
    ----------
    positions : list of dict
        One per chain.
    inverse_mass_matrix : (d, d) ndarray or None
        None for the identity.
    modes_potential : (chains,) ndarray
        Potential at each chain's optimum (NaN for ``"prior"``).
    gradient_calls : int
        Potential value + gradient evaluations spent (optimization and Hessian; 0 for ``"prior"``).
    """

    positions: list
    inverse_mass_matrix: np.ndarray | None
    modes_potential: np.ndarray
    gradient_calls: int = 0


def _uniform_starts(model, key, num_chains: int):
    starts, potential_fn = [], None
    for k in jax.random.split(key, num_chains):
        info = initialize_model(k, model, init_strategy=init_to_uniform)
        starts.append(info.param_info.z)
        potential_fn = info.potential_fn
    return starts, potential_fn


def prior_init(model, key, num_chains: int) -> InitResult:
    """Starting points uniform over the prior (NumPyro's ``init_to_uniform``), identity metric."""
    starts, _ = _uniform_starts(model, key, num_chains)
    return InitResult(starts, None, np.full(num_chains, np.nan))


def _hessian_fd(grad_fn: Callable, x: np.ndarray, step: float = 1e-5) -> np.ndarray:
    d = x.size
    h = np.zeros((d, d))
    for i in range(d):
        e = np.zeros(d)
        e[i] = step
        h[:, i] = (grad_fn(x + e) - grad_fn(x - e)) / (2.0 * step)
    return 0.5 * (h + h.T)


#: Jitter scale (per unconstrained coordinate, times the overdispersion) when no Laplace covariance exists.
FALLBACK_JITTER = 0.1
#: Optima further apart than this in log posterior are reported as a possibly multimodal posterior.
MULTIMODAL_SPREAD = 10.0


def laplace_covariance(hess: np.ndarray) -> np.ndarray | None:
    """The Laplace covariance ``S = H^-1`` (symmetrized) of a symmetric Hessian ``H`` of the potential, or None
    where ``H`` has a non-finite entry or is not positive definite (then there is no Laplace approximation)."""
    if not np.all(np.isfinite(hess)) or np.linalg.eigvalsh(hess).min() <= 0:
        return None
    cov = np.linalg.inv(hess)
    return 0.5 * (cov + cov.T)


def multimodal_message(potentials: np.ndarray) -> str | None:
    """One line when the optimizations' final potentials differ by more than :data:`MULTIMODAL_SPREAD`, else
    None."""
    spread = np.asarray(potentials) - np.nanmin(potentials)
    if not np.any(spread > MULTIMODAL_SPREAD):
        return None
    return (f"the {spread.size} optimizations found optima that differ in log posterior by up to "
            f"{np.nanmax(spread):.1f}; the posterior may be multimodal")


def fallback_message(hess: np.ndarray, overdispersion: float) -> str:
    """The one line :func:`laplace_init` logs when the Hessian is not positive definite.

    ``hess`` (d, d) is the Hessian of the potential at the best mode; the line
    says what happened, what is done instead and why that is harmless (module
    docstring).
    """
    if np.all(np.isfinite(hess)):
        found = f"smallest eigenvalue {np.linalg.eigvalsh(hess).min():.3g}"
    else:
        found = f"{int(np.sum(~np.isfinite(hess)))} non-finite entries"
    return (f"laplace init: the Hessian of the potential at the best mode is not positive definite ({found}: "
            "the optimizer stopped off a minimum, e.g. at a kink, or a direction neither the prior nor the "
            "data constrain), so there is no Laplace covariance; "
            f"the chains start at their modes plus N(0, {FALLBACK_JITTER * overdispersion:.2g}^2) "
            "jitter in the unconstrained coordinates with an identity initial metric instead. Harmless: "
            "warmup adapts the step size and mass matrix from its own draws, so only how quickly warmup "
            "settles can change, not the posterior")


def minimize_restarting(fun: Callable, x: np.ndarray, *, max_iter: int = 200,
                        max_restarts: int = 5) -> tuple[np.ndarray, float]:
    """L-BFGS-B on ``fun(x) -> (value, gradient)`` from ``x``, restarted from where it stopped for as long as a
    run lowers the value by more than 1e-6 (SHAMNet's SELU kinks, Eq. D2, can end a line search early), at most
    ``max_restarts`` times. Returns the last point and its value (``x`` itself if no run improved on it)."""
    from scipy.optimize import minimize

    fx = fun(x)[0]
    for _ in range(max_restarts + 1):
        res = minimize(fun, x, jac=True, method="L-BFGS-B", options=dict(maxiter=max_iter))
        if not (np.isfinite(res.fun) and res.fun < fx - 1e-6):
            break
        x, fx = res.x, res.fun
    return x, fx


def laplace_init(model, key, num_chains: int, *, overdispersion: float = 2.0, max_iter: int = 200,
                 max_restarts: int = 5, log: Callable[[str], None] | None = None) -> InitResult:
    """Per-chain L-BFGS modes, Laplace covariance and overdispersed starts (module docstring)."""
    k_start, k_jitter = jax.random.split(key)
    starts, potential_fn = _uniform_starts(model, k_start, num_chains)
    flat0, unravel = ravel_pytree(starts[0])
    vg = jax.jit(jax.value_and_grad(lambda x: potential_fn(unravel(x))))

    calls = [0]

    def fun(x):
        calls[0] += 1
        v, g = vg(jnp.asarray(x))
        v, g = float(v), np.asarray(g, dtype=np.float64)
        if not (np.isfinite(v) and np.all(np.isfinite(g))):
            return np.inf, np.zeros_like(g)
        return v, g

    modes, values = [], []
    for start in starts:
        x, fx = minimize_restarting(fun, np.asarray(ravel_pytree(start)[0], dtype=np.float64), max_iter=max_iter,
                                    max_restarts=max_restarts)
        modes.append(x)
        values.append(fx)
    values = np.asarray(values)
    best = int(np.nanargmin(values))
    grad_fn = lambda x: np.asarray(vg(jnp.asarray(x))[1], dtype=np.float64)  # noqa: E731
    hess = _hessian_fd(grad_fn, modes[best])
    calls[0] += 2 * flat0.size
    rng = np.random.default_rng(np.asarray(jax.random.key_data(k_jitter)).ravel().tolist())
    d = flat0.size
    imm = laplace_covariance(hess)
    if imm is not None:
        chol = np.linalg.cholesky(imm)
    else:
        chol = FALLBACK_JITTER * np.eye(d)
        if log is not None:
            log(fallback_message(hess, overdispersion))
    positions = [unravel(jnp.asarray(m + overdispersion * chol @ rng.standard_normal(d))) for m in modes]
    message = multimodal_message(values)
    if log is not None and message is not None:
        log(f"laplace init: {message}")
    return InitResult(positions, imm, values, calls[0])
