"""Phase 1 (App. D.2): three-roll fits lower Eq. C3, and the network regressed on them moves towards the fits (Eq. D3)."""
import jax
import jax.numpy as jnp
import numpy as np

from shaminfer.ingredients import DEFAULT_SMHM_PARAMS, smhm_params_to_unbounded, three_roll_smhm
from shaminfer.shamnet import default_domain, init_shamnet
from shaminfer.shamnet.domain import sample_domain
from shaminfer.shamnet.losses import TRAIN_LOGMH_GRID, smhm_fit_loss
from shaminfer.shamnet.network import net_logsm
from shaminfer.shamnet.training import fit_smhm_batch, train_phase1

from .tiny import CFG


def test_three_roll_fit_lowers_eq_c3():
    th = sample_domain(default_domain(), 5, 3)
    u0 = smhm_params_to_unbounded(DEFAULT_SMHM_PARAMS)
    before = jax.vmap(smhm_fit_loss, in_axes=(None, 0))(u0, th)
    _, after = fit_smhm_batch(th, u0, steps=20, schedule=((0.01, None),))
    assert np.all(np.asarray(after) < np.asarray(before))


def test_phase1_moves_the_network_towards_the_three_roll_relation():
    domain = default_domain()
    key = jax.random.PRNGKey(0)
    net0 = init_shamnet(key, domain)
    net1, info1 = train_phase1(key, domain, CFG, seed=0, quiet=True)
    assert info1["n_kept"] == info1["n_fits"] == CFG.n_fit_theta
    # Eq. D3: distance to the three-roll relation at the domain center
    th = sample_domain(domain, 99, 4)
    target = three_roll_smhm(DEFAULT_SMHM_PARAMS, TRAIN_LOGMH_GRID)
    d3 = lambda n: float(jnp.mean((jax.vmap(lambda t: net_logsm(n, t, TRAIN_LOGMH_GRID))(th) - target) ** 2))
    assert d3(net1) < d3(net0)
    assert net1.layers[0][0].dtype == jnp.float64  # steps in float32, weights returned in float64
