"""shaminfer._atomic: writes land whole or not at all, keep the destination's suffix for format-sniffing writers,
and get the permissions the umask allows."""
import os
import stat

import numpy as np
import pytest

from shaminfer._atomic import atomic_path, atomic_write, atomic_write_bytes, atomic_write_text, current_umask


def test_writes_replace_the_file_and_leave_no_temporary(tmp_path):
    path = tmp_path / "sub" / "a.txt"
    atomic_write_text(path, "one")
    atomic_write_bytes(path, b"two")
    assert path.read_text() == "two"
    npz = atomic_write(tmp_path / "b.npz", lambda tmp: np.savez(tmp, x=np.arange(3)))  # savez keeps a .npz name as is
    np.testing.assert_array_equal(np.load(npz)["x"], np.arange(3))
    assert sorted(p.name for p in tmp_path.rglob("*")) == ["a.txt", "b.npz", "sub"]


def test_a_failed_write_keeps_the_old_file(tmp_path):
    path = tmp_path / "c.txt"
    atomic_write_text(path, "old")
    with pytest.raises(RuntimeError, match="boom"):
        with atomic_path(path) as tmp:
            assert tmp.name.endswith(".tmp.txt") and tmp.parent == tmp_path
            tmp.write_text("half")
            raise RuntimeError("boom")
    assert path.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["c.txt"]


@pytest.mark.parametrize(("umask", "mode"), [(0o022, 0o644), (0o027, 0o640), (0o077, 0o600)])
def test_outputs_get_the_permissions_the_umask_allows(tmp_path, umask, mode):
    """Not mkstemp's 0600: collaborators read what the umask lets them, like a file made by ``open``."""
    old = os.umask(umask)
    try:
        assert current_umask() == umask  # read without changing it
        paths = [atomic_write_text(tmp_path / "a.txt", "x"),
                 atomic_write(tmp_path / "b.npz", lambda tmp: np.savez(tmp, x=np.arange(3)))]
        atomic_write_text(tmp_path / "a.txt", "replaced")  # replacing keeps the umask's mode too
        with open(tmp_path / "plain.txt", "w") as fh:
            fh.write("x")
    finally:
        os.umask(old)
    assert os.umask(old) == old  # restored
    for path in paths + [tmp_path / "plain.txt"]:
        assert stat.S_IMODE(path.stat().st_mode) == mode, (path.name, oct(path.stat().st_mode))
