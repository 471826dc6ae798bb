import os

import h5py
import numpy as np
import pytest

from shaminfer.catalogs import LensingProfiles, SubhaloCatalog, load_catalog, save_catalog


def _full():
    rng = np.random.default_rng(0)
    return SubhaloCatalog(
        pos=rng.uniform(0, 30, (7, 3)), logmpeak=rng.uniform(11, 14, 7), box_size=30.0, redshift=0.25,
        host_index=np.array([-1, 0, -1, 2, 2, -1, -1]), particle_pos=rng.uniform(0, 30, (40, 3)),
        particle_mass=2.5e10,
        lensing=LensingProfiles(rbins=[0.1, 1.0, 3.0], index=[1, 5], delta_sigma=rng.normal(size=(2, 2)), los_axis=1),
        meta={"origin": "test", "seed": 3, "note": "ünïcode", "ok": True, "x": 1.5})


def assert_same(a, b):
    for name in ("pos", "logmpeak", "host_index", "particle_pos"):
        x, y = getattr(a, name), getattr(b, name)
        assert (x is None) == (y is None)
        if x is not None:
            if name == "particle_pos":  # HDF5 stores particles in order of x cell: the order carries no meaning
                x, y = x[np.lexsort(x.T)], y[np.lexsort(y.T)]
            np.testing.assert_array_equal(x, y)
            assert x.dtype == y.dtype
    assert (a.box_size, a.redshift, a.particle_mass) == (b.box_size, b.redshift, b.particle_mass)
    assert (a.lensing is None) == (b.lensing is None)
    if a.lensing is not None:
        for name in ("rbins", "index", "delta_sigma"):
            np.testing.assert_array_equal(getattr(a.lensing, name), getattr(b.lensing, name))
        assert a.lensing.los_axis == b.lensing.los_axis
    assert dict(a.meta) == dict(b.meta)


@pytest.mark.parametrize("suffix", [".npz", ".h5", ".hdf5"])
def test_round_trip(tmp_path, suffix):
    cat = _full()
    path = save_catalog(cat, tmp_path / f"cat{suffix}")
    assert_same(cat, load_catalog(path))
    assert os.listdir(tmp_path) == [f"cat{suffix}"]  # atomic: no temp file left
    minimal = SubhaloCatalog(pos=cat.pos, logmpeak=cat.logmpeak, box_size=30.0)
    assert_same(minimal, load_catalog(save_catalog(minimal, tmp_path / f"min{suffix}")))


def test_npz_has_no_pickled_objects(tmp_path):
    path = save_catalog(_full(), tmp_path / "cat.npz")
    with np.load(path, allow_pickle=False) as f:
        assert all(f[k].dtype != object for k in f.files)
        assert str(f["schema"]) == "shaminfer.SubhaloCatalog" and int(f["schema_version"]) == 1


def test_bad_files(tmp_path):
    with pytest.raises(ValueError, match="path: expected a .npz, .h5 or .hdf5"):
        save_catalog(_full(), tmp_path / "cat.txt")
    with pytest.raises(FileNotFoundError, match="no such catalog"):
        load_catalog(tmp_path / "absent.npz")
    np.savez(tmp_path / "other.npz", pos=np.zeros((1, 3)))
    with pytest.raises(ValueError, match="other.npz: expected a 'shaminfer.SubhaloCatalog' file"):
        load_catalog(tmp_path / "other.npz")
    path = save_catalog(_full(), tmp_path / "cat.h5")
    with h5py.File(path, "r+") as f:
        f.attrs["schema_version"] = 99
    with pytest.raises(ValueError, match="expected schema_version 1, found 99"):
        load_catalog(path)
    # a corrupted array is caught by the catalog validation on load
    path = save_catalog(_full(), tmp_path / "bad.h5")
    with h5py.File(path, "r+") as f:
        f["logmpeak"][2] = np.nan
    with pytest.raises(ValueError, match="logmpeak: expected finite values, found 1 row"):
        load_catalog(path)
