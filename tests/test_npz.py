"""Fault injection for every .npz the package reads: each bad file is one ValueError naming the file."""
import numpy as np
import pytest

from shaminfer._npz import read_npz


@pytest.fixture
def good(tmp_path):
    path = tmp_path / "good.npz"
    np.savez(path, a=np.arange(5.0), b=np.array([1.0, np.nan]))
    return path


def test_reads_and_checks_required_and_finite(good):
    arrays = read_npz(good, what="thing", required=("a",), finite=("a",))
    np.testing.assert_array_equal(arrays["a"], np.arange(5.0))
    with pytest.raises(ValueError, match=r"good\.npz: thing: expected arrays \['a', 'c'\], missing \['c'\]"):
        read_npz(good, what="thing", required=("a", "c"))
    with pytest.raises(ValueError, match=r"good\.npz: thing: array 'b' expected finite values, found 1 NaN"):
        read_npz(good, what="thing", finite=True)


@pytest.mark.parametrize("damage, message", [
    (lambda raw: b"", "found an empty file"),
    (lambda raw: raw[: len(raw) // 2], "unreadable thing|not an .npz"),
    (lambda raw: raw[:200] + bytes(b ^ 0xFF for b in raw[200:260]) + raw[260:], "unreadable thing|not an .npz"),
    (lambda raw: b"log10 phi* = -2.3\nalpha = -1.1\n", "found a text file"),
])
def test_damaged_files_are_named(good, tmp_path, damage, message):
    bad = tmp_path / "bad.npz"
    bad.write_bytes(damage(good.read_bytes()))
    with pytest.raises(ValueError, match=rf"bad\.npz: .*({message})"):
        read_npz(bad, what="thing")


def test_pickled_objects_missing_files_and_folders(tmp_path):
    obj = tmp_path / "obj.npz"
    np.savez(obj, a=np.array([{"x": 1}], dtype=object))
    with pytest.raises(ValueError, match=r"obj\.npz: a thing holds an array of Python objects, which is never unpickled"):
        read_npz(obj, what="thing")
    with pytest.raises(FileNotFoundError, match=r"nope\.npz: thing not found"):
        read_npz(tmp_path / "nope.npz", what="thing")
    with pytest.raises(ValueError, match=r"found a folder"):
        read_npz(tmp_path, what="thing")


def test_nan_shamnet_weights_with_a_valid_checksum_are_refused_at_load(tmp_path):
    from shaminfer.shamnet import load_shamnet, save_shamnet

    net = load_shamnet()
    (w, b), rest = net.layers[0], net.layers[1:]
    bad = net._replace(layers=((w.at[0, 0].set(np.nan), b),) + tuple(rest))
    path = tmp_path / "nan.npz"
    save_shamnet(bad, path)  # writes a checksum computed over the NaN
    with pytest.raises(ValueError, match=r"nan\.npz: SHAMNet weights: array 'layer0_W' expected finite values"):
        load_shamnet(path)


def test_garbage_toml_names_the_file(tmp_path):
    from shaminfer.app.config import load_fit_config

    path = tmp_path / "fit.toml"
    path.write_bytes(bytes(range(256)))
    with pytest.raises(ValueError, match=r"fit\.toml: invalid TOML"):
        load_fit_config(path)
