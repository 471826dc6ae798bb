"""A tiny training run lowers every stage's loss (Eq. D3 in phase 1, the supervised regression, Eq. D4 in phase 2)."""
import jax
import jax.numpy as jnp
import numpy as np

from shaminfer.ingredients import three_roll_smhm
from shaminfer.shamnet import default_domain, init_shamnet
from shaminfer.shamnet.domain import sample_domain
from shaminfer.shamnet.losses import TRAIN_LOGMH_GRID, net_smf_loss, smhm_fit_loss
from shaminfer.shamnet.train import TrainConfig, fit_smhm_batch, train_phase1, train_phase2, train_supervised
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
