"""Phase 2's monotonicity guards: the guard theta, the slope hinge with hinge-only theta, and the smallest-slope oracle."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from shaminfer.shamnet import default_domain, init_shamnet
from shaminfer.shamnet.network import ShamNet, net_logsm
from shaminfer.shamnet.training import monotonicity_guard_theta, train_phase2
from shaminfer.shamnet.training.monotonicity import GUARD_LOGMPEAK, smallest_slopes

from .tiny import CFG, val_history


def test_monotonicity_guard_adds_face_crowded_theta():
    dom = default_domain()
    plain = monotonicity_guard_theta(dom, CFG, seed=4)
    guarded = monotonicity_guard_theta(dom, CFG._replace(mono_guard_faces=2000), seed=4)
    assert np.size(plain.alpha) == 256 and np.size(guarded.alpha) == 2256
    np.testing.assert_array_equal(np.asarray(guarded.alpha)[:256], np.asarray(plain.alpha))
    t = np.abs(2.0 * (np.asarray(guarded.sigma_hi)[256:] - 0.1) / 0.4 - 1.0)
    assert np.mean(t > 0.8) > 0.45  # face-crowded (0.2 for uniform draws)


def test_smallest_slopes_match_numpy_finite_differences_in_any_chunking():
    net = init_shamnet(jax.random.PRNGKey(3), default_domain())
    th = monotonicity_guard_theta(net.domain, CFG._replace(mono_guard_faces=44), seed=1)
    m = np.asarray(GUARD_LOGMPEAK)
    logsm = np.asarray(jax.vmap(lambda t: net_logsm(net, t, jnp.asarray(m)))(th))
    oracle = np.min(np.diff(logsm, axis=-1), axis=-1) / (m[1] - m[0])
    for chunk in (1000, 7):
        np.testing.assert_allclose(np.asarray(smallest_slopes(ShamNet, net.domain, chunk=chunk)(net.layers, th)), oracle, rtol=1e-10)


def test_hinge_only_theta_change_the_steps_only_through_the_slope_hinge():
    net0 = init_shamnet(jax.random.PRNGKey(3), default_domain())
    base = CFG._replace(max_steps=20, mono_weight=10.0)
    hist = lambda cfg: val_history(train_phase2(net0, cfg, seed=5, quiet=True)[1])
    # a hinge that never acts (every slope exceeds -100): hinge-only theta leave the trajectory unchanged
    off = base._replace(mono_min_slope=-100.0)
    np.testing.assert_allclose(hist(off._replace(mono_batch=16)), hist(off), rtol=1e-12)
    # a hinge that acts on every slope below 1: they change the steps
    on = base._replace(mono_min_slope=1.0)
    assert np.max(np.abs(hist(on._replace(mono_batch=16)) - hist(on))) > 1e-6


def test_hinge_options_refuse_bad_values():
    net0 = init_shamnet(jax.random.PRNGKey(3), default_domain())
    with pytest.raises(ValueError, match="mono_batch: .*mono_weight > 0, found mono_weight = 0.0"):
        train_phase2(net0, CFG._replace(mono_batch=4), seed=5, quiet=True)


def test_require_monotonic_keeps_no_weights_whose_smhm_falls():
    # a random network's SMHM falls somewhere on the guard theta, and ten steps of Eq. D4 do not fix it
    net0 = init_shamnet(jax.random.PRNGKey(3), default_domain())
    slopes = smallest_slopes(ShamNet, net0.domain)
    assert float(jnp.min(slopes(net0.layers, monotonicity_guard_theta(net0.domain, CFG, seed=5)))) < 0
    cfg = CFG._replace(max_steps=10)
    net_plain, plain = train_phase2(net0, cfg, seed=5, quiet=True)
    assert plain["best_step"] == 10 and plain["best_val_rms_dex"] < plain["history"][0][2]
    assert float(jnp.min(slopes(net_plain.layers, monotonicity_guard_theta(net0.domain, CFG, seed=5)))) < 0
    # with the check on, neither the start nor step 10 is eligible: no best, and the start weights come back
    net, info = train_phase2(net0, cfg._replace(require_monotonic=True), seed=5, quiet=True)
    assert info["best_step"] == 0 and info["best_val_rms_dex"] == float("inf")
    np.testing.assert_array_equal(val_history(info), val_history(plain))  # the same steps; only the choice of weights differs
    for (w, b), (w0, b0) in zip(net.layers, net0.layers):
        np.testing.assert_allclose(np.asarray(w), np.asarray(w0), rtol=1e-6)
        np.testing.assert_allclose(np.asarray(b), np.asarray(b0), rtol=1e-6)
