"""compose(): role order, refusals, the 24-parameter model's flat theta, shell checks of theta, and binding a
catalog (required properties and host structure, named when missing; host masses of centrals and satellites)."""
import collections
import itertools
import re

import jax
import numpy as np
import pytest

from shaminfer.catalogs import SubhaloCatalog, small_test_universe
from shaminfer.galaxy_halo import (
    DISRUPTION_BLOCK,
    MASS_SCATTER_BLOCK,
    QUENCHING_BLOCK,
    ROLES,
    SHAM_BLOCK,
    SM_OFFSET_BLOCK,
    SMHM_BLOCK,
    GalaxyModel,
    Subhalos,
    as_model,
    bind_catalog,
    check_model_blocks_with,
    compose,
    disruption,
    parametric,
    quenching,
    sham,
    stellar_mass_offset,
    subhalo_arrays,
)
from shaminfer.ingredients import ShamParams

FULL_NAME = "parametric + sm_offset + quenching + disruption"


def _full():
    return compose(parametric(), quenching(), disruption(), stellar_mass_offset())


def _standin(theta, m):
    return 10 + 0.5 * (m - 12)


@pytest.fixture(scope="module")
def catalog():
    return small_test_universe(seed=0)


def _tiny_catalog(**changes):
    kw = dict(pos=[[1.0, 1.0, 1.0], [1.5, 1.2, 1.1], [5.0, 5.0, 5.0], [5.2, 5.0, 5.1], [8.0, 2.0, 3.0]],
              logmpeak=[13.0, 11.2, 12.5, 11.0, 11.8], box_size=10.0, host_index=[-1, 0, -1, 2, -1],
              properties=dict(vmax_frac=[1.0, 0.6, 1.0, 0.3, 1.0]), meta=dict(origin="tiny"))
    kw.update(changes)
    return SubhaloCatalog(**kw)


def test_compose_orders_components_by_role_whatever_the_input_order():
    comps = [parametric(), stellar_mass_offset(), quenching(), disruption()]
    want = None
    for perm in itertools.permutations(comps):
        m = compose(*perm)
        assert [c.role for c in m.components] == list(ROLES)
        names = tuple(c.name for c in m.components)
        want = want or names
        assert names == want == ("parametric", "sm_offset", "quenching", "disruption")
        assert m.fields == _full().fields
    # partial models keep the role order too
    assert [c.role for c in compose(disruption(), parametric()).components] == ["smhm", "survival"]
    # a model composes into a bigger one
    assert compose(compose(parametric(), quenching()), disruption()).name == "parametric + quenching + disruption"


def test_compose_refusals():
    with pytest.raises(ValueError, match=r"at most one component per role, found several for \['smhm'\]: "
                                         r"\['parametric', 'sham'\]"):
        compose(parametric(), sham(smhm=_standin))
    with pytest.raises(ValueError, match=r"expected one component setting the stellar-mass kernel .* "
                                         r"found only \['quenching', 'disruption'\]"):
        compose(quenching(), disruption())
    with pytest.raises(ValueError, match=r"several for \['quenching'\]"):
        compose(parametric(), quenching(), quenching())
    with pytest.raises(ValueError, match=r"several for \['survival'\]: \['disruption', 'disruption'\]"):
        compose(parametric(), disruption(), disruption(proxy="mvir_frac"))
    with pytest.raises(ValueError, match="expected Component objects, found str"):
        compose(parametric(), "quenching")
    bad = quenching()._replace(role="colour")
    with pytest.raises(ValueError, match=r"component 'quenching': expected a role in"):
        compose(parametric(), bad)
    # components whose blocks collide are refused by check_blocks
    clash = stellar_mass_offset()._replace(blocks=(SMHM_BLOCK,))
    with pytest.raises(ValueError, match="expected unique block names, found 'smhm' twice"):
        compose(parametric(), clash)
    with pytest.raises(ValueError, match=r"block 'sham': parameter 'sigma_lo' collides .* in block 'scatter'"):
        compose(parametric(), stellar_mass_offset()._replace(blocks=(SHAM_BLOCK,)))


def test_the_24_parameter_model():
    m = _full()
    assert isinstance(m, GalaxyModel) and m.name == FULL_NAME
    assert len(m.fields) == 24 and len(set(m.fields)) == 24
    assert m.blocks == (SMHM_BLOCK, MASS_SCATTER_BLOCK, SM_OFFSET_BLOCK, QUENCHING_BLOCK, DISRUPTION_BLOCK)
    assert m.fields[:8] == SMHM_BLOCK.fields and m.fields[-4:] == DISRUPTION_BLOCK.fields
    assert m.requires == ("host_index", "vmax_frac") and m.has_quenching and m.has_survival
    sham_model = compose(sham(smhm=_standin))
    assert sham_model.params_type is ShamParams and sham_model.fields == ShamParams._fields
    assert not sham_model.has_quenching and not sham_model.has_survival and sham_model.requires == ()
    assert as_model(parametric()).name == "parametric" and as_model(m) is m
    with pytest.raises(ValueError, match="expected a GalaxyModel"):
        as_model("parametric")
    assert check_model_blocks_with(m, ()) == m.blocks
    with pytest.raises(ValueError, match="collides"):
        check_model_blocks_with(compose(parametric()), (SHAM_BLOCK,))


def test_defaults_and_overrides():
    m = _full()
    t = m.defaults()
    assert type(t) is m.params_type
    for b in m.blocks:
        for f in b.fields:
            assert getattr(t, f) == b.defaults[f]
    t5 = m.defaults(dlogsm=0.05)
    assert t5.dlogsm == 0.05 and t5._replace(dlogsm=0.0) == t
    with pytest.raises(ValueError, match=r"block 'sm_offset', field 'dlogsm': expected a value in \[-0.5, 0.5\], "
                                         r"found 0.8"):
        m.defaults(dlogsm=0.8)
    with pytest.raises(ValueError, match=r"unknown field\(s\) \['logphi_star'\]"):
        m.defaults(logphi_star=-2.3)


def test_check_theta():
    m = _full()
    m.check_theta(m.defaults())
    m.check_theta(list(m.defaults()))  # a plain sequence of the right length is converted
    with pytest.raises(ValueError, match=r"theta: expected the parameters \['logsm_0', .* of the model "
                                         rf"'{re.escape(FULL_NAME)}', "
                                         r"found \('logphi_star', 'alpha', 'sigma_lo', 'sigma_hi'\)"):
        m.check_theta(ShamParams(-2.3, -1.1, 0.3, 0.2))
    with pytest.raises(ValueError, match="theta: expected the parameters"):
        m.check_theta(np.zeros(23))
    with pytest.raises(ValueError, match=r"theta.fq_sat_x0: expected finite values, found nan"):
        m.check_theta(m.defaults()._replace(fq_sat_x0=np.nan))
    with pytest.raises(ValueError, match=r"block 'disruption', field 'dis_k'"):
        m.check_theta(m.defaults()._replace(dis_k=100.0))
    assert m.as_theta(np.asarray(m.defaults())) == m.defaults()
    wider = collections.namedtuple("Fit", ("m",) + m.fields)(0.01, *m.defaults())  # a fit's theta with a nuisance
    assert m.as_theta(wider) == m.defaults() and type(m.as_theta(wider)) is m.params_type


def test_bind_catalog_refuses_a_missing_property_naming_it_and_the_model(catalog):
    m = _full()
    no_props = _tiny_catalog(properties={})
    with pytest.raises(ValueError, match=rf"the model '{re.escape(FULL_NAME)}' needs the per-subhalo property "
                                         r"'vmax_frac', "
                                         r"which this catalog \(tiny\) lacks; it has none"):
        bind_catalog(m, no_props)
    other = _tiny_catalog(properties=dict(mvir_frac=[1.0, 0.5, 1.0, 0.5, 1.0]))
    with pytest.raises(ValueError, match=r"'vmax_frac'.* it has \['mvir_frac'\]"):
        bind_catalog(m, other)
    ok = bind_catalog(compose(parametric(), disruption(proxy="mvir_frac")), other)
    np.testing.assert_array_equal(ok.props["mvir_frac"], [1.0, 0.5, 1.0, 0.5, 1.0])
    # the shipped test universe without its properties
    stripped = catalog.replace(properties={})
    with pytest.raises(ValueError, match=r"needs the per-subhalo property 'vmax_frac'.*synthetic_universe"):
        bind_catalog(m, stripped)
    bind_catalog(compose(parametric(), quenching()), stripped)  # quenching needs hosts, not vmax_frac


def test_bind_catalog_refuses_a_catalog_without_host_structure():
    flat = _tiny_catalog(host_index=None)
    for model in (_full(), compose(parametric(), quenching())):
        with pytest.raises(ValueError,
                           match=rf"model '{re.escape(model.name)}' needs the host/satellite structure \(host_index"):
            bind_catalog(model, flat)
    # a model that needs no hosts: every subhalo is a central of its own mass
    sub = bind_catalog(compose(parametric(), stellar_mass_offset()), flat)
    np.testing.assert_array_equal(sub.is_central, 1.0)
    np.testing.assert_array_equal(sub.host_logmpeak, flat.logmpeak)
    assert sub.props == {}


def test_subhalo_arrays_host_masses():
    cat = _tiny_catalog()
    a = subhalo_arrays(_full(), cat)
    np.testing.assert_array_equal(a["is_central"], [1, 0, 1, 0, 1])
    np.testing.assert_array_equal(a["host_logmpeak"], [13.0, 13.0, 12.5, 12.5, 11.8])
    np.testing.assert_array_equal(a["logmpeak"], cat.logmpeak)
    np.testing.assert_array_equal(a["props"]["vmax_frac"], [1.0, 0.6, 1.0, 0.3, 1.0])
    sub = bind_catalog(_full(), cat)
    assert isinstance(sub, Subhalos) and isinstance(sub.logmpeak, jax.Array)
    np.testing.assert_array_equal(sub.host_logmpeak, a["host_logmpeak"])


def test_subhalo_arrays_on_the_test_universe(catalog):
    a = subhalo_arrays(_full(), catalog)
    cen = catalog.host_index < 0
    assert 0 < (~cen).sum() < cen.sum()
    np.testing.assert_array_equal(a["host_logmpeak"][cen], catalog.logmpeak[cen])  # own mass for centrals
    np.testing.assert_array_equal(a["host_logmpeak"][~cen], catalog.logmpeak[catalog.host_index[~cen]])
    np.testing.assert_array_equal(a["host_logmpeak"], catalog.properties["host_logmpeak"])  # as the generator says
    np.testing.assert_array_equal(a["is_central"], cen.astype(float))
    assert np.all(a["host_logmpeak"][~cen] >= a["logmpeak"][~cen])  # hosts outweigh their satellites


def test_population_of_the_composed_model(catalog):
    m = _full()
    sub = bind_catalog(m, catalog)
    t = m.defaults(dlogsm=0.1)
    pop = m.population(t, sub)
    manual = parametric().apply(t, sub, type(pop)())
    np.testing.assert_allclose(pop.mu, manual.mu + 0.1, rtol=1e-15)
    np.testing.assert_array_equal(pop.sigma, manual.sigma)
    np.testing.assert_array_equal(pop.quenched, quenching().apply(t, sub, manual).quenched)
    np.testing.assert_array_equal(pop.survive, disruption().apply(t, sub, manual).survive)
    cen = catalog.host_index < 0
    np.testing.assert_array_equal(np.asarray(pop.survive)[cen], 1.0)
    assert np.all(np.asarray(pop.survive)[~cen] < 1.0)
    # a SHAM-only model sets no probabilities
    sham_pop = compose(sham(smhm=_standin)).population(ShamParams(*SHAM_BLOCK.defaults.values()), sub)
    assert sham_pop.survive is None and sham_pop.quenched is None
