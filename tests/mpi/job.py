"""The distributed computations that tests/test_parallel.py runs under ``mpirun -n K`` and checks.

``python tests/mpi/job.py OUT.npz [--case CASE]``. Case "all" (default)
computes, through the ordinary public calls, the lensing profiles of a catalog
read from HDF5 in slabs, the tabulated engine's tables, the exact engine's
likelihood and gradient, the tabulated engine's likelihood and gradient and
the jackknife predictions, and writes them to OUT.npz (rank 0 alone writes).
:func:`compute` is also what the serial reference runs. Other cases exercise
the failure paths: "files" (rank 1 reads another catalog file), "disagree"
(rank 1 changes its catalog after reading it), "ghost" (a
ghost zone wider than half a slab), "die" (rank 1 exits in the middle).
"""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import numpy as np

CATALOG_NAME = "catalog.h5"
OTHER_NAME = "other.h5"


def config():
    from shaminfer.stats import make_config, threshold_sample

    return make_config(smf_edges=np.linspace(9.5, 11.0, 7), samples=[threshold_sample(10.2), threshold_sample(10.6)],
                       rp_edges=np.logspace(-0.5, 1.0, 6), pi_max=15.0)


def theta():
    from shaminfer.ingredients import ShamParams

    return ShamParams(logphi_star=float(np.log10(0.005)), alpha=-1.07, sigma_lo=0.35, sigma_hi=0.22)


def _scalar(pred):
    return pred.smf.sum() + pred.wp.sum() + pred.delta_sigma.sum()


def compute(catalog) -> dict:
    """Every distributed quantity, from ``catalog`` (its particles may be one rank's slab)."""
    import jax
    import jax.numpy as jnp

    from shaminfer.app.forward import jackknife_predictions
    from shaminfer.catalogs import lensing_profiles
    from shaminfer.stats import make_predictor

    cfg = config()
    th = theta()
    prof = lensing_profiles(catalog, cache=False, progress=False)
    cat = catalog.replace(lensing=prof, particle_pos=None, particle_mass=None, particle_region=None)
    out = dict(lensing_index=prof.index, lensing_delta_sigma=prof.delta_sigma)
    exact = make_predictor(cat, cfg, engine="exact")
    loss = jax.value_and_grad(lambda t: _scalar(exact(t)))
    value, grad = loss(th)
    out.update(exact_value=np.asarray(value), exact_grad=np.asarray(jnp.stack(list(grad))),
               exact_wp=np.asarray(exact(th).wp))
    tab = make_predictor(cat, cfg, engine="tabulated", cache=False)
    tvalue, tgrad = jax.value_and_grad(lambda t: _scalar(tab(t)))(th)
    out.update(tab_value=np.asarray(tvalue), tab_grad=np.asarray(jnp.stack(list(tgrad))))
    out.update(table_pair=tab.tables.pair, table_profile_sum=tab.tables.profile_sum)
    jk = jackknife_predictions(cat, cfg, th, n_side=2)
    out.update(jackknife_wp=np.stack([p.wp for p in jk]), jackknife_ds=np.stack([p.delta_sigma for p in jk]))
    return out


def main(argv=None) -> int:
    from shaminfer import configure_jax, parallel
    from shaminfer._atomic import atomic_write
    from shaminfer.catalogs import load_catalog

    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--case", default="all", choices=["all", "files", "disagree", "ghost", "die"])
    args = ap.parse_args(argv)
    configure_jax()
    comm = parallel.world()
    out = Path(args.out)
    path = out.parent / CATALOG_NAME
    if args.case == "ghost":
        load_catalog(path, particle_ghost=20.0)  # slabs 25 Mpc/h wide at 2 ranks: a ghost zone over half of one
        return 0
    if args.case == "files" and parallel.rank() == 1:
        path = out.parent / OTHER_NAME
    catalog = load_catalog(path)
    if args.case == "disagree" and parallel.rank() == 1:
        catalog = catalog.replace(pos=np.mod(catalog.pos + 0.5, catalog.box_size))
    if args.case == "die" and parallel.rank() == 1:
        os._exit(7)
    results = compute(catalog)
    results.update(n_particles=np.asarray(comm.allgather(catalog.particle_pos.shape[0])),
                   particle_region=np.asarray(catalog.particle_region, dtype=np.float64))
    atomic_write(out, lambda tmp: np.savez(tmp, **results))
    # a second file that every rank writes under its own name: only rank 0's may land
    atomic_write(out.parent / f"written_by_rank{parallel.rank()}.txt",
                 lambda tmp: Path(tmp).write_text(str(parallel.rank())))
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
    from shaminfer.parallel import abort_on_error

    sys.exit(abort_on_error(main)())
