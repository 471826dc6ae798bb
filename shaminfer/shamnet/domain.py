"""SHAMNet's training domain (App. D.2).

(log10 phi*, alpha) live in a box aligned with the eigenvectors of the
posterior covariance of an SDSS-like Schechter SMF (phi* = 0.005,
alpha = -1.06, 0.1 dex errors on 100 log-spaced points 9 < log10 M* < 12),
spanning +-5 sigma along each eigenvector, cut to alpha <= -1 so every SMF is
monotonic; sigma_lo and sigma_hi each lie in [0.1, 0.5]. The posterior is
sampled with our own NumPyro NUTS (:func:`sdss_posterior`).

Eigen-coordinates ``u = V^T (p - center) / halfwidth`` put the box at
``[-1, 1]^2``; the network's inputs are these coordinates (App. D.1).

In plain coordinates the (log10 phi*, alpha) region is a convex polygon, not
a rectangle: :func:`domain_vertices` gives its corners (the box's corners
below the cut and the cut's crossings of the box's sides), and
:func:`domain_ranges` the exact range of each parameter over the domain (the
projections, attained at those corners). Domain errors quote the ranges in
the form of :func:`format_ranges`, as ``shaminfer domain`` prints them.
"""
from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from ..ingredients.theta import ShamParams

__all__ = [
    "ShamNetDomain",
    "SDSS_FIDUCIAL",
    "domain_coordinates",
    "domain_vertices",
    "domain_ranges",
    "format_ranges",
    "in_domain",
    "check_theta_in_domain",
    "sample_domain",
    "sdss_posterior",
    "make_domain",
]

SDSS_FIDUCIAL = dict(logphi_star=float(np.log10(0.005)), alpha=-1.06, err_dex=0.1, n_points=100, logsm_lo=9.0, logsm_hi=12.0)


class ShamNetDomain(NamedTuple):
    """Training domain. Arrays so that it can travel inside the network pytree.

    Attributes
    ----------
    center : (2,)
        Posterior mean of (log10 phi*, alpha).
    eigvecs : (2, 2)
        Columns are the covariance eigenvectors.
    halfwidth : (2,)
        5 sigma along each eigenvector.
    alpha_max : ()
        Upper bound on alpha (monotonic SMFs).
    sigma_range : (2,)
        Bounds for both sigma_lo and sigma_hi [dex].
    logmpeak_range : (2,)
        Halo masses the network was trained on [log10 Msun/h].
    """

    center: jnp.ndarray
    eigvecs: jnp.ndarray
    halfwidth: jnp.ndarray
    alpha_max: jnp.ndarray
    sigma_range: jnp.ndarray
    logmpeak_range: jnp.ndarray


def domain_coordinates(domain: ShamNetDomain, theta: ShamParams):
    """Eigen-coordinates ``u`` (..., 2) of (log10 phi*, alpha); the box is |u| <= 1."""
    p = jnp.stack([jnp.asarray(theta.logphi_star), jnp.asarray(theta.alpha)], axis=-1)
    return ((p - domain.center) @ domain.eigvecs) / domain.halfwidth


def domain_vertices(domain: ShamNetDomain) -> np.ndarray:
    """Corners (k, 2) of the (log10 phi*, alpha) region, in order around it.

    The region is the rotated box ``|u| <= 1`` cut by ``alpha <= alpha_max``:
    its corners are the box's corners that satisfy the cut and the points
    where the line ``alpha = alpha_max`` crosses the box's sides.

    Raises
    ------
    ValueError
        If the cut leaves nothing of the box.
    """
    c = np.asarray(domain.center, dtype=np.float64)
    v = np.asarray(domain.eigvecs, dtype=np.float64)
    h = np.asarray(domain.halfwidth, dtype=np.float64)
    amax = float(domain.alpha_max)
    box = [c + v @ (h * np.array(s)) for s in ((-1.0, -1.0), (1.0, -1.0), (1.0, 1.0), (-1.0, 1.0))]
    out = []
    for a, b in zip(box, box[1:] + box[:1]):  # walk the sides, keeping the part with alpha <= alpha_max
        if a[1] <= amax:
            out.append(a)
        if (a[1] - amax) * (b[1] - amax) < 0:
            t = (amax - a[1]) / (b[1] - a[1])
            out.append(np.array([a[0] + t * (b[0] - a[0]), amax]))
    if len(out) < 3:
        raise ValueError(f"domain: the cut alpha <= {amax} leaves no room inside the training box")
    return np.array(out)


def domain_ranges(domain: ShamNetDomain) -> dict:
    """Exact ``(min, max)`` of each of log10 phi*, alpha, sigma_lo, sigma_hi over the domain.

    The (log10 phi*, alpha) ranges are the projections of the region (its
    extremes sit at the corners of :func:`domain_vertices`): each value in a
    range is reached somewhere in the domain, but not every pair of values.

    Returns
    -------
    dict
        ``{name: (min, max)}`` in the order of :class:`ShamParams`.
    """
    vert = domain_vertices(domain)
    lo, hi = (float(x) for x in np.asarray(domain.sigma_range))
    return {"logphi_star": (float(vert[:, 0].min()), float(vert[:, 0].max())),
            "alpha": (float(vert[:, 1].min()), float(vert[:, 1].max())),
            "sigma_lo": (lo, hi), "sigma_hi": (lo, hi)}


def format_ranges(ranges: dict, *, digits: int = 4) -> str:
    """``"logphi_star in [a, b], alpha in [c, d], ..."``, rounded outwards to ``digits`` decimals.

    Rounding outwards keeps every point of the domain inside the printed ranges.
    """
    scale = 10.0 ** digits
    return ", ".join(f"{name} in [{np.floor(lo * scale) / scale:.{digits}f}, {np.ceil(hi * scale) / scale:.{digits}f}]"
                     for name, (lo, hi) in ranges.items())


def _domain_summary(domain: ShamNetDomain) -> str:
    """The plain-coordinate ranges that domain errors quote."""
    return (f"SHAMNet's domain: {format_ranges(domain_ranges(domain))}; (logphi_star, alpha) is a box rotated "
            f"along the SDSS-like posterior's eigenvectors cut at alpha <= {float(domain.alpha_max):g}, not a "
            "rectangle, so those two ranges are its projections (`shaminfer domain` prints its corners)")


#: Round-off allowed at the domain's faces: a box built from the documented limits (e.g. sigma in
#: [0.1, 0.5]) has corners a few ulps outside them once mapped through a rotation or a sum.
_FACE_ULPS = 64
_U_TOL = 1e-12  # eigen-coordinates are a solve away from theta: relative round-off of order 1e-15


def _face_tol(*bounds: float) -> float:
    return _FACE_ULPS * np.finfo(np.float64).eps * max(1.0, *(abs(b) for b in bounds))


def in_domain(domain: ShamNetDomain, theta: ShamParams):
    """Traceable boolean: is ``theta`` inside the training domain (faces widened by a few ulps)?"""
    u = domain_coordinates(domain, theta)
    lo, hi = domain.sigma_range[0], domain.sigma_range[1]
    ulp = _FACE_ULPS * np.finfo(np.float64).eps
    a_tol = ulp * jnp.maximum(1.0, jnp.abs(domain.alpha_max))
    s_tol = ulp * jnp.maximum(1.0, jnp.maximum(jnp.abs(lo), jnp.abs(hi)))
    ok = jnp.all(jnp.abs(u) <= 1.0 + _U_TOL, axis=-1) & (jnp.asarray(theta.alpha) <= domain.alpha_max + a_tol)
    for s in (theta.sigma_lo, theta.sigma_hi):
        ok = ok & (jnp.asarray(s) >= lo - s_tol) & (jnp.asarray(s) <= hi + s_tol)
    return ok


def check_theta_in_domain(domain: ShamNetDomain, theta: ShamParams) -> None:
    """Raise ``ValueError`` naming what is outside SHAMNet's training domain.

    Points within a few ulps of a face count as inside, so priors whose edges are the
    documented limits pass whatever round-off their corners carry.
    """
    vals = {f: np.asarray(v, dtype=float) for f, v in zip(ShamParams._fields, theta)}
    for f, v in vals.items():
        if not np.all(np.isfinite(v)):
            raise ValueError(f"theta.{f}: expected finite values, found {v.tolist()!r}")
    u = np.asarray(domain_coordinates(domain, theta))
    lo, hi = (float(x) for x in np.asarray(domain.sigma_range))
    for name in ("sigma_lo", "sigma_hi"):
        tol = _face_tol(lo, hi)
        bad = (vals[name] < lo - tol) | (vals[name] > hi + tol)
        if np.any(bad):
            raise ValueError(
                f"theta.{name}: expected values in SHAMNet's training range [{lo}, {hi}], "
                f"found {vals[name].tolist()!r} ({int(np.sum(bad))} outside). {_domain_summary(domain)}"
            )
    amax = float(domain.alpha_max)
    bad = vals["alpha"] > amax + _face_tol(amax)
    if np.any(bad):
        raise ValueError(
            f"theta.alpha: expected alpha <= {amax} (monotonic SMFs in the training domain), "
            f"found {vals['alpha'].tolist()!r} ({int(np.sum(bad))} outside). {_domain_summary(domain)}"
        )
    bad = np.any(np.abs(u) > 1.0 + _U_TOL, axis=-1)
    if np.any(bad):
        raise ValueError(
            "theta.(logphi_star, alpha): expected a point inside SHAMNet's training box, "
            f"found logphi_star={vals['logphi_star'].tolist()!r}, alpha={vals['alpha'].tolist()!r} "
            f"({int(np.sum(bad))} outside; eigen-coordinates {u.round(3).tolist()}, |u| must be <= 1). "
            f"{_domain_summary(domain)}"
        )


def sample_domain(domain: ShamNetDomain, seed: int, n: int, *, latin: bool = True, face_power: float = 1.0) -> ShamParams:
    """Draw ``n`` theta inside the domain: a Latin hypercube in (u1, u2, sigma_lo, sigma_hi).

    Points with alpha > alpha_max are discarded and replaced until ``n`` remain.
    ``face_power`` p > 1 crowds each sigma towards the faces of its range: with
    t = 2 z - 1 the hypercube coordinate, sigma sits at |t|^(1/p) on each side,
    so its density grows as |t|^(p - 1) from the middle of the range to the
    faces (p = 1: uniform). Training uses it to oversample the sigma corners,
    where SHAMNet's largest errors sit.
    """
    from scipy.stats import qmc

    if not face_power >= 1.0:
        raise ValueError(f"face_power: expected a value >= 1, found {face_power}")
    rng = np.random.default_rng(seed)
    out = []
    count = 0
    while count < n:
        m = max(2 * (n - count), 16)
        if latin:
            z = qmc.LatinHypercube(d=4, seed=rng).random(m)
        else:
            z = rng.random((m, 4))
        u = 2.0 * z[:, :2] - 1.0
        p = np.asarray(domain.center) + (u * np.asarray(domain.halfwidth)) @ np.asarray(domain.eigvecs).T
        lo, hi = (float(x) for x in np.asarray(domain.sigma_range))
        zs = z[:, 2:]
        if face_power != 1.0:
            t = 2.0 * zs - 1.0
            zs = 0.5 * (np.sign(t) * np.abs(t) ** (1.0 / face_power) + 1.0)
        s = lo + (hi - lo) * zs
        keep = p[:, 1] <= float(domain.alpha_max)
        block = np.column_stack([p, s])[keep]
        out.append(block)
        count += len(block)
    arr = np.concatenate(out)[:n]
    return ShamParams(*(jnp.asarray(arr[:, i]) for i in range(4)))


def sdss_posterior(seed: int = 0, *, num_warmup: int = 1000, num_samples: int = 4000, progress_bar: bool = False):
    """NumPyro NUTS posterior of (log10 phi*, alpha) for the SDSS-like SMF of App. D.2.

    Returns ``(samples (S, 2), mean (2,), cov (2, 2))``.
    """
    import numpyro
    import numpyro.distributions as dist
    from numpyro.infer import MCMC, NUTS

    from ..ingredients.schechter import SchechterParams, schechter_smf

    f = SDSS_FIDUCIAL
    x = jnp.linspace(f["logsm_lo"], f["logsm_hi"], f["n_points"])
    data = jnp.log10(schechter_smf(SchechterParams(f["logphi_star"], f["alpha"]), x))

    def model():
        logphi = numpyro.sample("logphi_star", dist.Uniform(-4.0, -1.0))
        alpha = numpyro.sample("alpha", dist.Uniform(-2.0, 0.0))
        pred = jnp.log10(schechter_smf(SchechterParams(logphi, alpha), x))
        numpyro.sample("obs", dist.Normal(pred, f["err_dex"]), obs=data)

    mcmc = MCMC(NUTS(model), num_warmup=num_warmup, num_samples=num_samples, progress_bar=progress_bar)
    mcmc.run(jax.random.PRNGKey(seed))
    s = mcmc.get_samples()
    samples = np.column_stack([np.asarray(s["logphi_star"]), np.asarray(s["alpha"])])
    return samples, samples.mean(axis=0), np.cov(samples.T)


def make_domain(
    mean,
    cov,
    *,
    n_sigma: float = 5.0,
    alpha_max: float = -1.0,
    sigma_range=(0.1, 0.5),
    logmpeak_range=(9.0, 16.5),
) -> ShamNetDomain:
    """Domain from a posterior mean and covariance (eigenvectors, +-n_sigma)."""
    evals, evecs = np.linalg.eigh(np.asarray(cov))
    # deterministic sign convention: first component of each eigenvector positive
    evecs = evecs * np.sign(evecs[0:1, :] + 1e-300)
    return ShamNetDomain(
        center=jnp.asarray(np.asarray(mean, dtype=float)),
        eigvecs=jnp.asarray(evecs),
        halfwidth=jnp.asarray(n_sigma * np.sqrt(evals)),
        alpha_max=jnp.asarray(float(alpha_max)),
        sigma_range=jnp.asarray(np.asarray(sigma_range, dtype=float)),
        logmpeak_range=jnp.asarray(np.asarray(logmpeak_range, dtype=float)),
    )
