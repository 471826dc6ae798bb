"""How low can the SHAMNet accuracy benchmark go? A per-theta free-form fit (issue 3 diagnostic).

For the first n held-out theta of ``shamnet_accuracy.py`` (same seed, same draw), a
monotonic SMHM with one free slope per quadrature interval (1501 nodes,
``log10 M* = a + cumsum(softplus(s) * dlog10 Mpeak)``) is fitted directly to
the mean squared Delta of Eq. C2 with Adam (cosine step size from 3e-3),
starting from the shipped network's SMHM. No network can beat this fit at a
given theta by more than the optimizer's shortfall, so its pooled rms is the
floor of the benchmark's rms, and the gap to the network's rms is what a
better network could still gain. (The fixed-point solver of
``shaminfer.shamnet.deconvolution`` cannot serve here: it does not converge in
the exponential tail, log10 M* > 11.3, which is where the error sits.)

With ``--theta`` it fits one given theta instead (e.g. where the network's
SMHM dips), and ``--min-slope`` bounds the free-form slopes from below, which
measures what a slope hinge costs there.

With ``--basis K`` the fitted SMHM is instead a monotone basis with K fixed
knots: ``log10 M* = a + (min_slope + w_0) (x - x_0) + sum_k w_k sigmoid((x - c_k) / h)``
with x = log10 Mpeak, x_0 the grid's lower end, w >= 0, knots c_k evenly spaced over the grid
and h their spacing. Its start is a non-negative least-squares fit to the
network's SMHM. This measures what a network that outputs such weights (monotone
in Mpeak by construction) could reach at best; the last line's free_rms and
free_max are then those of the basis fit.

Usage: JAX_ENABLE_X64=1 python benchmarks/shamnet_floor.py [--n-theta 50] [--steps 3000] [--weights PATH]
       [--theta LOGPHI,ALPHA,SIGMA_LO,SIGMA_HI] [--min-slope 0] [--basis K]
(about 25 minutes per 50 theta on one core at 3000 steps).
"""
import argparse
import time

from shaminfer import configure_jax

configure_jax()  # float64 + synchronous CPU dispatch, as in every entry point

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402
import optax  # noqa: E402
from scipy.optimize import nnls  # noqa: E402
from shamnet_accuracy import HELD_OUT_SEED, N_HELD_OUT  # noqa: E402

from shaminfer.ingredients.theta import ShamParams  # noqa: E402
from shaminfer.shamnet import load_shamnet  # noqa: E402
from shaminfer.shamnet.domain import check_theta_in_domain, sample_domain  # noqa: E402
from shaminfer.shamnet.losses import EVAL_LOGMH_GRID, smf_residuals_from_logsm_grid  # noqa: E402
from shaminfer.shamnet.network import basis_steps, net_logsm  # noqa: E402

GRID = jnp.asarray(EVAL_LOGMH_GRID)
DM = jnp.diff(GRID)


def smhm_of(p, min_slope=0.0):
    """Monotonic SMHM on GRID from (a, s): a + cumulative slopes min_slope + softplus(s)."""
    a, s = p
    return jnp.concatenate([a[None], a + jnp.cumsum((min_slope + jax.nn.softplus(s)) * DM)])


def basis_matrix(k):
    """(len(GRID), k) sigmoid steps at k knots evenly spaced over GRID, width = knot spacing (BasisShamNet's basis)."""
    return basis_steps(2.0 * (GRID - GRID[0]) / (GRID[-1] - GRID[0]) - 1.0, k)


def basis_smhm_of(p, min_slope=0.0):
    """Monotonic SMHM on GRID from (a, log w_0, log w_k) of the sigmoid basis (see ``--basis``)."""
    a, lw0, lw = p
    k = lw.shape[-1]
    return a + (min_slope + jnp.exp(lw0)) * (GRID - GRID[0]) + basis_matrix(k) @ jnp.exp(lw)


def basis_start(mu0, k, min_slope):
    """Non-negative least-squares fit of the basis to each row of mu0 (the network's SMHM), as (a, log w_0, log w_k)."""
    design = np.concatenate([np.ones((GRID.size, 1)), -np.ones((GRID.size, 1)), np.asarray(GRID - GRID[0])[:, None],
                             np.asarray(basis_matrix(k))], axis=1)  # a = a_plus - a_minus
    w = np.array([nnls(design, m)[0] for m in np.asarray(mu0 - min_slope * (GRID - GRID[0]))])
    lw = np.log(np.maximum(w[:, 2:], 1e-6))  # log of an exact zero would start a weight at -inf
    return jnp.asarray(w[:, 0] - w[:, 1]), jnp.asarray(lw[:, 0]), jnp.asarray(lw[:, 1:])


def fit_chunk(net, theta, steps, min_slope=0.0, basis=0):
    """Residuals (n, 100) of the network and of the free-form (or, with basis > 0, sigmoid-basis) fits."""
    opt = optax.adam(optax.cosine_decay_schedule(3e-3, steps, alpha=0.01))
    smhm = basis_smhm_of if basis else smhm_of

    def residuals(p, t):
        return smf_residuals_from_logsm_grid(t, smhm(p, min_slope), logmh_grid=GRID)

    def loss(p):  # a sum over theta: each theta's parameters get their own gradient
        return jnp.sum(jax.vmap(lambda pp, tt: jnp.mean(residuals(pp, tt) ** 2))(p, theta))

    @jax.jit
    def step(p, state):
        g = jax.grad(loss)(p)
        upd, state = opt.update(g, state, p)
        return optax.apply_updates(p, upd), state

    mu0 = jax.vmap(lambda t: net_logsm(net, t, GRID))(theta)
    if basis:
        p = basis_start(mu0, basis, min_slope)
    else:
        slope0 = jnp.maximum(jnp.diff(mu0, axis=1) / DM - min_slope, 1e-3)
        p = (mu0[:, 0], jnp.log(jnp.expm1(slope0)))
    r_net = np.asarray(jax.vmap(lambda t: smf_residuals_from_logsm_grid(t, net_logsm(net, t, GRID), logmh_grid=GRID))(theta))
    state = opt.init(p)
    for _ in range(steps):
        p, state = step(p, state)
    return r_net, np.asarray(jax.vmap(residuals)(p, theta))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n-theta", type=int, default=50)
    ap.add_argument("--steps", type=int, default=3000)
    ap.add_argument("--chunk", type=int, default=50)
    ap.add_argument("--weights", default=None)
    ap.add_argument("--theta", default=None,
                    help="one theta 'log10phi*,alpha,sigma_lo,sigma_hi' instead of the held-out draw")
    ap.add_argument("--min-slope", type=float, default=0.0,
                    help="the free-form SMHM rises at least this fast (default 0: any monotonic SMHM)")
    ap.add_argument("--basis", type=int, default=0,
                    help="fit a sigmoid basis with this many knots instead of free slopes (default 0: free-form)")
    a = ap.parse_args()
    if a.basis != 0 and a.basis < 2:
        raise SystemExit(f"--basis: expected 0 (free-form) or at least 2 knots, found {a.basis}")
    net = load_shamnet(a.weights)
    if a.theta is not None:
        try:
            one = [float(x) for x in a.theta.split(",")]
        except ValueError:
            one = []
        if len(one) != 4:
            raise SystemExit(f"--theta: expected 4 comma-separated numbers (log10 phi*, alpha, sigma_lo, sigma_hi), found {a.theta!r}")
        check_theta_in_domain(net.domain, ShamParams(*one))
        theta, a.n_theta = ShamParams(*(np.array([x]) for x in one)), 1
    elif not 1 <= a.n_theta <= N_HELD_OUT:
        raise SystemExit(f"--n-theta: expected 1 to {N_HELD_OUT}, found {a.n_theta}")
    else:
        theta = sample_domain(net.domain, HELD_OUT_SEED, N_HELD_OUT)  # the benchmark's 1000 theta; the first n-theta
    fit_name = f"basis (K={a.basis})" if a.basis else "free-form"
    t0 = time.time()
    r_net, r_fit = [], []
    for i in range(0, a.n_theta, a.chunk):
        th = ShamParams(*(jnp.asarray(v[i:min(i + a.chunk, a.n_theta)]) for v in theta))
        rn, rf = fit_chunk(net, th, a.steps, a.min_slope, a.basis)
        r_net.append(rn)
        r_fit.append(rf)
        print(f"theta {i}-{i + rn.shape[0] - 1}: network rms {np.sqrt(np.mean(rn**2)):.5f}, {fit_name} rms "
              f"{np.sqrt(np.mean(rf**2)):.5f}, {time.time() - t0:.0f} s", flush=True)
    r_net, r_fit = np.concatenate(r_net), np.concatenate(r_fit)
    per_fit = np.sqrt(np.mean(r_fit**2, axis=1))
    print(f"per-theta {fit_name} rms, percentiles 10/50/90/100: "
          + " ".join(f"{x:.5f}" for x in np.percentile(per_fit, [10, 50, 90, 100])))
    print(f"shamnet_floor n_theta={r_net.shape[0]} steps={a.steps} min_slope={a.min_slope:g} basis={a.basis} network_rms={np.sqrt(np.mean(r_net**2)):.5f} "
          f"free_rms={np.sqrt(np.mean(r_fit**2)):.5f} network_max={np.abs(r_net).max():.4f} "
          f"free_max={np.abs(r_fit).max():.4f}")


if __name__ == "__main__":
    main()
