"""``train_shamnet``: one training run of SHAMNet (App. D.2-D.3), from scratch, by distillation or as a warm start.

From scratch, the run builds the domain from the SDSS-like posterior (App. D),
runs phase 1 (:func:`~shaminfer.shamnet.training.phase1.train_phase1`) and
phase 2 (:func:`~shaminfer.shamnet.training.phase2.train_phase2`). A warm
start (``init``) continues phase 2 from a weights file, optionally widened
first without changing its predictions
(:func:`~shaminfer.shamnet.network.widen_shamnet`); a distillation
(``distil``) replaces phase 1 by
:func:`~shaminfer.shamnet.training.distil.train_distil`. The run measures the
held-out accuracy and writes the weights, the model card
(:mod:`~shaminfer.shamnet.training.cards`) and phase 2's validation history.

This is the shell around the training stages: it owns the seeds, prints
progress and writes files.
"""
from __future__ import annotations

import platform
import sys
import time
from pathlib import Path
from typing import NamedTuple

import jax
import numpy as np

from ..accuracy import min_smhm_slope, smf_accuracy
from ..domain import make_domain, sample_domain, sdss_posterior
from ..io import save_shamnet
from ..network import ShamNet, architecture, basis_knots, hidden_widths, widen_shamnet
from .cards import accuracy_card, architecture_card, domain_card, parent, stages_card
from .common import log
from .config import DEFAULT_TRAIN_CONFIG, TrainConfig
from .distil import train_distil
from .phase1 import train_phase1
from .phase2 import train_phase2

__all__ = ["TrainResult", "train_shamnet"]


class TrainResult(NamedTuple):
    """A trained network and its model card."""

    net: ShamNet
    card: dict


class _Start(NamedTuple):
    """Where phase 2 starts: the network, the config as trained, the domain's posterior and the first stage's records."""

    net: ShamNet
    cfg: TrainConfig
    mean: np.ndarray
    cov: np.ndarray
    phase1: dict
    init_info: dict | None
    distil_info: dict | None


def _warm_start(seed: int, cfg: TrainConfig, init, widen, quiet) -> _Start:
    # the card of a warm start carries its whole lineage: each ancestor's file, checksum, command, architecture
    # and accuracy (so a widened network's card also reports the accuracy of the narrower one it grew from)
    net, card, info, mean, cov = parent(init)
    phase1 = dict(skipped=f"warm start from {init}")
    log(f"warm start from {init} ({card.get('command')})", quiet)
    if widen is not None:
        old_hidden = list(hidden_widths(net))
        net = widen_shamnet(jax.random.PRNGKey(seed), net, widen)
        info["widened_from_hidden"] = old_hidden
        phase1 = dict(skipped=f"warm start from {init}, widened from {old_hidden} to {list(widen)} (function-preserving)")
        log(f"widened {old_hidden} -> {list(widen)}; predictions unchanged", quiet)
    # the card's config records the architecture actually trained
    cfg = cfg._replace(hidden=hidden_widths(net), arch=architecture(net))
    if cfg.arch == "basis":
        cfg = cfg._replace(knots=basis_knots(net))
    return _Start(net, cfg, mean, cov, phase1, info, None)


def _distilled_start(seed: int, cfg: TrainConfig, distil, quiet) -> _Start:
    teacher, card, info, mean, cov = parent(distil)
    log(f"distilling a {cfg.arch} network {list(cfg.hidden)} from {distil} ({card.get('command')})", quiet)
    net, phase1 = train_distil(jax.random.PRNGKey(seed), teacher, cfg, seed=seed, quiet=quiet)
    return _Start(net, cfg, mean, cov, phase1, None, info)


def _scratch_start(seed: int, cfg: TrainConfig, quiet) -> _Start:
    _, mean, cov = sdss_posterior(seed, num_warmup=cfg.posterior_warmup, num_samples=cfg.posterior_samples)
    domain = make_domain(mean, cov)
    log(f"domain: SDSS-like posterior mean {np.round(mean, 5).tolist()}, sd {np.round(np.sqrt(np.diag(cov)), 5).tolist()}", quiet)
    net, phase1 = train_phase1(jax.random.PRNGKey(seed), domain, cfg, seed=seed, quiet=quiet)
    return _Start(net, cfg, mean, cov, phase1, None, None)


def train_shamnet(seed: int, out_dir, *, cfg: TrainConfig = DEFAULT_TRAIN_CONFIG, quiet=False, command: str | None = None,
                  init=None, widen=None, distil=None) -> TrainResult:
    """Train SHAMNet and write ``out_dir/shamnet.npz``, its model card ``shamnet.json`` and ``phase2_history.csv``.

    Parameters
    ----------
    seed : int
        Seed of the domain posterior, the network's initialization and every draw of theta.
    out_dir : str or Path
        Output folder.
    cfg : TrainConfig
        Options of every stage.
    quiet : bool
        No progress lines.
    command : str, optional
        The command recorded in the card (default: the plain ``train-shamnet`` command).
    init : str or Path, optional
        Warm start: the network, its domain and posterior come from this weights
        file and its card; phase 1 is skipped and phase 2 continues from those
        weights. The card records the file's checksum, command and lineage.
    widen : tuple of int, optional
        With ``init``: first widen the network to these hidden widths without
        changing its predictions.
    distil : str or Path, optional
        Phase 1 is a distillation of a new ``cfg.arch`` network from these
        weights, on their domain and posterior; the card records the teacher's lineage.

    Returns
    -------
    TrainResult
        The trained network (float64) and its card.

    Raises
    ------
    ValueError
        ``init`` with ``distil``, or ``widen`` without ``init``.

    Examples
    --------
    A warm start of the shipped network, continued for 500 phase-2 steps with the slope hinge:

    >>> from shaminfer.shamnet import default_weights_path                              # doctest: +SKIP
    >>> from shaminfer.shamnet.training import DEFAULT_TRAIN_CONFIG, train_shamnet      # doctest: +SKIP
    >>> cfg = DEFAULT_TRAIN_CONFIG._replace(max_steps=500, lr=2e-5, mono_weight=1e5, mono_min_slope=0.005)  # doctest: +SKIP
    >>> res = train_shamnet(1, "out", cfg=cfg, init=default_weights_path())             # doctest: +SKIP
    >>> res.card["accuracy"]["max_abs_dex"]                                             # doctest: +SKIP
    """
    t_start = time.time()
    out_dir = Path(out_dir)
    if init is not None and distil is not None:
        raise ValueError("distil: a warm start (init) continues its own network; distil starts a new one: give one of them")
    if widen is not None and init is None:
        raise ValueError("widen: only a warm start (init=...) can be widened; set cfg.hidden for a network from scratch")
    if init is not None:
        start = _warm_start(seed, cfg, init, widen, quiet)
    elif distil is not None:
        start = _distilled_start(seed, cfg, distil, quiet)
    else:
        start = _scratch_start(seed, cfg, quiet)
    cfg, domain = start.cfg, start.net.domain
    net, info2 = train_phase2(start.net, cfg, seed=seed, quiet=quiet)
    train_seconds = time.time() - t_start
    # held-out accuracy: seeds far from every training draw
    acc = smf_accuracy(net, sample_domain(domain, 10_000_019 + seed, cfg.n_accuracy), kernel=cfg.kernel)
    theta_slope = sample_domain(domain, 20_000_003 + seed, 200)
    slopes, raw_slopes = (np.min(min_smhm_slope(net, theta_slope, monotone=mono)) for mono in (True, False))
    log(f"held-out accuracy over {acc.n_theta} theta: rms {acc.rms_dex:.4e} dex, max |Delta| {acc.max_abs_dex:.4e} dex", quiet)
    card = dict(
        name="SHAMNet (shaminfer)",
        command=command or f"shaminfer train-shamnet --seed {seed} --out {out_dir}",
        seed=seed,
        date=time.strftime("%Y-%m-%d"),
        machine=f"{platform.machine()} {platform.system()}, {jax.device_count()} {jax.default_backend()} device(s), "
        f"python {sys.version.split()[0]}, jax {jax.__version__}",
        architecture=architecture_card(net),
        kernel=f"{cfg.kernel} scatter kernel P(M*|Mpeak) (App. E), width sigma(Mpeak) of Eq. 4",
        domain=domain_card(domain, start.mean, start.cov),
        stages=stages_card(cfg, init=init, widen=widen, distil=distil),
        training=dict(config=cfg._asdict(), init_weights=start.init_info, distilled_from=start.distil_info, phase1=start.phase1,
                      phase2={k: v for k, v in info2.items() if k != "history"}, seconds=train_seconds),
        accuracy=accuracy_card(acc, slopes, raw_slopes),
    )
    save_shamnet(net, out_dir / "shamnet.npz", kernel=cfg.kernel, card=card)
    hist = np.array(info2["history"], dtype=float)
    np.savetxt(out_dir / "phase2_history.csv", hist, delimiter=",", header="step,batch_loss,val_rms_dex", comments="")
    log(f"wrote {out_dir / 'shamnet.npz'} and its model card {out_dir / 'shamnet.json'} ({train_seconds:.0f} s)", quiet)
    return TrainResult(net, card)
