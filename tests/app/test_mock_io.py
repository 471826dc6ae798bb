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


def test_a_composed_models_truth_and_colour_smfs_round_trip(tmp_path):
    from shaminfer.catalogs import small_test_universe
    from shaminfer.galaxy_halo import compose, parametric, quenching
    from shaminfer.stats import make_config, make_predictor

    model = compose(parametric(), quenching())
    forward = make_predictor(small_test_universe(0), make_config(smf_edges=np.linspace(9.6, 11.4, 7),
                                                                 smf_colors=("red", "blue")), model=model)
    truth = model.defaults(fq_cen_hi=0.8)
    pred = forward(truth)
    cov = {"smf": np.diag((0.05 * pred.smf) ** 2), "wp": np.zeros((0, 0)), "delta_sigma": np.zeros((0, 0)),
           "smf_color": np.diag((0.05 * np.ravel(pred.smf_color)) ** 2)}
    mock = make_mock(forward, truth, covariance=cov, noise=True, noise_seed=1)
    back = load_mock(save_mock(tmp_path / "mock.npz", mock))
    assert back.theta_true == truth and back.theta_true._fields == model.fields
    np.testing.assert_array_equal(back.smf_color, mock.smf_color)
    np.testing.assert_array_equal(back.cov_smf_color, mock.cov_smf_color)
    assert back.smf_color.shape == (2, 6) and not np.allclose(back.smf_color, pred.smf_color)  # noise drawn
    assert back.jackknife.shape == (0, 6 + 12)


def test_files_without_the_optional_entries_read_as_sham(tmp_path):
    """A version-1 file written before smf_color and theta_names existed: ShamParams, no colour SMFs."""
    mock = _mock()
    arrays = dict(np.load(save_mock(tmp_path / "new.npz", mock)))
    for key in ("smf_color", "cov_smf_color", "expected_smf_color", "theta_names"):
        arrays.pop(key)
    np.savez(tmp_path / "old.npz", **arrays)
    back = load_mock(tmp_path / "old.npz")
    assert back.theta_true == THETA_TRUE and type(back.theta_true).__name__ == "ShamParams"
    assert back.smf_color.shape == (0, mock.smf.size) and back.cov_smf_color.shape == (0, 0)
    arrays["theta_names"] = np.asarray("a,b,c")
    np.savez(tmp_path / "bad.npz", **arrays)
    with pytest.raises(ValueError, match=r"bad\.npz: theta_true: expected 3 values \(theta_names \['a', 'b', 'c'\]\)"):
        load_mock(tmp_path / "bad.npz")
