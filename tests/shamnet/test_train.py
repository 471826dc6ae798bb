"""A tiny training run lowers every stage's loss (Eq. D3 in phase 1, the supervised regression, Eq. D4 in phase 2)."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from shaminfer.ingredients import three_roll_smhm
from shaminfer.shamnet import default_domain, init_shamnet, load_shamnet
from shaminfer.shamnet.domain import sample_domain
from shaminfer.ingredients.theta import ShamParams
from shaminfer.shamnet.losses import TRAIN_LOGMH_GRID, net_smf_loss, net_smf_residuals, smhm_fit_loss
from shaminfer.shamnet.train import TrainConfig, cast_floating, fit_smhm_batch, train_phase1, train_phase2, train_supervised
from shaminfer.ingredients import DEFAULT_SMHM_PARAMS, smhm_params_to_unbounded

# mechanics only: a loose loss cut so that a handful of short fits initialize the network
CFG = TrainConfig(n_fit_theta=6, fit_center_steps=60, fit_steps=20, fit_loss_max=10.0, init_steps=60, init_batch=6, max_steps=30, batch=4, val_every=10, n_val=4, patience=100,
                  n_sup_theta=6, sup_iter=5, sup_steps=30, sup_batch=6, require_monotonic=False)


def test_three_roll_fit_lowers_eq_c3():
    th = sample_domain(default_domain(), 5, 3)
    u0 = smhm_params_to_unbounded(DEFAULT_SMHM_PARAMS)
    before = jax.vmap(smhm_fit_loss, in_axes=(None, 0))(u0, th)
    _, after = fit_smhm_batch(th, u0, steps=20, schedule=((0.01, None),))
    assert np.all(np.asarray(after) < np.asarray(before))


def test_tiny_two_phase_run_lowers_both_losses():
    domain = default_domain()
    key = jax.random.PRNGKey(0)
    net0 = init_shamnet(key, domain)
    net1, info1 = train_phase1(key, domain, CFG, seed=0, quiet=True)
    # Eq. D3: distance to the three-roll relation at the domain center
    th = sample_domain(domain, 99, 4)
    from shaminfer.shamnet.network import net_logsm
    from shaminfer.ingredients import ShamParams

    target = three_roll_smhm(DEFAULT_SMHM_PARAMS, TRAIN_LOGMH_GRID)
    d3 = lambda n: float(jnp.mean((jax.vmap(lambda t: net_logsm(n, t, TRAIN_LOGMH_GRID))(th) - target) ** 2))
    assert d3(net1) < d3(net0)
    net_s, info_s = train_supervised(net1, CFG, seed=0, quiet=True)
    assert info_s["best_val_loss"] < info_s["val_loss_start"]
    assert info_s["final_batch_loss"] < info_s["first_batch_loss"]
    net1 = net_s
    loss_before = float(net_smf_loss(net1, th))
    net2, info2 = train_phase2(net1, CFG, seed=0, quiet=True)
    assert info2["best_val_rms_dex"] <= info2["history"][0][2]
    assert float(net_smf_loss(net2, th)) < loss_before


def test_warm_up_and_face_batches_lower_eq_d4():
    domain = default_domain()
    net0 = init_shamnet(jax.random.PRNGKey(1), domain)
    cfg = CFG._replace(warmup_steps=10, face_fraction=0.5, face_power=3.0, max_steps=40)
    net2, info = train_phase2(net0, cfg, seed=1, quiet=True)
    assert info["steps"] == 40
    assert info["best_val_rms_dex"] < info["history"][0][2]


def test_warm_up_starts_from_a_zero_step_size():
    # optax's warm-up starts at 0: the first Adam step leaves the network unchanged, unlike the plain cosine schedule
    net0 = init_shamnet(jax.random.PRNGKey(3), default_domain())
    few = CFG._replace(max_steps=3, val_every=1)
    _, warm = train_phase2(net0, few._replace(warmup_steps=2), seed=3, quiet=True)
    _, cold = train_phase2(net0, few, seed=3, quiet=True)
    (_, _, v0), (_, _, v1) = warm["history"][:2]
    assert v1 == v0
    assert cold["history"][1][2] != cold["history"][0][2]
    with pytest.raises(ValueError, match="warmup_steps: expected fewer than max_steps = 3, found 3"):
        train_phase2(net0, few._replace(warmup_steps=3), seed=3, quiet=True)


def test_wall_time_budget_stops_phase_2_at_the_next_check():
    net0 = init_shamnet(jax.random.PRNGKey(2), default_domain())
    _, unlimited = train_phase2(net0, CFG, seed=2, quiet=True)
    assert unlimited["steps"] == CFG.max_steps and unlimited["stopped_by"] is None
    # a budget already spent at the first check (step val_every) stops there, with the best weights so far
    _, info = train_phase2(net0, CFG._replace(max_seconds=1e-9), seed=2, quiet=True)
    assert info["steps"] == CFG.val_every
    assert "wall-time budget" in info["stopped_by"]
    # ... and it says at the first check that the schedule would not have annealed
    assert f"of the {CFG.max_steps}-step schedule, before the step size anneals" in info["budget_warning"]
    assert unlimited["budget_warning"] is None
    # a budget that holds the whole schedule gives no warning
    _, roomy = train_phase2(net0, CFG._replace(max_seconds=1e6), seed=2, quiet=True)
    assert roomy["budget_warning"] is None and roomy["steps"] == CFG.max_steps
    assert [h[0] for h in info["history"]] == [0, CFG.val_every]
    # stopping at a given step keeps the schedule of max_steps: the same trajectory as the unlimited run, cut short
    _, cut = train_phase2(net0, CFG._replace(stop_after_steps=2 * CFG.val_every), seed=2, quiet=True)
    assert cut["steps"] == 2 * CFG.val_every and "stop_after_steps" in cut["stopped_by"]
    assert cut["history"][1:] == unlimited["history"][1:3]


def test_widened_warm_start_continues_from_the_same_predictions(tmp_path):
    import json

    from shaminfer.shamnet import load_shamnet, save_shamnet
    from shaminfer.shamnet.train import train_shamnet

    src = tmp_path / "init.npz"
    net0 = init_shamnet(jax.random.PRNGKey(2), default_domain(), hidden=(8, 4))
    dom = default_domain()
    card = dict(domain=dict(posterior_mean=np.asarray(dom.center).tolist(), posterior_cov=np.eye(2).tolist()), command="test")
    save_shamnet(net0, src, card=card)
    cfg = CFG._replace(max_steps=20, n_accuracy=4, dtype="float64")  # float64 steps: no rounding of the warm start
    seed = 0
    res = train_shamnet(seed, tmp_path / "out", cfg=cfg, quiet=True, init=src, widen=(12, 6))
    assert [w.shape[1] for w, _ in res.net.layers[:-1]] == [12, 6]
    written = json.loads((tmp_path / "out" / "shamnet.json").read_text())
    assert written["architecture"]["hidden"] == [12, 6] and written["training"]["config"]["hidden"] == [12, 6]
    assert written["training"]["init_weights"]["widened_from_hidden"] == [8, 4]
    assert [w.shape[1] for w, _ in load_shamnet(tmp_path / "out" / "shamnet.npz").layers[:-1]] == [12, 6]
    # step 0 of phase 2 (the widened network) validates exactly as the warm-start network did
    from shaminfer.shamnet.losses import net_smf_residuals

    th = sample_domain(dom, seed + 3, cfg.n_val)  # phase 2's validation draws
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


def test_monotonicity_guard_adds_face_crowded_theta():
    from shaminfer.shamnet.train import monotonicity_guard_theta

    dom = default_domain()
    plain = monotonicity_guard_theta(dom, CFG, seed=4)
    guarded = monotonicity_guard_theta(dom, CFG._replace(mono_guard_faces=2000), seed=4)
    assert np.size(plain.alpha) == 256 and np.size(guarded.alpha) == 2256
    np.testing.assert_array_equal(np.asarray(guarded.alpha)[:256], np.asarray(plain.alpha))
    t = np.abs(2.0 * (np.asarray(guarded.sigma_hi)[256:] - 0.1) / 0.4 - 1.0)
    assert np.mean(t > 0.8) > 0.45  # face-crowded (0.2 for uniform draws)


@pytest.mark.parametrize(
    "base_extra, change",
    [
        ({}, dict(mono_batch=16)),  # hinge-only theta enter the slope hinge and nothing else
        (dict(mono_batch=16), dict(mono_points=441)),  # mono_points moves them to a finer grid on 10..15.5
    ],
    ids=["mono_batch", "mono_points"],
)
def test_hinge_options_change_the_steps_only_through_the_slope_hinge(base_extra, change):
    net0 = init_shamnet(jax.random.PRNGKey(3), default_domain())
    base = CFG._replace(max_steps=20, mono_weight=10.0, **base_extra)
    hist = lambda cfg: np.array([h[2] for h in train_phase2(net0, cfg, seed=5, quiet=True)[1]["history"]])
    # a hinge that never acts (every slope exceeds -100): the option leaves the trajectory unchanged
    off = base._replace(mono_min_slope=-100.0)
    np.testing.assert_allclose(hist(off._replace(**change)), hist(off), rtol=1e-12)
    # a hinge that acts on every slope below 1: the option changes the steps
    on = base._replace(mono_min_slope=1.0)
    assert np.max(np.abs(hist(on._replace(**change)) - hist(on))) > 1e-6


def test_hinge_options_refuse_bad_values():
    net0 = init_shamnet(jax.random.PRNGKey(3), default_domain())
    with pytest.raises(ValueError, match="mono_batch: .*mono_weight > 0, found mono_weight = 0.0"):
        train_phase2(net0, CFG._replace(mono_batch=4), seed=5, quiet=True)
    with pytest.raises(ValueError, match="mono_points: expected 0 .* or at least 2 points, found 1"):
        train_phase2(net0, CFG._replace(mono_points=1), seed=5, quiet=True)


def test_slope_mining_keeps_the_lowest_slopes_of_fresh_theta_and_changes_the_steps():
    from shaminfer.shamnet.network import net_logsm

    net0 = init_shamnet(jax.random.PRNGKey(3), default_domain())
    cfg = CFG._replace(max_steps=20, hard_every=10, mono_weight=10.0, mono_min_slope=1.0, mono_batch=6, mono_points=41,
                       dtype="float64")  # float64 steps: the mined weights are the start weights exactly
    _, info = train_phase2(net0, cfg._replace(mono_mine=30), seed=5, quiet=True)
    assert [m["step"] for m in info["slope_mining"]] == [0, 10]
    # oracle for the first mining: the same fresh face-crowded candidates ranked here by the start network's
    # smallest finite-difference slope on 41 points over 10..15.5
    cand = sample_domain(net0.domain, 5 + 1_100_000_000, 30, face_power=cfg.face_power)
    m = np.linspace(10.0, 15.5, 41)
    logsm = np.asarray(jax.vmap(lambda t: net_logsm(net0, t, jnp.asarray(m)))(cand))
    low = np.sort(np.min(np.diff(logsm, axis=-1) / (m[1] - m[0]), axis=-1))
    np.testing.assert_allclose([info["slope_mining"][0]["min_slope"], info["slope_mining"][0]["pool_ceiling"]], [low[0], low[5]],
                               rtol=1e-10)
    # mined theta replace half of the fresh hinge-only theta: with the hinge acting, the steps differ
    hist = lambda i: np.array([h[2] for h in i["history"]])
    _, plain = train_phase2(net0, cfg, seed=5, quiet=True)
    assert "slope_mining" not in plain and np.max(np.abs(hist(info) - hist(plain))) > 1e-6
    for bad in (dict(mono_mine=4), dict(mono_mine=-1), dict(mono_mine=30, mono_batch=1)):
        with pytest.raises(ValueError, match="mono_mine: expected 0 .off. or at least mono_batch >= 2 candidates"):
            train_phase2(net0, cfg._replace(**bad), seed=5, quiet=True)


def test_hard_mining_keeps_the_worst_fresh_theta_and_changes_the_steps():
    net0 = init_shamnet(jax.random.PRNGKey(3), default_domain())
    cfg = CFG._replace(max_steps=20, hard_candidates=24, hard_pool=5, hard_every=10)
    net1, info = train_phase2(net0, cfg._replace(hard_fraction=0.5), seed=5, quiet=True)
    assert [m["step"] for m in info["hard_mining"]] == [0, 10]
    # oracle for the first mining: the same fresh candidates ranked here by the start network's max |Delta|
    dom = net0.domain
    cand = [sample_domain(dom, 5 + 900_000_000, 12), sample_domain(dom, 5 + 950_000_000, 12, face_power=cfg.face_power)]
    cand = ShamParams(*(jnp.concatenate([a, b]) for a, b in zip(*cand)))
    worst = np.sort(np.max(np.abs(np.asarray(net_smf_residuals(net0, cand))), axis=-1))[::-1]
    np.testing.assert_allclose([info["hard_mining"][0]["worst_max_abs_dex"], info["hard_mining"][0]["pool_floor_dex"]],
                               [worst[0], worst[4]], rtol=1e-10)
    # the mined theta replace uniform ones in the batches: the steps differ from a run without them
    hist = lambda i: np.array([h[2] for h in i["history"]])
    _, plain = train_phase2(net0, cfg, seed=5, quiet=True)
    assert "hard_mining" not in plain and np.max(np.abs(hist(info) - hist(plain))) > 1e-6
    with pytest.raises(ValueError, match=r"hard_fraction: expected face_fraction \+ hard_fraction <= 1 \(2 \+ 3 theta"):
        train_phase2(net0, cfg._replace(face_fraction=0.5, hard_fraction=0.75), seed=5, quiet=True)
    with pytest.raises(ValueError, match="hard_pool: expected 1 <= hard_pool <= hard_candidates"):
        train_phase2(net0, cfg._replace(hard_fraction=0.5, hard_pool=30), seed=5, quiet=True)


def test_keep_last_returns_the_weights_of_the_last_check():
    # from the trained network, full-size steps on batches of 4 make validation worse: the best check is the start
    net0 = load_shamnet()
    cfg = CFG._replace(max_steps=30, lr=1e-3)
    best, info_best = train_phase2(net0, cfg, seed=5, quiet=True)
    net, info = train_phase2(net0, cfg._replace(keep_last=True), seed=5, quiet=True)
    assert info_best["best_step"] == info["best_step"] == 0
    assert info["kept"]["step"] == 30 == info["history"][-1][0]
    # oracle: the rms of Delta on the validation theta is the last check's value for keep_last, the start's without
    def val(n):
        return float(jnp.sqrt(jnp.mean(net_smf_residuals(n, sample_domain(n.domain, 5 + 3, CFG.n_val)) ** 2)))

    np.testing.assert_allclose(val(net), info["history"][-1][2], rtol=1e-10)
    np.testing.assert_allclose(val(best), info["history"][0][2], rtol=1e-10)
    assert info["history"][-1][2] > 2 * info["history"][0][2]


def test_cast_floating_casts_floats_and_keeps_integers():
    tree = (jnp.ones(3, jnp.float64), jnp.arange(3), {"a": np.float64(2.5)})
    out = cast_floating(tree, jnp.float32)
    assert out[0].dtype == jnp.float32 and out[2]["a"].dtype == jnp.float32
    assert jnp.issubdtype(out[1].dtype, jnp.integer)
    np.testing.assert_array_equal(np.asarray(out[1]), np.arange(3))


def _teacher_file(tmp_path):
    from shaminfer.shamnet import save_shamnet

    dom = default_domain()
    card = dict(domain=dict(posterior_mean=np.asarray(dom.center).tolist(), posterior_cov=np.eye(2).tolist()), command="teacher")
    save_shamnet(load_shamnet(), tmp_path / "teacher.npz", card=card)
    return tmp_path / "teacher.npz"


def test_distillation_moves_a_basis_network_towards_the_teacher():
    from shaminfer.shamnet.network import BasisShamNet, net_logsm
    from shaminfer.shamnet.train import init_network, train_distil

    teacher = load_shamnet()
    cfg = CFG._replace(arch="basis", hidden=(16, 16), knots=8, distil_steps=100, distil_batch=8, distil_lr=3e-2, val_every=20)
    key = jax.random.PRNGKey(0)
    net, info = train_distil(key, teacher, cfg, seed=0, quiet=True)
    assert isinstance(net, BasisShamNet) and info["steps"] == 100
    # oracle: rms distance to the teacher's SMHM on theta no training step saw, before and after
    th = sample_domain(teacher.domain, 12345, 20)
    tgt = jax.vmap(lambda t: net_logsm(teacher, t, TRAIN_LOGMH_GRID))(th)

    def gap(n, window=(-np.inf, np.inf)):  # rms difference in log10 M* over the nodes whose teacher value is in window
        d = jax.vmap(lambda t: net_logsm(n, t, TRAIN_LOGMH_GRID))(th) - tgt
        inside = (tgt > window[0]) & (tgt < window[1])
        return float(jnp.sqrt(jnp.sum(jnp.where(inside, d, 0.0) ** 2) / jnp.sum(inside)))

    start = init_network(key, teacher.domain, cfg)
    assert gap(net) < 0.75 * gap(start)  # 1.07 -> 0.64 dex when written; the init already starts near an SMHM
    # with the slope term and a log10 M* window the loss changes, and the steps still approach the teacher
    net_s, info_s = train_distil(key, teacher, cfg._replace(distil_slope_weight=1.0, distil_x_range=(7.0, 14.0)), seed=0, quiet=True)
    assert info_s["final_batch_loss"] != info["final_batch_loss"]
    assert gap(net_s, (7.0, 14.0)) < 0.75 * gap(start, (7.0, 14.0))
    with pytest.raises(ValueError, match="arch: expected 'mlp' or 'basis', found 'cnn'"):
        init_network(key, teacher.domain, cfg._replace(arch="cnn"))


def test_distilled_basis_run_writes_its_card_and_warm_starts_keep_the_basis(tmp_path):
    import json

    from shaminfer.shamnet.network import BasisShamNet, basis_knots
    from shaminfer.shamnet.train import train_shamnet

    src = _teacher_file(tmp_path)
    cfg = CFG._replace(arch="basis", hidden=(16, 16), knots=8, distil_steps=20, distil_batch=8, max_steps=20, n_accuracy=4)
    res = train_shamnet(1, tmp_path / "out", cfg=cfg, quiet=True, distil=src)
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
    with pytest.raises(ValueError, match="distil: a warm start"):
        train_shamnet(2, tmp_path / "out3", cfg=cfg, quiet=True, init=src, distil=src)
