"""SHAMNet monotonicity on a large sampled draw (issue: SHAMNet, "monotonicity: sampled check").

Draws ``--n`` theta from the training domain with a seed no training step uses,
half uniform and half crowded towards the sigma faces (face power 3, where
the SMHM of Eq. 2 is flattest), and takes the smallest autodiff slope
d log10 M* / d log10 Mpeak of each over ``--points`` evenly spaced
10 <= log10 Mpeak <= 15.5, for the bare network (``net_logsm``) and for the SMHM
that ``predict_logsm`` returns (the rising table of shaminfer/shamnet/monotone.py;
on the first ``--n-pred`` theta, as its table costs 3001 network evaluations per
theta). It lists the theta whose bare-network SMHM is not increasing somewhere (at
most ten, lowest slope first), where in log10 Mpeak and log10 M* the lowest slope
sits, and how far the prediction moves from the network on the same theta.

Usage: JAX_ENABLE_X64=1 python benchmarks/shamnet_monotonicity.py [--weights PATH] [--n 20000] [--points 441] [--n-pred 2000]
Last line: ``shamnet_monotonicity n_theta=<n> points=<p> raw_dips=<uniform>+<face> raw_min_slope=<s>
n_pred=<m> pred_dips=<d> pred_min_slope=<s> max_pred_minus_raw_dex=<x>``.
"""
import argparse
import time

from shaminfer import configure_jax  # noqa: E402

configure_jax()  # float64 + synchronous CPU dispatch, as in every entry point

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402

from shaminfer.ingredients.theta import ShamParams  # noqa: E402
from shaminfer.shamnet import load_shamnet  # noqa: E402
from shaminfer.shamnet.domain import sample_domain  # noqa: E402
from shaminfer.shamnet.monotone import monotone_logsm  # noqa: E402
from shaminfer.shamnet.network import net_logsm  # noqa: E402

SEED = 20261123  # no training step uses it (training seeds s use s + 0..(1000 + steps), 10000019 + s, 20000003 + s, s + 5e8 and above)
FACE_POWER = 3.0
N_LISTED = 10


def on_grid(smhm, net, theta: ShamParams, logmpeak, *, chunk=500):
    """SMHM values and autodiff slopes (n_theta, n_points) of ``smhm(net, theta, m)`` at ``logmpeak``, ``chunk`` theta at a time."""
    one = jax.vmap(jax.value_and_grad(lambda m, th: smhm(net, th, m)), in_axes=(0, None))
    f = jax.jit(jax.vmap(one, in_axes=(None, 0)))
    n = np.size(theta.alpha)
    parts = [f(logmpeak, ShamParams(*(v[i : i + chunk] for v in theta))) for i in range(0, n, chunk)]
    return np.concatenate([np.asarray(p[0]) for p in parts]), np.concatenate([np.asarray(p[1]) for p in parts])


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--weights", default=None)
    p.add_argument("--n", type=int, default=20000, help="theta drawn (half uniform, half crowded towards the sigma faces)")
    p.add_argument("--points", type=int, default=441, help="log10 Mpeak points on 10..15.5")
    p.add_argument("--seed", type=int, default=SEED)
    p.add_argument("--n-pred", type=int, default=2000, help="of the theta, how many (the first) also check predict_logsm")
    a = p.parse_args()
    for name, v, least in (("--n", a.n, 2), ("--points", a.points, 2), ("--n-pred", a.n_pred, 1)):
        if v < least:
            p.error(f"{name}: expected at least {least}, found {v}")
    net = load_shamnet(a.weights)
    half = a.n // 2
    uni = sample_domain(net.domain, a.seed, a.n - half)
    face = sample_domain(net.domain, a.seed + 1, half, face_power=FACE_POWER)
    theta = ShamParams(*(jnp.concatenate([u, f]) for u, f in zip(uni, face)))
    grid = jnp.linspace(10.0, 15.5, a.points)
    t0 = time.time()
    mu, s = on_grid(net_logsm, net, theta, grid)
    low = s.min(axis=1)
    print(f"bare network: {a.n} theta x {a.points} points in {time.time() - t0:.1f} s on {jax.devices()[0].platform}")
    dips = np.flatnonzero(low <= 0.0)
    n_u, n_f = int(np.sum(dips < a.n - half)), int(np.sum(dips >= a.n - half))
    print(f"bare network non-increasing somewhere: {n_u} of {a.n - half} uniform, {n_f} of {half} face-crowded theta")
    for i in dips[np.argsort(low[dips])][:N_LISTED]:
        j = int(np.argmin(s[i]))
        th_i = ShamParams(*(v[i] for v in theta))
        at = float(net_logsm(net, th_i, grid[j]))
        print(f"  slope {low[i]:+.4f} at log10 Mpeak {float(grid[j]):.4f} (log10 M* {at:.3f}), theta = "
              + ", ".join(f"{float(v):.4f}" for v in th_i))
    # predict_logsm on the first n_pred theta (uniform ones first) and on every bare-network dip
    pick = np.unique(np.concatenate([np.arange(min(a.n_pred, a.n)), dips]))
    t0 = time.time()
    mu_p, s_p = on_grid(monotone_logsm, net, ShamParams(*(v[pick] for v in theta)), grid, chunk=50)
    low_p = s_p.min(axis=1)
    moved = np.abs(mu_p - mu[pick]).max()
    print(f"predict_logsm: {pick.size} theta ({len(dips)} of them the bare-network dips) in {time.time() - t0:.1f} s: "
          f"{int(np.sum(low_p <= 0))} non-increasing somewhere, min slope {low_p.min():+.2e}, "
          f"largest |prediction - network| {moved:.2e} dex")
    print(f"shamnet_monotonicity n_theta={a.n} points={a.points} raw_dips={n_u}+{n_f} raw_min_slope={low.min():+.5f} "
          f"n_pred={pick.size} pred_dips={int(np.sum(low_p <= 0))} pred_min_slope={low_p.min():+.2e} max_pred_minus_raw_dex={moved:.2e}")


if __name__ == "__main__":
    main()
