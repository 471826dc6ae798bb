"""Benchmark (issue 24): time and peak memory of every stage against the box size.

Synthetic universes (:func:`shaminfer.catalogs.synthetic.build_universe`, seed 0) of ``--sizes`` Mpc/h at the
number densities of the default 175 Mpc/h box: the default particle mass and mass function, and a mesh of
about the default 1.37 Mpc/h cells (``n_mesh`` the even 5-smooth size nearest to ``128 L / 175``; 128, 180
and 288 for 175, 250 and 400 Mpc/h). Each size runs in a fresh subprocess, so that peaks do not mix, which
times its stages in order and reads the peak resident set of each (``VmHWM``, reset before the stage by
writing 5 to ``/proc/self/clear_refs``; where that is refused, ``ru_maxrss``, the peak since the start):

* ``generation``: masses, field, displacements, positions, particles (``profiles=False``);
* ``lensing``: per-object Delta Sigma profiles (App. F), :func:`shaminfer.catalogs.lensing_profiles`,
  ``cache=False``;
* ``tables``: the tabulated engine for the demo's statistics (``DEMO_STATS`` of ``engine_speed.py``: SMF, 3 w_p,
  3 Delta Sigma), node grid and tables, ``make_tabulated_predictor(..., cache=False)``, cold (JAX compilation
  included);
* ``exact_grad``: ``jax.value_and_grad`` of the demo likelihood of ``engine_speed.py`` with the exact engine
  (first call, compilation included, then the median of ``--repeats``);
* ``tab_grad``: the same with the tabulated engine (median of ``--tab-repeats``);
* ``wp_ratio``: ``stats_gradients.py``'s measure on the demo's largest sample (log10 M* >= 10) with that script's
  w_p binning (0.1-20 Mpc/h, pi_max = 40 Mpc/h): ``jax.value_and_grad`` of ``sum(w_p^2)`` end to end (SHAMNet
  included) over one Corrfunc weighted ``DDrppi`` on the same subhalos, medians of interleaved repeats.

``precompute`` is lensing + tables. Run (the machine's cores; numba and Corrfunc use ``NUMBA_NUM_THREADS``)::

    JAX_ENABLE_X64=1 NUMBA_NUM_THREADS=2 .venv/bin/python benchmarks/scale.py

Quick run: ``--sizes 100`` (sizes must exceed 80 Mpc/h, twice that pi_max). Each child writes
``scale-<L>.json`` to ``--workdir`` (default: a new temporary folder), which also holds its per-user cache. Last line::

    scale n_subhalos_max=<n> precompute_s_250=<s> peak_gb_250=<g> precompute_s_400=<s> peak_gb_400=<g>
    tab_grad_ms_250=<ms> exact_grad_over_corrfunc_250=<r>

on one line; a run without 250 and 400 Mpc/h reports the sizes it ran in their place. The other figures of
every size are on the ``size`` lines above it.
"""
from __future__ import annotations

import argparse
import gc
import json
import os
import resource
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
STAGES = ("generation", "lensing", "tables", "exact_grad", "tab_grad", "wp_ratio")


def n_mesh_for(box_size: float) -> int:
    """Even 5-smooth mesh size nearest to the default cell (128 per 175 Mpc/h)."""
    target = 128.0 * box_size / 175.0
    smooth = [n for n in range(8, 513, 2) if _is_5_smooth(n)]
    return min(smooth, key=lambda n: abs(n - target))


def _is_5_smooth(n: int) -> bool:
    for p in (2, 3, 5):
        while n % p == 0:
            n //= p
    return n == 1


def _reset_peak() -> bool:
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def _peak_gb() -> float:
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024 / 1e9
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 / 1e9  # kB on Linux


def _stage(record, name, fn):
    record[name] = {"reset": _reset_peak()}
    t0 = time.perf_counter()
    out = fn()
    record[name].update(s=time.perf_counter() - t0, peak_gb=_peak_gb())
    print(f"# {name}: {record[name]['s']:.2f} s, peak {record[name]['peak_gb']:.2f} GB", file=sys.stderr, flush=True)
    return out


def measure(box_size: float, *, repeats: int, tab_repeats: int, nthreads: int) -> dict:
    """All stages for one box size, in this process (see the module docstring)."""
    os.environ.setdefault("JAX_ENABLE_X64", "1")
    sys.path.insert(0, HERE)
    import jax
    import numpy as np

    from shaminfer import configure_jax

    configure_jax()
    from engine_speed import DEMO_STATS, _median_time, flat, make_loglike
    from stats_gradients import RP_EDGES, PI_MAX, corrfunc_ddrppi, interleaved_medians, wp_scalar_value_and_grad

    from shaminfer.app.demo import DEMO_THETA_TRUE
    from shaminfer.app.forward import build_stats_config
    from shaminfer.catalogs import lensing_profiles
    from shaminfer.catalogs.synthetic import DEFAULT_UNIVERSE_PARAMS, build_universe
    from shaminfer.shamnet import load_shamnet
    from shaminfer.stats import make_config, make_predictor, threshold_sample
    from shaminfer.stats.tabulated import make_tabulated_predictor
    from shaminfer.stats.weights import galaxy_logsm_pdf_params, sample_weights
    from shaminfer.stats.predict import resolve_smhm

    params = DEFAULT_UNIVERSE_PARAMS._replace(box_size=float(box_size), n_mesh=n_mesh_for(box_size))
    net = load_shamnet()
    theta = DEMO_THETA_TRUE
    rec = {"box_size": float(box_size), "n_mesh": params.n_mesh}
    catalog = _stage(rec, "generation", lambda: build_universe(0, params, profiles=False, progress=False))
    rec.update(n_subhalos=int(catalog.n), n_particles=int(catalog.particle_pos.shape[0]))
    prof = _stage(rec, "lensing", lambda: lensing_profiles(catalog, logmpeak_min=params.profile_logmpeak_min,
                                                             los_axis=params.los_axis, cache=False, progress=False))
    catalog = catalog.replace(lensing=prof)
    rec["n_profiles"] = int(prof.index.size)
    config = build_stats_config(DEMO_STATS, catalog)
    tab = _stage(rec, "tables", lambda: make_tabulated_predictor(catalog, config, net=net, cache=False,
                                                                  progress=False, log=lambda msg: None))
    exact = make_predictor(catalog, config, net=net)
    data = flat(jax.jit(exact)(theta))
    err = 0.05 * jax.numpy.abs(data)

    def timed_grad(predictor, n):
        vg = jax.jit(jax.value_and_grad(make_loglike(predictor, data, err)))
        t0 = time.perf_counter()
        jax.block_until_ready(vg(theta))
        return {"first_s": time.perf_counter() - t0, "median_s": _median_time(vg, theta, n)}

    rec["exact_grad_detail"] = _stage(rec, "exact_grad", lambda: timed_grad(exact, repeats))
    rec["tab_grad_detail"] = _stage(rec, "tab_grad", lambda: timed_grad(tab, tab_repeats))
    del exact, tab  # and their compiled functions, so that the next peak is the w_p measure's own
    jax.clear_caches()
    gc.collect()

    def wp_ratio():
        cfg = make_config(samples=[threshold_sample(DEMO_STATS["samples"][0]["lo"])], rp_edges=RP_EDGES,
                          pi_max=PI_MAX, ds_rbins=())
        predictor = make_predictor(catalog, cfg, net=net, nthreads=nthreads)
        smhm, _ = resolve_smhm(net=net)
        # Corrfunc's weights: SHAMNet on all rows, in slices (eagerly on all rows it would set this stage's peak)
        pdf = [galaxy_logsm_pdf_params(theta, jax.numpy.asarray(m), smhm=smhm)
               for m in np.array_split(catalog.logmpeak, -(-catalog.n // 65536))]
        w = sample_weights(jax.numpy.concatenate([a for a, _ in pdf]), jax.numpy.concatenate([b for _, b in pdf]),
                           cfg.samples)[0]
        corrfunc, n_sel = corrfunc_ddrppi(catalog, np.asarray(w), nthreads=nthreads)
        grad = wp_scalar_value_and_grad(predictor)
        theta_vec = jax.numpy.asarray([float(v) for v in theta])
        t = interleaved_medians({"end_to_end_grad": lambda: jax.block_until_ready(grad(theta_vec)),
                                 "corrfunc": corrfunc}, repeats)
        return dict(t, n_sel=n_sel, ratio=t["end_to_end_grad"] / t["corrfunc"])

    rec["wp_ratio_detail"] = _stage(rec, "wp_ratio", wp_ratio)
    return rec


def _run_child(box_size, args, workdir):
    out = os.path.join(workdir, f"scale-{box_size:g}.json")
    cmd = [sys.executable, os.path.abspath(__file__), "--child", f"{box_size:g}", "--workdir", workdir,
           "--repeats", str(args.repeats), "--tab-repeats", str(args.tab_repeats), "--nthreads", str(args.nthreads)]
    env = dict(os.environ, SHAMINFER_CACHE_DIR=os.path.join(workdir, "cache"))
    subprocess.run(cmd, check=True, env=env)
    with open(out) as f:
        return json.load(f)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=float, nargs="+", default=[175.0, 250.0, 400.0], help="box sides [Mpc/h]")
    ap.add_argument("--workdir", default=None, help="folder for the per-size results and caches (default: new "
                                                    "temporary folder)")
    ap.add_argument("--repeats", type=int, default=3, help="timed exact-engine and w_p/Corrfunc repeats")
    ap.add_argument("--tab-repeats", type=int, default=200)
    ap.add_argument("--nthreads", type=int, default=2, help="numba / Corrfunc threads of the w_p measure")
    ap.add_argument("--child", type=float, default=None, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    small = [s for s in args.sizes if s <= 2 * 40.0]
    if small:
        ap.error(f"--sizes: expected box sides above 80 Mpc/h (twice the w_p measure's pi_max = 40 Mpc/h), found "
                 f"{small}")
    workdir = args.workdir or tempfile.mkdtemp(prefix="shaminfer-scale-")
    os.makedirs(workdir, exist_ok=True)
    if args.child is not None:
        rec = measure(args.child, repeats=args.repeats, tab_repeats=args.tab_repeats, nthreads=args.nthreads)
        with open(os.path.join(workdir, f"scale-{args.child:g}.json"), "w") as f:
            json.dump(rec, f, indent=1)
        return rec

    results = [_run_child(size, args, workdir) for size in args.sizes]
    keys = {}
    for r in results:
        stages = " ".join(f"{s}={r[s]['s']:.2f}s/{r[s]['peak_gb']:.2f}GB" for s in STAGES)
        precompute = r["lensing"]["s"] + r["tables"]["s"]
        peak = max(r["lensing"]["peak_gb"], r["tables"]["peak_gb"])
        print(f"size {r['box_size']:g} n_mesh={r['n_mesh']} n_subhalos={r['n_subhalos']} n_particles="
              f"{r['n_particles']} n_profiles={r['n_profiles']} {stages} exact_grad_median_s="
              f"{r['exact_grad_detail']['median_s']:.3f} "
              f"tab_grad_median_ms={r['tab_grad_detail']['median_s'] * 1e3:.3f} "
              f"wp_n_sel={r['wp_ratio_detail']['n_sel']} wp_grad_s={r['wp_ratio_detail']['end_to_end_grad']:.3f} "
              f"corrfunc_s={r['wp_ratio_detail']['corrfunc']:.3f} peak_reset={r['lensing']['reset']}")
        tag = f"{r['box_size']:g}"
        keys[f"precompute_s_{tag}"] = f"{precompute:.1f}"
        keys[f"peak_gb_{tag}"] = f"{peak:.2f}"
        keys[f"tab_grad_ms_{tag}"] = f"{r['tab_grad_detail']['median_s'] * 1e3:.3f}"
        keys[f"exact_grad_over_corrfunc_{tag}"] = f"{r['wp_ratio_detail']['ratio']:.2f}"
    # the figures: 250 and 400 Mpc/h (or, in a quick run without them, the sizes run)
    head = [t for t in ("250", "400") if f"precompute_s_{t}" in keys] or [f"{r['box_size']:g}" for r in results]
    order = [k for t in head for k in (f"precompute_s_{t}", f"peak_gb_{t}")]
    order += [f"tab_grad_ms_{head[0]}", f"exact_grad_over_corrfunc_{head[0]}"]
    print(f"scale n_subhalos_max={max(r['n_subhalos'] for r in results)} " + " ".join(f"{k}={keys[k]}" for k in order))


if __name__ == "__main__":
    main()
