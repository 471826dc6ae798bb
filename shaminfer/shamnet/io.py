"""Reading and writing SHAMNet weights (.npz, no pickle, shape and checksum checks).

File layout (all plain arrays; ``np.load(..., allow_pickle=False)``):
``hidden`` (n_hidden,) int, ``layer{i}_W`` / ``layer{i}_b`` float64,
``domain_<field>`` for each :class:`ShamNetDomain` field, ``kernel`` (str),
``sha256`` (str): SHA-256 over every other array's name, dtype, shape and
bytes in sorted-name order. A monotone-basis network
(:class:`~shaminfer.shamnet.network.BasisShamNet`) also stores ``arch``
(``"basis"``) and ``knots`` (int); files without ``arch`` hold the App. D.1
MLP. The model card is a JSON file beside the weights.
"""
from __future__ import annotations

import hashlib
import json
from functools import lru_cache
from importlib import resources
from pathlib import Path

import jax.numpy as jnp
import numpy as np

from .._atomic import atomic_write_bytes
from .._npz import read_npz
from .domain import ShamNetDomain
from .network import BasisShamNet, ShamNet, architecture, basis_knots, hidden_widths

__all__ = ["DEFAULT_WEIGHTS", "save_shamnet", "load_shamnet", "default_weights_path", "weights_checksum", "atomic_write_bytes"]

DEFAULT_WEIGHTS = "shamnet_default.npz"


def default_weights_path() -> Path:
    """Path of the shipped default weights (``models/shamnet_default.npz``)."""
    return Path(str(resources.files("shaminfer") / "models" / DEFAULT_WEIGHTS))


def weights_checksum(arrays: dict) -> str:
    """SHA-256 of the named arrays (name, dtype, shape, bytes; sorted by name)."""
    h = hashlib.sha256()
    for name in sorted(arrays):
        a = np.ascontiguousarray(arrays[name])
        h.update(name.encode())
        h.update(str(a.dtype).encode())
        h.update(str(a.shape).encode())
        h.update(a.tobytes())
    return h.hexdigest()




def _to_arrays(net, kernel: str) -> dict:
    arrays = {"hidden": np.array(hidden_widths(net), dtype=np.int64)}
    if architecture(net) == "basis":  # App. D.1 files carry no arch (their checksums predate it)
        arrays["arch"] = np.array("basis")
        arrays["knots"] = np.array(basis_knots(net), dtype=np.int64)
    for i, (w, b) in enumerate(net.layers):
        arrays[f"layer{i}_W"] = np.asarray(w, dtype=np.float64)
        arrays[f"layer{i}_b"] = np.asarray(b, dtype=np.float64)
    for f, v in zip(ShamNetDomain._fields, net.domain):
        arrays[f"domain_{f}"] = np.asarray(v, dtype=np.float64)
    arrays["kernel"] = np.array(kernel)
    return arrays


def save_shamnet(net, path, *, kernel: str = "triweight", card: dict | None = None) -> str:
    """Write weights to ``path`` (.npz) atomically, and ``card`` as JSON beside it. Returns the checksum."""
    import io

    arrays = _to_arrays(net, kernel)
    checksum = weights_checksum(arrays)
    buf = io.BytesIO()
    np.savez(buf, sha256=np.array(checksum), **arrays)
    atomic_write_bytes(path, buf.getvalue())
    if card is not None:
        card = dict(card, sha256=checksum)
        atomic_write_bytes(Path(path).with_suffix(".json"), (json.dumps(card, indent=2, sort_keys=True) + "\n").encode())
    return checksum


def load_shamnet(path=None):
    """Load SHAMNet weights; ``path=None`` loads the shipped default.

    Raises ``ValueError`` when the file lacks an array, an array has the wrong
    shape, or the checksum does not match.
    """
    if path is None:
        return _load_default()
    return _load(Path(path))


@lru_cache(maxsize=1)
def _load_default():
    return _load(default_weights_path())


def _load(path: Path):
    if not path.exists():
        raise ValueError(f"SHAMNet weights: file {path} does not exist")
    # finite=True: NaN weights are refused here, even with a valid checksum (computed over the NaNs)
    arrays = read_npz(path, what="SHAMNet weights", finite=True,
                      required=("sha256", "hidden", "kernel") + tuple(f"domain_{f}" for f in ShamNetDomain._fields))
    stored = str(arrays.pop("sha256"))
    actual = weights_checksum(arrays)
    if stored != actual:
        raise ValueError(f"SHAMNet weights {path}: checksum mismatch (stored {stored[:12]}..., computed {actual[:12]}...)")
    hidden = [int(h) for h in arrays["hidden"]]
    arch = str(arrays.get("arch", "mlp"))
    if arch == "mlp":
        sizes, Net = [5] + hidden + [1], ShamNet
    elif arch == "basis":
        if "knots" not in arrays or arrays["knots"].shape != () or int(arrays["knots"]) < 2:
            raise ValueError(f"SHAMNet weights {path}: arch 'basis' expects a scalar 'knots' >= 2, "
                             f"found {arrays['knots'] if 'knots' in arrays else 'none'}")
        sizes, Net = [4] + hidden + [2 + int(arrays["knots"])], BasisShamNet
    else:
        raise ValueError(f"SHAMNet weights {path}: arch expected 'mlp' or 'basis', found {arch!r}")
    layers = []
    for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        w = arrays.get(f"layer{i}_W")
        b = arrays.get(f"layer{i}_b")
        if w is None or b is None:
            raise ValueError(f"SHAMNet weights {path}: missing layer{i}_W or layer{i}_b")
        if w.shape != (n_in, n_out) or b.shape != (n_out,):
            raise ValueError(
                f"SHAMNet weights {path}: layer{i} expected W {(n_in, n_out)} and b {(n_out,)}, "
                f"found {w.shape} and {b.shape}"
            )
        layers.append((jnp.asarray(w), jnp.asarray(b)))
    expected = dict(center=(2,), eigvecs=(2, 2), halfwidth=(2,), alpha_max=(), sigma_range=(2,), logmpeak_range=(2,))
    dom = {}
    for f in ShamNetDomain._fields:
        a = arrays[f"domain_{f}"]
        if a.shape != expected[f]:
            raise ValueError(f"SHAMNet weights {path}: domain_{f} expected shape {expected[f]}, found {a.shape}")
        dom[f] = jnp.asarray(a)
    return Net(tuple(layers), ShamNetDomain(**dom))


def load_kernel(path=None) -> str:
    """Scatter kernel the weights were trained with ("triweight" or "gaussian")."""
    p = default_weights_path() if path is None else Path(path)
    return str(read_npz(p, what="SHAMNet weights", required=("kernel",))["kernel"])
