"""Pieces the training stages share: casts, chunked evaluation, mixed batches and the one Adam step."""
import jax.numpy as jnp
import numpy as np
import optax

from shaminfer.shamnet import default_domain
from shaminfer.shamnet.domain import sample_domain
from shaminfer.shamnet.training import cast_floating
from shaminfer.shamnet.training.common import adam_step, chunked, mixed_batches


def test_cast_floating_casts_floats_and_keeps_integers():
    tree = (jnp.ones(3, jnp.float64), jnp.arange(3), {"a": np.float64(2.5)})
    out = cast_floating(tree, jnp.float32)
    assert out[0].dtype == jnp.float32 and out[2]["a"].dtype == jnp.float32
    assert jnp.issubdtype(out[1].dtype, jnp.integer)
    np.testing.assert_array_equal(np.asarray(out[1]), np.arange(3))


def test_chunked_equals_one_evaluation():
    th = sample_domain(default_domain(), 3, 23)
    f = lambda t: t.alpha * t.sigma_hi
    np.testing.assert_array_equal(np.asarray(chunked(f, th, chunk=5)), np.asarray(f(th)))


def test_mixed_batches_interleave_uniform_and_face_crowded_draws():
    dom = default_domain()
    th = mixed_batches(dom, 3, 4, 2, seed_flat=1, seed_face=2, face_power=3.0)
    flat, face = sample_domain(dom, 1, 12), sample_domain(dom, 2, 6, face_power=3.0)
    a = np.asarray(th.alpha).reshape(3, 6)
    np.testing.assert_array_equal(a[:, :4], np.asarray(flat.alpha).reshape(3, 4))
    np.testing.assert_array_equal(a[:, 4:], np.asarray(face.alpha).reshape(3, 2))
    np.testing.assert_array_equal(np.asarray(mixed_batches(dom, 3, 4, 0, seed_flat=1, seed_face=2, face_power=3.0).alpha),
                                  np.asarray(flat.alpha))


def test_adam_step_matches_optax_and_compiles_once():
    opt = optax.adam(0.1)
    traces = []

    def loss(x, c):
        traces.append(1)
        return jnp.sum((x - c) ** 2)

    step = adam_step(loss, opt)
    x, state = jnp.zeros(3), opt.init(jnp.zeros(3))
    # oracle: optax's own update on the gradient 2 (x - c)
    x_ref, state_ref = jnp.zeros(3), opt.init(jnp.zeros(3))
    for c in (jnp.ones(3), 2.0 * jnp.ones(3), jnp.arange(3.0)):
        x, state, value = step(x, state, c)
        upd, state_ref = opt.update(2.0 * (x_ref - c), state_ref, x_ref)
        np.testing.assert_allclose(float(value), float(jnp.sum((x_ref - c) ** 2)), rtol=1e-12)
        x_ref = optax.apply_updates(x_ref, upd)
        np.testing.assert_allclose(np.asarray(x), np.asarray(x_ref), rtol=1e-12)
    assert len(traces) == 1  # new values, same shapes: one trace
