"""Wall time of predicting log10 M* for 10^6 halos with SHAMNet (jitted, float64).

``predict_logsm`` (what users call: the network through the rising table of
shaminfer/shamnet/monotone.py, 3001 network evaluations per theta plus an
interpolation per halo) and, for comparison, the bare network on every halo.

Usage: JAX_ENABLE_X64=1 python benchmarks/shamnet_speed.py [--weights PATH]
"""
import argparse
import time

import jax

from shaminfer import configure_jax  # noqa: E402

configure_jax()  # float64 + synchronous CPU dispatch, as in every entry point

import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402

from shaminfer.ingredients import DEFAULT_SHAM_PARAMS  # noqa: E402
from shaminfer.shamnet import load_shamnet, net_logsm, predict_logsm  # noqa: E402
from shaminfer.shamnet.network import architecture, hidden_widths  # noqa: E402


def main(n=1_000_000, repeats=5):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--weights", default=None, help="weights file (default: the shipped network)")
    net = load_shamnet(ap.parse_args().weights)
    logmpeak = jnp.asarray(np.random.default_rng(0).uniform(10.5, 15.0, n))
    times = {}
    for name, smhm in (("predict", lambda th, m: predict_logsm(th, m, net=net)), ("bare", lambda th, m: net_logsm(net, th, m))):
        f = jax.jit(smhm)
        g = jax.jit(jax.grad(lambda th, m: jnp.sum(smhm(th, m))))
        f(DEFAULT_SHAM_PARAMS, logmpeak).block_until_ready()
        jax.block_until_ready(g(DEFAULT_SHAM_PARAMS, logmpeak))
        for key, fn in ((name, f), (name + "_grad", g)):
            t = []
            for i in range(repeats):
                th = DEFAULT_SHAM_PARAMS._replace(sigma_lo=0.3 + 0.01 * i)
                t0 = time.perf_counter()
                jax.block_until_ready(fn(th, logmpeak))
                t.append(time.perf_counter() - t0)
            times[key] = 1e3 * min(t)
    print(f"devices: {jax.devices()}; architecture {architecture(net)}, hidden layers {list(hidden_widths(net))}")
    print(f"bare network on every halo: {times['bare']:.1f} ms, gradient {times['bare_grad']:.1f} ms")
    print(f"shamnet_speed n_halos={n} predict_ms={times['predict']:.1f} predict_grad_ms={times['predict_grad']:.1f} "
          f"bare_ms={times['bare']:.1f} bare_grad_ms={times['bare_grad']:.1f}")

if __name__ == "__main__":
    main()
