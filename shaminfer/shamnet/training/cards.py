"""Model cards of trained SHAMNet networks: lineage, architecture, domain, stages and accuracy.

A card says what a network is, how to rebuild it and how accurate it is. A
warm start or a distillation records its parent's file, checksum, command,
seed, architecture and accuracy, and the parent's own parents, so every card
carries its whole lineage (:func:`lineage`).
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from ..accuracy import AccuracyReport
from ..domain import SDSS_FIDUCIAL, ShamNetDomain
from ..io import load_shamnet
from ..network import architecture, basis_knots, hidden_widths, parameter_count
from .config import TrainConfig

__all__ = ["lineage", "parent", "architecture_card", "domain_card", "stages_card", "accuracy_card"]


def lineage(path) -> tuple:
    """(card, lineage dict) of a weights file: its path, checksum, command, seed, architecture, accuracy and ancestors."""
    card = json.loads(Path(path).with_suffix(".json").read_text())
    arch = card.get("architecture", {})
    training = card.get("training", {})
    info = dict(path=str(path), sha256=card.get("sha256"), command=card.get("command"), seed=card.get("seed"),
                hidden=arch.get("hidden"), arch=arch.get("kind", "mlp"), accuracy=card.get("accuracy"),
                init_weights=training.get("init_weights"))
    if training.get("distilled_from") is not None:
        info["distilled_from"] = training["distilled_from"]
    return card, info


def parent(path) -> tuple:
    """(network, card, lineage dict, posterior mean, posterior cov) of a weights file that a run starts from."""
    card, info = lineage(path)
    return load_shamnet(path), card, info, np.asarray(card["domain"]["posterior_mean"]), np.asarray(card["domain"]["posterior_cov"])


def architecture_card(net) -> dict:
    """The model card's description of ``net``'s architecture (App. D.1, or the monotone basis and its departure)."""
    common = dict(hidden=list(hidden_widths(net)), activation="SELU (Eq. D2)", n_parameters=parameter_count(net),
                  output="sigmoid of Eq. A1 bounded to -5 < log10 M* < 25")
    if architecture(net) == "mlp":
        return dict(kind="mlp", inputs=["log10 phi*", "alpha", "sigma_lo", "sigma_hi", "log10 Mpeak"],
                    input_scaling="(log10 phi*, alpha) -> domain eigen-coordinates in [-1, 1]; sigma_lo, sigma_hi, log10 Mpeak -> [-1, 1]",
                    **common)
    k = basis_knots(net)
    return dict(
        kind="basis", knots=k,
        inputs=["log10 phi*", "alpha", "sigma_lo", "sigma_hi"],
        input_scaling="(log10 phi*, alpha) -> domain eigen-coordinates in [-1, 1]; sigma_lo, sigma_hi -> [-1, 1]; "
        "log10 Mpeak -> m in [-1, 1] enters only the basis",
        form=f"z = a + w_0 (m + 1) + sum_k w_k sigmoid((m - c_k) / h), {k} knots c_k evenly spaced over [-1, 1], h their "
        "spacing; (a, w) from the MLP, w = softplus(MLP outputs) >= 0, so log10 M* rises with Mpeak for every theta",
        departure="App. D.1 feeds log10 Mpeak to the MLP as a fifth input and its SMHM can dip; here the MLP maps theta to "
        "the coefficients of a monotone basis in log10 Mpeak (issue 3's max goal and monotonicity requirement)",
        **common)


def domain_card(domain: ShamNetDomain, mean, cov) -> dict:
    """The training domain (App. D) and the SDSS-like posterior (mean, covariance) it was built from."""
    return dict(
        sdss_fiducial=SDSS_FIDUCIAL,
        posterior="NumPyro NUTS, uniform priors, Gaussian likelihood on log10 phi(M*)",
        posterior_mean=np.asarray(mean).tolist(),
        posterior_cov=np.asarray(cov).tolist(),
        center=np.asarray(domain.center).tolist(),
        eigvecs_columns=np.asarray(domain.eigvecs).tolist(),
        halfwidth_5sigma=np.asarray(domain.halfwidth).tolist(),
        alpha_max=float(domain.alpha_max),
        sigma_lo_range=np.asarray(domain.sigma_range).tolist(),
        sigma_hi_range=np.asarray(domain.sigma_range).tolist(),
        logmpeak_range=np.asarray(domain.logmpeak_range).tolist(),
        sampling="scipy.stats.qmc.LatinHypercube in (u1, u2, sigma_lo, sigma_hi); alpha > alpha_max discarded",
    )


def stages_card(cfg: TrainConfig, *, init=None, widen=None, distil=None) -> list:
    """One line per training stage: how the run started (App. D.2, distillation or a warm start), then phase 2 (App. D.3)."""
    if init is not None:
        first = f"warm start from {init} (phase 1 skipped)" + (
            f"; widened to {list(widen)} without changing its predictions" if widen is not None else "")
    elif distil is not None:
        first = (f"phase 1 by distillation (deviation from App. D.2): Eq. D3 regression of a new {cfg.arch} network on the SMHM "
                 f"of {distil} for {cfg.distil_steps} steps")
    else:
        first = "phase 1 (App. D.2): three-roll fits (Eq. C3) and network regression to them (Eq. D3)"
    return [first, "phase 2 (App. D.3): Eq. D4 fine-tune, plus mono_weight x slope hinge (deviation: guards monotonicity)"]


def accuracy_card(acc: AccuracyReport, min_slope: float, raw_min_slope: float) -> dict:
    """Held-out accuracy (Eq. C2) and smallest SMHM slopes, with the protocol that measured them."""
    return dict(
        protocol="1000 held-out theta (LHS seed 10000019 + seed), Delta = R(phi_pred) - R(phi_target), Eq. C2 y_min = 1e-15, "
        "100 points 9 < log10 M* < 12, App. B quadrature on 1501 nodes, for the SMHM predict_logsm returns (the network "
        "through the rising table of shaminfer/shamnet/monotone.py); min slopes on 200 theta (seed 20000003 + seed), "
        "of that SMHM and of the bare network",
        rms_dex=acc.rms_dex,
        max_abs_dex=acc.max_abs_dex,
        n_theta=acc.n_theta,
        min_smhm_slope_10_to_15p5=float(min_slope),
        raw_min_smhm_slope_10_to_15p5=float(raw_min_slope),
    )
