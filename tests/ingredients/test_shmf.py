import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.test_util import check_grads

from shaminfer.ingredients import (
    DEFAULT_SHMF_PARAMS,
    checked_cumulative_shmf,
    cumulative_shmf,
    differential_shmf,
    shmf_mc,
    shmf_y0,
)


def test_app_a_parameters_at_z0():
    assert abs(float(shmf_mc(DEFAULT_SHMF_PARAMS, 0.0)) - 15.13) < 0.005
    assert abs(float(shmf_y0(DEFAULT_SHMF_PARAMS, 0.0)) - (-7.36)) < 0.005
    # z dependence follows the sigmoid of Eq. A1 towards the high-z values
    assert abs(float(shmf_mc(DEFAULT_SHMF_PARAMS, 20.0)) - 12.925) < 1e-6


def test_differential_is_minus_derivative_of_cumulative():
    m = jnp.linspace(10.0, 15.5, 40)
    for z in (0.0, 1.0):
        dcum = jax.vmap(jax.grad(lambda x: cumulative_shmf(DEFAULT_SHMF_PARAMS, x, z)))(m)
        np.testing.assert_allclose(differential_shmf(DEFAULT_SHMF_PARAMS, m, z), -dcum, rtol=1e-12)
    # and integrating the differential function recovers the cumulative one
    fine = np.linspace(12.0, 17.5, 20001)
    dn = np.asarray(differential_shmf(DEFAULT_SHMF_PARAMS, fine))
    integral = np.trapezoid(dn, fine) + float(cumulative_shmf(DEFAULT_SHMF_PARAMS, 17.5))
    assert abs(integral / float(cumulative_shmf(DEFAULT_SHMF_PARAMS, 12.0)) - 1) < 1e-7


def test_low_mass_power_law():
    # slope of log10 N(>m) approaches y_lo = -1.4 well below m_c
    s = jax.grad(lambda m: jnp.log10(cumulative_shmf(DEFAULT_SHMF_PARAMS, m)))(5.0)
    assert abs(float(s) + 1.4) < 0.02


def test_gradients():
    check_grads(lambda m: cumulative_shmf(DEFAULT_SHMF_PARAMS, m, 0.3), (12.5,), order=2, modes=["fwd", "rev"])
    check_grads(lambda m: differential_shmf(DEFAULT_SHMF_PARAMS, m, 0.3), (12.5,), order=1, modes=["fwd", "rev"])


def test_bad_input():
    with pytest.raises(ValueError, match="redshift"):
        checked_cumulative_shmf(DEFAULT_SHMF_PARAMS, 12.0, redshift=float("nan"))
    with pytest.raises(ValueError, match="logmpeak"):
        checked_cumulative_shmf(DEFAULT_SHMF_PARAMS, jnp.array([12.0, 25.0]))
    with pytest.raises(ValueError, match="ShmfParams.k"):
        checked_cumulative_shmf(DEFAULT_SHMF_PARAMS._replace(k=-1.0), 12.0)
