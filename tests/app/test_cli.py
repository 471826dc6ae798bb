"""The ``shaminfer`` console script: the demo path end to end, ``compare``, resuming, and every bad input."""
import json

import numpy as np
import pytest

from shaminfer.app.cli import build_parser, main, register_command
from shaminfer.app.demo import DEMO_THETA_TRUE
from shaminfer.app.toml_io import dumps_toml


@pytest.fixture(scope="module")
def demo_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("demo")
    assert main(["demo", "--size", "small", "--out", str(out)]) == 0
    return out


def test_parser_lists_the_subcommands():
    sub = next(a for a in build_parser()._actions if a.dest == "command")
    assert {"mock", "fit", "compare", "demo", "train-shamnet"} <= set(sub.choices)

    @register_command
    def add_hello(subparsers):
        p = subparsers.add_parser("hello")
        p.set_defaults(func=lambda args: 0)
        return p

    assert main(["hello"]) == 0


def test_demo_writes_every_output(demo_dir):
    for name in ("mock.toml", "fit_smf.toml", "fit_all.toml", "mock.npz", "demo_summary.json"):
        assert (demo_dir / name).exists(), name
    for run in ("fit_smf", "fit_all"):
        for name in ("posterior.nc", "summary.csv", "corner.png", "trace.png", "ppc.png", "diagnostics.json"):
            assert (demo_dir / run / name).stat().st_size > 0, (run, name)
    summary = json.loads((demo_dir / "demo_summary.json").read_text())
    assert summary["fits"]["fit_smf"]["terms"] == ["smf"]
    assert "likelihood terms" in summary["loo"]  # different data: LOO skipped with the reason
    assert summary["theta_true"]["alpha"] == DEMO_THETA_TRUE.alpha


def test_fit_reruns_resume_and_compare_runs(demo_dir, capsys):
    assert main(["fit", str(demo_dir / "fit_smf.toml")]) == 0
    out = capsys.readouterr().out
    assert "R-hat max" in out and "ESS bulk min" in out and "divergences" in out and "logphi_star" in out
    assert main(["compare", str(demo_dir / "fit_smf"), str(demo_dir / "fit_all"), "--out",
                 str(demo_dir / "cmp")]) == 0
    out = capsys.readouterr().out
    assert "LOO table skipped" in out
    assert (demo_dir / "cmp" / "forest.png").exists() and (demo_dir / "cmp" / "pair.png").exists()


def _write(path, doc):
    path.write_text(dumps_toml(doc))
    return path


def test_bad_inputs_exit_with_a_message(demo_dir, tmp_path, capsys):
    def run(args):
        code = main(args)
        return code, capsys.readouterr().err

    # Unknown configuration key.
    bad = _write(tmp_path / "bad.toml", {"data": str(demo_dir / "mock.npz"), "sampler": {"num_chain": 2}})
    code, err = run(["fit", str(bad)])
    assert code == 2 and "unknown key 'sampler.num_chain'" in err and "did you mean 'sampler.num_chains'" in err
    # A prior outside SHAMNet's training domain.
    lo = dict(DEMO_THETA_TRUE._asdict(), sigma_lo=0.05)
    hi = {k: v + 0.01 for k, v in DEMO_THETA_TRUE._asdict().items()}
    box = _write(tmp_path / "box.toml", {"data": str(demo_dir / "mock.npz"), "terms": ["smf"],
                                         "prior": {"kind": "box", "lo": lo, "hi": hi}})
    code, err = run(["fit", str(box)])
    assert code == 2 and "prior: expected the prior to lie inside SHAMNet's training domain" in err
    assert "theta.sigma_lo" in err
    # A covariance that is not positive definite.
    mock_doc = {**{k: v for k, v in _toml(demo_dir / "mock.toml").items()}}
    n = {k: np.load(demo_dir / "mock.npz")[k].size for k in ("smf", "wp", "delta_sigma")}
    np.savez(tmp_path / "cov.npz", cov_smf=-np.eye(n["smf"]), cov_wp=np.eye(n["wp"]),
             cov_delta_sigma=np.eye(n["delta_sigma"]))
    mock_doc["mock"] = dict(mock_doc["mock"], covariance=str(tmp_path / "cov.npz"), output=str(tmp_path / "m.npz"))
    code, err = run(["mock", str(_write(tmp_path / "mock.toml", mock_doc))])
    assert code == 2 and "covariance of smf: expected a symmetric positive definite matrix" in err
    # A data vector whose length does not match the forward model.
    data = dict(np.load(demo_dir / "mock.npz"))
    data["wp"] = data["wp"][:, :-1]
    m = data["wp"].size
    data["cov_wp"] = np.eye(m)
    np.savez(tmp_path / "short.npz", **data)
    short = _write(tmp_path / "short.toml", {"data": str(tmp_path / "short.npz"), "terms": ["wp"]})
    code, err = run(["fit", str(short)])
    assert code == 2 and f"data vector has length {m}" in err
    # A missing file.
    code, err = run(["fit", str(tmp_path / "nope.toml")])
    assert code == 2 and "config file not found" in err


def _toml(path):
    import tomllib

    return tomllib.loads(path.read_text())
