"""Recovery benchmark (issue 6): the demo's full fit recovers theta_true with converged chains.

Runs what ``make demo`` runs for its full fit -- the mock of
:func:`shaminfer.app.demo.demo_configs` (noise-free, at
``DEMO_THETA_TRUE``, regularized jackknife covariance) and the SMF + w_p +
Delta Sigma fit with the preset's engine and sampler settings (``--engine``
and ``--num-samples`` override them) -- in its own run directory, from
scratch, and reports the headline diagnostics:

* ``rhat_max``: largest rank-normalized split R-hat over the 4 theta components;
* ``ess_bulk_min``: smallest bulk ESS;
* ``truth_in_95``: how many true parameters lie in the central 95% interval;
* ``divergences``: divergent transitions after warmup;
* ``seconds``: wall time of the fit (model set-up, Laplace start, warmup,
  sampling, per-draw predictions), the mock excluded (``mock_seconds``).

Goal: rhat_max <= 1.01, ess_bulk_min >= 400, truth_in_95 = 4/4, divergences = 0.

Run::

    JAX_ENABLE_X64=1 NUMBA_NUM_THREADS=2 .venv/bin/python benchmarks/recovery.py [--out DIR]
        [--engine exact|tabulated] [--num-samples N] [--shamnet WEIGHTS]

The last line reads ``recovery rhat_max=<r> ess_bulk_min=<e> truth_in_95=<k>/4 divergences=<d> seconds=<s>``.

``--model composed`` (issue 23): the 20-parameter likelihood of ``benchmarks/gradients_pay.py`` (the knot SMHM
with the scatter at Mpeak knots, sigmoid quenching (``--quenching knots``: the quenched fractions at mass knots,
the default of gradients_pay), and a shear bias ``m`` on Delta Sigma; SMF of all, red and blue
galaxies, w_p and Delta Sigma of >= 10.5 red, >= 10.5 blue and >= 11; noiseless mock from the exact engine at
the blocks' defaults and ``m = 0``; diagonal errors of 5% with the SMFs' Poisson errors in quadrature,
``gradients_pay.data_errors``), fitted through the package's own path
(``inference.model_prior(fit_blocks(...))``, ``build_model``, ``app.fit.run_fit``) on the tabulated engine,
in the demo's 40 Mpc/h box unless ``--box-size`` says otherwise. Goals: R-hat <= 1.01, bulk ESS >= 400,
no divergences, truth_in_95_frac >= 0.9, seconds <= 900 on 2 cores. Last line:
``recovery rhat_max=<r> ess_bulk_min=<e> divergences=<d> truth_in_95_frac=<f> seconds=<s> n_params=<n>``.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path


def main(argv=None) -> int:
    from shaminfer import configure_jax

    configure_jax()
    from shaminfer.app.config import load_fit_config, load_mock_config
    from shaminfer.app.demo import DEMO_THETA_TRUE, demo_configs
    from shaminfer.inference.diagnostics import convergence, format_convergence, theta_summary, truth_coverage
    from shaminfer.app.pipeline import run_fit_config, run_mock
    from shaminfer.app.toml_io import dumps_toml

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", type=Path, default=Path("runs/recovery"), help="run directory (default runs/recovery)")
    p.add_argument("--size", choices=("full", "small"), default="full")
    p.add_argument("--engine", default=None, help="forward-model engine of the fit (default: the demo's)")
    p.add_argument("--backend", choices=("numpyro", "blackjax"), default="numpyro")
    p.add_argument("--shamnet", default="", help="SHAMNet weights (default: the shipped ones)")
    p.add_argument("--num-samples", type=int, default=600, help="draws per chain (default 600, as the demo)")
    p.add_argument("--model", choices=("sham", "composed"), default="sham")
    p.add_argument("--box-size", type=float, default=40.0, help="(--model composed) synthetic universe [Mpc/h]")
    p.add_argument("--num-warmup", type=int, default=500, help="(--model composed) warm-up steps per chain")
    p.add_argument("--quenching", choices=("sigmoid", "knots"), default="sigmoid",
                   help="(--model composed) quenching parameterization: sigmoids (default) or fractions at mass knots")
    args = p.parse_args(argv)
    if args.model == "composed":
        return main_composed(args)

    out = args.out.resolve()
    out.mkdir(parents=True, exist_ok=True)
    extra = {} if args.engine is None else {"engine": args.engine}
    docs = demo_configs(size=args.size, backend=args.backend, shamnet=args.shamnet, progress_bar=False, **extra)
    engine = docs["mock"]["forward"]["engine"]
    if args.num_samples is not None:
        docs["fit_all"]["sampler"]["num_samples"] = args.num_samples
    for name in ("mock", "fit_all"):
        (out / f"{name}.toml").write_text(dumps_toml(docs[name]))
    t0 = time.perf_counter()
    run_mock(load_mock_config(out / "mock.toml"))
    mock_seconds = time.perf_counter() - t0
    cfg = load_fit_config(out / "fit_all.toml")
    t1 = time.perf_counter()
    result = run_fit_config(cfg, restart=True)
    seconds = time.perf_counter() - t1
    idata = result.idata
    conv = convergence(idata)
    cover = truth_coverage(idata, DEMO_THETA_TRUE)
    print(theta_summary(idata).to_string())
    print(format_convergence(conv))
    print("theta_true " + " ".join(f"{k}={v:.5g}" for k, v in DEMO_THETA_TRUE._asdict().items()))
    print("in central 95%: " + " ".join(f"{k}={'yes' if v else 'NO'}" for k, v in cover.items()))
    print(f"engine={engine} backend={args.backend} chains={cfg.sampler.num_chains} "
          f"warmup={cfg.sampler.num_warmup} draws={cfg.sampler.num_samples} "
          f"warmup_seconds={idata.attrs['warmup_seconds']:.1f} sampling_seconds={idata.attrs['sampling_seconds']:.1f} "
          f"mock_seconds={mock_seconds:.1f}")
    print(f"recovery rhat_max={conv.rhat_max:.4f} ess_bulk_min={conv.ess_bulk_min:.0f} "
          f"truth_in_95={sum(cover.values())}/4 divergences={conv.divergences} seconds={seconds:.1f}")
    return 0


def main_composed(args) -> int:
    """``--model composed``: see the module docstring."""
    import os

    import numpy as np

    from shaminfer.app.fit import run_fit
    from shaminfer.inference import (DeltaSigmaTerm, SamplerSettings, SMFColorTerm, SMFTerm, WpTerm, build_model,
                                     fit_blocks, model_prior, with_shear_bias)
    from shaminfer.inference.diagnostics import convergence, format_convergence, theta_summary, truth_coverage
    from shaminfer.stats import make_predictor

    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from gradients_pay import SHEAR_PRIOR, data_errors, setup_catalog

    catalog, config, model = setup_catalog(args.box_size, quenching_kind=args.quenching)
    t0 = time.perf_counter()
    truth = model.defaults()
    pred = make_predictor(catalog, config, model=model)(truth)
    tab = make_predictor(catalog, config, model=model, engine="tabulated")
    build_seconds = time.perf_counter() - t0

    # the benchmark's diagonal errors, in the order of gradients_pay._flat: SMF, SMF per color, w_p, Delta Sigma
    err = iter(np.split(np.asarray(data_errors(pred, config, catalog.box_size)),
                        np.cumsum([np.size(pred.smf)] + [np.size(c) for c in pred.smf_color] + [np.size(pred.wp)])))

    def cov(y):
        e = next(err)
        assert e.size == np.size(y)
        return np.diag(e ** 2)

    terms = [SMFTerm(pred.smf, cov(pred.smf))]
    terms += [SMFColorTerm(pred.smf_color[i], cov(pred.smf_color[i]), color_index=i, name=f"smf_{c}")
              for i, c in enumerate(config.smf_colors)]
    terms += [WpTerm(pred.wp, cov(pred.wp), samples=[0, 1, 2]),
              with_shear_bias(DeltaSigmaTerm(pred.delta_sigma, cov(pred.delta_sigma), samples=[0, 1, 2]),
                              prior=SHEAR_PRIOR)]
    prior = model_prior(fit_blocks(model, terms))
    theta_true = {**truth._asdict(), "m": 0.0}
    settings = SamplerSettings(num_chains=4, num_warmup=args.num_warmup, num_samples=args.num_samples,
                               chunk_size=args.num_samples, seed=0, progress_bar=False)
    out = args.out.resolve()
    t1 = time.perf_counter()
    result = run_fit(build_model(tab, terms, prior), settings, out, restart=True,
                     attrs={"theta_true": [theta_true[k] for k in prior.names]},
                     log=lambda m: print(m, file=sys.stderr, flush=True))
    seconds = time.perf_counter() - t1
    idata = result.idata
    conv = convergence(idata)
    cover = truth_coverage(idata, theta_true)
    print(theta_summary(idata).to_string())
    print(format_convergence(conv))
    print("not in central 95%: " + (" ".join(k for k, v in cover.items() if not v) or "none"))
    print(f"catalog {catalog.n} subhalos, {catalog.box_size} Mpc/h; engines built in {build_seconds:.1f} s; "
          f"chains=4 warmup={args.num_warmup} draws={args.num_samples} "
          f"warmup_seconds={idata.attrs['warmup_seconds']:.1f} sampling_seconds={idata.attrs['sampling_seconds']:.1f}")
    print(f"recovery rhat_max={conv.rhat_max:.4f} ess_bulk_min={conv.ess_bulk_min:.0f} divergences={conv.divergences} "
          f"truth_in_95_frac={sum(cover.values()) / len(cover):.2f} seconds={seconds:.1f} n_params={prior.ndim}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
