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


def test_version(capsys):
    import shaminfer

    assert main(["--version"]) == 0
    assert capsys.readouterr().out == f"shaminfer {shaminfer.__version__}\n"


@pytest.mark.parametrize("argv", [[], ["bogus"], ["--nope"], ["fit"], ["fit", "x.toml", "--max-chunks", "many"],
                                  ["fit", "x.toml", "--backend", "stan"], ["config-template", "yaml"],
                                  ["domain", "--weights"], ["compare"]])
def test_garbage_arguments_exit_2_without_a_traceback(argv, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "error:" in err and "Traceback" not in err


def test_os_errors_are_one_line_and_exit_2(tmp_path, capsys):
    from shaminfer.app import cli

    # A directory where a file is expected (IsADirectoryError from the TOML reader).
    assert main(["fit", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err == f"shaminfer fit: error: {tmp_path}: expected a TOML config file, found a folder\n"

    def raising(exc):
        def add(subparsers):
            p = subparsers.add_parser("boom")
            p.set_defaults(func=lambda args: (_ for _ in ()).throw(exc))
            return p
        return add

    for exc, code, expected in [
        (PermissionError(13, "Permission denied", "/runs/fit/posterior.nc"), 2,
         "shaminfer boom: error: /runs/fit/posterior.nc: Permission denied\n"),
        (OSError(28, "No space left on device"), 2, "shaminfer boom: error: [Errno 28] No space left on device\n"),
        (RuntimeError("two\nlines"), 1, "shaminfer boom: unexpected error (RuntimeError: two lines); rerun as "
                                        "`shaminfer --traceback boom ...` to see where, and report it\n"),
    ]:
        adder = register_command(raising(exc))
        try:
            assert main(["boom"]) == code
            assert capsys.readouterr().err == expected
            with pytest.raises(type(exc)):
                main(["--traceback", "boom"])
        finally:
            cli._COMMANDS.remove(adder)


def test_the_console_script_prints_no_traceback(tmp_path):
    import subprocess
    import sys

    garbage = tmp_path / "garbage.toml"
    garbage.write_bytes(b"\xff\xfe not toml [[[")
    for args in (["fit", str(tmp_path)], ["fit", str(garbage)], ["mock"]):
        proc = subprocess.run([sys.executable, "-m", "shaminfer.app.cli", *args], capture_output=True, text=True)
        assert proc.returncode == 2 and "Traceback" not in proc.stderr and proc.stderr.count("error:") == 1, args


def _dotted_keys(doc, prefix=""):
    out = []
    for key, value in doc.items():
        out += _dotted_keys(value, f"{prefix}{key}.") if isinstance(value, dict) and prefix + key not in (
            "mock.theta_true", "prior.lo", "prior.hi", "stats.smf_edges", "stats.rp_edges") else [prefix + key]
    return out


@pytest.mark.parametrize("kind", ["mock", "fit"])
def test_config_template_has_every_key_and_loads(kind, tmp_path, capsys):
    import tomllib

    from shaminfer.app.config import load_fit_config, load_mock_config, parse_fit_config, parse_mock_config
    from shaminfer.app.templates import KEY_COMMENTS, schema_keys

    assert main(["config-template", kind]) == 0
    text = capsys.readouterr().out
    keys = schema_keys(kind)
    assert _dotted_keys(tomllib.loads(text)) == keys  # every key of the schema, in order, and nothing else
    assert set(keys) <= set(KEY_COMMENTS[kind])  # each with its own comment (no fallback)
    lines = text.splitlines()
    for i, line in enumerate(lines):
        if " = " in line and not line.startswith("#"):
            assert lines[i - 1].startswith("# "), line
    path = tmp_path / f"{kind}.toml"
    path.write_text(text)
    if kind == "mock":
        from shaminfer.shamnet import check_theta_in_domain

        cfg = load_mock_config(path)
        check_theta_in_domain(cfg.theta_true)  # the example theta is a working one
        minimal = parse_mock_config({"mock": {"theta_true": dict(cfg.theta_true._asdict())}}, base_dir=tmp_path)
        assert cfg.to_dict() == minimal.to_dict()  # the template's values are the schema's defaults
    else:
        cfg = load_fit_config(path)
        minimal = parse_fit_config({"data": "mock.npz"}, base_dir=tmp_path, default_run_dir="runs/fit")
        assert cfg.to_dict() == minimal.to_dict()
        assert cfg.data == tmp_path / "mock.npz"  # what the mock template writes


def _table(lines, start):
    """Rows ``name min max`` after the header line at ``start``."""
    out = {}
    for line in lines[start + 1:start + 5]:
        name, lo, hi = line.split()
        out[name] = (float(lo), float(hi))
    return out


def test_domain_prints_the_plain_ranges(tmp_path, capsys):
    import jax

    from shaminfer.ingredients import DEFAULT_SHAM_PARAMS
    from shaminfer.shamnet import init_shamnet, sample_domain, save_shamnet
    from shaminfer.shamnet.domain import domain_ranges, make_domain

    assert main(["domain"]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    heads = [i for i, line in enumerate(lines) if line.split()[:3] == ["parameter", "min", "max"]]
    assert len(heads) == 2
    dom, prior = _table(lines, heads[0]), _table(lines, heads[1])
    assert list(dom) == ["logphi_star", "alpha", "sigma_lo", "sigma_hi"]
    sample = sample_domain(0, 2000)
    for name, (lo, hi) in dom.items():
        assert lo <= getattr(DEFAULT_SHAM_PARAMS, name) <= hi
        v = np.asarray(getattr(sample, name))
        assert lo <= v.min() and v.max() <= hi, name
        assert dom[name][0] <= prior[name][0] < prior[name][1] <= dom[name][1]
    assert "not a rectangle" in out and "projections" in out and 'prior.kind = "domain"' in out

    # --weights selects another network (here one on a shifted domain).
    other = make_domain([-2.0, -1.2], [[0.004, -0.001], [-0.001, 0.002]], alpha_max=-1.15)
    save_shamnet(init_shamnet(jax.random.PRNGKey(0), other), tmp_path / "other.npz")
    assert main(["domain", "--weights", str(tmp_path / "other.npz")]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert str(tmp_path / "other.npz") in lines[0]
    printed = _table(lines, 1)
    for name, (lo, hi) in domain_ranges(other).items():
        assert printed[name][0] <= lo < printed[name][0] + 1e-4 and hi <= printed[name][1] < hi + 1e-4
    assert printed["alpha"][1] == -1.15
