"""Mock data files: a mock survives the round trip through one .npz file; bad files are named."""
import numpy as np
import pytest

from shaminfer.app.mock_io import load_covariance_file, load_mock, save_mock
from shaminfer.inference.mock import make_mock

from ..inference.standin import THETA_TRUE, covariances, forward


def _mock():
    cs, cw, cd = covariances(forward(THETA_TRUE))
    cov = {"smf": cs, "wp": cw, "delta_sigma": cd}
    return make_mock(forward, THETA_TRUE, covariance=cov, noise=True, noise_seed=3, config={"catalog": {"x": 1}})


def test_round_trip(tmp_path):
    mock = _mock()
    back = load_mock(save_mock(tmp_path / "mock.npz", mock))
    for field in ("smf", "wp", "delta_sigma", "cov_smf", "cov_wp", "cov_delta_sigma", "cov_joint"):
        np.testing.assert_array_equal(getattr(back, field), getattr(mock, field))
    for name, value in mock.expected.items():
        np.testing.assert_array_equal(back.expected[name], value)
    assert back.theta_true == THETA_TRUE
    assert back.config["catalog"] == {"x": 1} and back.config["mock"]["noise_seed"] == 3
    cov = load_covariance_file(tmp_path / "mock.npz")
    np.testing.assert_array_equal(cov["wp"], mock.cov_wp)


def test_missing_file_and_missing_arrays_are_named(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"nothere\.npz: data file not found"):
        load_mock(tmp_path / "nothere.npz")
    np.savez(tmp_path / "partial.npz", smf=np.ones(3))
    with pytest.raises(ValueError, match=r"partial\.npz: mock data file: expected arrays .*missing \['wp'"):
        load_mock(tmp_path / "partial.npz")
    with pytest.raises(ValueError,
                       match=r"partial\.npz: covariance file: expected arrays among \['cov_smf'.*found \['smf'\]"):
        load_covariance_file(tmp_path / "partial.npz")
