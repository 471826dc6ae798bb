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

``--model composed`` (issue 23): the 20-parameter model ``parametric + sm_offset + quenching``
(:mod:`shaminfer.galaxy_halo`) on the same catalog and binning, with the samples log10 M* >= 10.5 red and
blue and >= 11 all, and the red and blue SMFs beside the total one; data at the blocks' defaults;
``max_rel_diff`` over 20 thetas drawn uniformly from the blocks' default prior ranges; and
``exact_pairs_over_corrfunc``: the exact engine's w_p pair pass, value and gradient with respect to the
per-subhalo weights (what any number of parameters costs), over one Corrfunc ``DDrppi`` on the same
non-zero weights. Last line:
``engine_speed n_params=<n> tab_value_grad_ms=<t> max_rel_diff=<d> exact_pairs_over_corrfunc=<r>``.
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
    return jnp.concatenate([jnp.ravel(pred.smf), jnp.ravel(pred.smf_color), jnp.ravel(pred.wp),
                            jnp.ravel(pred.delta_sigma)])


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
    ap.add_argument("--model", choices=("sham", "composed"), default="sham")
    args = ap.parse_args(argv)
    if args.model == "composed":
        return main_composed(args)

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


def main_composed(args):
    """``--model composed``: see the module docstring."""
    from Corrfunc.theory.DDrppi import DDrppi

    from shaminfer.galaxy_halo import compose, parametric, quenching, stellar_mass_offset
    from shaminfer.stats import make_predictor, make_wp, threshold_sample
    from shaminfer.stats.tabulated_models import probe_thetas

    catalog, config, _, _ = demo_setup(args.box_size)
    config = config._replace(samples=(threshold_sample(10.5, color="red"), threshold_sample(10.5, color="blue"),
                                      threshold_sample(11.0)), smf_colors=("red", "blue"))
    model = compose(parametric(), quenching(), stellar_mass_offset())
    t0 = time.perf_counter()
    tab = make_predictor(catalog, config, model=model, engine="tabulated")
    build_seconds = time.perf_counter() - t0
    exact = make_predictor(catalog, config, model=model)
    print(f"tabulated build {build_seconds:.1f} s: {tab.grid.n_nodes} nodes ({tab.grid.cen.size} Mpeak; satellites "
          f"{[a.size for a in tab.grid.sat_axes]}), table {tab.table_bytes / 1e9:.2f} GB", file=sys.stderr)
    theta0 = jnp.asarray(model.defaults())
    as_theta = model.params_type
    data = flat(exact(as_theta(*theta0)))
    err = args.frac_err * jnp.abs(data)
    vg_tab = jax.jit(jax.value_and_grad(make_loglike(lambda v: tab(as_theta(*v)), data, err)))
    jax.block_until_ready(vg_tab(theta0))
    t_tab = _median_time(vg_tab, theta0, args.n_tab_timing)
    worst = {"smf": 0.0, "smf_color": 0.0, "wp": 0.0, "delta_sigma": 0.0}
    probes = probe_thetas(model, args.n_theta, seed=1)
    exact_j, tab_j = jax.jit(exact), jax.jit(tab)
    for j in range(args.n_theta):
        th = jax.tree_util.tree_map(lambda v: v[j], probes)
        a, b = exact_j(th), tab_j(th)
        for f in worst:
            x, y = np.asarray(getattr(a, f)), np.asarray(getattr(b, f))
            worst[f] = max(worst[f], float(np.max(np.abs(y / x - 1.0))))
        print(f"theta {j}: " + " ".join(f"{k}={v:.2e}" for k, v in worst.items()), file=sys.stderr)
    # the exact engine's pair pass for one sample: value and gradient in the weights, against Corrfunc
    from shaminfer.galaxy_halo import bind_catalog
    from shaminfer.stats.predict import population_factor
    from shaminfer.stats.weights import sample_weights

    pop = model.population(model.defaults(), bind_catalog(model, catalog))
    w = np.asarray(sample_weights(pop.mu, pop.sigma, config.samples[:1])[0] * population_factor(pop, "red"))
    rp_edges, pi_max = np.asarray(config.rp_edges), float(config.pi_max)
    wp_of_w = make_wp(catalog.pos, box_size=catalog.box_size, rp_edges=rp_edges, pi_max=pi_max, nthreads=2)
    pairs = jax.jit(jax.value_and_grad(lambda x: jnp.sum(wp_of_w(x))))
    wj = jnp.asarray(w)
    jax.block_until_ready(pairs(wj))
    t_pairs = _median_time(pairs, wj, args.n_exact_timing)
    sel = w != 0
    x, y, z = (np.ascontiguousarray(catalog.pos[sel, ax]) for ax in range(3))
    ws = np.ascontiguousarray(w[sel])
    t_cf = _median_time(lambda _: DDrppi(1, 2, pi_max, rp_edges, x, y, z, weights1=ws, weight_type="pair_product",
                                         periodic=True, boxsize=float(catalog.box_size), verbose=False),
                        None, args.n_exact_timing)
    print(f"per statistic max |tab/exact - 1|: {worst}; pair pass {t_pairs:.3f} s, Corrfunc {t_cf:.3f} s "
          f"({int(sel.sum())} non-zero weights)", file=sys.stderr)
    print(f"engine_speed n_params={len(model.fields)} tab_value_grad_ms={t_tab * 1e3:.3f} "
          f"max_rel_diff={max(worst.values()):.2e} exact_pairs_over_corrfunc={t_pairs / t_cf:.2f}")
    return dict(t_tab=t_tab, worst=worst, t_pairs=t_pairs, t_cf=t_cf, build=build_seconds)


if __name__ == "__main__":
    main()
