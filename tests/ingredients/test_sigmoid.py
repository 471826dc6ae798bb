import jax.numpy as jnp
import numpy as np
from jax.test_util import check_grads

from shaminfer.ingredients import clipped_log10, inverse_sigmoid, sigmoid


def test_sigmoid_limits_and_midpoint():
    assert float(sigmoid(12.0, 12.0, 1.0, 0.1, 0.5)) == 0.30000000000000004 or abs(float(sigmoid(12.0, 12.0, 1.0, 0.1, 0.5)) - 0.3) < 1e-15
    np.testing.assert_allclose(sigmoid(-100.0, 0.0, 1.0, -2.0, 3.0), -2.0, atol=1e-12)
    np.testing.assert_allclose(sigmoid(100.0, 0.0, 1.0, -2.0, 3.0), 3.0, atol=1e-12)
    y = sigmoid(jnp.linspace(-3, 3, 7), 0.5, 2.0, -1.0, 4.0)
    np.testing.assert_allclose(inverse_sigmoid(y, 0.5, 2.0, -1.0, 4.0), jnp.linspace(-3, 3, 7), atol=1e-10)


def test_clipped_log_limits():
    ymin = 1e-15
    x = jnp.array([1e-10, 1e-5, 1.0, 3e3])
    np.testing.assert_allclose(clipped_log10(x, ymin), jnp.log10(x), atol=1e-9)
    assert abs(float(clipped_log10(0.0, ymin)) - np.log10(ymin)) < 1e-12
    # monotone and smooth through the clip
    xs = jnp.linspace(0, 1e-13, 50)
    assert np.all(np.diff(np.asarray(clipped_log10(xs, ymin))) > 0)


def test_gradients():
    check_grads(lambda x, x0, k: sigmoid(x, x0, k, 0.1, 0.5), (11.7, 12.0, 1.0), order=2, modes=["fwd", "rev"])
    check_grads(lambda x: clipped_log10(x, 0.5), (1.3,), order=2, modes=["fwd", "rev"])
