"""Fault injection through the console script: every fault of issue 27's list, end to end.

Each bad input ends with exit status 2, a message naming the file or the key and saying what is wrong, no
traceback, and every file that existed before (the mock, the run folder) byte-identical afterwards. The
layers have their own, finer tests: ``tests/test_npz.py`` (every damaged ``.npz``), ``tests/test_atomic.py``
(writes and permissions), ``tests/app/test_run_folders.py`` (the lock, moved folders, SIGTERM),
``tests/app/test_compare.py`` (partial runs).
"""
import hashlib
import json
import os
import shutil
import socket

import numpy as np
import pytest

from shaminfer.app.cli import main
from shaminfer.app.demo import DEMO_THETA_TRUE
from shaminfer.app.toml_io import dumps_toml

from .conftest import TINY_CATALOG, TINY_STATS

FIT = {"terms": ["smf"], "forward": {"engine": "tabulated"},
       "sampler": {"num_chains": 1, "num_warmup": 20, "num_samples": 20, "chunk_size": 10, "init": "prior",
                   "progress_bar": False},
       "output": {"plots": False}}


def _write_toml(path, doc):
    path.write_text(dumps_toml(doc))
    return path


def _snapshot(folder):
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """A tiny mock and a partial (one-chunk) run made through the CLI under umask 022."""
    root = tmp_path_factory.mktemp("faults")
    mock_doc = {"catalog": TINY_CATALOG, "stats": TINY_STATS, "forward": {"engine": "tabulated"},
                "mock": {"theta_true": DEMO_THETA_TRUE._asdict(), "jackknife_n_side": 2, "output": "mock.npz"}}
    old = os.umask(0o022)
    try:
        assert main(["mock", str(_write_toml(root / "mock.toml", mock_doc))]) == 0
        fit = _write_toml(root / "fit.toml", {"data": "mock.npz", "run_dir": "run", **FIT})
        assert main(["fit", str(fit), "--max-chunks", "1"]) == 0
    finally:
        os.umask(old)
    return {"root": root, "mock_doc": mock_doc, "fit": fit}


def _damage(kind, raw):
    if kind == "empty":
        return b""
    if kind == "truncated":
        return raw[: len(raw) // 2]
    if kind == "bit-flipped":
        mid = len(raw) // 2
        return raw[:mid] + bytes(b ^ 0xFF for b in raw[mid:mid + 64]) + raw[mid + 64:]
    return b"logphi_star = -2.3\nalpha = -1.07\n"  # a text file under an .npz name


DAMAGES = ("empty", "truncated", "bit-flipped", "text")


def _run_cli(argv, capsys, *, watched):
    """Run the CLI; return (status, stderr) after checking that the watched folder did not change."""
    before = _snapshot(watched)
    code = main(argv)
    err = capsys.readouterr().err
    assert _snapshot(watched) == before, "a fault changed or removed an existing file"
    assert "Traceback" not in err
    return code, err


def _expect_refusal(argv, capsys, world, pattern):
    code, err = _run_cli(argv, capsys, watched=world["root"])
    assert code == 2, err
    assert err.startswith("shaminfer ") and ": error: " in err
    import re

    assert re.search(pattern, err), err


# --- files that are not what they claim ---------------------------------------------------------------


@pytest.mark.parametrize("damage", DAMAGES)
def test_damaged_shamnet_weights(world, damage, capsys, tmp_path):
    from shaminfer.shamnet.io import default_weights_path

    bad = tmp_path / "weights.npz"
    bad.write_bytes(_damage(damage, default_weights_path().read_bytes()))
    fit = _write_toml(tmp_path / "fit.toml", {"data": str(world["root"] / "mock.npz"), **FIT,
                                             "forward": {"shamnet": str(bad)}})
    _expect_refusal(["fit", str(fit)], capsys, world, r"weights\.npz: .*(empty|unreadable|not an \.npz|text file)")


def test_nan_shamnet_weights_with_a_valid_checksum(world, capsys, tmp_path):
    from shaminfer.shamnet import load_shamnet, save_shamnet

    net = load_shamnet()
    (w, b), rest = net.layers[0], net.layers[1:]
    save_shamnet(net._replace(layers=((w.at[1, 2].set(np.nan), b),) + tuple(rest)), tmp_path / "nan.npz")
    fit = _write_toml(tmp_path / "fit.toml", {"data": str(world["root"] / "mock.npz"), **FIT,
                                             "forward": {"shamnet": str(tmp_path / "nan.npz")}})
    _expect_refusal(["fit", str(fit)], capsys, world, r"nan\.npz: SHAMNet weights: array 'layer0_W' expected finite")


@pytest.mark.parametrize("damage", DAMAGES)
def test_damaged_mock_data(world, damage, capsys, tmp_path):
    bad = tmp_path / "data.npz"
    bad.write_bytes(_damage(damage, (world["root"] / "mock.npz").read_bytes()))
    fit = _write_toml(tmp_path / "fit.toml", {"data": str(bad), **FIT})
    _expect_refusal(["fit", str(fit)], capsys, world, r"data\.npz: .*(empty|unreadable|not an \.npz|text file)")


@pytest.mark.parametrize("damage", DAMAGES)
def test_damaged_covariance_leaves_the_existing_mock_alone(world, damage, capsys, tmp_path):
    from shaminfer.app.mock_io import load_mock

    mock = load_mock(world["root"] / "mock.npz")
    good = tmp_path / "good_cov.npz"
    np.savez(good, cov_smf=mock.cov_smf, cov_wp=mock.cov_wp, cov_delta_sigma=mock.cov_delta_sigma)
    bad = tmp_path / "cov.npz"
    bad.write_bytes(_damage(damage, good.read_bytes()))
    doc = dict(world["mock_doc"])
    doc["mock"] = dict(doc["mock"], covariance=str(bad), output=str(world["root"] / "mock.npz"))
    _expect_refusal(["mock", str(_write_toml(tmp_path / "mock.toml", doc))], capsys, world,
                    r"cov\.npz: .*(empty|unreadable|not an \.npz|text file)")


@pytest.mark.parametrize("damage", DAMAGES)
def test_damaged_checkpoint_names_the_restart_option(world, damage, capsys, tmp_path):
    from shaminfer.app.fit import CHECKPOINT_NAME

    run = tmp_path / "run"
    shutil.copytree(world["root"] / "run", run)
    ckpt = run / CHECKPOINT_NAME
    ckpt.write_bytes(_damage(damage, ckpt.read_bytes()))
    before = _snapshot(run)
    _expect_refusal(["fit", str(world["fit"]), "--run-dir", str(run)], capsys, world,
                    rf"{CHECKPOINT_NAME}.*--restart")
    assert _snapshot(run) == before


def test_garbage_toml_names_its_file(world, capsys, tmp_path):
    for command in ("mock", "fit"):
        path = tmp_path / f"{command}.toml"
        path.write_bytes(b"\x00\xff [[[ not = toml")
        _expect_refusal([command, str(path)], capsys, world, rf"{command}\.toml: invalid TOML")


# --- run folders ------------------------------------------------------------------------------------------


def test_a_different_fit_into_the_same_run_folder_is_refused(world, capsys, tmp_path):
    other = _write_toml(tmp_path / "other.toml", {"data": str(world["root"] / "mock.npz"),
                                                  "run_dir": str(world["root"] / "run"),
                                                  **FIT, "terms": ["smf", "wp"]})
    _expect_refusal(["fit", str(other)], capsys, world, r"run.*(different configuration|--restart)")


def test_a_folder_locked_by_a_running_fit_is_refused_at_once(world, capsys, tmp_path):
    from shaminfer.app._run_folder import LOCK_NAME

    run = tmp_path / "run"
    shutil.copytree(world["root"] / "run", run)
    (run / LOCK_NAME).write_text(json.dumps({"pid": os.getpid(), "host": socket.gethostname(), "started": 0.0}))
    _expect_refusal(["fit", str(world["fit"]), "--run-dir", str(run)], capsys, world,
                    rf"{LOCK_NAME}|locked|another fit")


def test_compare_labels_a_partial_run(world, capsys, tmp_path):
    run = world["root"] / "run"
    code = main(["compare", str(run), str(run), "--names", "a,b", "--out", str(tmp_path / "cmp")])
    out = capsys.readouterr()
    assert code == 0
    assert "partial" in (out.out + out.err) and "10/20" in (out.out + out.err)


def test_outputs_follow_the_umask(world):
    for path in (world["root"] / "mock.npz", world["root"] / "run" / "checkpoint.npz"):
        assert path.stat().st_mode & 0o777 == 0o644, path


# --- late or wrong checks: refused before any computation ------------------------------------------------


@pytest.mark.parametrize("edit, pattern", [
    (lambda d: d["forward"].update(engine="warp"), r"forward\.engine': expected one of .*'tabulated'.*found 'warp'"),
    (lambda d: d["stats"].update(rp_edges={"lo": -0.5, "hi": 5.0, "n": 3}), r"stats\.rp_edges': expected positive"),
    (lambda d: d["stats"].update(rp_edges=[0.0, 1.0, 5.0]), r"stats\.rp_edges': expected positive"),
    (lambda d: d["mock"].update(output="."), r"mock\.output': expected a file name to write, found the folder"),
    (lambda d: d["mock"].update(output="mock.toml/m.npz"), r"mock\.output': expected a writable location, found .*"
                                                          r"mock\.toml is not a folder"),
])
def test_bad_mock_configs_are_refused_before_computing(world, edit, pattern, capsys, tmp_path):
    doc = json.loads(json.dumps(world["mock_doc"]))
    edit(doc)
    path = _write_toml(tmp_path / "mock.toml", doc)
    _expect_refusal(["mock", str(path)], capsys, world, pattern)


@pytest.mark.parametrize("edit, pattern", [
    (lambda d: d.update(forward={"engine": "warp"}), r"forward\.engine': expected one of"),
    (lambda d: d.update(run_dir="fit.toml"), r"run_dir': expected a folder for the run, found an existing file"),
])
def test_bad_fit_configs_are_refused_before_computing(world, edit, pattern, capsys):
    doc = {"data": "mock.npz", "run_dir": "run2", **FIT}
    edit(doc)
    path = _write_toml(world["root"] / "bad_fit.toml", doc)
    try:
        _expect_refusal(["fit", str(path)], capsys, world, pattern)
    finally:
        path.unlink()
    assert not (world["root"] / "run2").exists()


def test_a_box_prior_on_the_documented_sigma_range_is_accepted():
    from shaminfer.app.forward import load_net
    from shaminfer.app.pipeline import prior_from_config
    from shaminfer.inference.priors import prior_corners

    net = load_net({})
    lo = dict(DEMO_THETA_TRUE._asdict(), sigma_lo=0.1, sigma_hi=0.1)
    hi = dict(DEMO_THETA_TRUE._asdict(), sigma_lo=0.5, sigma_hi=0.5)
    for name in ("logphi_star", "alpha"):
        lo[name], hi[name] = lo[name] - 0.005, hi[name] + 0.005
    prior = prior_from_config({"kind": "box", "lo": lo, "hi": hi}, net=net)
    corners = prior_corners(prior)
    assert corners[:, 2].min() == pytest.approx(0.1, abs=1e-15) and corners[:, 3].max() == pytest.approx(0.5)
    # a real step outside the range is still refused, naming the parameter and the range
    with pytest.raises(ValueError, match=r"theta\.sigma_lo: expected values in SHAMNet's training range \[0\.1, 0\.5\]"):
        prior_from_config({"kind": "box", "lo": dict(lo, sigma_lo=0.1 - 1e-9), "hi": hi}, net=net)
