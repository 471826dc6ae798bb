"""Mock data files: :class:`~shaminfer.inference.mock.MockData` to and from one ``.npz`` file.

Writes are atomic (:mod:`shaminfer.app.atomic`); reads never unpickle.

File layout (``.npz``, all arrays)
----------------------------------
``smf (nsmf,)``, ``wp (nsample, nrp)``, ``delta_sigma (nsample, nR)``;
``cov_smf``, ``cov_wp`` (nsample*nrp square), ``cov_delta_sigma``;
``cov_joint``; ``expected_smf`` / ``expected_wp`` / ``expected_delta_sigma``;
``jackknife`` (K, n) (empty when the covariance was supplied);
``theta_true (4,)`` (NaN when unknown); ``config_json``; ``format_version``.
A user with real data writes the same keys (see :func:`save_mock`).
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from ..inference.mock import STAT_FIELDS, MockData
from ..ingredients import ShamParams
from .._npz import read_npz
from .atomic import atomic_save_npz, json_dumps

__all__ = ["MOCK_FORMAT_VERSION", "save_mock", "load_mock", "load_covariance_file"]

#: Version of the file layout, stored as ``format_version``.
MOCK_FORMAT_VERSION = 1


def save_mock(path: str | Path, mock: MockData) -> Path:
    """Write ``mock`` to one ``.npz`` file atomically (layout in the module docstring)."""
    theta = np.full(4, np.nan) if mock.theta_true is None else np.asarray(mock.theta_true, dtype=np.float64)
    arrays = {f: getattr(mock, f) for f in STAT_FIELDS}
    arrays.update({f"cov_{f}": mock.block(f) for f in STAT_FIELDS})
    arrays.update({f"expected_{f}": v for f, v in mock.expected.items()})
    arrays.update(cov_joint=mock.cov_joint, jackknife=mock.jackknife, theta_true=theta,
                  config_json=np.asarray(json_dumps(mock.config)), format_version=np.asarray(MOCK_FORMAT_VERSION))
    return atomic_save_npz(path, arrays)


def load_mock(path: str | Path) -> MockData:
    """Read a file written by :func:`save_mock` (or by hand with the same keys)."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path}: data file not found (make one with `shaminfer mock`)")
    required = list(STAT_FIELDS) + [f"cov_{f}" for f in STAT_FIELDS]
    arr = read_npz(path, what="mock data file", required=required, finite=required)
    theta = arr.get("theta_true")
    theta = None if theta is None or not np.all(np.isfinite(theta)) else ShamParams(*[float(x) for x in theta])
    config = json.loads(str(arr["config_json"])) if "config_json" in arr else {}
    n = sum(arr[f].size for f in STAT_FIELDS)
    expected = {f: arr[f"expected_{f}"] for f in STAT_FIELDS if f"expected_{f}" in arr}
    return MockData(
        arr["smf"], np.atleast_2d(arr["wp"]), np.atleast_2d(arr["delta_sigma"]),
        arr["cov_smf"], arr["cov_wp"], arr["cov_delta_sigma"], arr.get("cov_joint", np.zeros((0, 0))),
        expected, arr.get("jackknife", np.zeros((0, n))), theta, config,
    )


def load_covariance_file(path: str | Path) -> dict[str, np.ndarray]:
    """User covariance: an ``.npz`` with ``cov_smf``, ``cov_wp``, ``cov_delta_sigma`` (the blocks of the
    statistics the mock computes; a missing block needed by the mock is named when the mock is made)."""
    names = [f"cov_{f}" for f in STAT_FIELDS]
    arr = read_npz(path, what="covariance file", finite=True)
    if not any(n in arr for n in names):
        raise ValueError(f"{path}: covariance file: expected arrays among {names}, found {sorted(arr)}")
    return {f: arr[f"cov_{f}"] for f in STAT_FIELDS if f"cov_{f}" in arr}
