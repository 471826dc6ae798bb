import os

import numpy as np
import pytest

from shaminfer.catalogs.cache import atomic_write, cache_dir, cache_key, hash_arrays


def test_cache_dir_env_override(tmp_path, monkeypatch):
    monkeypatch.setenv("SHAMINFER_CACHE_DIR", str(tmp_path / "c"))
    assert cache_dir("sub") == tmp_path / "c" / "sub" and (tmp_path / "c" / "sub").is_dir()
    monkeypatch.delenv("SHAMINFER_CACHE_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cache_dir() == tmp_path / "xdg" / "shaminfer"


def test_keys_are_content_hashes():
    assert cache_key({"a": 1, "b": 2.0}, schema_version=1) == cache_key({"b": 2.0, "a": 1}, schema_version=1)
    assert cache_key({"a": 1}, schema_version=1) != cache_key({"a": 1}, schema_version=2)
    assert cache_key({"a": 1}, schema_version=1) != cache_key({"a": 2}, schema_version=1)
    x = np.arange(6.0)
    assert hash_arrays(x) == hash_arrays(x.copy()) != hash_arrays(x.reshape(2, 3)) != hash_arrays(x.astype("f4"))


def test_atomic_write(tmp_path):
    path = tmp_path / "d" / "x.npz"
    atomic_write(path, lambda tmp: np.savez(tmp, a=np.ones(3)))
    with np.load(path, allow_pickle=False) as f:
        np.testing.assert_array_equal(f["a"], 1.0)

    def boom(tmp):
        with open(tmp, "w") as f:
            f.write("partial")
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError):
        atomic_write(path, boom)
    assert os.listdir(path.parent) == ["x.npz"]  # old file intact, no temp file left
    with np.load(path, allow_pickle=False) as f:
        assert f["a"].shape == (3,)
