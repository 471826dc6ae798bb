"""The tabulated engine: pair tables against brute force, predictions against the exact engine within the
documented bound, gradients against finite differences, caching and shell checks (small synthetic universe,
smooth stand-in SMHM)."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from shaminfer.catalogs import small_test_universe
from shaminfer.ingredients import ShamParams
from shaminfer.stats import Predictions, bin_sample, make_config, make_predictor, pair_counts, threshold_sample
from shaminfer.stats.tabulated import (
    build_tables,
    hat_coordinates,
    load_or_build_tables,
    make_tabulated_predictor,
    node_grid,
)
from shaminfer.stats.tabulated_kernel import pair_table

from .standin import THETA0, check_against_fd, standin_smhm

#: Accuracy goal of the tabulated engine (module docstring of shaminfer.stats.tabulated; engine_speed.py).
BOUND = 3e-3


def _probes():
    rng = np.random.default_rng(0)
    n = 64
    return ShamParams(logphi_star=THETA0.logphi_star + rng.uniform(-0.1, 0.1, n),
                      alpha=THETA0.alpha + rng.uniform(-0.05, 0.05, n),
                      sigma_lo=rng.uniform(0.1, 0.5, n), sigma_hi=rng.uniform(0.1, 0.5, n))


@pytest.fixture(scope="module")
def catalog():
    return small_test_universe()


@pytest.fixture(scope="module")
def config():
    return make_config(smf_edges=np.linspace(9.0, 11.0, 9), samples=[threshold_sample(10.6), bin_sample(10.3, 10.8)],
                       rp_edges=np.logspace(-1, 1, 9), pi_max=20.0)


@pytest.fixture(scope="module")
def tab(catalog, config):
    return make_tabulated_predictor(catalog, config, smhm=standin_smhm, probe_thetas=_probes(), cache=False)


def test_pair_table_matches_brute_force():
    rng = np.random.default_rng(3)
    n, box, pi_max = 300, 20.0, 4.0
    pos = rng.uniform(0, box, (n, 3))
    nodes = np.array([11.0, 11.3, 11.7, 12.5, 14.0])
    logm = rng.uniform(11.0, 14.0, n)
    rp_edges = np.array([0.3, 1.0, 2.5, 6.0])
    k, t = hat_coordinates(nodes, logm)
    table = pair_table(pos, k, t, nodes.size, box_size=box, rp_edges=rp_edges, pi_max=pi_max, nthreads=1)
    hats = np.zeros((n, nodes.size))
    hats[np.arange(n), k] += 1 - t
    hats[np.arange(n), k + 1] += t
    np.testing.assert_allclose(hats.sum(1), 1.0)
    d = pos[:, None, :] - pos[None, :, :]
    d -= box * np.round(d / box)
    rp2 = d[..., 0] ** 2 + d[..., 1] ** 2
    dz = np.abs(d[..., 2])
    np.fill_diagonal(dz, np.inf)
    for i in range(rp_edges.size - 1):
        s = ((rp2 >= rp_edges[i] ** 2) & (rp2 < rp_edges[i + 1] ** 2) & (dz < pi_max)).astype(float)
        np.testing.assert_allclose(table[i], hats.T @ s @ hats, rtol=1e-12, atol=1e-12)
    # more threads, same sums (up to the order of the final reduction)
    table2 = pair_table(pos, k, t, nodes.size, box_size=box, rp_edges=rp_edges, pi_max=pi_max, nthreads=2)
    np.testing.assert_allclose(table2, table, rtol=1e-12, atol=1e-12)


def test_contraction_equals_pair_count_of_interpolated_weights(catalog, config, tab):
    """DD = W^T T W is exact for weights that are themselves hat interpolants of node values."""
    tables = tab.tables
    rng = np.random.default_rng(1)
    w_nodes = rng.uniform(0, 1, tables.nodes.size)
    logm = np.asarray(catalog.logmpeak)
    keep = logm >= tables.nodes[0]
    k, t = hat_coordinates(tables.nodes, logm[keep])
    w = np.zeros(catalog.n)
    w[keep] = (1 - t) * w_nodes[k] + t * w_nodes[k + 1]
    dd = pair_counts(catalog.pos, w, box_size=catalog.box_size, rp_edges=config.rp_edges, pi_max=config.pi_max)
    np.testing.assert_allclose(np.einsum("k,ikl,l->i", w_nodes, tables.pair, w_nodes), dd, rtol=1e-10)
    np.testing.assert_allclose(w_nodes @ tables.count, w.sum(), rtol=1e-12)
    np.testing.assert_allclose(w_nodes @ tables.overlap @ w_nodes, (w * w).sum(), rtol=1e-12)


def test_agrees_with_exact_engine_within_bound(catalog, config, tab):
    exact = jax.jit(make_predictor(catalog, config, smhm=standin_smhm))
    tabj = jax.jit(tab)
    probes = _probes()
    for j in (0, 1, 2):
        theta = jax.tree_util.tree_map(lambda v: v[j], probes)
        a, b = exact(theta), tabj(theta)
        for f in ("smf", "wp", "delta_sigma"):  # smf_color is empty for SHAM
            x, y = np.asarray(getattr(a, f)), np.asarray(getattr(b, f))
            assert x.shape == y.shape
            assert np.max(np.abs(y / x - 1)) < BOUND, (f, j, np.max(np.abs(y / x - 1)))
    # the concrete (checked) call equals the jitted one
    for a, b in zip(tab(THETA0), tabj(THETA0)):
        np.testing.assert_allclose(a, b, rtol=1e-12)


@pytest.mark.parametrize("field", ["smf", "wp", "delta_sigma"])
def test_gradients_match_central_finite_differences(tab, field):
    pred = jax.jit(tab)
    jac = jax.jit(jax.jacfwd(tab))(THETA0)
    worst = check_against_fd(lambda t: getattr(pred(t), field), getattr(jac, field), THETA0, h=1e-4, rtol=1e-5)
    assert worst < 1e-5


def test_reverse_mode_and_vmap(tab):
    def loss(theta):
        p = tab(theta)
        return jnp.sum(p.smf) + jnp.sum(p.wp ** 2) + jnp.sum(p.delta_sigma)

    g = jax.jit(jax.grad(loss))(THETA0)
    j = jax.jit(jax.jacfwd(loss))(THETA0)
    np.testing.assert_allclose(np.asarray(g), np.asarray(j), rtol=1e-10)
    batch = jax.tree_util.tree_map(lambda v: jnp.stack([v, v + 0.01]), THETA0)
    out = jax.jit(jax.vmap(tab))(batch)
    np.testing.assert_allclose(out.wp[0], tab(THETA0).wp, rtol=1e-12)


def test_compiles_once(tab):
    calls = []

    def traced(theta):
        calls.append(1)
        return tab(theta)

    f = jax.jit(traced)
    for d in (0.0, 0.01, 0.02):
        f(THETA0._replace(sigma_lo=THETA0.sigma_lo + d))
    assert len(calls) == 1


def test_tables_cached_on_disk(catalog, config, tab, tmp_path, monkeypatch):
    monkeypatch.setenv("SHAMINFER_CACHE_DIR", str(tmp_path))
    nodes = tab.tables.nodes
    first = load_or_build_tables(catalog, config, nodes)
    files = list((tmp_path / "tabulated").glob("tables-*.npz"))
    assert len(files) == 1
    second = load_or_build_tables(catalog, config, nodes)
    for a, b in zip(first, second):
        np.testing.assert_array_equal(a, b)
    for a, b in zip(first, tab.tables):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=0)
    load_or_build_tables(catalog, config._replace(pi_max=10.0), nodes)  # a new key for a new binning
    assert len(list((tmp_path / "tabulated").glob("tables-*.npz"))) == 2


def test_node_grid_is_finer_where_the_weights_are_narrow(catalog, config):
    nodes = node_grid((11.0, 14.0), config, smhm=standin_smhm, probe_thetas=_probes()).nodes
    steps = np.diff(nodes)
    assert nodes[-1] >= 14.0 and np.all(steps > 0)
    assert steps.max() <= 0.05 + 1e-12
    assert steps[0] < steps[-1]


def test_shell_checks(catalog, config):
    narrow = ShamParams(*(jnp.asarray([float(v)]) for v in THETA0))
    high = make_config(smf_edges=(10.9, 11.3), samples=[threshold_sample(10.9)], ds_rbins=())
    tab = make_tabulated_predictor(catalog, high, smhm=standin_smhm, probe_thetas=narrow, cache=False)
    assert tab.tables.nodes[0] > float(np.min(catalog.logmpeak))  # some subhalos are left out
    tab(THETA0)
    with pytest.raises(ValueError, match="lowest node"):
        tab(THETA0._replace(logphi_star=THETA0.logphi_star + 1.5, sigma_lo=0.5, sigma_hi=0.5))
    with pytest.raises(ValueError, match="nodes"):
        make_tabulated_predictor(catalog, config, smhm=standin_smhm, nodes=[12.0, 13.0], cache=False)
    with pytest.raises(ValueError, match="theta"):
        tab(THETA0._replace(alpha=float("nan")))


def test_make_predictor_dispatches_to_the_tabulated_engine():
    import numpy as np

    from shaminfer import DEFAULT_SHAM_PARAMS
    from shaminfer.catalogs import small_test_universe
    from shaminfer.stats import make_config, make_predictor, make_tabulated_predictor, threshold_sample

    cat = small_test_universe(seed=0)
    cfg = make_config(samples=(threshold_sample(10.5),), rp_edges=np.logspace(-1, 1, 6), pi_max=20.0,
                      smf_edges=np.linspace(9.5, 11.5, 5))
    via = make_predictor(cat, cfg, engine="tabulated", progress=False)(DEFAULT_SHAM_PARAMS)
    direct = make_tabulated_predictor(cat, cfg, progress=False)(DEFAULT_SHAM_PARAMS)
    for a, b in zip(via, direct):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    exact = make_predictor(cat, cfg)(DEFAULT_SHAM_PARAMS)
    np.testing.assert_allclose(np.asarray(via.wp), np.asarray(exact.wp), rtol=3e-3)
    import pytest

    with pytest.raises(ValueError, match="engine='tabulated' only"):
        make_predictor(cat, cfg, engine="exact", progress=False)
