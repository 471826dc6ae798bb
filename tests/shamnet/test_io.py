import jax
import numpy as np
import pytest

from shaminfer.ingredients import DEFAULT_SHAM_PARAMS
from shaminfer.shamnet import init_shamnet, load_shamnet, net_logsm, save_shamnet


def test_round_trip_and_card(tmp_path):
    net = init_shamnet(jax.random.PRNGKey(1))
    p = tmp_path / "w.npz"
    checksum = save_shamnet(net, p, card={"note": "x"})
    back = load_shamnet(p)
    m = np.linspace(10, 15, 9)
    np.testing.assert_array_equal(net_logsm(net, DEFAULT_SHAM_PARAMS, m), net_logsm(back, DEFAULT_SHAM_PARAMS, m))
    import json

    card = json.loads((tmp_path / "w.json").read_text())
    assert card["sha256"] == checksum and card["note"] == "x"
    assert not list(tmp_path.glob("*.tmp"))


def test_checksum_and_shape_errors(tmp_path):
    net = init_shamnet(jax.random.PRNGKey(1))
    p = tmp_path / "w.npz"
    save_shamnet(net, p)
    with np.load(p, allow_pickle=False) as f:
        arrays = {k: f[k] for k in f.files}
    tampered = dict(arrays)
    tampered["layer0_W"] = arrays["layer0_W"] + 1e-9
    np.savez(tmp_path / "bad.npz", **tampered)
    with pytest.raises(ValueError, match="checksum mismatch"):
        load_shamnet(tmp_path / "bad.npz")
    from shaminfer.shamnet.io import weights_checksum

    reshaped = {k: v for k, v in arrays.items() if k != "sha256"}
    reshaped["layer1_b"] = np.zeros(5)
    reshaped["sha256"] = np.array(weights_checksum(reshaped))
    np.savez(tmp_path / "shape.npz", **reshaped)
    with pytest.raises(ValueError, match="layer1 expected"):
        load_shamnet(tmp_path / "shape.npz")
    with pytest.raises(ValueError, match="does not exist"):
        load_shamnet(tmp_path / "missing.npz")
    missing = {k: v for k, v in arrays.items() if k != "kernel"}
    np.savez(tmp_path / "nokernel.npz", **missing)
    with pytest.raises(ValueError, match=r"missing \['kernel'\]"):
        load_shamnet(tmp_path / "nokernel.npz")


def test_no_pickle_in_weights(tmp_path):
    net = init_shamnet(jax.random.PRNGKey(1))
    save_shamnet(net, tmp_path / "w.npz")
    with np.load(tmp_path / "w.npz", allow_pickle=False) as f:
        assert all(f[k].dtype != object for k in f.files)


def _basis():
    from shaminfer.shamnet import default_domain
    from shaminfer.shamnet.network import init_basis_shamnet

    return init_basis_shamnet(jax.random.PRNGKey(2), default_domain(), hidden=(8, 8), knots=5)


def test_basis_round_trip(tmp_path):
    from shaminfer.shamnet.network import BasisShamNet, basis_knots

    net = _basis()
    save_shamnet(net, tmp_path / "b.npz")
    back = load_shamnet(tmp_path / "b.npz")
    assert isinstance(back, BasisShamNet) and basis_knots(back) == 5
    m = np.linspace(9, 16.5, 11)
    np.testing.assert_array_equal(net_logsm(net, DEFAULT_SHAM_PARAMS, m), net_logsm(back, DEFAULT_SHAM_PARAMS, m))
    with np.load(tmp_path / "b.npz", allow_pickle=False) as f:
        assert str(f["arch"]) == "basis" and int(f["knots"]) == 5


def _resave(tmp_path, name, arrays):
    from shaminfer.shamnet.io import weights_checksum

    arrays = {k: v for k, v in arrays.items() if k != "sha256"}
    np.savez(tmp_path / name, sha256=np.array(weights_checksum(arrays)), **arrays)
    return tmp_path / name


def test_basis_file_errors_name_the_array(tmp_path):
    save_shamnet(_basis(), tmp_path / "b.npz")
    with np.load(tmp_path / "b.npz", allow_pickle=False) as f:
        arrays = {k: f[k] for k in f.files}
    with pytest.raises(ValueError, match="arch expected 'mlp' or 'basis', found 'tree'"):
        load_shamnet(_resave(tmp_path, "arch.npz", dict(arrays, arch=np.array("tree"))))
    with pytest.raises(ValueError, match="arch 'basis' expects a scalar 'knots' >= 2, found none"):
        load_shamnet(_resave(tmp_path, "noknots.npz", {k: v for k, v in arrays.items() if k != "knots"}))
    # knots that disagree with the output layer: a shape error on the last layer
    with pytest.raises(ValueError, match=r"layer2 expected W \(8, 8\) and b \(8,\), found \(8, 7\) and \(7,\)"):
        load_shamnet(_resave(tmp_path, "k.npz", dict(arrays, knots=np.array(6))))
