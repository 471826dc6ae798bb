import h5py
import numpy as np
import pytest

from shaminfer.catalogs import load_halotools_catalog


def _table(n=200, seed=0):
    rng = np.random.default_rng(seed)
    dt = np.dtype([("halo_id", "i8"), ("halo_upid", "i8"), ("halo_x", "f4"), ("halo_y", "f4"), ("halo_z", "f4"),
                   ("halo_mvir", "f4"), ("halo_mpeak", "f4"), ("halo_vmax", "f4")])
    t = np.zeros(n, dtype=dt)
    t["halo_id"] = rng.permutation(n) + 3_000_000_000
    t["halo_mpeak"] = 10 ** rng.uniform(10.5, 14.5, n)
    t["halo_mvir"] = 0.9 * t["halo_mpeak"]
    t["halo_upid"] = -1
    hosts = np.flatnonzero(t["halo_mpeak"] > 1e13)
    sats = np.flatnonzero(t["halo_mpeak"] < 1e12)[:30]
    t["halo_upid"][sats] = t["halo_id"][rng.choice(hosts, sats.size)]
    for c in ("halo_x", "halo_y", "halo_z"):
        t[c] = rng.uniform(0, 250, n).astype("f4")
    t["halo_x"][0] = 250.0  # round-off at the edge
    return t, sats


def write(path, t, *, lbox=(250.0, 250.0, 250.0), redshift=0.0, group=False):
    with h5py.File(path, "w") as f:
        if group:
            g = f.create_group("data")
            for name in t.dtype.names:
                g.create_dataset(name, data=t[name])
        else:
            f.create_dataset("data", data=t)
        f.attrs["Lbox"] = np.asarray(lbox)
        f.attrs["redshift"] = redshift
        f.attrs["simname"] = "bolplanck"
        f.attrs["particle_mass"] = 1.35e8


@pytest.mark.parametrize("group", [False, True])
def test_load(tmp_path, group):
    t, sats = _table()
    path = tmp_path / "hlist_1.00000.list.halotools_v0p4.hdf5"
    write(path, t, group=group)
    cat = load_halotools_catalog(path, logmpeak_min=10.0, chunk_rows=33, progress=False)
    assert cat.n == t.size and cat.box_size == 250.0 and cat.redshift == 0.0
    np.testing.assert_allclose(cat.logmpeak, np.log10(t["halo_mpeak"].astype(float)), rtol=1e-12)
    np.testing.assert_allclose(cat.pos[1:], np.stack([t[c] for c in ("halo_x", "halo_y", "halo_z")], 1)[1:])
    assert cat.pos[0, 0] == 0.0 and cat.meta["n_edge_wrapped"] == 1
    sat_rows = np.flatnonzero(cat.host_index >= 0)
    np.testing.assert_array_equal(sat_rows, np.sort(sats))
    np.testing.assert_array_equal(t["halo_id"][cat.host_index[sat_rows]], t["halo_upid"][sat_rows])
    # the cut is applied while reading
    cut = load_halotools_catalog(path, logmpeak_min=13.0, chunk_rows=50)
    assert cut.n == int((t["halo_mpeak"] >= 1e13).sum()) and np.all(cut.host_index == -1)


def test_scalar_lbox_and_redshift_on_table(tmp_path):
    t, _ = _table()
    path = tmp_path / "c.hdf5"
    with h5py.File(path, "w") as f:
        d = f.create_dataset("data", data=t)
        d.attrs["Lbox"] = 250.0
        d.attrs["redshift"] = 0.5
    cat = load_halotools_catalog(path)
    assert cat.box_size == 250.0 and cat.redshift == 0.5


def test_errors(tmp_path):
    t, _ = _table()
    path = tmp_path / "c.hdf5"
    bad = t[[n for n in t.dtype.names if n != "halo_upid"]]
    write(path, np.asarray(bad).astype(bad.dtype))
    with pytest.raises(ValueError, match=r"c.hdf5: missing column\(s\) \['halo_upid'\]; found columns: \['halo_id'"):
        load_halotools_catalog(path)
    write(path, t, lbox=(250.0, 250.0, 100.0))
    with pytest.raises(ValueError, match="Lbox to be one value or three equal sides"):
        load_halotools_catalog(path)
    with h5py.File(path, "w") as f:
        f.create_dataset("halos", data=t)
    with pytest.raises(ValueError, match=r"missing table 'data'; found entries \['halos'\]"):
        load_halotools_catalog(path)
    with h5py.File(path, "w") as f:
        f.create_dataset("data", data=t)
    with pytest.raises(ValueError, match="missing attribute 'Lbox'"):
        load_halotools_catalog(path)


def test_ids_extra_columns_and_bad_rows(tmp_path):
    t, _ = _table()
    path = tmp_path / "c.hdf5"
    write(path, t)
    cat = load_halotools_catalog(path, logmpeak_min=12.0, columns=("halo_vmax", "halo_mvir"), chunk_rows=64)
    keep = t["halo_mpeak"] >= 1e12
    np.testing.assert_array_equal(cat.properties["halo_id"], t["halo_id"][keep])
    np.testing.assert_allclose(cat.properties["halo_mvir"], t["halo_mvir"][keep])
    assert set(cat.properties) == {"halo_id", "halo_upid", "halo_vmax", "halo_mvir"}
    assert cat.meta["n_rows_cut"] == int((~keep).sum())
    for bad, message in ((np.nan, "nan"), (0.0, "0.0"), (-2.0**39, "-549755813888.0")):
        t2 = t.copy()
        t2["halo_mpeak"][70] = bad
        write(path, t2)
        # never dropped by the cut: an error naming the row and the column
        with pytest.raises(ValueError, match=rf"c.hdf5: row 70, column 'halo_mpeak': expected a positive, finite "
                                             rf"mass \[Msun/h\], found {message}"):
            load_halotools_catalog(path, logmpeak_min=12.0, chunk_rows=64)
    path.write_bytes(b"not an hdf5 file")
    with pytest.raises(ValueError, match=r"c.hdf5: unreadable halotools catalog, expected an HDF5 file"):
        load_halotools_catalog(path)
