"""Every knob of SHAMNet's training stages (App. D.2-D.3 and the deviations), and their checks.

:class:`TrainConfig` holds the options of phase 1 (App. D.2: three-roll fits
of Eq. C3, then the regression of Eq. D3), of distillation (a deviation that
replaces those fits by a trained network's SMHM) and of phase 2 (App. D.3:
Eq. D4 with early stopping), plus the deviations phase 2 can add: the slope
hinge and monotonicity guard, the tail term, face-crowded batches, hard-theta
mining, a step-size warm-up and a wall-time budget.
:func:`check_config` validates the combinations once, naming the field, what
was expected and what was found.

The defaults are App. D alone: the from-scratch recipe of the first step of
``models/README.md``. Every later step of the shipped network's lineage is a
warm start with the options its model card records.
"""
from __future__ import annotations

from typing import NamedTuple

__all__ = ["TrainConfig", "DEFAULT_TRAIN_CONFIG", "check_config", "batch_split"]


class TrainConfig(NamedTuple):
    """Options of every training stage (defaults: App. D only); each field's meaning is documented below it."""

    # the network and the domain (App. D, D.1)
    hidden: tuple = (64, 32, 8, 4)
    """Hidden layer widths (App. D.1)."""
    kernel: str = "triweight"
    """Scatter kernel P(M*|Mpeak) of App. E."""
    posterior_warmup: int = 1000
    """NUTS warm-up steps of the SDSS-like posterior that sets the training domain."""
    posterior_samples: int = 4000
    """NUTS draws of that posterior."""
    arch: str = "mlp"
    """Network of a new run: ``"mlp"`` (App. D.1) or ``"basis"`` (monotone in log10 Mpeak by construction)."""
    knots: int = 96
    """Sigmoid knots of the ``"basis"`` network."""
    # phase 1 (App. D.2)
    n_fit_theta: int = 200
    """Theta fitted with the three-roll SMHM (App. C.1)."""
    fit_center_steps: int = 3000
    """Adam steps of the three-roll fit at the domain center, the start of every other fit."""
    fit_steps: int = 300
    """Adam steps of the batch of three-roll fits."""
    fit_loss_max: float = 0.05
    """Fits with a loss of Eq. C3 above this are discarded."""
    init_steps: int = 3000
    """Adam steps of the Eq. D3 regression on the kept fits."""
    init_batch: int = 50
    """Fits per step of that regression."""
    init_lr: float = 3e-3
    """Initial step size of that regression (cosine decay to 5%)."""
    # distillation: phase 1 from a trained network (deviation)
    distil_steps: int = 3000
    """Adam steps of the distillation."""
    distil_lr: float = 1e-3
    """Initial step size of the distillation (cosine decay to ``lr_final_fraction``)."""
    distil_batch: int = 100
    """Theta per distillation step."""
    # phase 2 (App. D.3)
    max_steps: int = 15000
    """Length of the cosine step-size schedule, and the step cap."""
    batch: int = 50
    """Theta per Adam step."""
    lr: float = 1e-3
    """Initial Adam step size."""
    lr_final_fraction: float = 0.01
    """The schedule ends at ``lr * lr_final_fraction``."""
    val_every: int = 250
    """Steps between validation checks."""
    n_val: int = 64
    """Held-out theta of each validation check."""
    patience: int = 8
    """Checks without improvement before stopping."""
    dtype: str = "float32"
    """Floating type of the training steps; validation and accuracy are always float64."""
    n_accuracy: int = 1000
    """Held-out theta of the model card's accuracy."""
    # phase-2 deviations
    tail_weight: float = 0.0
    """Weight of the tail term ``mean(|Delta|^p)^(2/p)`` added to Eq. D4 (:func:`~shaminfer.shamnet.losses.tail_weighted_loss`)."""
    tail_power: float = 8.0
    """The p of the tail term."""
    warmup_steps: int = 0
    """Steps of linear step-size warm-up from 0 before the cosine decay."""
    face_fraction: float = 0.0
    """Fraction of each batch drawn with sigma_lo, sigma_hi crowded towards the faces of [0.1, 0.5]."""
    face_power: float = 3.0
    """How strongly face-crowded draws crowd (:func:`~shaminfer.shamnet.domain.sample_domain`)."""
    mono_weight: float = 0.0
    """Weight of the SMHM slope hinge (:func:`~shaminfer.shamnet.losses.smhm_slope_penalty`) added to Eq. D4; 0: none."""
    mono_min_slope: float = 0.002
    """Slope d log10 M* / d log10 Mpeak below which the hinge acts."""
    mono_batch: int = 0
    """Face-crowded theta per step that enter only the slope hinge."""
    require_monotonic: bool = False
    """Keep only weights whose SMHM rises on the guard theta (:mod:`~shaminfer.shamnet.training.monotonicity`)."""
    mono_guard_faces: int = 0
    """Face-crowded theta added to the 256 uniform ones of that check."""
    hard_fraction: float = 0.0
    """Fraction of each batch drawn from the mined hardest theta (:mod:`~shaminfer.shamnet.training.mining`); 0: no mining."""
    hard_candidates: int = 4000
    """Fresh theta ranked at each mining."""
    hard_pool: int = 256
    """Worst theta kept at each mining."""
    hard_every: int = 250
    """Steps between minings."""
    max_seconds: float = 0.0
    """Wall-time budget: stop at the first check after this many seconds; 0: none."""
    stop_after_steps: int = 0
    """Stop at the first check at or after this step, with the schedule of ``max_steps`` unchanged; 0: off."""


DEFAULT_TRAIN_CONFIG = TrainConfig()


def check_config(cfg: TrainConfig) -> None:
    """Raise ValueError, naming the field, on combinations of phase-2 options that cannot run.

    Parameters
    ----------
    cfg : TrainConfig

    Raises
    ------
    ValueError
        The warm-up is not shorter than the schedule, hinge-only theta come without
        a hinge weight, the face-crowded and mined fractions exceed a batch, or the
        mined pool exceeds its candidates.
    """
    if cfg.warmup_steps >= cfg.max_steps:
        raise ValueError(f"warmup_steps: expected fewer than max_steps = {cfg.max_steps}, found {cfg.warmup_steps}")
    if cfg.mono_batch > 0 and cfg.mono_weight <= 0:
        raise ValueError(f"mono_batch: theta that enter only the slope hinge need mono_weight > 0, found mono_weight = {cfg.mono_weight}")
    n_face, n_hard = batch_split(cfg)
    if n_face + n_hard > cfg.batch:
        raise ValueError(f"hard_fraction: expected face_fraction + hard_fraction <= 1 ({n_face} + {n_hard} theta of a batch of {cfg.batch}), "
                         f"found {cfg.face_fraction} + {cfg.hard_fraction}")
    if n_hard > 0 and not (1 <= cfg.hard_pool <= cfg.hard_candidates and cfg.hard_every >= 1):
        raise ValueError(f"hard_pool: expected 1 <= hard_pool <= hard_candidates and hard_every >= 1, found hard_pool = {cfg.hard_pool}, "
                         f"hard_candidates = {cfg.hard_candidates}, hard_every = {cfg.hard_every}")


def batch_split(cfg: TrainConfig) -> tuple:
    """(face-crowded, mined) theta of each phase-2 batch of ``cfg.batch``; the rest are uniform draws."""
    return int(round(cfg.face_fraction * cfg.batch)), int(round(cfg.hard_fraction * cfg.batch))
