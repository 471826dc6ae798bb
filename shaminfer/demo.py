"""``make demo``: the main job on the embedded default data.

Writes under ``--out`` (default ``runs/demo``):

* ``mass_functions.csv`` / ``mass_functions.png``: the App. A subhalo mass
  function, the target Schechter SMF (Eq. 3) and the App. B SMF predicted from
  SHAMNet's SMHM with scatter, for the default theta, plus the SMFs of one
  three-roll SMHM with several scatters (Fig. 2's behaviour);
* the end-to-end job of :func:`shaminfer.inference.demo.run_demo` (unless
  ``--mass-functions-only``): a mock of the SMF, w_p and Delta Sigma of three
  threshold samples on the embedded synthetic universe at a documented
  theta_true, NUTS fits of the SMF alone and of SMF + w_p + Delta Sigma with the
  tabulated engine, and their comparison (``fit_smf/``, ``fit_all/``,
  ``compare/``, ``demo_summary.json``).
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

__all__ = ["mass_function_summary", "main"]


def mass_function_summary(out_dir) -> dict:
    """Compute, print, tabulate and plot the mass functions; returns the arrays written."""
    import jax
    import jax.numpy as jnp
    import numpy as np

    from .ingredients import (
        DEFAULT_SHAM_PARAMS,
        DEFAULT_SHMF_PARAMS,
        DEFAULT_SMHM_PARAMS,
        ScatterParams,
        analytic_smf,
        cumulative_shmf,
        differential_shmf,
        scatter_dex,
        scatter_of,
        schechter_of,
        schechter_smf,
        three_roll_smhm,
    )
    from .shamnet import load_kernel, predict_logsm

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    theta = DEFAULT_SHAM_PARAMS
    logmh = jnp.linspace(10.0, 15.5, 56)
    logsm = jnp.linspace(9.0, 12.0, 61)
    cum = lambda m: cumulative_shmf(DEFAULT_SHMF_PARAMS, m)
    kernel = load_kernel()
    target = schechter_smf(schechter_of(theta), logsm)
    shamnet_smf = analytic_smf(
        lambda m: predict_logsm(theta, m), lambda m: scatter_dex(scatter_of(theta), m), cum, logsm, kernel=kernel
    )
    scatters = (0.0001, 0.2, 0.4)
    three_roll = [
        analytic_smf(
            lambda m: three_roll_smhm(DEFAULT_SMHM_PARAMS, m), lambda m, s=s: scatter_dex(ScatterParams(s, s), m), cum, logsm
        )
        for s in scatters
    ]
    cols = {
        "logsm": logsm,
        "phi_target_schechter": target,
        "phi_shamnet_with_scatter": shamnet_smf,
        **{f"phi_three_roll_sigma{s:g}": p for s, p in zip(scatters, three_roll)},
    }
    table = np.column_stack([np.asarray(v) for v in cols.values()])
    _atomic_savetxt(out / "mass_functions.csv", table, header=",".join(cols))
    shmf_table = np.column_stack([np.asarray(logmh), np.asarray(cum(logmh)), np.asarray(differential_shmf(DEFAULT_SHMF_PARAMS, logmh))])
    _atomic_savetxt(out / "subhalo_mass_function.csv", shmf_table, header="logmpeak,N_cumulative,dn_dlogmpeak")

    resid = np.log10(np.asarray(shamnet_smf) / np.asarray(target))
    print(f"theta = {dict(theta._asdict())}")
    print("log10 Mpeak   N(>Mpeak) [(Mpc/h)^-3]")
    for m, n in zip(np.asarray(logmh)[::10], np.asarray(cum(logmh))[::10]):
        print(f"  {m:6.2f}      {n:.3e}")
    print("log10 M*   target SMF   SHAMNet SMF   log10 ratio")
    for i in range(0, len(logsm), 10):
        print(f"  {float(logsm[i]):5.2f}    {float(target[i]):.3e}    {float(shamnet_smf[i]):.3e}    {resid[i]:+.4f}")
    print(f"SHAMNet SMF vs target: max |log10 ratio| = {np.max(np.abs(resid)):.4f} dex over 9 < log10 M* < 12")
    _plot(out / "mass_functions.png", logmh, cum(logmh), logsm, target, shamnet_smf, scatters, three_roll)
    print(f"wrote {out / 'mass_functions.csv'}, {out / 'subhalo_mass_function.csv'}, {out / 'mass_functions.png'}")
    return cols


def _atomic_savetxt(path: Path, table, *, header: str) -> None:
    import io

    import numpy as np

    from ._atomic import atomic_write_text

    buf = io.StringIO()
    np.savetxt(buf, table, delimiter=",", header=header, comments="")
    atomic_write_text(path, buf.getvalue())


def _plot(path, logmh, cum, logsm, target, shamnet_smf, scatters, three_roll) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    fig, ax = plt.subplots(1, 2, figsize=(10, 4))
    ax[0].semilogy(np.asarray(logmh), np.asarray(cum))
    ax[0].set_xlabel(r"$\log_{10} M_{\rm peak}\ [M_\odot/h]$")
    ax[0].set_ylabel(r"$N(>M_{\rm peak})\ [(h^{-1}{\rm Mpc})^{-3}]$")
    ax[0].set_title("Subhalo mass function (App. A)")
    ax[1].semilogy(np.asarray(logsm), np.asarray(target), "k-", lw=2, label="target Schechter (Eq. 3)")
    ax[1].semilogy(np.asarray(logsm), np.asarray(shamnet_smf), "C3--", label="SHAMNet SMHM + scatter (App. B)")
    for s, p in zip(scatters, three_roll):
        ax[1].semilogy(np.asarray(logsm), np.asarray(p), lw=1, alpha=0.8, label=rf"three-roll SMHM, $\sigma$={s:g}")
    ax[1].set_ylim(1e-8, 1e-1)
    ax[1].set_xlabel(r"$\log_{10} M_\star\ [M_\odot]$")
    ax[1].set_ylabel(r"$\phi(M_\star)$ [dex$^{-1}$ vol$^{-1}$]")
    ax[1].legend(fontsize=7)
    ax[1].set_title("Stellar mass functions")
    fig.tight_layout()
    from ._atomic import atomic_path

    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=110)
    plt.close(fig)


def main(argv=None) -> int:
    from . import configure_jax

    configure_jax()
    p = argparse.ArgumentParser(prog="python -m shaminfer.demo", description=__doc__.splitlines()[0])
    p.add_argument("--out", default="runs/demo")
    p.add_argument("--mass-functions-only", action="store_true")
    p.add_argument("--size", choices=("full", "small"), default="full")
    p.add_argument("--engine", choices=("tabulated", "exact"), default="tabulated",
                   help="forward-model engine of the fits (the mock always uses the exact engine)")
    p.add_argument("--backend", choices=("numpyro", "blackjax"), default="numpyro")
    args = p.parse_args(argv)
    mass_function_summary(Path(args.out) / "mass_functions")
    if not args.mass_functions_only:
        from .inference.demo import run_demo

        res = run_demo(args.out, size=args.size, engine=args.engine, backend=args.backend, progress_bar=sys.stderr.isatty())
        fits = res.summary["fits"]
        for name, f in fits.items():
            c = f["convergence"]
            print(f"{name}: R-hat max {c['rhat_max']:.3f}, ESS bulk min {c['ess_bulk_min']:.0f}, divergences "
                  f"{c['divergences']}, theta_true inside the 95% interval: {f['coverage_95']}")
        print(f"demo finished in {res.summary['seconds']['total']:.0f} s; outputs under {Path(args.out).resolve()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
