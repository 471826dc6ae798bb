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

A term is a multivariate normal ``data ~ N(predict(theta, output), cov)`` unless it
names another ``family`` (:mod:`.families`): :class:`StudentTTerm` (heavy tails,
attribute ``df``) or :class:`PoissonTerm` (counts; no ``cov``).
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
    "StudentTTerm",
    "PoissonTerm",
    "as_student_t",
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


@dataclass(frozen=True, eq=False, init=False, repr=False)
class StudentTTerm(GaussianTerm):
    """A multivariate Student-t term ``data ~ t_df(fn(theta, output), cov)`` (:mod:`.families`).

    ``cov`` is the scale matrix (the covariance is ``df / (df - 2) cov`` for ``df > 2``); small ``df`` gives
    heavy tails, and ``df -> inf`` the Gaussian term.

    Parameters
    ----------
    name, data, cov, fn
        As :class:`GaussianTerm`.
    df : float
        Degrees of freedom, > 0 and finite.
    """

    df: float = 5.0
    family = "student_t"

    def __init__(self, name, data, cov, fn, *, df: float = 5.0):
        object.__setattr__(self, "df", _checked_df(df, what=f"term {name!r}: df"))
        super().__init__(name, data, cov, fn)


def as_student_t(term: GaussianTerm, df: float) -> GaussianTerm:
    """A copy of a Gaussian ``term`` (of any class: ``SMFTerm``, ``WpTerm``, ...) whose likelihood is the
    multivariate Student-t with ``df`` degrees of freedom and scale matrix ``term.cov`` (its class, name,
    samples and prediction are kept, so plots and layouts still know what it is)."""
    import copy

    if getattr(term, "family", "gaussian") != "gaussian" or not isinstance(term, GaussianTerm):
        raise ValueError(f"term {getattr(term, 'name', term)!r}: as_student_t expects a Gaussian term, found "
                         f"{type(term).__name__} with family {getattr(term, 'family', 'gaussian')!r}")
    out = copy.copy(term)
    object.__setattr__(out, "family", "student_t")
    object.__setattr__(out, "df", _checked_df(df, what=f"term {term.name!r}: df"))
    return out


def _checked_df(df, *, what: str) -> float:
    try:
        val = float(df)
    except (TypeError, ValueError):
        raise ValueError(f"{what}: expected a positive finite number of degrees of freedom, found {df!r}") from None
    if not np.isfinite(val) or val <= 0:
        raise ValueError(f"{what}: expected a positive finite number of degrees of freedom, found {df!r}")
    return val


def _checked_counts(data, *, what: str) -> np.ndarray:
    arr = _checked_data(data, what=what)
    bad = np.flatnonzero((arr < 0) | (arr != np.round(arr)))
    if bad.size:
        i = int(bad[0])
        raise ValueError(f"{what}: expected non-negative integer counts, found {float(arr[i])!r} at index {i} "
                         f"({bad.size} such of {arr.size})")
    return arr


@dataclass(frozen=True, eq=False, repr=False)
class PoissonTerm:
    """Independent Poisson counts ``data_i ~ Poisson(fn(theta, output)_i)`` (:mod:`.families`).

    Parameters
    ----------
    name : str
        Identifier; the observed site is ``obs_<name>``.
    data : array-like
        Observed counts (non-negative integers), flattened to (n,).
    fn : callable ``(theta, output) -> array``
        Pure JAX function returning the expected counts (positive), flattened to (n,); for example the SMF
        times the volume and the bin width.
    """

    name: str
    data: np.ndarray
    fn: Callable = field(repr=False)
    family = "poisson"
    cov = None

    def __post_init__(self):
        name = _checked_name(self.name)
        object.__setattr__(self, "data", _checked_counts(self.data, what=f"term {name!r}: data"))
        if not callable(self.fn):
            raise ValueError(f"term {name!r}: fn: expected a callable (theta, output) -> expected counts")

    def __repr__(self) -> str:
        return f"PoissonTerm(name={self.name!r}, n={self.data.size})"

    def predict(self, theta, output):
        """Expected counts: ``fn(theta, output)`` flattened to (n,)."""
        return jnp.reshape(self.fn(theta, output), (-1,))


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
    family : str
        ``"gaussian"``, ``"student_t"`` or ``"poisson"`` (:mod:`.families`); for ``"poisson"``, ``cov``,
        ``scale_tril`` and ``precision`` are None.
    df : float
        Degrees of freedom of a Student-t term (inf otherwise).
    """

    name: str
    data: np.ndarray
    cov: np.ndarray
    scale_tril: np.ndarray
    precision: np.ndarray
    predict: Callable
    family: str = "gaussian"
    df: float = float("inf")

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
        finite (or, for a Poisson term, not non-negative integers), the family
        is unknown, a Student-t ``df`` is not positive, or the covariance is not
        a symmetric positive definite (n, n) matrix.
    """
    from .families import FAMILIES

    family = getattr(term, "family", "gaussian")
    if family not in FAMILIES:
        raise ValueError(f"likelihood term {getattr(term, 'name', term)!r}: family: expected one of "
                         f"{list(FAMILIES)}, found {family!r}")
    needed = ("name", "data", "predict") if family == "poisson" else ("name", "data", "cov", "predict")
    for attr in needed:
        if not hasattr(term, attr):
            raise ValueError(
                f"likelihood term {term!r}: expected attributes {', '.join(needed)}; missing {attr!r}"
            )
    name = _checked_name(term.name)
    predict = term.predict
    if not callable(predict):
        raise ValueError(f"term {name!r}: predict: expected a callable (theta, output) -> prediction")
    if family == "poisson":
        data = _checked_counts(term.data, what=f"term {name!r}: data")
        return PreparedTerm(name, data, None, None, None, predict, family)
    data = _checked_data(term.data, what=f"term {name!r}: data")
    chol = check_covariance(term.cov, n=data.size, what=f"term {name!r}: cov")
    eye = np.eye(data.size)
    inv_l = np.linalg.solve(chol, eye)
    precision = inv_l.T @ inv_l
    precision = 0.5 * (precision + precision.T)
    df = _checked_df(getattr(term, "df", None), what=f"term {name!r}: df") if family == "student_t" else np.inf
    return PreparedTerm(name, data, np.asarray(term.cov, dtype=np.float64), chol, precision, predict, family,
                        float(df))


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
