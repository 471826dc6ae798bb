"""``shaminfer train-shamnet`` (shaminfer/app/train_shamnet.py): a quick end-to-end run writes loadable weights and a model card;
bad flags exit 2 naming the flag."""
import json

import numpy as np
import pytest

from shaminfer.app.cli import main
from shaminfer.shamnet import default_weights_path, load_shamnet
from shaminfer.shamnet.network import hidden_widths


def test_quick_run_writes_weights_and_card(tmp_path):
    out = tmp_path / "net"
    assert main(["train-shamnet", "--quick", "--seed", "3", "--hidden", "16,8", "--batch", "3", "--tail-weight", "0.5",
                 "--tail-power", "6", "--dtype", "float64", "--out", str(out)]) == 0
    net = load_shamnet(out / "shamnet.npz")
    assert [w.shape[1] for w, _ in net.layers[:-1]] == [16, 8]
    card = json.loads((out / "shamnet.json").read_text())
    assert card["seed"] == 3 and card["architecture"]["hidden"] == [16, 8]
    config = card["training"]["config"]
    assert config["batch"] == 3 and config["tail_weight"] == 0.5 and config["tail_power"] == 6.0
    assert config["dtype"] == "float64"
    assert np.isfinite(card["accuracy"]["rms_dex"]) and card["accuracy"]["n_theta"] == 20
    assert (out / "phase2_history.csv").exists()


@pytest.mark.parametrize(
    "flags, message",
    [
        (["--hidden", "64,x"], "--hidden: expected comma-separated positive layer widths"),
        (["--hidden", "64,0"], "--hidden: expected comma-separated positive layer widths"),
        (["--batch", "0"], "--batch: expected a positive integer, found 0"),
        (["--max-steps", "0"], "--max-steps: expected a positive integer"),
        (["--lr", "-1"], "--lr: expected a positive step size"),
        (["--init", "/nonexistent/w.npz"], "--init: expected an existing weights file"),
        (["--tail-weight", "-1"], "--tail-weight: expected a non-negative weight, found -1.0"),
        (["--tail-power", "2"], "--tail-power: expected a power > 2, found 2.0"),
        (["--warmup", "-1"], "--warmup: expected a non-negative integer, found -1"),
        (["--face-fraction", "1.5"], "--face-fraction: expected a fraction in [0, 1], found 1.5"),
        (["--face-power", "0.5"], "--face-power: expected a power >= 1, found 0.5"),
        (["--mono-guard-faces", "-3"], "--mono-guard-faces: expected a non-negative integer, found -3"),
        (["--warmup", "50", "--max-steps", "50"], "--warmup: expected fewer steps than --max-steps (50), found 50"),
        (["--mono-batch", "-1"], "--mono-batch: expected a non-negative integer, found -1"),
        (["--mono-batch", "8", "--mono-weight", "0"], "--mono-batch: theta that enter only the slope hinge need --mono-weight > 0, found 0.0"),
        (["--hard-fraction", "-0.1"], "--hard-fraction: expected a fraction in [0, 1], found -0.1"),
        (["--hard-fraction", "0.7", "--face-fraction", "0.4"], "--hard-fraction: expected at most 1 - --face-fraction = 0.6, found 0.7"),
        (["--hard-pool", "0"], "--hard-pool: expected a positive integer, found 0"),
        (["--hard-every", "0"], "--hard-every: expected a positive integer, found 0"),
        (["--val-every", "0"], "--val-every: expected a positive integer, found 0"),
        (["--n-val", "-3"], "--n-val: expected a positive integer, found -3"),
        (["--hard-pool", "600", "--hard-candidates", "500"], "--hard-pool: expected at most --hard-candidates (500), found 600"),
        (["--stop-after", "-5"], "--stop-after: expected a non-negative integer, found -5"),
        (["--max-seconds", "-1"], "--max-seconds: expected a non-negative number of seconds, found -1.0"),
        (["--init", str(default_weights_path()), "--hidden", "8,8,8,4"],
         "--hidden: with --init, expected 4 widths each at least those of the warm-start network "
         + ",".join(map(str, hidden_widths(load_shamnet()))) + ", found '8,8,8,4'"),
    ],
)
def test_bad_flags_exit_2_and_name_the_flag(tmp_path, capsys, flags, message):
    assert main(["train-shamnet", "--out", str(tmp_path / "x"), *flags]) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "x" / "shamnet.npz").exists()


@pytest.mark.parametrize(
    "flags, message",
    [
        (["--knots", "1", "--arch", "basis"], "--knots: expected at least 2 knots, found 1"),
        (["--knots", "8"], "--knots: expected --arch basis, found --arch mlp"),
        (["--distil-steps", "0"], "--distil-steps: expected a positive integer, found 0"),
        (["--distil-lr", "0"], "--distil-lr: expected a positive step size, found 0.0"),
        (["--distil", "/nonexistent/w.npz"], "--distil: expected an existing weights file"),
        (["--init", str(default_weights_path()), "--arch", "basis"], "--init: a warm start keeps its network's architecture"),
    ],
)
def test_bad_basis_flags_exit_2(tmp_path, capsys, flags, message):
    assert main(["train-shamnet", "--out", str(tmp_path / "x"), *flags]) == 2
    assert message in capsys.readouterr().err


def test_quick_distilled_basis_run(tmp_path):
    out = tmp_path / "b"
    assert main(["train-shamnet", "--quick", "--seed", "4", "--arch", "basis", "--hidden", "16,16", "--knots", "10",
                 "--distil", str(default_weights_path()), "--batch", "3", "--out", str(out)]) == 0
    card = json.loads((out / "shamnet.json").read_text())
    assert card["architecture"]["kind"] == "basis" and card["architecture"]["knots"] == 10
    config = card["training"]["config"]
    assert config["distil_steps"] == 20 and config["arch"] == "basis" and config["hidden"] == [16, 16]
    assert card["training"]["distilled_from"]["sha256"] == json.loads(default_weights_path().with_suffix(".json").read_text())["sha256"]


@pytest.mark.parametrize("flag", ["--sup-steps", "--mono-mine", "--mono-points", "--keep-last", "--distil-slope-weight", "--distil-range"])
def test_dropped_options_are_no_flags(tmp_path, capsys, flag):
    assert main(["train-shamnet", "--out", str(tmp_path / "x"), flag, "1"]) == 2
    assert f"unrecognized arguments: {flag}" in capsys.readouterr().err
