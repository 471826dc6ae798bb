"""Does the floating type of SHAMNet's training steps change the objective? (issue 3)

Evaluates Eq. D4 (mean squared Delta of Eq. C2 on the 376-node training grid,
as phase 2 computes it) for a batch of held-out theta twice: with the network,
grids and App. B quadrature cast to float32 (``train-shamnet --dtype float32``,
the cheaper type) and in float64 (``--dtype float64``), and times one
value-and-gradient evaluation in each type.

Usage: JAX_ENABLE_X64=1 python benchmarks/shamnet_train_precision.py [--weights PATH] [--batch 100]
"""
import argparse
import time

from shaminfer import configure_jax

configure_jax()

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402

from shaminfer.shamnet import load_shamnet  # noqa: E402
from shaminfer.shamnet.domain import sample_domain  # noqa: E402
from shaminfer.shamnet.losses import LOSS_LOGSM, TRAIN_LOGMH_GRID, net_smf_residuals  # noqa: E402
from shaminfer.shamnet.training import cast_floating  # noqa: E402


def loss_and_seconds(net, theta, dtype, repeats=5):
    """Eq. D4 with every array cast to ``dtype``, and the best time of one value-and-gradient call."""
    dt = jnp.dtype(dtype)
    dom, grid, logsm, th = cast_floating((net.domain, TRAIN_LOGMH_GRID, LOSS_LOGSM, theta), dt)

    def loss(layers):
        res = net_smf_residuals(type(net)(layers, dom), th, logmh_grid=grid, logsm=logsm)
        return jnp.mean(res**2)

    f = jax.jit(jax.value_and_grad(loss))
    layers = cast_floating(net.layers, dt)
    value, _ = jax.block_until_ready(f(layers))
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        jax.block_until_ready(f(layers))
        times.append(time.perf_counter() - t0)
    return float(value), min(times)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--weights", default=None, help="weights file (default: the shipped network)")
    ap.add_argument("--batch", type=int, default=100, help="theta in the batch (default 100, as in the shipped training)")
    ap.add_argument("--seed", type=int, default=20261122, help="Latin-hypercube seed of the batch")
    args = ap.parse_args()
    net = load_shamnet(args.weights)
    theta = sample_domain(net.domain, args.seed, args.batch)
    l32, t32 = loss_and_seconds(net, theta, "float32")
    l64, t64 = loss_and_seconds(net, theta, "float64")
    print(f"Eq. D4 on {args.batch} theta: float32 {l32:.4e}, float64 {l64:.4e} (float32/float64 = {l32 / l64:.3f})")
    print(f"value-and-gradient: float32 {t32:.3f} s, float64 {t64:.3f} s")
    print(f"shamnet_train_precision loss_f32={l32:.4e} loss_f64={l64:.4e} ratio={l32 / l64:.3f} "
          f"grad_s_f32={t32:.3f} grad_s_f64={t64:.3f} batch={args.batch}")


if __name__ == "__main__":
    main()
