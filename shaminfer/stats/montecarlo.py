"""The conventional Monte Carlo SHAM of Sec. 4.1, for comparisons with the exact predictions.

One realization draws log10 M* for every subhalo from its kernel (the
triweight of App. E, or a Gaussian) around ``mu = <log10 M* | Mpeak>`` with
width ``sigma(Mpeak)`` (Eqs. 4-5), then

* SMF: a histogram of the drawn masses over ``V dlog10M*`` (Sec. 4.1);
* w_p: Corrfunc's ``wp`` on the galaxies in the sample (hard cuts; its
  ``RR = n (n - 1) V_i / V`` is Eq. 15 with 0/1 weights);
* Delta Sigma: the plain average of the profiles of the selected galaxies
  that have one (Eq. 10).

The exact predictions of :mod:`shaminfer.stats.predict` are the expectation
of these estimators up to O(1/n) ratio bias: ``E[hist] = sum_a w_a`` and,
for the pair counts, ``E[DD] = sum_{a != b} w_a w_b S`` and
``E[n (n - 1)] = (sum w)^2 - sum w^2`` exactly.
:func:`montecarlo_gradient` is the finite-difference gradient of Sec. 4.1
(common random numbers: the same kernel variates on both sides).

Everything here is NumPy (not differentiable, not traceable); seeds are
explicit.
"""
from __future__ import annotations

import numpy as np

from ..ingredients.theta import ShamParams
from .config import StatsConfig, check_config, ds_bin_edges
from .lensing import merge_annuli
from .predictions import Predictions, resolve_smhm
from .weights import galaxy_logsm_pdf_params

__all__ = [
    "MC_KERNELS",
    "kernel_variates",
    "draw_logsm",
    "montecarlo_evaluator",
    "montecarlo_from_logsm",
    "montecarlo_predict",
    "montecarlo_realizations",
    "montecarlo_gradient",
]

MC_KERNELS = ("triweight", "gaussian")


def kernel_variates(seed, n: int, *, kernel: str = "triweight") -> np.ndarray:
    """``n`` standardized kernel draws ``z`` (mean 0, variance 1), shape (n,).

    The triweight of Eq. E1 on ``[-3, 3]`` is ``3 (2 B - 1)`` with ``B ~ Beta(4, 4)``.
    """
    if kernel not in MC_KERNELS:
        raise ValueError(f"kernel: expected one of {MC_KERNELS}, found {kernel!r}")
    rng = np.random.default_rng(seed)
    if kernel == "triweight":
        return 3.0 * (2.0 * rng.beta(4.0, 4.0, size=n) - 1.0)
    return rng.standard_normal(n)


def draw_logsm(seed, mu, sigma, *, kernel: str = "triweight") -> np.ndarray:
    """One Monte Carlo draw of log10 M* [Msun] per subhalo: ``mu + sigma z``, shape (N,)."""
    mu = np.asarray(mu, dtype=np.float64)
    return mu + np.asarray(sigma, dtype=np.float64) * kernel_variates(seed, mu.size, kernel=kernel)


def _in_sample(logsm, sample) -> np.ndarray:
    if sample.kind == "threshold":
        return logsm >= sample.lo
    return (logsm >= sample.lo) & (logsm < sample.hi)


def _corrfunc_wp(pos, box, rp_edges, pi_max, los_axis, nthreads) -> np.ndarray:
    from Corrfunc.theory.wp import wp

    nbin = rp_edges.size - 1
    if pos.shape[0] < 2:
        return np.full(nbin, np.nan)
    axes = [ax for ax in (0, 1, 2) if ax != los_axis] + [los_axis]
    x, y, z = (np.ascontiguousarray(pos[:, ax], dtype=np.float64) for ax in axes)
    res = wp(float(box), float(pi_max), int(nthreads), rp_edges, x, y, z, verbose=False)
    return np.asarray(res["wp"], dtype=np.float64)


def montecarlo_evaluator(catalog, config: StatsConfig, *, nthreads: int = 1):
    """A function ``logsm (N,) -> Predictions`` of one realization (hard cuts), for repeated calls.

    Everything that does not depend on the drawn masses (the Delta Sigma
    profiles merged into the configuration's bins, positions, edges) is
    prepared once here, so that a call costs one histogram, one Corrfunc
    ``wp`` per sample and one mean of profiles per sample. w_p of a sample
    with fewer than two galaxies and Delta Sigma of a sample with no profiled
    galaxy are NaN.
    """
    box = float(catalog.box_size)
    samples = tuple(config.samples)
    smf_edges = np.asarray(config.smf_edges, dtype=np.float64)
    rp_edges = np.asarray(config.rp_edges, dtype=np.float64)
    nrp = max(rp_edges.size - 1, 0)
    ds_edges = ds_bin_edges(config, catalog)
    n_r = max(ds_edges.size - 1, 0)
    profiles = index = None
    if n_r and samples:
        lensing = catalog.lensing
        profiles = merge_annuli(lensing.delta_sigma, lensing.rbins, ds_edges)
        index = np.asarray(lensing.index, dtype=np.int64)
    pos = np.asarray(catalog.pos, dtype=np.float64)
    n = pos.shape[0]

    def evaluate(logsm) -> Predictions:
        logsm = np.asarray(logsm, dtype=np.float64)
        if logsm.shape != (n,):
            raise ValueError(f"logsm: expected shape ({n},) (one mass per subhalo), found {logsm.shape}")
        if smf_edges.size:
            counts, _ = np.histogram(logsm, bins=smf_edges)
            smf = counts / (np.diff(smf_edges) * box**3)
        else:
            smf = np.zeros(0)
        wp = np.zeros((len(samples), nrp))
        ds = np.zeros((len(samples), n_r))
        for k, sample in enumerate(samples):
            mask = _in_sample(logsm, sample)
            if nrp:
                wp[k] = _corrfunc_wp(pos[mask], box, rp_edges, config.pi_max, config.los_axis, nthreads)
            if profiles is not None:
                sel = mask[index]
                ds[k] = profiles[sel].mean(axis=0) if sel.any() else np.nan
        return Predictions(smf=smf, wp=wp, delta_sigma=ds, smf_color=np.zeros((0, smf.shape[0])))

    return evaluate


def montecarlo_from_logsm(logsm, catalog, config: StatsConfig, *, nthreads: int = 1) -> Predictions:
    """Statistics of one realization with stellar masses ``logsm`` (N,) [log10 Msun] (hard cuts).

    Returns NumPy :class:`Predictions` with the same shapes as the exact ones;
    see :func:`montecarlo_evaluator` (use it directly for many realizations).
    """
    return montecarlo_evaluator(catalog, config, nthreads=nthreads)(logsm)


def _pdf_params(theta, catalog, net, smhm):
    smhm_fn, _ = resolve_smhm(net=net, smhm=smhm)
    mu, sigma = galaxy_logsm_pdf_params(theta, np.asarray(catalog.logmpeak, dtype=np.float64), smhm=smhm_fn)
    return np.asarray(mu, dtype=np.float64), np.asarray(sigma, dtype=np.float64)


def montecarlo_predict(theta, catalog, config: StatsConfig, *, seed, net=None, smhm=None,
                       kernel: str = "triweight", nthreads: int = 1) -> Predictions:
    """One Monte Carlo realization of the SMF, w_p and Delta Sigma at ``theta`` (Sec. 4.1).

    Parameters
    ----------
    theta : ShamParams
    catalog : SubhaloCatalog
    config : StatsConfig
    seed : int or numpy SeedSequence, keyword-only
    net, smhm : ShamNet or None, callable or None, keyword-only
        The median SMHM, as in :func:`shaminfer.stats.predict.make_predictor`.
    kernel : {"triweight", "gaussian"}, keyword-only
    nthreads : int, keyword-only
        Corrfunc threads.
    """
    check_config(config, catalog)
    mu, sigma = _pdf_params(theta, catalog, net, smhm)
    return montecarlo_from_logsm(draw_logsm(seed, mu, sigma, kernel=kernel), catalog, config, nthreads=nthreads)


def montecarlo_realizations(theta, catalog, config: StatsConfig, *, seeds, net=None, smhm=None,
                            kernel: str = "triweight", nthreads: int = 1) -> Predictions:
    """Realizations for each seed in ``seeds``; every field gains a leading axis (nreal, ...)."""
    check_config(config, catalog)
    mu, sigma = _pdf_params(theta, catalog, net, smhm)
    evaluate = montecarlo_evaluator(catalog, config, nthreads=nthreads)
    reals = [evaluate(draw_logsm(s, mu, sigma, kernel=kernel)) for s in seeds]
    return Predictions(*(np.stack(field) for field in zip(*reals)))


def montecarlo_gradient(theta, catalog, config: StatsConfig, *, seed, step=1e-2, net=None, smhm=None,
                        kernel: str = "triweight", nthreads: int = 1) -> Predictions:
    """Central finite-difference gradient of one Monte Carlo realization (Sec. 4.1).

    Both sides use the same kernel variates (common random numbers), as
    ``(P(theta + h e_k) - P(theta - h e_k)) / 2h`` for each theta component.

    Returns
    -------
    Predictions
        Each field a :class:`ShamParams` of arrays with the field's shape, the
        layout of ``jax.jacfwd(predictor)(theta)``.
    """
    check_config(config, catalog)
    smhm_fn, _ = resolve_smhm(net=net, smhm=smhm)
    logm = np.asarray(catalog.logmpeak, dtype=np.float64)
    z = kernel_variates(seed, logm.size, kernel=kernel)
    steps = np.broadcast_to(np.asarray(step, dtype=np.float64), (len(theta),))
    evaluate = montecarlo_evaluator(catalog, config, nthreads=nthreads)
    grads = []
    for k in range(len(theta)):
        sides = []
        for sign in (1.0, -1.0):
            vals = [float(v) for v in theta]
            vals[k] += sign * steps[k]
            mu, sigma = galaxy_logsm_pdf_params(ShamParams(*vals), logm, smhm=smhm_fn)
            logsm = np.asarray(mu, dtype=np.float64) + np.asarray(sigma, dtype=np.float64) * z
            sides.append(evaluate(logsm))
        grads.append(Predictions(*((hi - lo) / (2.0 * steps[k]) for hi, lo in zip(*sides))))
    return Predictions(*(ShamParams(*field) for field in zip(*grads)))
