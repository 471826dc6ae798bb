"""Benchmark (issue 5): value plus full theta-gradient of w_p against one Corrfunc weighted pair count.

On the default catalog (``shaminfer.catalogs.synthetic_universe()``) and
SHAMNet at the fiducial theta, for stellar-mass threshold samples with about
5e4 and 2e5 subhalos of non-zero weight (the threshold is set from the
triweight supports ``mu + 3 sigma``), with w_p in 15 log bins over
0.1 < r_p < 20 Mpc/h and pi_max = 40 Mpc/h, this times (medians, interleaved
so that load on the machine hits all alike, ``--nthreads`` threads each):

* ``pairs``: value and full Jacobian (``jax.jit(jax.jacfwd)``, 4 theta
  components) of w_p as a function of the per-subhalo weights, which move with
  theta along their exact derivative ``dW = dw/dtheta`` (one (4, N) product):
  the numba neighbour-sum pass in its ``pure_callback``, the tangent
  ``2 dw @ G`` and the RR term of Eqs. 15-20. This is the cost the issue's
  goal is about (the reference makes 1 + 2 n_theta Corrfunc calls here);
* ``end_to_end``: the same through :func:`shaminfer.stats.make_predictor`
  from theta: SHAMNet and its derivatives on the subhalos whose weights need
  them (:mod:`shaminfer.stats.active_rows`), the triweight weights on all N,
  the pair pass and the tangent;
* ``end_to_end_grad``: ``jax.value_and_grad`` (reverse mode, as NUTS uses)
  of the scalar ``sum(w_p^2)`` through the same predictor;
* ``corrfunc``: one Corrfunc ``DDrppi`` (weight_type="pair_product") on the
  same non-zero-weight subhalos, weights and bins.

Finite differences: SHAMNet's SELU activations (Eq. D2) have kinks, so a
central difference in theta through the network converges only linearly in
the step (reported as ``fd_raw``). The check ``fd`` therefore differences the
predictor whose SMHM is SHAMNet linearized at theta (same value and same
derivative there, smooth): it tests every derivative downstream of SHAMNet
(weights, pair counts, custom_jvp, RR) against the end-to-end Jacobian, over
the entries at least 1e-3 of the largest of the same theta component. SHAMNet
moves log10 M* by up to ~20 dex per unit theta (its eigen-coordinates), so
truncation (~h^2) and round-off (~1/h) trade off at different steps for
different samples: each theta component is judged at the best of
``--fd-steps`` (all are printed, as ``fd_by_step``).

Run::

    JAX_ENABLE_X64=1 NUMBA_NUM_THREADS=2 .venv/bin/python benchmarks/stats_gradients.py

The last line reads ``stats_gradients wp_value_grad_over_corrfunc=<r> fd_max_rel_err=<e> n_sel=<n>``
with ``r`` the largest ``pairs / corrfunc`` ratio over the samples (``n`` its
sample size) and ``e`` the largest ``fd`` error; ``end_to_end_over_corrfunc``
is reported on the same line.
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

from shaminfer.catalogs import synthetic_universe  # noqa: E402
from shaminfer.ingredients import DEFAULT_SHAM_PARAMS, ShamParams  # noqa: E402
from shaminfer.stats import make_config, make_predictor, make_wp, neighbour_sums, threshold_sample  # noqa: E402
from shaminfer.stats.predict import resolve_smhm  # noqa: E402
from shaminfer.stats.weights import galaxy_logsm_pdf_params, sample_weights  # noqa: E402

RP_EDGES = np.logspace(-1.0, np.log10(20.0), 16)
PI_MAX = 40.0


def _load_net():
    """The shipped SHAMNet, or (when its weights are not there yet) a random one on the fiducial domain."""
    from shaminfer.shamnet import init_shamnet, load_shamnet, make_domain

    try:
        return load_shamnet(), "shipped"
    except ValueError as exc:
        print(f"# shipped SHAMNet weights unavailable ({exc}); using a random SHAMNet", file=sys.stderr)
        domain = make_domain(np.array([-2.30078377, -1.06006217]),
                             np.array([[1.19028605e-04, 4.65366606e-05], [4.65366606e-05, 1.33343374e-04]]))
        return init_shamnet(jax.random.PRNGKey(0), domain), "random-init"


def _fd_rel_errs(value_fn, jac, theta, step):
    """Largest relative error of central differences, per theta component, over the non-tiny entries."""
    errs = []
    for k in range(len(theta)):
        hi = [float(v) for v in theta]
        lo = list(hi)
        hi[k] += step
        lo[k] -= step
        fd = (np.asarray(value_fn(ShamParams(*hi))) - np.asarray(value_fn(ShamParams(*lo)))) / (2 * step)
        ad = np.asarray(jac[k])
        big = np.abs(ad) >= 1e-3 * np.abs(ad).max()
        errs.append(float(np.max(np.abs(fd[big] - ad[big]) / np.abs(ad[big]))))
    return np.array(errs)


def _value_and_jacfwd(fn):
    """jit of ``theta -> (jacobian, value)`` with one evaluation of ``fn`` (a second call would repeat the callback)."""
    def both(t):
        y = fn(t)
        return y, y

    return jax.jit(jax.jacfwd(both, has_aux=True))


def corrfunc_ddrppi(catalog, w, *, rp_edges=RP_EDGES, pi_max=PI_MAX, nthreads=2):
    """A no-argument callable: one Corrfunc ``DDrppi`` (``weight_type="pair_product"``, periodic) on the
    subhalos of non-zero weight ``w`` (N,), with their weights; and how many they are."""
    from Corrfunc.theory.DDrppi import DDrppi

    w = np.asarray(w, dtype=np.float64)
    sel = w != 0
    x, y, z = (np.ascontiguousarray(catalog.pos[sel, ax]) for ax in range(3))
    ws = np.ascontiguousarray(w[sel])
    rp_edges = np.asarray(rp_edges, dtype=np.float64)

    def call():
        DDrppi(1, nthreads, float(pi_max), rp_edges, x, y, z, weights1=ws, weight_type="pair_product", periodic=True,
               boxsize=float(catalog.box_size), verbose=False)

    return call, int(sel.sum())


def wp_scalar_value_and_grad(predictor):
    """``jax.jit(jax.value_and_grad)`` of ``sum(w_p^2)`` of the first sample, as a function of the theta vector
    (reverse mode, as NUTS uses)."""
    return jax.jit(jax.value_and_grad(lambda t: jnp.sum(predictor(ShamParams(*t)).wp[0] ** 2)))


def interleaved_medians(runs, repeats):
    """Median wall time [s] of each no-argument callable in ``runs`` (a dict), after one warm-up call each;
    the repeats are interleaved so that load on the machine hits all alike."""
    times = {k: [] for k in runs}
    for fn in runs.values():
        fn()
    for _ in range(repeats):
        for name, fn in runs.items():
            t0 = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - t0)
    return {k: float(np.median(v)) for k, v in times.items()}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n-sel", type=float, nargs="+", default=[5e4, 2e5], help="target non-zero-weight counts")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--nthreads", type=int, default=2)
    ap.add_argument("--fd-steps", type=float, nargs="+", default=[1e-4, 1e-5, 1e-6],
                    help="central-difference steps; each theta component is judged at its best step")
    ap.add_argument("--fd-raw-step", type=float, default=1e-6)
    args = ap.parse_args(argv)

    catalog = synthetic_universe()
    net, net_kind = _load_net()
    theta = DEFAULT_SHAM_PARAMS
    theta_vec = jnp.asarray([float(v) for v in theta])
    smhm, _ = resolve_smhm(net=net)
    logm = jnp.asarray(catalog.logmpeak)
    mu_jac, mu = _value_and_jacfwd(lambda t: smhm(ShamParams(*t), logm))(theta_vec)
    mu0 = np.asarray(mu)
    sigma0 = np.asarray(galaxy_logsm_pdf_params(theta, logm, smhm=smhm)[1])
    top = np.sort(mu0 + 3.0 * sigma0)

    def smhm_linearized(t, logmpeak):  # SHAMNet's value and derivative at theta, exactly; smooth elsewhere
        dt = jnp.stack([jnp.asarray(v) for v in t]) - theta_vec
        return mu + mu_jac @ dt

    print(f"# catalog {catalog!r}; SHAMNet {net_kind}; theta {tuple(round(float(v), 4) for v in theta)}; "
          f"nthreads {args.nthreads}")

    worst_ratio, worst_n, worst_fd, worst_e2e = 0.0, 0, 0.0, 0.0
    for target in args.n_sel:
        thr = float(top[max(catalog.n - int(target), 0)])
        cfg = make_config(samples=[threshold_sample(thr)], rp_edges=RP_EDGES, pi_max=PI_MAX, ds_rbins=())
        predictor = make_predictor(catalog, cfg, net=net, nthreads=args.nthreads)
        end_to_end = _value_and_jacfwd(lambda t: predictor(t).wp[0])
        jac, val = end_to_end(theta)

        weights_of = jax.jit(lambda t: sample_weights(*galaxy_logsm_pdf_params(ShamParams(*t), logm, smhm=smhm),
                                                      cfg.samples)[0])
        w0 = weights_of(theta_vec)
        dW = jax.jit(jax.jacfwd(weights_of))(theta_vec).T  # (4, N)
        wp_of_w = make_wp(catalog.pos, box_size=catalog.box_size, rp_edges=RP_EDGES, pi_max=PI_MAX,
                          nthreads=args.nthreads)
        pairs = _value_and_jacfwd(lambda t: wp_of_w(w0 + (t - theta_vec) @ dW))
        jac_pairs, _ = pairs(theta_vec)
        np.testing.assert_allclose(np.asarray(jac_pairs).T, np.stack([np.asarray(j) for j in jac]), rtol=1e-9,
                                   err_msg="pair-part Jacobian differs from the end-to-end one")

        w = np.asarray(w0)
        corrfunc, n_sel = corrfunc_ddrppi(catalog, w, nthreads=args.nthreads)
        scalar_grad = wp_scalar_value_and_grad(predictor)
        runs = {
            "pairs": lambda: jax.block_until_ready(pairs(theta_vec)),
            "end_to_end": lambda: jax.block_until_ready(end_to_end(theta)),
            "end_to_end_grad": lambda: jax.block_until_ready(scalar_grad(theta_vec)),
            "corrfunc": corrfunc,
            "kernel_only": lambda: neighbour_sums(catalog.pos, w, box_size=catalog.box_size, rp_edges=RP_EDGES,
                                                  pi_max=PI_MAX, nthreads=args.nthreads),
        }
        t = interleaved_medians(runs, args.repeats)
        ratio = t["pairs"] / t["corrfunc"]
        e2e = t["end_to_end"] / t["corrfunc"]
        e2e_grad = t["end_to_end_grad"] / t["corrfunc"]

        linear = make_predictor(catalog, cfg, smhm=smhm_linearized, nthreads=args.nthreads)
        linear_value = jax.jit(lambda t: linear(t).wp[0])
        by_step = np.stack([_fd_rel_errs(linear_value, jac, theta, h) for h in args.fd_steps])  # (nstep, 4)
        fd_err = float(by_step.min(axis=0).max())
        steps = ",".join(f"{h:g}:{e:.1e}" for h, e in zip(args.fd_steps, by_step.max(axis=1)))
        fd_raw = float(_fd_rel_errs(jax.jit(lambda t: predictor(t).wp[0]), jac, theta, args.fd_raw_step).max())
        print(f"sample log10M*>={thr:.4f} n_sel={n_sel} pairs_s={t['pairs']:.4f} end_to_end_s={t['end_to_end']:.4f} "
              f"corrfunc_ddrppi_s={t['corrfunc']:.4f} kernel_only_s={t['kernel_only']:.4f} "
              f"pairs_over_corrfunc={ratio:.3f} end_to_end_over_corrfunc={e2e:.3f} "
              f"end_to_end_grad_s={t['end_to_end_grad']:.4f} end_to_end_grad_over_corrfunc={e2e_grad:.3f} "
              f"kernel_over_corrfunc={t['kernel_only'] / t['corrfunc']:.3f} fd_max_rel_err={fd_err:.2e} "
              f"fd_by_step={steps} "
              f"fd_raw_max_rel_err(h={args.fd_raw_step:g})={fd_raw:.2e}")
        if ratio > worst_ratio:
            worst_ratio, worst_n = ratio, n_sel
        worst_fd = max(worst_fd, fd_err)
        worst_e2e = max(worst_e2e, e2e)
    print(f"stats_gradients wp_value_grad_over_corrfunc={worst_ratio:.3f} fd_max_rel_err={worst_fd:.2e} "
          f"n_sel={worst_n} end_to_end_over_corrfunc={worst_e2e:.3f}")


if __name__ == "__main__":
    main()
