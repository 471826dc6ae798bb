"""MPI sub-volumes (shaminfer.parallel): the split, the reductions, slab reading, and a 2-rank run.

The 2-rank test runs tests/mpi/job.py under ``mpirun -n 2`` (lensing profiles of
a catalog read in slabs from HDF5, tabulated tables, the exact and tabulated
likelihoods and their gradients, the jackknife) and checks every result
against the same calls in this single process, then the failure paths: too
many ranks, a ghost zone over half a slab, ranks with different catalogs and
a rank that dies: each ends the whole job with a non-zero status and a
message, never a hang, and no file is torn.
"""
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from shaminfer import parallel
from shaminfer.catalogs import SubhaloCatalog, load_catalog, save_catalog
from shaminfer.stats.paircount import neighbour_sums

sys.path.insert(0, str(Path(__file__).parent / "mpi"))
import job  # noqa: E402

JOB = Path(__file__).parent / "mpi" / "job.py"
ROOT = Path(__file__).resolve().parents[1]


class FakeComm:
    """One rank of ``size`` in one process: collectives return this rank's data (the test adds the ranks up)."""

    def __init__(self, size, rank):
        self.size, self.rank = size, rank

    def Get_size(self):
        return self.size

    def Get_rank(self):
        return self.rank

    def allgather(self, value):
        return [value] * self.size

    def allreduce(self, value, op=None):
        return value

    def Allreduce(self, buf, out, op=None):
        out[...] = buf


# ---------------------------------------------------------------- the split


def test_slabs_cover_the_box_and_refuse_ghosts_over_half_a_slab():
    s = parallel.slabs(100.0, los_axis=2, ghost=10.0, n=4, rank_=2)
    assert s.axis == 0 and (s.lo, s.hi) == (50.0, 75.0) and s.region() == (40.0, 85.0)
    assert parallel.slabs(100.0, los_axis=0, n=2, rank_=0).axis == 1
    x = np.linspace(0, 99.99, 1000)
    owners = np.stack([parallel.slabs(100.0, n=4, rank_=r).owns(x) for r in range(4)])
    assert (owners.sum(axis=0) == 1).all()
    with pytest.raises(parallel.MPIError, match=r"wider than half a slab; run with at most 5 ranks"):
        parallel.slabs(100.0, ghost=10.0, n=6, rank_=0)


def test_owned_columns_partition_the_grid():
    for ncell, n in [(12, 2), (13, 3), (7, 7), (100, 6)]:
        ranges = [parallel.owned_columns(ncell, n=n, rank_=r) for r in range(n)]
        cols = np.concatenate([np.arange(*r) for r in ranges])
        np.testing.assert_array_equal(cols, np.arange(ncell))
    with pytest.raises(parallel.MPIError, match="only 3 grid columns"):
        parallel.owned_columns(3, n=4, rank_=0)


def test_periodic_interval_mask():
    x = np.array([0.0, 1.0, 9.5, 5.0, 10.0 - 1e-12])
    np.testing.assert_array_equal(parallel.periodic_interval_mask(x, -0.2, 2.0, 10.0), [1, 1, 0, 0, 1])
    np.testing.assert_array_equal(parallel.periodic_interval_mask(x, 9.0, 11.5, 10.0), [1, 1, 1, 0, 1])
    assert parallel.periodic_interval_mask(x, -3.0, 7.0, 10.0).all()


def test_without_a_launcher_nothing_is_distributed(monkeypatch):
    assert parallel.world() is None and parallel.size() == 1 and parallel.is_root()
    parallel.agree(None, "anything", 1)
    assert parallel.all_true(None, True) and not parallel.all_true(None, False)
    a = np.ones(3)
    assert parallel.allreduce_sum(None, a) is a
    parallel.abort_job(2)  # a no-op outside MPI


def test_agree_names_the_ranks_that_differ():
    class Two(FakeComm):
        def allgather(self, value):
            return [value, "other"]

    with pytest.raises(parallel.MPIError, match=r"catalog: ranks disagree .*rank\(s\) \[1\]"):
        parallel.agree(Two(2, 0), "catalog", "mine")


def test_column_shares_of_the_pair_pass_add_up_to_the_whole():
    rng = np.random.default_rng(0)
    box = 60.0
    pos = rng.uniform(0, box, (3000, 3))
    w = rng.uniform(0, 1, 3000) * (rng.uniform(size=3000) < 0.7)
    opts = dict(box_size=box, rp_edges=np.logspace(-0.5, 0.9, 6), pi_max=8.0, nthreads=1)
    whole = neighbour_sums(pos, w, comm=None, **opts)
    for n in (2, 3):
        parts = [neighbour_sums(pos, w, comm=FakeComm(n, r), **opts) for r in range(n)]
        np.testing.assert_allclose(sum(p.dd for p in parts), whole.dd, rtol=1e-13)
        np.testing.assert_allclose(sum(p.g for p in parts), whole.g, rtol=1e-13, atol=1e-300)
        assert all(0 < p.dd.sum() < whole.dd.sum() for p in parts)


def test_column_shares_of_the_pair_table_add_up_to_the_whole():
    from shaminfer.stats.tabulated_kernel import pair_table

    rng = np.random.default_rng(1)
    box, n = 40.0, 800
    pos = rng.uniform(0, box, (n, 3))
    k = rng.integers(0, 4, n)
    t = rng.uniform(0, 1, n)
    opts = dict(box_size=box, rp_edges=np.array([0.5, 1.5, 4.0]), pi_max=5.0, nthreads=1, progress=False)
    whole = pair_table(pos, k, t, 5, comm=None, **opts)
    parts = [pair_table(pos, k, t, 5, comm=FakeComm(2, r), **opts) for r in range(2)]
    np.testing.assert_allclose(parts[0] + parts[1], whole, rtol=1e-13)


# ---------------------------------------------------------------- slab reading


def _catalog(n_part=5000, box=30.0):
    rng = np.random.default_rng(2)
    return SubhaloCatalog(pos=rng.uniform(0, box, (50, 3)), logmpeak=rng.uniform(11, 13, 50), box_size=box,
                          particle_pos=rng.uniform(0, box, (n_part, 3)), particle_mass=1e10)


def test_hdf5_particles_are_indexed_by_x_and_slabs_read_exactly(tmp_path):
    from shaminfer.catalogs.io import _read_particle_rows

    import h5py

    cat = _catalog()
    path = save_catalog(cat, tmp_path / "c.h5")
    back = load_catalog(path)
    key = lambda p: p[np.lexsort(p.T)]  # noqa: E731 - the order of particles carries no meaning
    np.testing.assert_array_equal(key(back.particle_pos), key(cat.particle_pos))
    assert np.all(np.diff(np.floor(back.particle_pos[:, 0])) >= 0)
    with h5py.File(path) as f:
        start = f["particle_x_start"][()]
        for lo, hi in [(-4.0, 9.0), (3.2, 17.9), (22.0, 35.5), (-1e-9, 30.0)]:
            got = _read_particle_rows(f["particle_pos"], start, 30.0, lo, hi)
            want = cat.particle_pos[parallel.periodic_interval_mask(cat.particle_pos[:, 0], lo, hi, 30.0)]
            np.testing.assert_array_equal(key(got), key(want))


def test_particle_region_is_checked():
    cat = _catalog()
    with pytest.raises(ValueError, match=r"particle_pos: expected particles inside particle_region"):
        cat.replace(particle_region=(0, 0.0, 10.0))
    with pytest.raises(ValueError, match=r"particle_region: expected an axis in 0..2"):
        cat.replace(particle_region=(3, 0.0, 10.0))
    part = cat.replace(particle_pos=cat.particle_pos[cat.particle_pos[:, 0] < 10], particle_region=(0, -1.0, 10.0))
    assert "particle_region" in repr(part)
    with pytest.raises(ValueError, match="holds one MPI rank's particles"):
        save_catalog(part, "/nonexistent/never.h5")
    from shaminfer.catalogs import lensing_profiles

    with pytest.raises(ValueError, match="holds one MPI rank's particles"):
        lensing_profiles(part, cache=False)


# ---------------------------------------------------------------- 2 ranks


def _mpirun(n, args, timeout=420):
    exe = shutil.which("mpirun")
    if exe is None:
        pytest.fail("mpirun not found: `make setup` installs Open MPI (openmpi-bin) when it is missing")
    flags = []
    version = subprocess.run([exe, "--version"], capture_output=True, text=True).stdout
    if "Open MPI" in version or "OpenRTE" in version:
        flags = ["--oversubscribe"] + (["--allow-run-as-root"] if os.geteuid() == 0 else [])
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OMPI_", "PMI", "PMIX"))}
    env.update(JAX_ENABLE_X64="1", NUMBA_NUM_THREADS="1", PYTHONPATH=str(ROOT))
    return subprocess.run([exe, *flags, "-n", str(n), sys.executable, str(JOB), *args], capture_output=True,
                          text=True, timeout=timeout, env=env, cwd=ROOT)


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    from shaminfer.catalogs import small_test_universe

    d = tmp_path_factory.mktemp("mpi")
    cat = small_test_universe()
    save_catalog(cat, d / job.CATALOG_NAME)
    save_catalog(cat.replace(pos=np.mod(cat.pos + 0.5, cat.box_size)), d / job.OTHER_NAME)
    return d


def test_two_ranks_equal_one_process(workdir):
    out = workdir / "out.npz"
    res = _mpirun(2, [str(out)])
    assert res.returncode == 0, res.stderr[-3000:]
    assert not (workdir / "written_by_rank1.txt").exists() and (workdir / "written_by_rank0.txt").read_text() == "0"
    got = dict(np.load(out))
    full = load_catalog(workdir / job.CATALOG_NAME)
    assert got["n_particles"].sum() == full.particle_pos.shape[0]  # each rank read its own slab, no ghost copies
    ref = job.compute(full)
    for name, want in ref.items():
        want = np.asarray(want)
        scale = max(np.max(np.abs(want)), 1e-300)
        assert np.max(np.abs(got[name] - want)) <= 1e-12 * scale, name


def test_more_ranks_than_slabs_stops_the_job(workdir):
    res = _mpirun(3, [str(workdir / "out3.npz")])  # 3 slabs of 16.7 Mpc/h: the 10 Mpc/h ghost is over half of one
    assert res.returncode != 0
    assert "run with at most 2 ranks" in res.stderr
    assert not (workdir / "out3.npz").exists()


def test_a_ghost_zone_over_half_a_slab_stops_the_job(workdir):
    res = _mpirun(2, [str(workdir / "g.npz"), "--case", "ghost"])
    assert res.returncode != 0 and "wider than half a slab" in res.stderr


@pytest.mark.parametrize("case, message", [("files", "catalog checksum (positions, log10 Mpeak, box): ranks disagree"),
                                           ("disagree", "lensing objects' positions, options): ranks disagree")])
def test_ranks_with_different_catalogs_stop_the_job(workdir, case, message):
    res = _mpirun(2, [str(workdir / f"{case}.npz"), "--case", case])
    assert res.returncode != 0 and message in res.stderr, res.stderr[-2000:]
    assert not (workdir / f"{case}.npz").exists()


def test_a_rank_that_dies_ends_the_job_without_a_torn_file(workdir):
    res = _mpirun(2, [str(workdir / "die.npz"), "--case", "die"], timeout=300)
    assert res.returncode != 0
    assert not (workdir / "die.npz").exists()
    assert not list(workdir.glob(".die.npz.*"))  # no temporary left behind either
