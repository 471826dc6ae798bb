"""The tabulated engine for composed models: against the exact engine, gradients, refusals."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from shaminfer.catalogs import small_test_universe
from shaminfer.galaxy_halo import compose, disruption, parametric, quenching, sham, stellar_mass_offset
from shaminfer.stats import make_config, make_predictor, threshold_sample
from shaminfer.stats.tabulated_models import make_tabulated_model_predictor, probe_thetas, symmetric_quadratic_form

MODEL = compose(parametric(), quenching(), stellar_mass_offset())
#: Measured largest |tab / exact - 1| on this set-up: 3.2e-3 (w_p of the red sample); the bound leaves a margin.
BOUND = 5e-3


@pytest.fixture(scope="module")
def catalog():
    return small_test_universe(seed=0)


@pytest.fixture(scope="module")
def config():
    return make_config(smf_edges=np.linspace(9.6, 11.4, 10), smf_colors=("red", "blue"),
                       samples=tuple(threshold_sample(10.3, color=c) for c in ("all", "red", "blue")),
                       rp_edges=np.logspace(-1, np.log10(8.0), 12), pi_max=15.0, ds_rbins=())


@pytest.fixture(scope="module")
def engines(catalog, config):
    return (make_predictor(catalog, config, model=MODEL),
            make_predictor(catalog, config, model=MODEL, engine="tabulated", nthreads=1))


def test_grid_is_a_tensor_basis_for_satellites_only_when_the_model_reads_hosts(catalog, config, engines):
    _, tab = engines
    g = tab.grid
    assert g.sat_names == ("logmpeak", "host_logmpeak")
    assert g.n_nodes == g.cen.size + g.sat_axes[0].size * g.sat_axes[1].size
    alone = make_tabulated_model_predictor(catalog, config._replace(samples=config.samples[:1], smf_colors=()),
                                           parametric(), nthreads=1)
    assert alone.grid.sat_axes == () and alone.grid.n_nodes == alone.grid.cen.size


def test_agrees_with_the_exact_engine_over_the_prior(engines):
    exact, tab = engines
    probes = probe_thetas(MODEL, 4, seed=3)
    for j in range(4):
        th = jax.tree_util.tree_map(lambda v: v[j], probes)
        a, b = exact(th), tab(th)
        for f in ("smf", "smf_color", "wp"):
            x, y = np.asarray(getattr(a, f)), np.asarray(getattr(b, f))
            assert x.shape == y.shape and np.max(np.abs(y / x - 1)) < BOUND, (f, j, np.max(np.abs(y / x - 1)))


def test_gradient_is_the_exact_gradient_of_the_tabulated_model(engines):
    _, tab = engines
    v0 = jnp.asarray(MODEL.defaults())
    f = jax.jit(lambda v: jnp.concatenate([tab(MODEL.params_type(*v)).wp.ravel(),
                                           tab(MODEL.params_type(*v)).smf_color.ravel()]))
    jac = np.asarray(jax.jacfwd(f)(v0))
    np.testing.assert_allclose(np.asarray(jax.jacrev(f)(v0)), jac, rtol=1e-9, atol=1e-12)
    for i in (0, 9, 12, 13, 17, 19):  # logsm_0, sigma_hi, dlogsm, fq_cen_lo, fq_sat_lo, fq_sat_x0
        h = 1e-6
        fd = (np.asarray(f(v0.at[i].add(h))) - np.asarray(f(v0.at[i].add(-h)))) / (2 * h)
        np.testing.assert_allclose(jac[:, i], fd, rtol=1e-5, atol=1e-7 * np.max(np.abs(fd)) + 1e-12)


def test_refusals_say_why(catalog, config):
    with pytest.raises(ValueError, match=r"reads the per-subhalo properties \['vmax_frac'\].* use engine='exact'"):
        make_predictor(catalog, config, model=compose(parametric(), quenching(), disruption()), engine="tabulated")
    with pytest.raises(ValueError, match="uses SHAMNet"):
        make_predictor(catalog, config, model=compose(sham(), quenching()), engine="tabulated")
    with pytest.raises(ValueError, match=r"pair table above max_table_gb = 1e-06; coarsen the steps"):
        make_predictor(catalog, config, model=MODEL, engine="tabulated", max_table_gb=1e-6)


def test_a_theta_outside_the_probed_prior_is_refused_at_a_concrete_call(catalog, config):
    cfg = config._replace(samples=(threshold_sample(10.5),), smf_colors=())
    low = dict(logsm_0=10.0, sigma_lo=0.1, sigma_hi=0.1)
    narrow = probe_thetas(MODEL, 8, seed=0)._replace(**{k: jnp.full(8, v) for k, v in low.items()})
    tab = make_predictor(catalog, cfg, model=MODEL, engine="tabulated", probe_thetas=narrow, nthreads=1)
    assert tab.grid.cen[0] > float(np.min(catalog.logmpeak))
    tab(MODEL.defaults(**low))  # inside the probed support
    with pytest.raises(ValueError, match="below the tabulated engine's lowest node .* outside the probed prior"):
        tab(MODEL.defaults(logsm_0=10.4, sigma_lo=0.6, sigma_hi=0.5, dlogsm=0.1))


def test_symmetric_quadratic_form_value_and_derivatives_match_plain_autodiff():
    rng = np.random.default_rng(4)
    a = rng.normal(size=(3, 7, 7))
    table = jnp.asarray(a + np.swapaxes(a, 1, 2))
    w = jnp.asarray(rng.normal(size=(2, 7)))
    q = symmetric_quadratic_form(table)

    def plain(x):
        return jnp.einsum("sk,ikl,sl->si", x, table, x)

    np.testing.assert_allclose(q(w), plain(w), rtol=1e-13)
    np.testing.assert_allclose(jax.jacfwd(q)(w), jax.jacfwd(plain)(w), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(jax.jacrev(q)(w), jax.jacrev(plain)(w), rtol=1e-12, atol=1e-12)
    g = jax.grad(lambda x: jnp.sum(jnp.sin(jax.jit(q)(x))))(w)
    np.testing.assert_allclose(g, jax.grad(lambda x: jnp.sum(jnp.sin(plain(x))))(w), rtol=1e-12, atol=1e-12)


def test_the_engine_tables_are_symmetric_as_its_quadratic_forms_assume(catalog, config):
    from shaminfer.stats.tabulated_kernel import pair_table
    from shaminfer.stats.tabulated_models import basis_entries, model_grid
    from shaminfer.galaxy_halo import subhalo_arrays

    grid = model_grid(MODEL, catalog, config)
    idx, val = basis_entries(grid, subhalo_arrays(MODEL, catalog))
    pair = pair_table(catalog.pos, idx, val, grid.n_nodes, box_size=float(catalog.box_size),
                      rp_edges=np.asarray(config.rp_edges), pi_max=float(config.pi_max), nthreads=1)
    assert np.abs(pair).max() > 0
    np.testing.assert_allclose(pair, np.swapaxes(pair, 1, 2), rtol=1e-12, atol=1e-12 * np.abs(pair).max())


def test_compact_nodes_keeps_exactly_the_touched_nodes_and_remaps_entries():
    from shaminfer.stats.tabulated_models import compact_nodes

    idx = np.array([[0, 3], [3, 5], [5, 6], [2, 0]])
    val = np.array([[0.5, 0.5], [0.2, 0.8], [1.0, 0.0], [0.0, 0.0]])
    new, used = compact_nodes(idx, val, 8)
    np.testing.assert_array_equal(used, [0, 3, 5])
    np.testing.assert_array_equal(new[val != 0], [0, 1, 1, 2, 2])
    np.testing.assert_array_equal(used[new[val != 0]], idx[val != 0])


def test_the_engine_drops_untouched_satellite_nodes(engines):
    _, tab = engines
    assert tab.grid.cen.size < tab.n_nodes < tab.grid.n_nodes  # satellites heavier than their host's node
    assert tab.table_bytes == 8 * 11 * tab.n_nodes ** 2
