"""Central finite differences and engine comparisons shared by the galaxy-halo tests."""
import jax
import numpy as np
import pytest


def fd_jacobian(f, y, h=1e-6):
    """(len(f(y)), y.size) Jacobian of ``f`` at the JAX array ``y`` by central differences of step ``h``."""
    return np.stack([(np.asarray(f(y.at[i].add(h))) - np.asarray(f(y.at[i].add(-h)))) / (2 * h)
                     for i in range(y.size)], axis=1)


def assert_engines_close(a, b, fields=("smf", "smf_color", "wp"), tol=5e-3):
    """The exact engine's predictions ``a`` and the tabulated engine's ``b`` agree to ``tol`` relative."""
    for f in fields:
        x, y = np.asarray(getattr(a, f)), np.asarray(getattr(b, f))
        assert np.max(np.abs(y / x - 1)) < tol, f


def assert_grad_matches_fd(loss, v, indices, names, h=1e-5):
    """``jax.grad(loss)`` at the JAX array ``v`` against central differences of step ``h`` along ``indices``."""
    g = np.asarray(jax.grad(loss)(v))
    for i in indices:
        fd = (float(loss(v.at[i].add(h))) - float(loss(v.at[i].add(-h)))) / (2 * h)
        assert g[i] == pytest.approx(fd, rel=2e-4, abs=1e-6), names[i]
