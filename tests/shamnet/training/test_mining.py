"""Hard-theta mining: the pool holds the worst of fresh theta (oracle: a NumPy ranking), and mined draws change the steps."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from shaminfer.ingredients.theta import ShamParams
from shaminfer.shamnet import default_domain, init_shamnet
from shaminfer.shamnet.domain import sample_domain
from shaminfer.shamnet.losses import net_smf_residuals
from shaminfer.shamnet.training import train_phase2
from shaminfer.shamnet.training.mining import refresh_pool, with_draws

from .tiny import CFG, val_history


def test_refresh_pool_keeps_the_highest_scores_in_any_chunking():
    th = sample_domain(default_domain(), 8, 37)
    score = lambda t: jnp.sin(40.0 * t.alpha) + t.sigma_lo  # any per-theta score
    s = np.asarray(score(th))
    order = np.argsort(-s)[:5]
    for chunk in (500, 4):
        pool = refresh_pool(score, th, 5, at_step=12, chunk=chunk)
        np.testing.assert_array_equal(np.asarray(pool.theta.alpha), np.asarray(th.alpha)[order])
        assert (pool.step, pool.worst, pool.floor) == (12, s[order[0]], s[order[-1]])


def test_with_draws_appends_draws_of_the_pool():
    dom = default_domain()
    th, pool = sample_domain(dom, 1, 3), sample_domain(dom, 2, 4)
    out = with_draws(th, pool, np.random.default_rng(0), 5)
    alpha = np.asarray(out.alpha)
    np.testing.assert_array_equal(alpha[:3], np.asarray(th.alpha))
    assert len(alpha) == 8 and set(alpha[3:]) <= set(np.asarray(pool.alpha))


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
    _, plain = train_phase2(net0, cfg, seed=5, quiet=True)
    assert "hard_mining" not in plain and np.max(np.abs(val_history(info) - val_history(plain))) > 1e-6
    with pytest.raises(ValueError, match=r"hard_fraction: expected face_fraction \+ hard_fraction <= 1 \(2 \+ 3 theta"):
        train_phase2(net0, cfg._replace(face_fraction=0.5, hard_fraction=0.75), seed=5, quiet=True)
    with pytest.raises(ValueError, match="hard_pool: expected 1 <= hard_pool <= hard_candidates"):
        train_phase2(net0, cfg._replace(hard_fraction=0.5, hard_pool=30), seed=5, quiet=True)
