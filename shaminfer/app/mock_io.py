"""Mock data files: :class:`~shaminfer.inference.mock.MockData` to and from one ``.npz`` file.

Writes are atomic (:mod:`shaminfer.app.atomic`); reads never unpickle.

File layout (``.npz``, all arrays)
----------------------------------
``smf (nsmf,)``, ``wp (nsample, nrp)``, ``delta_sigma (nsample, nR)``;
``cov_smf``, ``cov_wp`` (nsample*nrp square), ``cov_delta_sigma``;
``smf_color (ncolor, nsmf)`` and ``cov_smf_color`` (ncolor*nsmf square; optional, empty without colours);
``cov_joint``; ``expected_smf`` / ``expected_wp`` / ``expected_delta_sigma`` / ``expected_smf_color``;
``jackknife`` (K, n) (empty when the covariance was supplied);
``theta_true (d,)`` (NaN when unknown) and ``theta_names`` (its parameter names, comma-separated;
optional: without it, 4 values are SHAM's ``ShamParams``); ``config_json``; ``format_version``.
A user with real data writes the same keys (see :func:`save_mock`).
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from ..galaxy_halo.blocks import params_type_of_fields
from ..inference.mock import STAT_FIELDS, MockData
from ..ingredients import ShamParams
from .._npz import read_npz
from .atomic import atomic_save_npz, json_dumps

__all__ = ["MOCK_FORMAT_VERSION", "save_mock", "load_mock", "load_covariance_file"]

#: Version of the file layout, stored as ``format_version`` (``smf_color`` and ``theta_names`` are
#: optional entries of version 1: files without them read as before).
MOCK_FORMAT_VERSION = 1
#: The statistics every data file has; ``smf_color`` is optional.
_REQUIRED_FIELDS = ("smf", "wp", "delta_sigma")


def save_mock(path: str | Path, mock: MockData) -> Path:
    """Write ``mock`` to one ``.npz`` file atomically (layout in the module docstring)."""
    theta = np.full(4, np.nan) if mock.theta_true is None else np.asarray(mock.theta_true, dtype=np.float64)
    arrays = {f: getattr(mock, f) for f in STAT_FIELDS}
    arrays.update({f"cov_{f}": mock.block(f) for f in STAT_FIELDS})
    arrays.update({f"expected_{f}": v for f, v in mock.expected.items()})
    arrays.update(cov_joint=mock.cov_joint, jackknife=mock.jackknife, theta_true=theta,
                  config_json=np.asarray(json_dumps(mock.config)), format_version=np.asarray(MOCK_FORMAT_VERSION))
    if mock.theta_true is not None and hasattr(mock.theta_true, "_fields"):
        arrays["theta_names"] = np.asarray(",".join(mock.theta_true._fields))
    return atomic_save_npz(path, arrays)


def _theta_true(arr: dict, path: Path):
    """theta_true of a data file as a NamedTuple of its parameter names (None when unknown)."""
    theta = arr.get("theta_true")
    if theta is None or not np.all(np.isfinite(theta)):
        return None
    values = [float(x) for x in np.ravel(theta)]
    names = tuple(str(arr["theta_names"]).split(",")) if "theta_names" in arr else ShamParams._fields
    if len(names) != len(values):
        raise ValueError(f"{path}: theta_true: expected {len(names)} values (theta_names {list(names)}), found "
                         f"{len(values)}")
    return params_type_of_fields(names)(*values)


def load_mock(path: str | Path) -> MockData:
    """Read a file written by :func:`save_mock` (or by hand with the same keys)."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path}: data file not found (make one with `shaminfer mock`)")
    required = list(_REQUIRED_FIELDS) + [f"cov_{f}" for f in _REQUIRED_FIELDS]
    arr = read_npz(path, what="mock data file", required=required, finite=required + ["smf_color", "cov_smf_color"])
    theta = _theta_true(arr, path)
    config = json.loads(str(arr["config_json"])) if "config_json" in arr else {}
    smf_color = np.atleast_2d(arr.get("smf_color", np.zeros((0, arr["smf"].size))))
    cov_smf_color = arr.get("cov_smf_color", np.zeros((0, 0)))
    if cov_smf_color.shape != (smf_color.size, smf_color.size):
        raise ValueError(f"{path}: cov_smf_color: expected shape {(smf_color.size,) * 2} (smf_color "
                         f"{smf_color.shape}), found {cov_smf_color.shape}")
    n = sum(arr[f].size for f in _REQUIRED_FIELDS) + smf_color.size
    expected = {f: arr[f"expected_{f}"] for f in STAT_FIELDS if f"expected_{f}" in arr}
    return MockData(
        arr["smf"], np.atleast_2d(arr["wp"]), np.atleast_2d(arr["delta_sigma"]),
        arr["cov_smf"], arr["cov_wp"], arr["cov_delta_sigma"], arr.get("cov_joint", np.zeros((0, 0))),
        expected, arr.get("jackknife", np.zeros((0, n))), theta, config, smf_color, cov_smf_color,
    )



def load_covariance_file(path: str | Path) -> dict[str, np.ndarray]:
    """User covariance: an ``.npz`` with ``cov_smf``, ``cov_wp``, ``cov_delta_sigma`` (the blocks of the
    statistics the mock computes; a missing block needed by the mock is named when the mock is made)."""
    names = [f"cov_{f}" for f in STAT_FIELDS]
    arr = read_npz(path, what="covariance file", finite=True)
    if not any(n in arr for n in names):
        raise ValueError(f"{path}: covariance file: expected arrays among {names}, found {sorted(arr)}")
    return {f: arr[f"cov_{f}"] for f in STAT_FIELDS if f"cov_{f}" in arr}
