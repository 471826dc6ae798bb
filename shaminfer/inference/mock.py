"""Mock data: exact predictions at theta_true, a jackknife covariance, optional noise, one file.

:func:`make_mock` evaluates the exact forward model at ``theta_true``, takes a
covariance -- from spatial jackknife resamplings of the catalog
(:func:`jackknife_covariance`) or supplied by the user -- optionally adds
one draw of noise from it, and returns a :class:`MockData`; :func:`shaminfer.app.mock_io.save_mock`
writes it (with theta_true and the configuration) to one ``.npz`` file and
:func:`shaminfer.app.mock_io.load_mock` reads it back without unpickling.

Covariance
----------
The box is split into ``n_side^3`` cubic subvolumes; the statistics are
recomputed with subvolume ``k`` left out, giving ``x_k`` (K = n_side^3), and

``C = (K - 1) / K  sum_k (x_k - xbar)(x_k - xbar)^T``

(the standard delete-one jackknife). Each statistic (SMF, w_p, Delta Sigma,
and the colour SMFs of a model with quenching) keeps its own block, because each becomes an independent likelihood term;
the full joint matrix (with the cross-statistic blocks) is stored too as
``cov_joint`` for reference. A covariance that is not symmetric positive
definite is refused -- with K samples a block has rank at most K - 1, so a
block longer than that needs more subvolumes or fewer bins. An optional
diagonal regularization ``C + eps diag(C)`` is applied only when asked for
(``diag_regularization``) and is recorded in the file.

Noise
-----
With ``noise=True`` the data are ``x(theta_true) + L z`` per block, ``L L^T``
the block's covariance and ``z`` standard normal from ``numpy.random``
seeded with ``noise_seed``; the noise-free expectation is stored as well.

"""
from __future__ import annotations

from typing import Callable, Mapping, NamedTuple, Sequence

import numpy as np

from ..ingredients import ShamParams
from .model_terms import SMFColorTerm
from .terms import DeltaSigmaTerm, SMFTerm, WpTerm, as_student_t, check_covariance

__all__ = [
    "STAT_FIELDS",
    "MockData",
    "jackknife_covariance",
    "subvolume_labels",
    "regularize_covariance",
    "make_mock",
    "mock_terms",
]

#: The statistics of a mock, in the order of the joint covariance and the jackknife rows.
STAT_FIELDS = ("smf", "wp", "delta_sigma", "smf_color")


class MockData(NamedTuple):
    """Data vectors, covariance blocks and provenance of a mock (or of real data).

    Attributes
    ----------
    smf : (nsmf,) ndarray
        dn/dlog10 M* [(Mpc/h)^-3 dex^-1].
    wp : (nsample, nrp) ndarray
        w_p [Mpc/h].
    delta_sigma : (nsample, nR) ndarray
        Delta Sigma [h Msun / pc^2].
    cov_smf, cov_wp, cov_delta_sigma : ndarray
        Covariance of each flattened statistic.
    cov_joint : (n, n) ndarray
        Joint covariance of ``concatenate([smf, wp.ravel(), delta_sigma.ravel(), smf_color.ravel()])``.
    expected : dict field -> ndarray
        Noise-free predictions at ``theta_true``.
    jackknife : (K, n) ndarray
        Leave-one-out statistics (empty (0, n) when the covariance was supplied).
    theta_true : NamedTuple or None
        ``ShamParams`` for SHAM; a composed model's flat parameters otherwise.
    config : dict
        The configuration that produced the data.
    smf_color : (ncolor, nsmf) ndarray
        SMF of each colour of ``StatsConfig.smf_colors`` (empty (0, nsmf) without colours).
    cov_smf_color : ndarray
        Covariance of ``smf_color.ravel()`` (the colours' cross blocks included).
    """

    smf: np.ndarray
    wp: np.ndarray
    delta_sigma: np.ndarray
    cov_smf: np.ndarray
    cov_wp: np.ndarray
    cov_delta_sigma: np.ndarray
    cov_joint: np.ndarray
    expected: dict
    jackknife: np.ndarray
    theta_true: tuple | None
    config: dict
    smf_color: np.ndarray = np.zeros((0, 0))
    cov_smf_color: np.ndarray = np.zeros((0, 0))

    def block(self, field: str) -> np.ndarray:
        """Covariance block of ``field`` (one of :data:`STAT_FIELDS`)."""
        return getattr(self, f"cov_{field}")


def subvolume_labels(pos, box_size: float, n_side: int) -> np.ndarray:
    """Index in ``[0, n_side^3)`` of the cubic subvolume holding each position (N, 3) [Mpc/h]."""
    cell = np.floor(np.asarray(pos, dtype=np.float64) / (box_size / n_side)).astype(np.int64)
    cell = np.clip(cell, 0, n_side - 1)
    return (cell[:, 0] * n_side + cell[:, 1]) * n_side + cell[:, 2]


def jackknife_covariance(samples) -> np.ndarray:
    """Delete-one jackknife covariance ``(K-1)/K sum_k (x_k - xbar)(x_k - xbar)^T``.

    Parameters
    ----------
    samples : (K, n) array
        Statistics with subvolume ``k`` left out, K >= 2.

    Returns
    -------
    cov : (n, n) ndarray, exactly symmetric.
    """
    x = np.asarray(samples, dtype=np.float64)
    if x.ndim != 2 or x.shape[0] < 2:
        raise ValueError(f"jackknife samples: expected shape (K >= 2, n), found {x.shape}")
    bad = ~np.isfinite(x)
    if bad.any():
        rows = int(np.any(bad, axis=1).sum())
        raise ValueError(f"jackknife samples: expected finite statistics, found {rows} of {x.shape[0]} "
                         "subvolume resamplings with non-finite entries")
    k = x.shape[0]
    d = x - x.mean(axis=0)
    cov = (k - 1) / k * (d.T @ d)
    return 0.5 * (cov + cov.T)


def regularize_covariance(cov, eps: float) -> np.ndarray:
    """``cov + eps * diag(cov)``: the optional, documented diagonal regularization."""
    cov = np.asarray(cov, dtype=np.float64)
    if eps < 0 or not np.isfinite(eps):
        raise ValueError(f"diag_regularization: expected a finite value >= 0, found {eps!r}")
    return cov + eps * np.diag(np.diag(cov))


def _stat(pred, field: str) -> np.ndarray:
    """A statistic of a forward model's output; a forward model without colour SMFs gives an empty one."""
    if field == "smf_color" and not hasattr(pred, "smf_color"):
        return np.zeros((0, np.size(pred.smf)))
    return np.asarray(getattr(pred, field), dtype=np.float64)


def _flat(pred) -> list[np.ndarray]:
    return [_stat(pred, f).reshape(-1) for f in STAT_FIELDS]


def make_mock(
    forward: Callable,
    theta_true: ShamParams,
    *,
    jackknife_predictions: Sequence | None = None,
    covariance: Mapping[str, np.ndarray] | None = None,
    noise: bool = False,
    noise_seed: int = 0,
    diag_regularization: float = 0.0,
    config: Mapping | None = None,
) -> MockData:
    """Mock data vectors at ``theta_true`` with their covariance.

    Parameters
    ----------
    forward : callable ``theta -> Predictions``
        The exact forward model on the full catalog.
    theta_true : ShamParams, or a galaxy-halo model's flat NamedTuple
    jackknife_predictions : sequence of Predictions, optional
        The statistics at ``theta_true`` with each subvolume left out (see
        :mod:`shaminfer.app.forward`); gives the jackknife covariance.
    covariance : mapping, optional
        ``{"smf": C, "wp": C, "delta_sigma": C}`` (and ``"smf_color"`` when there are colour SMFs)
        supplied by the user instead.
        Exactly one of ``jackknife_predictions`` and ``covariance`` is needed.
    noise : bool
        Add one draw from the covariance (per block).
    noise_seed : int
    diag_regularization : float
        ``eps`` of :func:`regularize_covariance`, applied to every block (0: none).
    config : mapping, optional
        Stored with the data.

    Raises
    ------
    ValueError
        If a covariance block has the wrong shape or is not symmetric
        positive definite (the message names the block and suggests a fix).
    """
    if (jackknife_predictions is None) == (covariance is None):
        raise ValueError("make_mock: expected exactly one of jackknife_predictions and covariance")
    pred = forward(theta_true)
    expected = {f: _stat(pred, f) for f in STAT_FIELDS}
    sizes = [v.size for v in expected.values()]
    for f, v in expected.items():
        if not np.all(np.isfinite(v)):
            raise ValueError(f"mock {f}: expected finite predictions at theta_true, found "
                             f"{int((~np.isfinite(v)).sum())} non-finite")
    if jackknife_predictions is not None:
        jk = np.stack([np.concatenate(_flat(p)) for p in jackknife_predictions])
        joint = jackknife_covariance(jk)
        edges = np.cumsum([0] + sizes)
        blocks = {f: joint[a:b, a:b] for f, a, b in zip(STAT_FIELDS, edges[:-1], edges[1:])}
        hint = (f"; with {jk.shape[0]} jackknife subvolumes a block has rank <= {jk.shape[0] - 1}: "
                "increase mock.jackknife_n_side, use fewer bins or samples, or set "
                "mock.diag_regularization")
    else:
        jk = np.zeros((0, sum(sizes)))
        blocks = {}
        for f, n in zip(STAT_FIELDS, sizes):
            if f not in covariance and n:
                raise ValueError(f"covariance: expected a block {f!r}, found keys {sorted(covariance)}")
            blocks[f] = np.asarray(covariance[f], dtype=np.float64) if n else np.zeros((0, 0))
        joint = np.zeros((sum(sizes), sum(sizes)))
        edges = np.cumsum([0] + sizes)
        for f, a, b in zip(STAT_FIELDS, edges[:-1], edges[1:]):
            if blocks[f].shape == (b - a, b - a):
                joint[a:b, a:b] = blocks[f]
        hint = ""
    if diag_regularization:
        blocks = {f: regularize_covariance(c, diag_regularization) for f, c in blocks.items()}
        joint = regularize_covariance(joint, diag_regularization)
    chols = {}
    for f, n in zip(STAT_FIELDS, sizes):
        if n == 0:  # a statistic the mock does not compute
            chols[f] = np.zeros((0, 0))
            continue
        try:
            chols[f] = check_covariance(blocks[f], n=n, what=f"covariance of {f}")
        except ValueError as exc:
            raise ValueError(f"{exc}{hint}") from None
    data = {f: expected[f].copy() for f in STAT_FIELDS}
    if noise:
        rng = np.random.default_rng(noise_seed)
        for f in STAT_FIELDS:
            z = rng.standard_normal(expected[f].size)
            data[f] = (expected[f].reshape(-1) + chols[f] @ z).reshape(expected[f].shape)
    cfg = dict(config or {})
    cfg.setdefault("mock", {})
    cfg["mock"] = {**cfg["mock"], "noise": bool(noise), "noise_seed": int(noise_seed),
                   "diag_regularization": float(diag_regularization)}
    truth_type = type(theta_true) if hasattr(theta_true, "_fields") else ShamParams
    return MockData(data["smf"], data["wp"], data["delta_sigma"], blocks["smf"], blocks["wp"],
                    blocks["delta_sigma"], joint, expected, jk, truth_type(*[float(x) for x in theta_true]), cfg,
                    data["smf_color"], blocks["smf_color"])


def _block_indices(n_per: int, samples: Sequence[int]) -> np.ndarray:
    return np.concatenate([np.arange(s * n_per, (s + 1) * n_per) for s in samples])


def mock_terms(
    mock: MockData,
    terms: Sequence[str] = STAT_FIELDS,
    *,
    wp_samples: Sequence[int] | None = None,
    delta_sigma_samples: Sequence[int] | None = None,
    family: str = "gaussian",
    df: float = 5.0,
    color_names: Sequence[str] | None = None,
) -> list:
    """Likelihood terms for the statistics ``terms`` of a mock (or data) file.

    Parameters
    ----------
    mock : MockData
    terms : sequence of {"smf", "wp", "delta_sigma", "smf_color"}
        ``"smf_color"`` gives one :class:`~.model_terms.SMFColorTerm` per row of
        ``mock.smf_color``, with the matching diagonal block of its covariance.
    wp_samples, delta_sigma_samples : sequence of int, optional
        Which stellar-mass samples enter (default: all); the covariance is
        the matching sub-block (cross-sample blocks included).
    family : {"gaussian", "student_t"}
        Likelihood family of every term; ``"student_t"`` makes each a
        Student-t term (:func:`~shaminfer.inference.terms.as_student_t`) with
        ``df`` degrees of freedom and the file's covariance as its scale matrix.
    df : float
        Student-t degrees of freedom (ignored for ``"gaussian"``).
    color_names : sequence of str, optional
        The colour of each row of ``mock.smf_color`` (``StatsConfig.smf_colors``):
        the terms are named ``smf_<colour>``. Default ``smf_color<i>``.

    Raises
    ------
    ValueError
        For an unknown term name or family, or a sample index outside the data file.
    """
    if family not in ("gaussian", "student_t"):
        raise ValueError(f"family: expected 'gaussian' or 'student_t', found {family!r}")
    out = []
    for name in terms:
        if name not in STAT_FIELDS:
            raise ValueError(f"terms: expected names from {list(STAT_FIELDS)}, found {name!r}")
        if name == "smf":
            out.append(SMFTerm(mock.smf, mock.cov_smf))
            continue
        if name == "smf_color":
            ncolor, nsmf = np.shape(mock.smf_color)
            names = [f"smf_color{i}" for i in range(ncolor)] if color_names is None else list(color_names)
            if len(names) != ncolor:
                raise ValueError(f"color_names: expected {ncolor} names (rows of smf_color), found {names}")
            for i in range(ncolor):
                idx = _block_indices(nsmf, [i])
                out.append(SMFColorTerm(mock.smf_color[i], mock.cov_smf_color[np.ix_(idx, idx)], color_index=i,
                                        name=f"smf_{names[i]}"))
            continue
        values = getattr(mock, name)
        nsample, nper = values.shape
        chosen = range(nsample) if not (wp_samples if name == "wp" else delta_sigma_samples) else \
            (wp_samples if name == "wp" else delta_sigma_samples)
        chosen = [int(s) for s in chosen]
        bad = [s for s in chosen if not 0 <= s < nsample]
        if bad:
            raise ValueError(f"{name}_samples: expected indices in [0, {nsample}) (samples in the data file), "
                             f"found {bad}")
        idx = _block_indices(nper, chosen)
        cov = mock.block(name)[np.ix_(idx, idx)]
        cls = WpTerm if name == "wp" else DeltaSigmaTerm
        out.append(cls(values[chosen], cov, samples=chosen))
    if family == "student_t":
        out = [as_student_t(t, df) for t in out]
    return out
