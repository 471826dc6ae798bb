"""Gaussian likelihood terms: the protocol, the built-in terms and their validation.

A *likelihood term* is anything with four attributes (the protocol
:class:`LikelihoodTerm`):

``name``
    A short identifier (letters, digits, underscores). The model turns each
    term into its own NumPyro observed site ``obs_<name>``, so ArviZ keeps a
    separate log-likelihood per term.
``data`` : (n,) array
    The measured data vector.
``cov`` : (n, n) array
    Its covariance; symmetric positive definite (checked once, at the shell).
``predict(theta, output)``
    A pure JAX function of ``theta`` (:class:`~shaminfer.ingredients.ShamParams`)
    and the forward-model output (a :class:`Predictions`-like pytree) that
    returns the (n,) model prediction of ``data``.

Every term is a multivariate normal ``data ~ N(predict(theta, output), cov)``.
:class:`GaussianTerm` takes any ``predict`` function, so a user adds a new
statistic (for example a weighted counts-in-cells statistic, Sec. 5) without
editing the package; :class:`SMFTerm`, :class:`WpTerm` and
:class:`DeltaSigmaTerm` are the built-in ones for Eq. 7, w_p from Eqs. 13-16
and Eq. 11.

Pointwise log-likelihood
------------------------
The data of one term are correlated, so the likelihood does not factor over
data points. For leave-one-out cross-validation we store, per data point, the
conditional density ``log p(y_i | y_-i, theta)`` of the multivariate normal
(Burkner, Gabry & Vehtari 2021, "Efficient leave-one-out cross-validation for
Bayesian non-factorized normal and Student-t models"): with ``Q = C^-1`` and
``g = Q (y - mu)``, ``y_i | y_-i ~ N(y_i - g_i / Q_ii, 1 / Q_ii)``.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Callable, NamedTuple, Protocol, Sequence, runtime_checkable

import jax.numpy as jnp
import numpy as np

__all__ = [
    "LikelihoodTerm",
    "GaussianTerm",
    "SMFTerm",
    "WpTerm",
    "DeltaSigmaTerm",
    "PreparedTerm",
    "prepare_term",
    "check_covariance",
    "gaussian_loglik",
    "pointwise_loglik",
    "SYMMETRY_RTOL",
]

SYMMETRY_RTOL = 1e-8
_NAME_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")


@runtime_checkable
class LikelihoodTerm(Protocol):
    """What the model needs from a likelihood term (see the module docstring)."""

    name: str
    data: Any
    cov: Any

    def predict(self, theta, output):  # pragma: no cover - protocol
        ...


def check_covariance(cov, *, n: int, what: str = "cov") -> np.ndarray:
    """Validate a covariance matrix and return its lower Cholesky factor.

    Parameters
    ----------
    cov : (n, n) array-like
        Candidate covariance.
    n : int
        Expected dimension (the length of the data vector).
    what : str
        Name used in error messages.

    Returns
    -------
    scale_tril : (n, n) ndarray
        Lower-triangular ``L`` with ``L L^T = cov``.

    Raises
    ------
    ValueError
        If the shape is not (n, n), an entry is not finite, the matrix is not
        symmetric to relative tolerance :data:`SYMMETRY_RTOL`, or it is not
        positive definite; the message says which and how many entries or
        eigenvalues are bad.
    """
    arr = np.asarray(cov, dtype=np.float64)
    if arr.shape != (n, n):
        raise ValueError(f"{what}: expected shape ({n}, {n}) to match the data vector, found {arr.shape}")
    bad = ~np.isfinite(arr)
    if bad.any():
        raise ValueError(f"{what}: expected finite entries, found {int(bad.sum())} non-finite")
    scale = max(float(np.max(np.abs(arr))), np.finfo(float).tiny)
    asym = np.abs(arr - arr.T)
    n_asym = int((asym > SYMMETRY_RTOL * scale).sum())
    if n_asym:
        raise ValueError(
            f"{what}: expected a symmetric positive definite matrix, found {n_asym} entries with "
            f"|C - C^T| > {SYMMETRY_RTOL:g} max|C| (largest asymmetry {asym.max():.3g})"
        )
    eig = np.linalg.eigvalsh(arr)
    n_bad = int((eig <= 0).sum())
    try:
        chol = np.linalg.cholesky(arr)
    except np.linalg.LinAlgError:
        chol = None
    if n_bad or chol is None or not np.all(np.isfinite(chol)):
        raise ValueError(
            f"{what}: expected a symmetric positive definite matrix, found {max(n_bad, 1)} of {n} "
            f"eigenvalues <= 0 (smallest {eig.min():.3g}, largest {eig.max():.3g})"
        )
    return chol


def _checked_name(name) -> str:
    if not isinstance(name, str) or not _NAME_RE.match(name):
        raise ValueError(
            f"term name: expected letters, digits and underscores starting with a letter, found {name!r}"
        )
    return name


def _checked_data(data, *, what: str) -> np.ndarray:
    arr = np.asarray(data, dtype=np.float64).reshape(-1)
    if arr.size == 0:
        raise ValueError(f"{what}: expected a non-empty data vector, found size 0")
    bad = ~np.isfinite(arr)
    if bad.any():
        raise ValueError(f"{what}: expected finite values, found {int(bad.sum())} non-finite of {arr.size}")
    return arr


@dataclass(frozen=True, eq=False, repr=False)
class GaussianTerm:
    """A Gaussian likelihood term ``data ~ N(fn(theta, output), cov)``.

    Parameters
    ----------
    name : str
        Identifier; the observed site is ``obs_<name>``.
    data : array-like
        Data vector; flattened (C order) to shape (n,).
    cov : (n, n) array-like
        Covariance of ``data``, symmetric positive definite.
    fn : callable ``(theta, output) -> array``
        Pure JAX function returning the prediction; flattened to (n,).

    Notes
    -----
    Validation of ``data`` and ``cov`` happens here, once; the prediction length
    is checked when the model is built (:func:`shaminfer.inference.model.build_model`).
    """

    name: str
    data: np.ndarray
    cov: np.ndarray
    fn: Callable = field(repr=False)

    def __post_init__(self):
        name = _checked_name(self.name)
        data = _checked_data(self.data, what=f"term {name!r}: data")
        cov = np.asarray(self.cov, dtype=np.float64)
        check_covariance(cov, n=data.size, what=f"term {name!r}: cov")
        if not callable(self.fn):
            raise ValueError(f"term {name!r}: fn: expected a callable (theta, output) -> prediction")
        object.__setattr__(self, "data", data)
        object.__setattr__(self, "cov", cov)

    def __repr__(self) -> str:
        extra = f", samples={self.samples}" if hasattr(self, "samples") else ""
        return f"{type(self).__name__}(name={self.name!r}, n={self.data.size}{extra})"

    def predict(self, theta, output):
        """Model prediction of ``data``: ``fn(theta, output)`` flattened to (n,)."""
        return jnp.reshape(self.fn(theta, output), (-1,))


def _smf_of(theta, output):
    return output.smf


@dataclass(frozen=True, eq=False, init=False, repr=False)
class SMFTerm(GaussianTerm):
    """Stellar mass function term (Eq. 7): predicts ``output.smf``, shape (nsmf,).

    Parameters
    ----------
    data : (nsmf,) array
        Measured dn/dlog10 M* per (Mpc/h)^3 in the forward model's SMF bins.
    cov : (nsmf, nsmf) array
    name : str, default "smf"
    """

    def __init__(self, data, cov, *, name: str = "smf"):
        super().__init__(name, data, cov, _smf_of)


class _SelectSamples(NamedTuple):
    """``output.<field>[samples]`` flattened sample-major (a hashable, picklable-free callable)."""

    field: str
    samples: tuple

    def __call__(self, theta, output):
        values = getattr(output, self.field)
        return jnp.reshape(values[jnp.asarray(self.samples)], (-1,))


def _checked_samples(samples, *, what: str) -> tuple:
    sel = tuple(int(s) for s in np.atleast_1d(np.asarray(samples)))
    if not sel or any(s < 0 for s in sel) or len(set(sel)) != len(sel):
        raise ValueError(f"{what}: expected distinct non-negative sample indices, found {samples!r}")
    return sel


@dataclass(frozen=True, eq=False, init=False, repr=False)
class WpTerm(GaussianTerm):
    """Projected correlation function term: ``output.wp[samples]`` (Eqs. 13-16).

    Parameters
    ----------
    data : (len(samples), nrp) or (len(samples) * nrp,) array
        Measured w_p [Mpc/h] of one or more stellar-mass thresholds or bins,
        sample-major.
    cov : (n, n) array
        Joint covariance of the flattened data (cross-sample blocks included).
    samples : sequence of int
        Indices into the forward model's samples (``StatsConfig.samples``).
    name : str, default "wp"
    """

    samples: tuple = ()

    def __init__(self, data, cov, *, samples: Sequence[int] = (0,), name: str = "wp"):
        sel = _checked_samples(samples, what=f"term {name!r}: samples")
        object.__setattr__(self, "samples", sel)
        super().__init__(name, data, cov, _SelectSamples("wp", sel))


@dataclass(frozen=True, eq=False, init=False, repr=False)
class DeltaSigmaTerm(GaussianTerm):
    """Galaxy-galaxy lensing term: ``output.delta_sigma[samples]`` (Eq. 11).

    Parameters
    ----------
    data : (len(samples), nR) or flattened array
        Measured Delta Sigma [h Msun / pc^2], sample-major.
    cov : (n, n) array
    samples : sequence of int
        Indices into the forward model's samples.
    name : str, default "delta_sigma"
    """

    samples: tuple = ()

    def __init__(self, data, cov, *, samples: Sequence[int] = (0,), name: str = "delta_sigma"):
        sel = _checked_samples(samples, what=f"term {name!r}: samples")
        object.__setattr__(self, "samples", sel)
        super().__init__(name, data, cov, _SelectSamples("delta_sigma", sel))


class PreparedTerm(NamedTuple):
    """A validated term with the matrices the model and the diagnostics need.

    Attributes
    ----------
    name : str
    data : (n,) ndarray
    cov : (n, n) ndarray, the covariance
    scale_tril : (n, n) ndarray, its Cholesky factor
    precision : (n, n) ndarray, inverse covariance ``Q``
    predict : callable ``(theta, output) -> (n,)``
    """

    name: str
    data: np.ndarray
    cov: np.ndarray
    scale_tril: np.ndarray
    precision: np.ndarray
    predict: Callable

    @property
    def site(self) -> str:
        """Name of the NumPyro observed site, ``obs_<name>``."""
        return f"obs_{self.name}"


def prepare_term(term) -> PreparedTerm:
    """Validate any object following :class:`LikelihoodTerm` and precompute its matrices.

    Raises
    ------
    ValueError
        If an attribute is missing, the name is invalid, the data are not
        finite, or the covariance is not a symmetric positive definite (n, n)
        matrix.
    """
    for attr in ("name", "data", "cov", "predict"):
        if not hasattr(term, attr):
            raise ValueError(
                f"likelihood term {term!r}: expected attributes name, data, cov and predict; "
                f"missing {attr!r}"
            )
    name = _checked_name(term.name)
    data = _checked_data(term.data, what=f"term {name!r}: data")
    chol = check_covariance(term.cov, n=data.size, what=f"term {name!r}: cov")
    eye = np.eye(data.size)
    inv_l = np.linalg.solve(chol, eye)
    precision = inv_l.T @ inv_l
    precision = 0.5 * (precision + precision.T)
    predict = term.predict
    if not callable(predict):
        raise ValueError(f"term {name!r}: predict: expected a callable (theta, output) -> prediction")
    return PreparedTerm(name, data, np.asarray(term.cov, dtype=np.float64), chol, precision, predict)


def gaussian_loglik(term: PreparedTerm, mu):
    """Joint log-density ``log N(data | mu, C)`` of one term.

    Parameters
    ----------
    term : PreparedTerm
    mu : (..., n) array
        Predictions; leading axes broadcast.

    Returns
    -------
    loglik : (...) array
    """
    resid = jnp.asarray(term.data) - mu
    chol = jnp.asarray(term.scale_tril)
    n = term.data.size
    logdet = 2.0 * jnp.sum(jnp.log(jnp.diag(chol)))
    quad = jnp.einsum("...i,ij,...j->...", resid, jnp.asarray(term.precision), resid)
    return -0.5 * (quad + logdet + n * jnp.log(2.0 * jnp.pi))


def pointwise_loglik(term: PreparedTerm, mu):
    """Leave-one-out conditional log-densities ``log p(y_i | y_-i, theta)`` (module docstring).

    Parameters
    ----------
    term : PreparedTerm
        Data and precision matrix of the term.
    mu : (..., n) array
        Predicted data vectors (any leading batch axes).

    Returns
    -------
    loglik : (..., n) array
        One value per data point; used by ArviZ's PSIS-LOO.
    """
    q = jnp.asarray(term.precision)
    qdiag = jnp.diag(q)
    g = jnp.einsum("ij,...j->...i", q, jnp.asarray(term.data) - mu)
    return 0.5 * (jnp.log(qdiag) - jnp.log(2.0 * jnp.pi)) - 0.5 * g * g / qdiag
