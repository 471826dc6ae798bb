"""Priors on theta that stay inside SHAMNet's training domain.

SHAMNet (Sec. 3.3, App. D.2) is trained on a box that is rotated in
(log10 phi*, alpha) -- its axes are the eigenvectors of the SDSS-like
posterior covariance -- times ``sigma_lo, sigma_hi`` in (0.1, 0.5). Outside
that box the network extrapolates, so every prior here is refused unless it
lies inside the domain.

A prior is uniform on a parallelepiped (:class:`ThetaPrior`)::

    theta = center + basis @ (half_width * u),   u in (-1, 1)^4

An axis-aligned box is ``basis = I``; the default prior
(:func:`domain_prior`) is the training box itself in its eigen-coordinates,
shrunk by a small margin. NUTS samples ``u`` through NumPyro's bounded
(sigmoid) transform, so it can never leave the prior, and the prior's
corners are checked against the domain once, at the shell. The domain is
convex, so corners inside means the whole prior is inside.
"""
from __future__ import annotations

import itertools
from typing import NamedTuple, Protocol

import jax.numpy as jnp
import numpy as np

from ..galaxy_halo.blocks import _named_tuple as named_params_type
from ..ingredients import ShamParams

__all__ = [
    "THETA_NAMES",
    "ThetaPrior",
    "ThetaDomain",
    "shamnet_domain",
    "box_prior",
    "domain_prior",
    "check_prior_in_domain",
    "theta_from_unit",
    "unit_from_theta",
    "prior_corners",
    "prior_log_density",
    "prior_contains",
]

THETA_NAMES = ShamParams._fields
_NDIM = len(THETA_NAMES)


class ThetaPrior(NamedTuple):
    """Uniform prior on ``theta = center + basis @ (half_width * u)``, ``u`` in (-1, 1)^d.

    Attributes
    ----------
    center : (d,) ndarray
        Centre in theta; for SHAM, (log10 phi*, alpha, sigma_lo [dex], sigma_hi [dex]).
    basis : (d, d) ndarray
        Non-singular matrix whose columns are the prior's axes.
    half_width : (d,) ndarray
        Positive half-widths along the columns of ``basis``.
    names : tuple of str
        Parameter names in order (default SHAM's four); theta is the flat
        NamedTuple of these fields (:func:`shaminfer.galaxy_halo.params_type`).
    """

    center: np.ndarray
    basis: np.ndarray
    half_width: np.ndarray
    names: tuple = ShamParams._fields

    @property
    def ndim(self) -> int:
        return len(self.names)

    @property
    def params_type(self) -> type:
        return named_params_type(tuple(self.names))


class ThetaDomain(Protocol):
    """The region where the forward model may be evaluated (SHAMNet's training box)."""

    def check(self, theta: ShamParams) -> None:
        """Raise ``ValueError`` when ``theta`` lies outside the domain."""

    def sample(self, seed: int, n: int) -> ShamParams:
        """Draw ``n`` points spread over the domain (ShamParams of (n,) arrays)."""


class _ShamnetDomain(NamedTuple):
    net: object

    def check(self, theta):
        from .. import shamnet

        shamnet.check_theta_in_domain(theta, net=self.net)

    def sample(self, seed, n):
        from .. import shamnet

        return shamnet.sample_domain(seed, n, net=self.net)


def shamnet_domain(net=None) -> ThetaDomain:
    """SHAMNet's training domain (``shamnet.check_theta_in_domain`` / ``sample_domain``) for ``net``."""
    return _ShamnetDomain(net)


def _as_vector(theta, *, what: str, names: tuple = THETA_NAMES) -> np.ndarray:
    if isinstance(theta, dict):
        missing = [k for k in names if k not in theta]
        if missing:
            raise ValueError(f"{what}: expected keys {list(names)}, missing {missing}")
        theta = [theta[k] for k in names]
    arr = np.asarray(theta, dtype=np.float64).reshape(-1)
    if arr.shape != (len(names),) or not np.all(np.isfinite(arr)):
        raise ValueError(f"{what}: expected {len(names)} finite values {list(names)}, found {theta!r}")
    return arr


def _checked_prior(center, basis, half_width) -> ThetaPrior:
    center = _as_vector(center, what="prior center")
    basis = np.asarray(basis, dtype=np.float64)
    half_width = np.asarray(half_width, dtype=np.float64)
    if basis.shape != (_NDIM, _NDIM) or not np.all(np.isfinite(basis)) or abs(np.linalg.det(basis)) < 1e-12:
        raise ValueError(f"prior basis: expected a finite non-singular (4, 4) matrix, found {basis!r}")
    bad = ~(np.isfinite(half_width) & (half_width > 0))
    if half_width.shape != (_NDIM,) or bad.any():
        raise ValueError(
            f"prior half_width: expected 4 positive widths, found {half_width!r} ({int(np.sum(bad))} bad)"
        )
    return ThetaPrior(center, basis, half_width)


def theta_from_unit(prior: ThetaPrior, u):
    """Map ``u`` in (-1, 1)^d to theta, a ``prior.params_type`` (pure JAX; ``u`` may carry leading axes)."""
    vec = jnp.asarray(prior.center) + jnp.einsum("ij,...j->...i", jnp.asarray(prior.basis), prior.half_width * u)
    return prior.params_type(*[vec[..., i] for i in range(prior.ndim)])


def unit_from_theta(prior: ThetaPrior, theta) -> np.ndarray:
    """Inverse of :func:`theta_from_unit` for one concrete theta; returns (d,) ``u``."""
    vec = _as_vector(theta, what="theta", names=prior.names)
    return np.linalg.solve(prior.basis, vec - prior.center) / prior.half_width


def prior_contains(prior: ThetaPrior, theta) -> bool:
    """Whether ``theta`` lies inside the (closed) prior support, up to rounding (1e-12)."""
    return bool(np.all(np.abs(unit_from_theta(prior, theta)) <= 1.0 + 1e-12))


def prior_corners(prior: ThetaPrior) -> np.ndarray:
    """The 2^d corners of the prior's parallelepiped, shape (2^d, d) (SHAM: 16 x 4)."""
    signs = np.array(list(itertools.product((-1.0, 1.0), repeat=prior.ndim)))
    return prior.center + (signs * prior.half_width) @ prior.basis.T


def prior_log_density(prior: ThetaPrior) -> float:
    """Constant log density of the uniform prior in theta, ``-log(volume)``."""
    return -float(np.sum(np.log(2.0 * prior.half_width)) + np.log(abs(np.linalg.det(prior.basis))))


def check_prior_in_domain(prior: ThetaPrior, *, domain: ThetaDomain | None = None) -> None:
    """Refuse a prior any part of which lies outside the forward model's domain.

    Parameters
    ----------
    prior : ThetaPrior
    domain : ThetaDomain, optional
        Defaults to SHAMNet's training domain (:func:`shamnet_domain`).

    Raises
    ------
    ValueError
        Naming the first corner that lies outside, how many of the 16 corners
        do, and the domain's own message.
    """
    prior = _sham_subprior(prior)
    if prior is None:  # no SHAM block: each block's box was checked against its bounds when it was built
        return
    domain = shamnet_domain() if domain is None else domain
    outside = []
    for corner in prior_corners(prior):
        theta = ShamParams(*[float(x) for x in corner])
        try:
            domain.check(theta)
        except ValueError as exc:
            outside.append((theta, str(exc)))
    if outside:
        theta, msg = outside[0]
        desc = ", ".join(f"{k}={v:.4g}" for k, v in zip(THETA_NAMES, theta))
        raise ValueError(
            f"prior: expected the prior to lie inside SHAMNet's training domain, found "
            f"{len(outside)} of 16 corners outside, e.g. ({desc}): {msg}"
        )


def _sham_subprior(prior: ThetaPrior):
    """The prior's SHAM block as a 4-d ThetaPrior (None without one); the block must not mix with others."""
    names = tuple(prior.names)
    if names == THETA_NAMES:
        return prior
    if not set(THETA_NAMES) <= set(names):
        return None
    idx = np.array([names.index(k) for k in THETA_NAMES])
    rest = np.setdiff1d(np.arange(len(names)), idx)
    basis = np.asarray(prior.basis)
    if np.any(basis[np.ix_(idx, rest)] != 0) or np.any(basis[np.ix_(rest, idx)] != 0):
        raise ValueError("prior: expected the SHAM parameters' axes not to mix with other parameters' axes")
    return ThetaPrior(np.asarray(prior.center)[idx], basis[np.ix_(idx, idx)], np.asarray(prior.half_width)[idx])


def box_prior(lo, hi, *, domain: ThetaDomain | None = None, check: bool = True) -> ThetaPrior:
    """Uniform prior on the axis-aligned box ``lo <= theta <= hi``.

    Parameters
    ----------
    lo, hi : ShamParams, dict or (4,) array
        Lower and upper edges (log10 phi*, alpha, sigma_lo, sigma_hi).
    domain : ThetaDomain, optional
        Domain the box must lie in (default: SHAMNet's training domain).
    check : bool
        Check the corners against ``domain`` (default True).

    Raises
    ------
    ValueError
        If ``lo >= hi`` for some parameter or the box leaves the domain.
    """
    lo_v = _as_vector(lo, what="prior lo")
    hi_v = _as_vector(hi, what="prior hi")
    bad = [name for name, a, b in zip(THETA_NAMES, lo_v, hi_v) if not a < b]
    if bad:
        raise ValueError(f"prior: expected lo < hi for every parameter, found lo >= hi for {bad}")
    prior = _checked_prior(0.5 * (lo_v + hi_v), np.eye(_NDIM), 0.5 * (hi_v - lo_v))
    if check:
        check_prior_in_domain(prior, domain=domain)
    return prior


def _eigen_box(samples: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Centre, axes and half-widths of the box spanned by ``samples`` (n, 4).

    The (log10 phi*, alpha) axes are the principal axes of the samples (for a
    uniform fill of a rectangle they are its sides); sigma_lo and sigma_hi
    are axis-aligned.
    """
    xy = samples[:, :2]
    cov = np.cov(xy, rowvar=False)
    _, vecs = np.linalg.eigh(cov)
    vecs = vecs * np.sign(vecs[np.argmax(np.abs(vecs), axis=0), np.arange(2)])
    basis = np.eye(_NDIM)
    basis[:2, :2] = vecs
    coords = samples @ basis  # basis is orthonormal: projections onto the axes
    lo, hi = coords.min(axis=0), coords.max(axis=0)
    center = basis @ (0.5 * (lo + hi))
    return center, basis, 0.5 * (hi - lo)


def _box_under_halfplane(g: np.ndarray, b: float) -> tuple[np.ndarray, np.ndarray]:
    """Largest-area box inside ``[-1, 1]^2`` whose points satisfy ``g . u <= b``.

    Only the box's corner in the direction of ``g`` can violate the cut, so the
    box keeps its far sides at -+1 and its extents ``X_i`` in (0, 2] maximize
    ``X_0 X_1`` subject to ``sum |g_i| X_i <= b + sum |g_i|`` (closed form).
    Returns the box's ``lo`` and ``hi`` (each (2,)).
    """
    ag = np.abs(g)
    lo, hi = -np.ones(2), np.ones(2)
    if ag.sum() <= b:  # the cut misses the box
        return lo, hi
    budget = b + ag.sum()
    if budget <= 0:
        raise ValueError("domain: the alpha cut leaves no room inside the training box")
    ext = np.full(2, 2.0)
    active = ag > 0
    ext[active] = np.minimum(2.0, budget / (2.0 * ag[active]))
    # If one extent hit its cap, give the remaining budget to the other one.
    for i, j in ((0, 1), (1, 0)):
        if ag[j] > 0 and ext[i] >= 2.0:
            ext[j] = min(2.0, (budget - ag[i] * ext[i]) / ag[j])
    for i in range(2):
        if g[i] > 0:
            hi[i] = -1.0 + ext[i]
        elif g[i] < 0:
            lo[i] = 1.0 - ext[i]
    return lo, hi


def _shamnet_box(geom, margin: float) -> ThetaPrior:
    """Prior box in the eigen-coordinates of a ``ShamNetDomain`` (see :func:`domain_prior`)."""
    vecs = np.asarray(geom.eigvecs, dtype=np.float64)
    half = np.asarray(geom.halfwidth, dtype=np.float64)
    center = np.asarray(geom.center, dtype=np.float64)
    # alpha = center[1] + g . u in eigen-coordinates u.
    g = vecs[1, :] * half
    lo, hi = _box_under_halfplane(g, float(geom.alpha_max) - center[1])
    u_mid, u_half = 0.5 * (lo + hi), 0.5 * (hi - lo)
    s_lo, s_hi = (float(x) for x in np.asarray(geom.sigma_range))
    basis = np.eye(_NDIM)
    basis[:2, :2] = vecs
    prior_center = np.concatenate([center + vecs @ (half * u_mid), [0.5 * (s_lo + s_hi)] * 2])
    prior_half = np.concatenate([half * u_half, [0.5 * (s_hi - s_lo)] * 2]) * (1.0 - margin)
    return _checked_prior(prior_center, basis, prior_half)


def domain_prior(
    *, net=None, domain: ThetaDomain | None = None, margin: float = 0.02, seed: int = 0, n_probe: int = 20000
) -> ThetaPrior:
    """The default prior: uniform on SHAMNet's training box in its eigen-coordinates.

    For SHAMNet's domain (App. D.2: +-5 sigma along the eigenvectors of the
    SDSS-like posterior in (log10 phi*, alpha), cut to ``alpha <= alpha_max``
    for monotonic SMFs; sigma_lo, sigma_hi in [0.1, 0.5]) the prior is the
    largest box aligned with the eigenvectors that respects the alpha cut
    (for the shipped domain the cut removes one corner of the box, and the
    prior gives up a strip of about a sixth of the box along the second
    eigenvector), with every half-width shrunk by the fraction ``margin``.
    Its 16 corners are then checked against the domain.

    For any other :class:`ThetaDomain` (e.g. a test stand-in) the box is found
    from ``n_probe`` points of ``domain.sample``: principal axes in
    (log10 phi*, alpha), extents from the projections, shrunk by ``margin``
    (repeatedly, at most 10 times, until every corner passes ``domain.check``).

    Parameters
    ----------
    net : ShamNet, optional
        Network whose domain is used (default: the shipped weights).
    domain : ThetaDomain, optional
        Overrides ``net``.
    margin : float
        Fractional shrink of each half-width, in (0, 0.5).
    seed, n_probe : int
        Probe sample of a generic ``domain``.

    Raises
    ------
    ValueError
        If ``margin`` is not in (0, 0.5) or no box fits in the domain.
    """
    if not 0.0 < margin < 0.5:
        raise ValueError(f"prior margin: expected a fraction in (0, 0.5), found {margin!r}")
    if domain is None:
        from ..shamnet import load_shamnet

        net = load_shamnet() if net is None else net
        prior = _shamnet_box(net.domain, margin)
        check_prior_in_domain(prior, domain=shamnet_domain(net))
        return prior
    pts = domain.sample(seed, n_probe)
    samples = np.stack([np.asarray(getattr(pts, k), dtype=np.float64) for k in THETA_NAMES], axis=-1)
    center, basis, half = _eigen_box(samples)
    last_err = None
    for k in range(1, 11):
        prior = _checked_prior(center, basis, half * (1.0 - k * margin))
        try:
            check_prior_in_domain(prior, domain=domain)
            return prior
        except ValueError as exc:
            last_err = exc
    raise ValueError(f"prior: could not fit a box inside the domain: {last_err}")
