"""Weighted pair counts and neighbour sums against brute force and Corrfunc DDrppi."""
import numpy as np
import pytest

from shaminfer.stats.paircount import _bin_table, corrfunc_pair_counts, grid_order, neighbour_sums, pair_counts

from .standin import brute_force_pair_sums

RP = np.logspace(-1, np.log10(12.0), 13)


def _points(seed, n, box, *, frac_zero=0.3, signed=True):
    rng = np.random.default_rng(seed)
    pos = rng.uniform(0, box, (n, 3))
    # clustered half: pairs at small separations, some straddling the periodic boundary
    half = n // 2
    pos[half:] = (pos[:n - half] + rng.normal(0, 0.8, (n - half, 3))) % box
    w = rng.uniform(-0.5 if signed else 0.05, 1.0, n)
    w[rng.uniform(size=n) < frac_zero] = 0.0
    return pos, w


@pytest.mark.parametrize("los_axis", [0, 1, 2])
def test_neighbour_sums_match_brute_force(los_axis):
    box, pi_max = 30.0, 9.0
    pos, w = _points(1, 900, box)
    dd0, g0 = brute_force_pair_sums(pos, w, box, RP, pi_max, los_axis)
    sums = neighbour_sums(pos, w, box_size=box, rp_edges=RP, pi_max=pi_max, los_axis=los_axis)
    np.testing.assert_allclose(sums.dd, dd0, rtol=1e-12, atol=1e-12 * np.abs(dd0).max())
    nz = w != 0
    np.testing.assert_allclose(sums.g[nz], g0[nz], rtol=1e-12, atol=1e-12)
    assert np.all(sums.g[~nz] == 0.0)  # zero-weight rows are not computed
    np.testing.assert_allclose(w @ sums.g, sums.dd, rtol=1e-12)


@pytest.mark.parametrize("box,pi_max,n", [(100.0, 40.0, 4000), (26.0, 12.0, 1500)])
def test_dd_matches_corrfunc_with_signed_weights(box, pi_max, n):
    # the second case has fewer columns than 2 * reach + 1: periodic images of a column repeat
    pos, w = _points(2, n, box)
    assert (w < 0).any() and (w > 0).any()
    dd = pair_counts(pos, w, box_size=box, rp_edges=RP, pi_max=pi_max)
    cf = corrfunc_pair_counts(pos, w, box_size=box, rp_edges=RP, pi_max=pi_max, nthreads=2)
    np.testing.assert_allclose(dd, cf, rtol=1e-10)
    sums = neighbour_sums(pos, w, box_size=box, rp_edges=RP, pi_max=pi_max)
    np.testing.assert_allclose(sums.dd, cf, rtol=1e-10)


def test_result_independent_of_threads_and_reach():
    pos, w = _points(3, 3000, 60.0)
    ref = neighbour_sums(pos, w, box_size=60.0, rp_edges=RP, pi_max=20.0, nthreads=1)
    two = neighbour_sums(pos, w, box_size=60.0, rp_edges=RP, pi_max=20.0, nthreads=2)
    np.testing.assert_array_equal(ref.dd, two.dd)  # fixed summation order
    np.testing.assert_array_equal(ref.g, two.g)
    for reach in (1, 2, 4):
        other = neighbour_sums(pos, w, box_size=60.0, rp_edges=RP, pi_max=20.0, reach=reach)
        np.testing.assert_allclose(other.dd, ref.dd, rtol=1e-12)


def test_bins_exact_at_power_of_two_edges():
    # r_p^2 edges that are exact powers of two sit on lookup-table cell boundaries
    edges = np.array([0.5, 1.0, np.sqrt(2.0), 2.0, 4.0])
    table_edges, _, _, _ = _bin_table(edges)
    assert table_edges[0] == -np.inf and table_edges[-1] == np.inf
    box = 20.0
    rng = np.random.default_rng(4)
    base = rng.uniform(0, box, (200, 3))
    # partners at exactly the edge separations and a hair on either side
    offs = np.concatenate([edges, np.nextafter(edges, 0), np.nextafter(edges, 10)])
    pts = [base]
    for k, r in enumerate(offs):
        p = base[k::len(offs)].copy()
        p[:, 0] = (p[:, 0] + r) % box
        pts.append(p)
    pos = np.concatenate(pts)
    w = rng.uniform(0.1, 1.0, pos.shape[0])
    dd0, _ = brute_force_pair_sums(pos, w, box, edges, 5.0)
    dd = pair_counts(pos, w, box_size=box, rp_edges=edges, pi_max=5.0)
    np.testing.assert_allclose(dd, dd0, rtol=1e-12)


def test_degenerate_inputs():
    pos = np.array([[1.0, 1.0, 1.0], [1.5, 1.0, 1.0]])
    for w in (np.zeros(2), np.array([1.0, 0.0])):
        sums = neighbour_sums(pos, w, box_size=10.0, rp_edges=[0.1, 1.0], pi_max=2.0)
        assert sums.dd.shape == (1,) and sums.g.shape == (2, 1)
        assert np.all(sums.dd == 0) and np.all(sums.g == 0)
    sums = neighbour_sums(pos, np.array([2.0, 3.0]), box_size=10.0, rp_edges=[0.1, 1.0], pi_max=2.0)
    np.testing.assert_allclose(sums.dd, [12.0])
    np.testing.assert_allclose(sums.g[:, 0], [3.0, 2.0])
    with pytest.raises(ValueError, match="expected shapes"):
        neighbour_sums(pos, np.ones(3), box_size=10.0, rp_edges=[0.1, 1.0], pi_max=2.0)


@pytest.mark.parametrize("kwargs,match", [
    (dict(rp_edges=[0.0, 1.0]), "rp_edges: expected 0 < rp_edges"),
    (dict(rp_edges=[0.1, 6.0]), "box_size/2 = 5"),
    (dict(rp_edges=[1.0, 0.5]), "strictly increasing"),
    (dict(pi_max=5.0), "pi_max"),
    (dict(weights=[1.0, np.nan]), "weights: expected finite values, found 1"),
    (dict(pos=[[1.0, 1.0, 1.0], [1.0, 10.0, 1.0]]), r"pos: expected coordinates in \[0, box_size=10\).*found 1"),
    (dict(reach=0), "reach"),
])
def test_bad_inputs_are_refused(kwargs, match):
    args = dict(pos=[[1.0, 1.0, 1.0], [1.5, 1.0, 1.0]], weights=[1.0, 1.0], box_size=10.0, rp_edges=[0.1, 1.0],
                pi_max=2.0)
    args.update(kwargs)
    pos, w = np.asarray(args.pop("pos")), np.asarray(args.pop("weights"))
    with pytest.raises(ValueError, match=match):
        neighbour_sums(pos, w, **args)


def test_grid_order_is_a_cell_list_sorted_by_z():
    box, ncell = 10.0, 4
    pos, _ = _points(11, 500, box)
    x, y, z = (np.ascontiguousarray(pos[:, k]) for k in range(3))
    order, start = grid_order(x, y, z, box, ncell)
    assert np.array_equal(np.sort(order), np.arange(500))  # a permutation
    assert start[0] == 0 and start[-1] == 500 and np.all(np.diff(start) >= 0)
    col = np.minimum((x * ncell / box).astype(int), ncell - 1) * ncell + np.minimum((y * ncell / box).astype(int), ncell - 1)
    for c in range(ncell * ncell):
        members = order[start[c]:start[c + 1]]
        assert np.array_equal(np.sort(members), np.flatnonzero(col == c))
        assert np.all(np.diff(z[members]) >= 0)
