"""Stacked Delta Sigma (Eq. 11), exact merging of annuli, and the missing-profile fraction."""
import jax.numpy as jnp
import numpy as np
import pytest
from jax.test_util import check_grads

from shaminfer.stats import delta_sigma_from_weights, merge_annuli, missing_profile_fraction


def _point_mass_at_centre(rbins):
    """Eq. F4 for a unit mass at R = 0: <Delta Sigma> = 2 ln(Rmax/Rmin) / (pi (Rmax^2 - Rmin^2))."""
    lo, hi = rbins[:-1], rbins[1:]
    return 2 * np.log(hi / lo) / (np.pi * (hi**2 - lo**2))


def test_merge_annuli_is_exact_for_eq_f4():
    rbins = np.logspace(-1, 1, 16)
    profiles = np.stack([_point_mass_at_centre(rbins), 3 * _point_mass_at_centre(rbins)])
    coarse = rbins[[0, 3, 4, 10, 15]]
    merged = merge_annuli(profiles, rbins, coarse)
    np.testing.assert_allclose(merged[0], _point_mass_at_centre(coarse), rtol=1e-13)
    np.testing.assert_allclose(merged[1], 3 * _point_mass_at_centre(coarse), rtol=1e-13)
    np.testing.assert_allclose(merge_annuli(profiles, rbins, rbins), profiles, rtol=1e-14)
    with pytest.raises(ValueError, match="new_rbins"):
        merge_annuli(profiles, rbins, [0.1, 0.15, 10.0])


def test_weighted_stack_reduces_to_the_plain_mean_for_hard_cuts():
    rng = np.random.default_rng(0)
    prof = rng.uniform(1, 10, (50, 6))
    w = (rng.uniform(size=50) < 0.4).astype(float)
    np.testing.assert_allclose(delta_sigma_from_weights(jnp.asarray(w), prof), prof[w == 1].mean(axis=0),
                               rtol=1e-14)
    both = delta_sigma_from_weights(jnp.stack([jnp.asarray(w), jnp.ones(50)]), prof)
    np.testing.assert_allclose(both[1], prof.mean(axis=0), rtol=1e-14)
    check_grads(lambda ww: delta_sigma_from_weights(ww, prof[:8]), (jnp.asarray(rng.uniform(0.1, 1, 8)),), order=2,
                modes=("rev",))


def test_missing_profile_fraction():
    w = np.array([[0.5, 0.5, 1.0, 0.0], [0.0, 0.0, 0.0, 0.0]])
    has = np.array([True, False, True, True])
    np.testing.assert_allclose(missing_profile_fraction(w, has), [0.25, 1.0])
