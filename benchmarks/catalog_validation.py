"""Validate the SYNTHETIC default universe against the properties SHAM predictions rely on (issue 4).

Builds ``synthetic_universe(seed=0)`` from scratch (no cache) and measures

* ``shmf_chi2_per_dof``: the catalog's cumulative Mpeak function against
  App. A, ``sum_i (N_obs(>m_i) - V N_h(>m_i))^2 / (V N_h(>m_i))`` over the
  thresholds ``m_i = 11.0, 11.25, ..., 14.5`` with expected count >= 5 (Poisson
  errors), divided by their number (goal <= 1.5);
* ``bias_ratio``: ``w_p(Mpeak > 1e13) / w_p(1e11.5 <= Mpeak < 1e12)`` summed over
  ``5 <= r_p < 10`` Mpc/h (Corrfunc, pi_max = 40 Mpc/h, z line of sight; goal > 1.5);
* ``nfw_ds_ratio``: the stacked per-object Delta Sigma (App. F, Eq. F4) of
  centrals with ``13.5 <= log10 Mpeak < 14`` in the annuli centred in
  0.2-0.5 Mpc/h, divided by the annulus-averaged Delta Sigma of the truncated
  NFW spheres the generator put there (same masses, R_200m and
  concentrations; goal 0.85-1.15);
* ``gen_seconds``: wall time of the whole build (masses, field, particles and
  the lensing profiles).

Run: ``NUMBA_NUM_THREADS=2 JAX_ENABLE_X64=1 nice -n 10 .venv/bin/python benchmarks/catalog_validation.py``
"""
from __future__ import annotations

import time

import numpy as np


def main() -> None:
    from Corrfunc.theory import wp

    from shaminfer.catalogs import synthetic_universe
    from shaminfer.catalogs.cosmology import halo_bias, halo_concentration
    from shaminfer.catalogs.nfw import nfw_delta_sigma_annulus, radius_200m
    from shaminfer.catalogs.synthetic import DEFAULT_UNIVERSE_PARAMS as cat_params
    from shaminfer.catalogs.synthetic import _draw_logmpeak
    from shaminfer.ingredients import DEFAULT_SHMF_PARAMS, cumulative_shmf

    t0, c0 = time.perf_counter(), time.process_time()
    cat = synthetic_universe(seed=0, cache=False, progress=False)
    gen_seconds = time.perf_counter() - t0
    print(cat)
    print(f"  build: {gen_seconds:.1f} s wall, {time.process_time() - c0:.1f} s CPU (all threads)")
    print(f"  generation {cat.meta['generation_seconds']:.1f} s + lensing profiles {cat.meta['profile_seconds']:.1f} s")

    # --- cumulative mass function vs App. A
    thresholds = np.arange(11.0, 14.5001, 0.25)
    expected = cat.volume * np.asarray(cumulative_shmf(DEFAULT_SHMF_PARAMS, thresholds, cat.redshift))
    observed = np.array([(cat.logmpeak >= m).sum() for m in thresholds])
    use = expected >= 5
    chi2 = np.sum((observed[use] - expected[use]) ** 2 / expected[use])
    shmf_chi2_per_dof = chi2 / use.sum()
    for m, o, e in zip(thresholds[use], observed[use], expected[use]):
        print(f"  N(>10^{m:.2f}) = {o:7d}  App. A {e:10.1f}  pull {(o - e) / np.sqrt(e):+.2f}")
    # the cumulative counts are correlated; the same comparison in independent 0.25-dex bins, for reference
    o_bin, e_bin = -np.diff(observed[use]), -np.diff(expected[use])
    print(f"  independent-bin chi2/dof = {np.sum((o_bin - e_bin) ** 2 / e_bin) / o_bin.size:.3f} ({o_bin.size} bins)")
    # calibration: the same statistics for the mass sampler alone over 100 other seeds
    cum, ind = [], []
    for seed in range(1, 101):
        m = _draw_logmpeak(np.random.default_rng(seed), cat_params)
        o = np.array([(m >= t).sum() for t in thresholds[use]])
        cum.append(np.mean((o - expected[use]) ** 2 / expected[use]))
        ind.append(np.mean((-np.diff(o) - e_bin) ** 2 / e_bin))
    cum, ind = np.array(cum), np.array(ind)
    print(f"  mass sampler over 100 seeds: cumulative chi2/dof median {np.median(cum):.2f}, mean {cum.mean():.2f}, "
          f"P(>1.5) = {np.mean(cum > 1.5):.2f}; independent-bin chi2/dof mean {ind.mean():.2f}, "
          f"P(>2.1) = {np.mean(ind > 2.1):.2f}")

    # --- mass-dependent clustering
    rp_edges = np.array([5.0, 6.0, 7.0, 8.5, 10.0])
    x, y, z = (np.ascontiguousarray(cat.pos[:, a]) for a in range(3))
    hi = cat.logmpeak >= 13.0
    lo = (cat.logmpeak >= 11.5) & (cat.logmpeak < 12.0)
    wps = {}
    for name, sel in (("hi", hi), ("lo", lo)):
        res = wp(cat.box_size, 40.0, 2, rp_edges, x[sel], y[sel], z[sel], verbose=False)
        wps[name] = np.asarray(res["wp"], dtype=float)
    bias_ratio = wps["hi"].sum() / wps["lo"].sum()
    b_hi = np.mean(halo_bias(cat.logmpeak[hi], cat.redshift))
    b_lo = np.mean(halo_bias(cat.logmpeak[lo], cat.redshift))
    print(f"  w_p(>1e13) = {np.round(wps['hi'], 2)}  w_p(1e11.5-1e12) = {np.round(wps['lo'], 2)}  "
          f"(N = {hi.sum()}, {lo.sum()}; mean Tinker10 bias {b_hi:.2f}, {b_lo:.2f}; b^2 ratio {b_hi**2 / b_lo**2:.2f})")

    # --- stacked lensing of massive hosts vs the NFW spheres that were put in
    lens = cat.lensing
    logm_l = cat.logmpeak[lens.index]
    central = cat.is_central[lens.index]
    stack = central & (logm_l >= 13.5) & (logm_l < 14.0)
    rmid = lens.rmid
    rsel = (rmid >= 0.2) & (rmid <= 0.5)
    ds_stack = lens.delta_sigma[stack].mean(axis=0)
    m = logm_l[stack]
    rho_m = float(cat.meta["rho_m"])
    ds_nfw = nfw_delta_sigma_annulus(lens.rbins, 10.0**m, radius_200m(m, rho_m),
                                     halo_concentration(m, cat.redshift)).mean(axis=0)
    nfw_ds_ratio = ds_stack[rsel].sum() / ds_nfw[rsel].sum()
    print(f"  {stack.sum()} hosts in 1e13.5-1e14: R = {np.round(rmid[rsel], 3)} Mpc/h, "
          f"stacked {np.round(ds_stack[rsel], 2)}, NFW {np.round(ds_nfw[rsel], 2)} h Msun/pc^2")

    print(f"catalog_validation shmf_chi2_per_dof={shmf_chi2_per_dof:.3f} bias_ratio={bias_ratio:.3f} "
          f"nfw_ds_ratio={nfw_ds_ratio:.3f} gen_seconds={gen_seconds:.1f}")


if __name__ == "__main__":
    main()
