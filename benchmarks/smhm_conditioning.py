"""Benchmark (issue 23): how well the data pin each stellar-mass kernel's parameters (Fisher conditioning).

On the likelihood of ``benchmarks/gradients_pay.py`` (demo's 40 Mpc/h box by default, SMF of all, red and blue
galaxies, w_p and Delta Sigma of three samples, 5% diagonal errors, data from the exact engine at the blocks'
defaults), for the model ``kernel + quenching`` plus the shear bias ``m`` with ``kernel`` the App. C three-roll
SMHM (``parametric()``) or the knot SMHM (``knots()``): the Gauss-Newton Fisher matrix ``J^T J`` of the
whitened residuals in the unit coordinates of the parameters' default prior ranges (u in (-1, 1)^20), its
eigenvalue range and condition number, and each parameter's Fisher standard deviation in u (above 1: the data
leave it as wide as its prior). A condition number near 1e14 means near-exact trade-offs between parameters:
a thin ridge that samplers cross slowly.

Run::

    JAX_ENABLE_X64=1 .venv/bin/python benchmarks/smhm_conditioning.py

Last line: ``smhm_conditioning parametric_cond=<c> knots_cond=<c> parametric_wide=<n> knots_wide=<n>``
(``wide``: parameters whose Fisher standard deviation in u exceeds 1).
"""
from __future__ import annotations

import argparse
import os
import sys

os.environ.setdefault("JAX_ENABLE_X64", "1")

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402

from shaminfer import configure_jax  # noqa: E402

configure_jax()
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from gradients_pay import _flat, prior_ranges, setup_catalog  # noqa: E402
from hmc_vs_mcmc import _log  # noqa: E402


def fisher(catalog, config, model, frac_err):
    """Fisher matrix in the unit coordinates of the prior ranges, and the parameter names (model fields + m)."""
    from shaminfer.stats import make_predictor

    tab = make_predictor(catalog, config, model=model, engine="tabulated")
    truth = model.defaults()
    data = _flat(make_predictor(catalog, config, model=model)(truth), 0.0)
    err = frac_err * jnp.abs(data)
    ranges = prior_ranges(model)
    names = tuple(model.fields) + ("m",)
    lo = jnp.asarray([ranges[f][0] for f in names])
    hi = jnp.asarray([ranges[f][1] for f in names])

    def resid(u):
        v = lo + 0.5 * (u + 1.0) * (hi - lo)
        return (_flat(tab(model.params_type(*v[:-1])), v[-1]) - data) / err

    u0 = 2.0 * (jnp.asarray(list(truth) + [0.0]) - lo) / (hi - lo) - 1.0
    jac = np.asarray(jax.jacfwd(resid)(u0))
    return jac.T @ jac, names


def main(argv=None):
    from shaminfer.galaxy_halo import compose, knots, parametric, quenching

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--box-size", type=float, default=40.0)
    ap.add_argument("--frac-err", type=float, default=0.05)
    args = ap.parse_args(argv)
    catalog, config, _ = setup_catalog(args.box_size)
    out = {}
    for name, kernel in (("parametric", parametric), ("knots", knots)):
        f, names = fisher(catalog, config, compose(kernel(), quenching()), args.frac_err)
        eig = np.linalg.eigvalsh(f)
        sd = np.sqrt(np.diag(np.linalg.pinv(f)))
        wide = [n for n, s in zip(names, sd) if s > 1.0]
        out[name] = (eig.max() / eig.min(), wide)
        _log(f"{name}: eigenvalues {eig.min():.3g} .. {eig.max():.3g}; Fisher sd in u: "
             + " ".join(f"{n}={s:.2f}" for n, s in zip(names, sd)))
        _log(f"{name}: as wide as the prior: {wide}")
    print(f"smhm_conditioning parametric_cond={out['parametric'][0]:.2e} knots_cond={out['knots'][0]:.2e} "
          f"parametric_wide={len(out['parametric'][1])} knots_wide={len(out['knots'][1])}")
    return out


if __name__ == "__main__":
    main()
