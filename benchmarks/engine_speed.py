"""Benchmark (issue 7): the tabulated engine against the exact engine on the demo's full likelihood.

Catalog: the default universe ``shaminfer.catalogs.synthetic_universe()``
(seed 0, 175 Mpc/h, ~3.4e5 subhalos, lensing profiles), shipped SHAMNet.
Statistics: the demo's binning (:data:`DEMO_STATS`, from ``demo_configs("full")``):
SMF in 8 bins over 9.75 < log10 M* < 11.75, threshold samples log10 M* >= 10,
10.5, 11, w_p in 6 log bins over 0.3 < r_p < 8 Mpc/h with pi_max = 8 Mpc/h,
Delta Sigma in the catalog's bins merged 3 at a time), i.e. SMF + 3 w_p + 3
Delta Sigma. Likelihood: Gaussian, data = the exact prediction at the demo's
theta_true, diagonal errors of ``--frac-err`` (5%) of each datum (the
covariance does not change the cost).

Measured:

* ``build_seconds``: node grid plus one parallel pass over pairs (no cache);
* ``tab_value_grad_ms``: median time of ``jax.jit(jax.value_and_grad(loglike))``
  with the tabulated engine;
* ``exact_over_tab``: the same with the exact engine (numba pair counts in a
  ``pure_callback`` + ``custom_jvp``), divided by the tabulated time;
* ``max_rel_diff``: largest |tab / exact - 1| over every entry of the
  predictions (SMF, w_p, Delta Sigma) at ``--n-theta`` (20) thetas drawn
  from SHAMNet's training domain.

Run::

    JAX_ENABLE_X64=1 NUMBA_NUM_THREADS=2 nice -n 10 .venv/bin/python benchmarks/engine_speed.py

Last line: ``engine_speed tab_value_grad_ms=<t> exact_over_tab=<x> max_rel_diff=<d> build_seconds=<b>``.
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


#: The demo's ``[stats]`` table (``shaminfer.app.demo.demo_configs("full")`` as of 2026-11-21, pinned here so that
#: the benchmark does not move with the demo's presets).
DEMO_STATS = {
    "smf_edges": {"lo": 9.75, "hi": 11.75, "n": 8},
    "samples": [{"kind": "threshold", "lo": 10.0}, {"kind": "threshold", "lo": 10.5}, {"kind": "threshold", "lo": 11.0}],
    "rp_edges": {"lo": 0.3, "hi": 8.0, "n": 6},
    "pi_max": 8.0,
    "ds_rebin": 3,
}


def demo_setup(box_size=None):
    """Catalog, StatsConfig, SHAMNet and theta_true of the demo likelihood on the default universe."""
    from shaminfer.catalogs import synthetic_universe
    from shaminfer.app.demo import DEMO_THETA_TRUE
    from shaminfer.app.forward import build_stats_config
    from shaminfer.shamnet import load_shamnet

    catalog = synthetic_universe(box_size=box_size, progress=sys.stderr.isatty())
    config = build_stats_config(DEMO_STATS, catalog)
    return catalog, config, load_shamnet(), DEMO_THETA_TRUE


def flat(pred):
    return jnp.concatenate([jnp.ravel(pred.smf), jnp.ravel(pred.wp), jnp.ravel(pred.delta_sigma)])


def make_loglike(predictor, data, err):
    def loglike(theta):
        r = (flat(predictor(theta)) - data) / err
        return -0.5 * jnp.sum(r * r)

    return loglike


def _median_time(fn, arg, n):
    out = []
    for _ in range(n):
        t0 = time.perf_counter()
        jax.block_until_ready(fn(arg))
        out.append(time.perf_counter() - t0)
    return float(np.median(out))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n-theta", type=int, default=20)
    ap.add_argument("--n-exact-timing", type=int, default=3)
    ap.add_argument("--n-tab-timing", type=int, default=200)
    ap.add_argument("--frac-err", type=float, default=0.05)
    ap.add_argument("--spacing", type=float, default=None)
    ap.add_argument("--box-size", type=float, default=None, help="smaller universe for a quick run")
    args = ap.parse_args(argv)

    from shaminfer.shamnet import sample_domain
    from shaminfer.stats import make_predictor
    from shaminfer.stats.tabulated import DEFAULT_NODE_SPACING, make_tabulated_predictor

    catalog, config, net, theta_true = demo_setup(args.box_size)
    spacing = DEFAULT_NODE_SPACING if args.spacing is None else args.spacing
    print(f"catalog: {catalog.n} subhalos, box {catalog.box_size} Mpc/h; config {config}", file=sys.stderr)

    t0 = time.perf_counter()
    tab = make_tabulated_predictor(catalog, config, net=net, spacing=spacing, cache=False)
    build_seconds = time.perf_counter() - t0
    n_nodes = tab.tables.nodes.size
    print(f"tabulated build: {build_seconds:.1f} s, {n_nodes} nodes from log10 Mpeak {tab.tables.nodes[0]:.3f}",
          file=sys.stderr)
    exact = make_predictor(catalog, config, net=net)
    exact_j = jax.jit(exact)
    tab_j = jax.jit(tab)

    data = flat(exact_j(theta_true))
    err = args.frac_err * jnp.abs(data)
    vg_tab = jax.jit(jax.value_and_grad(make_loglike(tab, data, err)))
    vg_exact = jax.jit(jax.value_and_grad(make_loglike(exact, data, err)))
    jax.block_until_ready(vg_tab(theta_true))
    t_tab = _median_time(vg_tab, theta_true, args.n_tab_timing)
    jax.block_until_ready(vg_exact(theta_true))
    t_exact = _median_time(vg_exact, theta_true, args.n_exact_timing)
    thetas = sample_domain(1, args.n_theta, net=net)
    th = jax.tree_util.tree_map(lambda v: v[0], thetas)  # away from theta_true, where the gradient vanishes
    (v_tab, g_tab), (v_ex, g_ex) = vg_tab(th), vg_exact(th)
    g_tab, g_ex = np.asarray(g_tab), np.asarray(g_ex)
    grad_rel = float(np.max(np.abs(g_tab / g_ex - 1.0)))
    print(f"value_and_grad: tab {t_tab * 1e3:.3f} ms, exact {t_exact:.3f} s; at a domain theta: loglike "
          f"{float(v_tab):.6g} vs {float(v_ex):.6g}, max |grad_tab / grad_exact - 1| = {grad_rel:.2e}",
          file=sys.stderr)

    worst = {"smf": 0.0, "wp": 0.0, "delta_sigma": 0.0}
    for j in range(args.n_theta):
        th = jax.tree_util.tree_map(lambda v: v[j], thetas)
        a, b = exact_j(th), tab_j(th)
        for f in worst:
            x, y = np.asarray(getattr(a, f)), np.asarray(getattr(b, f))
            worst[f] = max(worst[f], float(np.max(np.abs(y / x - 1.0))))
        print(f"theta {j}: " + " ".join(f"{k}={v:.2e}" for k, v in worst.items()), file=sys.stderr)
    max_rel = max(worst.values())
    print(f"per statistic max |tab/exact - 1|: {worst}; nodes={n_nodes} spacing={spacing}", file=sys.stderr)
    print(f"engine_speed tab_value_grad_ms={t_tab * 1e3:.3f} exact_over_tab={t_exact / t_tab:.0f} "
          f"max_rel_diff={max_rel:.2e} build_seconds={build_seconds:.1f}")
    return dict(t_tab=t_tab, t_exact=t_exact, max_rel=max_rel, worst=worst, build=build_seconds, nodes=n_nodes,
                grad_rel=grad_rel)


if __name__ == "__main__":
    main()
