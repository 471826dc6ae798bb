"""The prior of a fit with parameter blocks: layout, ranges, refusals, and the NumPyro model over it."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from numpyro.infer.util import log_density

from shaminfer.galaxy_halo import SHAM_BLOCK, compose, disruption, parametric, quenching, sham, stellar_mass_offset
from shaminfer.inference.model import UNIT_SITE, build_model
from shaminfer.inference.model_prior import fit_blocks, model_prior
from shaminfer.inference.model_terms import with_shear_bias
from shaminfer.inference.priors import check_prior_in_domain, domain_prior, prior_contains, theta_from_unit, unit_from_theta
from shaminfer.inference.terms import DeltaSigmaTerm, GaussianTerm

COMPOSED = compose(parametric(), quenching(), disruption(), stellar_mass_offset())


def test_composed_prior_is_every_block_default_range_in_order():
    prior = model_prior(COMPOSED.blocks)
    assert prior.names == COMPOSED.fields and prior.ndim == 24
    np.testing.assert_array_equal(prior.basis, np.eye(24))
    for b in COMPOSED.blocks:
        for f in b.fields:
            i = prior.names.index(f)
            lo, hi = b.prior[f]
            assert prior.center[i] - prior.half_width[i] == pytest.approx(lo)
            assert prior.center[i] + prior.half_width[i] == pytest.approx(hi)
    theta = theta_from_unit(prior, jnp.ones(24))
    assert type(theta) is COMPOSED.params_type
    assert float(theta.dis_x0) == pytest.approx(0.7)  # the upper edge of its default prior
    assert prior_contains(prior, COMPOSED.defaults())
    np.testing.assert_allclose(unit_from_theta(prior, theta), np.ones(24))


def test_ranges_override_and_refusals_name_block_field_value_and_range():
    prior = model_prior(COMPOSED.blocks, ranges={"dlogsm": (-0.05, 0.02)})
    i = prior.names.index("dlogsm")
    assert prior.center[i] == pytest.approx(-0.015) and prior.half_width[i] == pytest.approx(0.035)
    with pytest.raises(ValueError, match=r"block 'sm_offset', field 'dlogsm': expected a prior upper edge in "
                                         r"\[-0.5, 0.5\], found 0.9"):
        model_prior(COMPOSED.blocks, ranges={"dlogsm": (-0.1, 0.9)})
    with pytest.raises(ValueError, match=r"field 'fq_cen_hi': expected lo < hi"):
        model_prior(COMPOSED.blocks, ranges={"fq_cen_hi": (0.9, 0.8)})
    with pytest.raises(ValueError, match=r"unknown parameter\(s\) \['q_cen'\]"):
        model_prior(COMPOSED.blocks, ranges={"q_cen": (0.0, 1.0)})


def test_sham_block_keeps_the_shamnet_domain_prior_next_to_other_blocks():
    model = compose(sham(), quenching())
    prior = model_prior(model.blocks)
    dom = domain_prior()
    np.testing.assert_allclose(prior.basis[:4, :4], dom.basis)
    np.testing.assert_allclose(prior.center[:4], dom.center)
    assert np.all(prior.basis[:4, 4:] == 0) and np.all(prior.basis[4:, :4] == 0)
    check_prior_in_domain(prior)  # checks only the 16 corners of the SHAM block
    with pytest.raises(ValueError, match="all of .* or none"):
        model_prior(model.blocks, ranges={"alpha": (-1.1, -1.0)})
    bad = model_prior(model.blocks)._replace(center=np.concatenate([[-1.0], dom.center[1:], prior.center[4:]]))
    with pytest.raises(ValueError, match="training domain"):
        check_prior_in_domain(bad)


def test_nuisance_that_collides_with_a_model_parameter_is_refused():
    ds = DeltaSigmaTerm(np.ones(3), np.eye(3))
    with pytest.raises(ValueError, match=r"block 'shear_bias_dlogsm': parameter 'dlogsm' collides with .* "
                                         r"block 'sm_offset'"):
        fit_blocks(COMPOSED, [with_shear_bias(ds, param="dlogsm")])
    blocks = fit_blocks(COMPOSED, [with_shear_bias(ds)])
    assert blocks[-1].fields == ("m",) and len(blocks) == len(COMPOSED.blocks) + 1


def test_numpyro_model_over_blocks_has_the_right_density_and_refuses_a_prior_without_the_nuisance():
    """A toy forward model of the 25 parameters: the log density is the prior's plus the Gaussian terms'."""
    blocks = fit_blocks(COMPOSED, [])
    prior = model_prior(blocks)

    def forward(theta):
        v = jnp.stack(list(theta))
        return jnp.sin(v) + 0.1 * v**2

    ds_like = GaussianTerm("toy", np.zeros(24), np.eye(24) * 0.3, lambda th, out: out)
    biased = with_shear_bias(ds_like)
    with pytest.raises(ValueError, match=r"nuisance parameter\(s\) \['m'\] .* not in the prior"):
        build_model(forward, [biased], prior)
    prior_m = model_prior(fit_blocks(COMPOSED, [biased]))

    def forward_m(theta):
        return forward(COMPOSED.params_type(*list(theta)[:24]))

    model = build_model(forward_m, [biased], prior_m)
    u = jnp.linspace(-0.5, 0.5, 25)
    logp, _ = log_density(model, (), {}, {UNIT_SITE: u})
    theta = theta_from_unit(prior_m, u)
    mu = (1.0 + theta.m) * forward_m(theta)
    expect = 25 * np.log(0.5) - 0.5 * float(jnp.sum(mu**2) / 0.3) - 12 * np.log(2 * np.pi * 0.3)
    assert float(logp) == pytest.approx(expect, rel=1e-12)
    g = jax.grad(lambda x: log_density(model, (), {}, {UNIT_SITE: x})[0])(u)
    h = 1e-6
    fd = [(log_density(model, (), {}, {UNIT_SITE: u.at[i].add(h)})[0]
           - log_density(model, (), {}, {UNIT_SITE: u.at[i].add(-h)})[0]) / (2 * h) for i in (0, 5, 24)]
    np.testing.assert_allclose(np.asarray(g)[[0, 5, 24]], fd, rtol=1e-6, atol=1e-8)
