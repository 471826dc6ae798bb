"""Benchmark (issue 23, item 5, exact engine): a likelihood gradient's cost does not grow with the parameters.

On the default catalog (``synthetic_universe()``, 175 Mpc/h) this times, with
``jax.jit(jax.value_and_grad)`` of the scalar ``sum(w_p) + sum(SMF)`` (reverse
mode, as NUTS uses), medians over ``--repeats`` calls interleaved so machine
load hits all alike:

* ``sham``: the paper's model, 4 parameters (SHAMNet, the bare network);
* ``composed``: ``parametric + sm_offset + quenching + disruption``, 24 parameters;

both with the threshold sample log10 M* >= 10.5 in all, red and blue for the
composed model (all only for SHAM), w_p in 15 log bins over 0.1-20 Mpc/h,
pi_max = 40 Mpc/h, and the SMF in 25 bins; and one Corrfunc ``DDrppi``
(``weight_type="pair_product"``) on the subhalos of non-zero weight of one
sample (the composed model's "all" sample at its defaults). Pair passes of
the gradient are counted by wrapping the exact engine's callbacks.

Run::

    JAX_ENABLE_X64=1 NUMBA_NUM_THREADS=2 .venv/bin/python benchmarks/model_gradients.py

Last line: ``model_gradients n_params=<> composed_value_grad_s=<> sham_value_grad_s=<>
composed_over_corrfunc_per_sample=<> pair_passes_per_sample=<>``.
"""
from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("JAX_ENABLE_X64", "1")

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402

from shaminfer import DEFAULT_SHAM_PARAMS, configure_jax  # noqa: E402

configure_jax()

from shaminfer.catalogs import synthetic_universe  # noqa: E402
from shaminfer.galaxy_halo import compose, disruption, parametric, quenching, stellar_mass_offset  # noqa: E402
from shaminfer.stats import clustering, corrfunc_pair_counts, make_config, make_predictor, threshold_sample  # noqa: E402
from shaminfer.stats.predict import population_factor  # noqa: E402
from shaminfer.stats.weights import sample_weights  # noqa: E402
from shaminfer.galaxy_halo import bind_catalog  # noqa: E402


def main(argv=None) -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--nthreads", type=int, default=2)
    a = p.parse_args(argv)
    cat = synthetic_universe(seed=0)
    rp = np.logspace(-1.0, np.log10(20.0), 16)
    smf = np.linspace(9.0, 11.5, 26)
    model = compose(parametric(), quenching(), disruption(), stellar_mass_offset())
    cfg_c = make_config(smf_edges=smf, rp_edges=rp, pi_max=40.0,
                        samples=tuple(threshold_sample(10.5, color=c) for c in ("all", "red", "blue")), ds_rbins=())
    cfg_s = make_config(smf_edges=smf, rp_edges=rp, pi_max=40.0, samples=(threshold_sample(10.5),), ds_rbins=())
    pred_c = make_predictor(cat, cfg_c, model=model, nthreads=a.nthreads)
    pred_s = make_predictor(cat, cfg_s, nthreads=a.nthreads)
    theta_c = jnp.asarray(model.defaults())
    theta_s = jnp.asarray(DEFAULT_SHAM_PARAMS)

    def loss_c(v):
        out = pred_c(model.params_type(*v))
        return jnp.sum(out.wp) + jnp.sum(out.smf)

    def loss_s(v):
        out = pred_s(type(DEFAULT_SHAM_PARAMS)(*v))
        return jnp.sum(out.wp) + jnp.sum(out.smf)

    vg_c, vg_s = jax.jit(jax.value_and_grad(loss_c)), jax.jit(jax.value_and_grad(loss_s))
    counts = {"pairs": 0, "sums": 0}
    orig_pairs, orig_sums = clustering.pair_counts, clustering.neighbour_sums

    def counted(name, fn):
        def wrapper(*args, **kw):
            counts[name] += 1
            return fn(*args, **kw)
        return wrapper

    clustering.pair_counts, clustering.neighbour_sums = counted("pairs", orig_pairs), counted("sums", orig_sums)
    try:
        jax.block_until_ready(vg_c(theta_c))  # compile
        jax.block_until_ready(vg_s(theta_s))
        counts.update(pairs=0, sums=0)
        jax.block_until_ready(vg_c(theta_c))
        passes = (counts["pairs"] + counts["sums"]) / len(cfg_c.samples)
    finally:
        clustering.pair_counts, clustering.neighbour_sums = orig_pairs, orig_sums
    pop = model.population(model.defaults(), bind_catalog(model, cat))
    w = np.asarray(sample_weights(pop.mu, pop.sigma, cfg_c.samples[:1])[0] * population_factor(pop, "all"))
    sel = w > 0
    times = {"composed": [], "sham": [], "corrfunc": []}
    for _ in range(a.repeats):
        t = time.perf_counter(); jax.block_until_ready(vg_c(theta_c)); times["composed"].append(time.perf_counter() - t)
        t = time.perf_counter(); jax.block_until_ready(vg_s(theta_s)); times["sham"].append(time.perf_counter() - t)
        t = time.perf_counter()
        corrfunc_pair_counts(cat.pos[sel], w[sel], box_size=cat.box_size, rp_edges=rp, pi_max=40.0,
                             nthreads=a.nthreads)
        times["corrfunc"].append(time.perf_counter() - t)
    med = {k: float(np.median(v)) for k, v in times.items()}
    print(f"n_sel={int(sel.sum())} of {sel.size}; medians [s]: {med}; pair passes in one value+grad: "
          f"{counts['pairs']} value + {counts['sums']} neighbour-sum for {len(cfg_c.samples)} samples")
    print(f"model_gradients n_params={len(model.fields)} composed_value_grad_s={med['composed']:.3f} "
          f"sham_value_grad_s={med['sham']:.3f} "
          f"composed_over_corrfunc_per_sample={med['composed'] / len(cfg_c.samples) / med['corrfunc']:.2f} "
          f"pair_passes_per_sample={passes:.0f}")


if __name__ == "__main__":
    main()
