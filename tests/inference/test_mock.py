"""Mock data: the jackknife covariance, covariance checks, noise, and the file format."""
import numpy as np
import pytest

from shaminfer.inference.mock import (
    jackknife_covariance,
    make_mock,
    mock_terms,
    regularize_covariance,
    subvolume_labels,
)

from .standin import THETA_TRUE, covariances, forward


def _supplied():
    cs, cw, cd = covariances(forward(THETA_TRUE))
    return {"smf": cs, "wp": cw, "delta_sigma": cd}


def test_jackknife_covariance_matches_the_definition():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(27, 5))
    k = x.shape[0]
    xbar = x.mean(axis=0)
    brute = sum(np.outer(xk - xbar, xk - xbar) for xk in x) * (k - 1) / k
    np.testing.assert_allclose(jackknife_covariance(x), brute, rtol=1e-13)
    # Delete-one means of iid data: the jackknife recovers the variance of the full-sample mean.
    data = rng.normal(size=(400, 3)) * [1.0, 2.0, 0.5]
    loo = np.stack([np.delete(data, i, axis=0).mean(axis=0) for i in range(len(data))])
    np.testing.assert_allclose(np.diag(jackknife_covariance(loo)), np.var(data, axis=0, ddof=1) / 400, rtol=1e-10)
    with pytest.raises(ValueError, match="2 of 27 subvolume resamplings with non-finite"):
        x[[3, 5], 1] = np.nan
        jackknife_covariance(x)


def test_subvolume_labels_split_the_box_evenly():
    g = (np.arange(6) + 0.5) * 10.0 / 6
    pos = np.stack(np.meshgrid(g, g, g, indexing="ij"), axis=-1).reshape(-1, 3)
    labels = subvolume_labels(pos, 10.0, 3)
    assert np.bincount(labels).tolist() == [8] * 27


def test_supplied_covariance_and_reproducible_noise():
    cov = _supplied()
    mock = make_mock(forward, THETA_TRUE, covariance=cov, noise=True, noise_seed=3, config={"catalog": {"x": 1}})
    again = make_mock(forward, THETA_TRUE, covariance=cov, noise=True, noise_seed=3)
    np.testing.assert_array_equal(mock.wp, again.wp)
    assert not np.allclose(mock.wp, mock.expected["wp"])
    assert mock.config["catalog"] == {"x": 1} and mock.config["mock"]["noise_seed"] == 3


def test_noise_is_drawn_from_the_covariance():
    """Monte Carlo oracle: over many seeds the residuals have mean 0 and covariance C."""
    cov = _supplied()
    draws = np.stack([make_mock(forward, THETA_TRUE, covariance=cov, noise=True, noise_seed=s).smf
                      for s in range(400)])
    resid = draws - np.asarray(forward(THETA_TRUE).smf)
    sd = np.sqrt(np.diag(cov["smf"]))
    assert np.all(np.abs(resid.mean(axis=0)) < 4 * sd / np.sqrt(400))
    emp = np.cov(resid, rowvar=False)
    assert np.linalg.norm(emp - cov["smf"]) / np.linalg.norm(cov["smf"]) < 0.2


def test_bad_covariances_are_refused():
    cov = _supplied()
    bad = dict(cov, wp=cov["wp"] - 2 * np.eye(cov["wp"].shape[0]) * cov["wp"].max())
    with pytest.raises(ValueError, match=r"covariance of wp: expected a symmetric positive definite matrix"):
        make_mock(forward, THETA_TRUE, covariance=bad)
    with pytest.raises(ValueError, match=r"covariance of smf: expected shape \(9, 9\)"):
        make_mock(forward, THETA_TRUE, covariance=dict(cov, smf=np.eye(3)))
    # Too few jackknife subvolumes for the data vector: singular, with a hint.
    rng = np.random.default_rng(1)
    few = [forward(type(THETA_TRUE)(*(np.asarray(THETA_TRUE) + rng.normal(size=4) * [0.01, 0.01, 0.02, 0.02])))
           for _ in range(8)]
    with pytest.raises(ValueError, match=r"rank <= 7: increase mock.jackknife_n_side"):
        make_mock(forward, THETA_TRUE, jackknife_predictions=few)
    regularized = make_mock(forward, THETA_TRUE, jackknife_predictions=few, diag_regularization=0.05)
    assert regularized.config["mock"]["diag_regularization"] == 0.05
    np.testing.assert_allclose(regularize_covariance(np.ones((2, 2)), 0.5), [[1.5, 1.0], [1.0, 1.5]])


def test_mock_terms_select_samples_and_their_covariance_blocks():
    mock = make_mock(forward, THETA_TRUE, covariance=_supplied())
    smf, wp, ds = mock_terms(mock, ("smf", "wp", "delta_sigma"), wp_samples=[2, 0], delta_sigma_samples=[1])
    nrp = mock.wp.shape[1]
    idx = np.r_[2 * nrp:3 * nrp, 0:nrp]
    np.testing.assert_array_equal(wp.cov, mock.cov_wp[np.ix_(idx, idx)])
    np.testing.assert_array_equal(wp.data, mock.wp[[2, 0]].ravel())
    assert wp.samples == (2, 0) and ds.samples == (1,) and smf.data.size == mock.smf.size
    with pytest.raises(ValueError, match=r"wp_samples: expected indices in \[0, 3\).*found \[5\]"):
        mock_terms(mock, ("wp",), wp_samples=[5])


def test_mock_terms_as_student_t_keep_their_class_and_samples():
    from shaminfer.inference.terms import WpTerm, prepare_term

    mock = make_mock(forward, THETA_TRUE, covariance=_supplied())
    smf, wp = mock_terms(mock, ("smf", "wp"), wp_samples=[1], family="student_t", df=4.0)
    assert isinstance(wp, WpTerm) and wp.samples == (1,)
    prepared = prepare_term(wp)
    assert prepared.family == "student_t" and prepared.df == 4.0
    assert prepare_term(mock_terms(mock, ("smf",))[0]).family == "gaussian"
    with pytest.raises(ValueError, match=r"family: expected 'gaussian' or 'student_t', found 'cauchy'"):
        mock_terms(mock, ("smf",), family="cauchy")
    with pytest.raises(ValueError, match=r"term 'smf': df: expected a positive finite number .* found 0"):
        mock_terms(mock, ("smf",), family="student_t", df=0)
