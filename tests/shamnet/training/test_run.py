"""``train_shamnet``: warm starts (widened or not) and distilled runs write loadable weights and cards with their lineage."""
import json

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from shaminfer.shamnet import default_domain, init_shamnet, load_shamnet, save_shamnet
from shaminfer.shamnet.domain import sample_domain
from shaminfer.shamnet.losses import net_smf_residuals
from shaminfer.shamnet.network import BasisShamNet, basis_knots
from shaminfer.shamnet.training import train_shamnet

from .tiny import CFG


def _card_stub(command):
    dom = default_domain()
    return dict(domain=dict(posterior_mean=np.asarray(dom.center).tolist(), posterior_cov=np.eye(2).tolist()), command=command)


def test_widened_warm_start_continues_from_the_same_predictions(tmp_path):
    src = tmp_path / "init.npz"
    net0 = init_shamnet(jax.random.PRNGKey(2), default_domain(), hidden=(8, 4))
    save_shamnet(net0, src, card=_card_stub("test"))
    cfg = CFG._replace(max_steps=20, n_accuracy=4, dtype="float64")  # float64 steps: no rounding of the warm start
    seed = 0
    res = train_shamnet(seed, tmp_path / "out", cfg=cfg, quiet=True, init=src, widen=(12, 6))
    assert [w.shape[1] for w, _ in res.net.layers[:-1]] == [12, 6]
    written = json.loads((tmp_path / "out" / "shamnet.json").read_text())
    assert written["architecture"]["hidden"] == [12, 6] and written["training"]["config"]["hidden"] == [12, 6]
    assert written["training"]["init_weights"]["widened_from_hidden"] == [8, 4]
    assert [w.shape[1] for w, _ in load_shamnet(tmp_path / "out" / "shamnet.npz").layers[:-1]] == [12, 6]
    # step 0 of phase 2 (the widened network) validates exactly as the warm-start network did
    th = sample_domain(default_domain(), seed + 3, cfg.n_val)  # phase 2's validation draws
    start_rms = float(jnp.sqrt(jnp.mean(net_smf_residuals(net0, th) ** 2)))
    hist = np.loadtxt(tmp_path / "out" / "phase2_history.csv", delimiter=",", skiprows=1)
    # (jit and the wider matrices reorder the float64 sums: agreement to 1e-7 relative, far below any step's change)
    assert hist[0, 0] == 0 and abs(hist[0, 2] - start_rms) < 1e-7 * start_rms
    # a further warm start records the whole lineage: its parent (architecture, accuracy) and the parent's parent
    train_shamnet(seed, tmp_path / "out2", cfg=cfg, quiet=True, init=tmp_path / "out" / "shamnet.npz")
    parent = json.loads((tmp_path / "out2" / "shamnet.json").read_text())["training"]["init_weights"]
    assert parent["hidden"] == [12, 6] and parent["sha256"] == written["sha256"]
    assert parent["accuracy"] == written["accuracy"]
    assert parent["init_weights"]["widened_from_hidden"] == [8, 4] and parent["init_weights"]["command"] == "test"
    with pytest.raises(ValueError, match="widen: only a warm start"):
        train_shamnet(seed, tmp_path / "out3", cfg=cfg, quiet=True, widen=(12, 6))


def test_distilled_basis_run_writes_its_card_and_warm_starts_keep_the_basis(tmp_path):
    src = tmp_path / "teacher.npz"
    save_shamnet(load_shamnet(), src, card=_card_stub("teacher"))
    cfg = CFG._replace(arch="basis", hidden=(16, 16), knots=8, distil_steps=20, distil_batch=8, max_steps=20, n_accuracy=4)
    train_shamnet(1, tmp_path / "out", cfg=cfg, quiet=True, distil=src)
    assert isinstance(load_shamnet(tmp_path / "out" / "shamnet.npz"), BasisShamNet)
    card = json.loads((tmp_path / "out" / "shamnet.json").read_text())
    arch = card["architecture"]
    assert arch["kind"] == "basis" and arch["knots"] == 8 and arch["hidden"] == [16, 16] and "App. D.1" in arch["departure"]
    assert arch["inputs"] == ["log10 phi*", "alpha", "sigma_lo", "sigma_hi"]
    assert card["training"]["distilled_from"]["command"] == "teacher" and card["training"]["init_weights"] is None
    assert card["training"]["phase1"]["steps"] == 20 and "distillation" in card["stages"][0]
    # the card's monotonicity figure is positive for any basis network
    assert card["accuracy"]["min_smhm_slope_10_to_15p5"] > 0
    # a warm start from the basis file continues the basis network and records its lineage
    train_shamnet(2, tmp_path / "out2", cfg=CFG._replace(max_steps=20, n_accuracy=4), quiet=True, init=tmp_path / "out" / "shamnet.npz")
    back = load_shamnet(tmp_path / "out2" / "shamnet.npz")
    assert isinstance(back, BasisShamNet) and basis_knots(back) == 8
    card2 = json.loads((tmp_path / "out2" / "shamnet.json").read_text())
    assert card2["training"]["config"]["arch"] == "basis" and card2["training"]["config"]["knots"] == 8
    assert card2["training"]["init_weights"]["arch"] == "basis"
    assert card2["training"]["init_weights"]["distilled_from"]["command"] == "teacher"
    assert card2["stages"][0].startswith("warm start from")
    with pytest.raises(ValueError, match="distil: a warm start"):
        train_shamnet(2, tmp_path / "out3", cfg=cfg, quiet=True, init=src, distil=src)
