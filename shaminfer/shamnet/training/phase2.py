"""Phase 2 of SHAMNet's training (App. D.3): the network trained directly on the SMF loss of Eq. D4.

Adam on fresh Latin-hypercube batches of theta, with a step size decaying on
a cosine schedule, and validation on ``cfg.n_val`` held-out theta every
``cfg.val_every`` steps; the best validated weights are kept, and training
stops when the validation objective has not improved for ``cfg.patience``
checks (or at ``cfg.max_steps``).

Deviations, all opt-in (:class:`~shaminfer.shamnet.training.config.TrainConfig`):

* tail term (``tail_weight > 0``): ``tail_weight * mean(|Delta|^p)^(2/p)`` is
  added to Eq. D4 (:func:`~shaminfer.shamnet.losses.tail_weighted_loss`), which
  weights the largest residuals, since the accuracy goal bounds max |Delta| as
  well as the rms; validation then uses the square root of the same objective;
* step-size warm-up (``warmup_steps > 0``): linear from 0 to ``lr`` before the
  cosine decay, a gentle restart for warm starts;
* face oversampling (``face_fraction > 0``): that fraction of every batch is
  drawn with each sigma crowded towards the faces of [0.1, 0.5], where the
  largest errors sit;
* the slope hinge and the monotonicity check
  (:mod:`~shaminfer.shamnet.training.monotonicity`);
* hard-theta mining (:mod:`~shaminfer.shamnet.training.mining`);
* wall-time budget (``max_seconds > 0``): stop at the first check after that
  many seconds, keeping the best weights so far. ``stop_after_steps > 0`` stops
  at the first check at or after that step with the schedule of ``max_steps``
  unchanged, so a run stopped by its budget is reproduced by the same command
  with ``stop_after_steps`` set to the step its card records. At the first
  check phase 2 estimates from the pace so far (compilation included, so it
  errs early) whether the budget will stop it before the schedule anneals, and
  if so logs a warning and records it.
"""
from __future__ import annotations

import time

import jax
import jax.numpy as jnp
import numpy as np
import optax

from ...ingredients.theta import ShamParams
from ..domain import sample_domain
from ..losses import LOSS_LOGSM, TRAIN_LOGMH_GRID, net_smf_residuals, tail_weighted_loss
from .common import adam_step, cast_floating, log, mixed_batches
from .config import TrainConfig, batch_split, check_config
from .mining import hard_theta_candidates, refresh_pool, with_draws
from .monotonicity import monotonicity_guard_theta, slope_hinge, smallest_slopes

__all__ = ["train_phase2"]

BLOCK = 100
"""Phase-2 steps whose batches come from one Latin hypercube (so they stay space-filling)."""


def _schedule(cfg: TrainConfig):
    """Adam step size: cosine decay from ``cfg.lr`` to ``cfg.lr * cfg.lr_final_fraction``, after an optional linear warm-up."""
    if cfg.warmup_steps > 0:
        return optax.warmup_cosine_decay_schedule(0.0, cfg.lr, cfg.warmup_steps, cfg.max_steps, end_value=cfg.lr * cfg.lr_final_fraction)
    return optax.cosine_decay_schedule(cfg.lr, cfg.max_steps, alpha=cfg.lr_final_fraction)


def _budget_warning(cfg: TrainConfig, step: int, seconds: float) -> str:
    """"" when the budget ``cfg.max_seconds`` holds the schedule at the pace of ``step`` steps in ``seconds``, else the warning."""
    fit = int(cfg.max_seconds * step / max(seconds, 1e-9))
    if fit >= cfg.max_steps:
        return ""
    return (f"at the pace of the first {step} steps (compilation included) the wall-time budget of {cfg.max_seconds:.0f} s "
            f"ends near step {fit} of the {cfg.max_steps}-step schedule, before the step size "
            f"anneals; lower max_steps to about {fit} for a run that anneals")


def _budget_stop(cfg: TrainConfig, step: int, seconds: float) -> str | None:
    """Why phase 2 stops at the check of ``step`` after ``seconds`` (``stop_after_steps`` or the wall-time budget), or None."""
    if 0 < cfg.stop_after_steps <= step:
        return f"stop_after_steps = {cfg.stop_after_steps}"
    if cfg.max_seconds > 0 and seconds > cfg.max_seconds:
        return f"wall-time budget of {cfg.max_seconds:.0f} s"
    return None


def train_phase2(net, cfg: TrainConfig, *, seed: int, quiet=False):
    """Phase 2 (App. D.3): Eq. D4 with early stopping on held-out theta, plus the opt-in deviations of the module.

    Parameters
    ----------
    net : ShamNet or BasisShamNet
        Start weights (phase 1, distillation or a warm start).
    cfg : TrainConfig
        Validated by :func:`~shaminfer.shamnet.training.config.check_config`.
    seed : int
        Validation theta use ``seed + 3``; batches ``seed + 1000 + b`` (uniform),
        ``seed + 500_000_000 + b`` (face-crowded) and ``seed + 700_000_000 + b``
        (hinge-only) for the block starting at step b.
    quiet : bool

    Returns
    -------
    net : ShamNet or BasisShamNet
        float64 weights of the best eligible validation check.
    info : dict
        ``steps``, ``best_step``, ``best_val_rms_dex``, ``seconds``, ``history``
        (step, batch loss, validation objective [dex]), ``budget_warning``,
        ``stopped_by`` and, with mining, ``hard_mining``.

    Raises
    ------
    ValueError
        From :func:`~shaminfer.shamnet.training.config.check_config`.
    """
    check_config(cfg)
    t0 = time.time()
    dt = jnp.dtype(cfg.dtype)
    domain = net.domain
    Net = type(net)
    dom_c, grid_c, logsm_c = cast_floating((domain, TRAIN_LOGMH_GRID, LOSS_LOGSM), dt)
    opt = optax.adam(_schedule(cfg))
    layers = cast_floating(net.layers, dt)
    state = opt.init(layers)
    theta_val = sample_domain(domain, seed + 3, cfg.n_val)
    tail = dict(tail_weight=cfg.tail_weight, tail_power=cfg.tail_power)

    def res64(ly, th):  # residuals of weights ``ly`` in float64 on the training grid (validation and mining)
        return net_smf_residuals(Net(cast_floating(ly, jnp.float64), domain), th, kernel=cfg.kernel)

    # validation: sqrt of the training objective without the slope hinge (the rms of Delta, i.e. Eq. D4, unless a tail weight is set)
    val_fn = jax.jit(lambda ly: jnp.sqrt(tail_weighted_loss(res64(ly, theta_val), **tail)))
    worst_fn = jax.jit(lambda ly, th: jnp.max(jnp.abs(res64(ly, th)), axis=-1))

    def loss_fn(ly, th, th_hinge):
        th, th_hinge = cast_floating((th, th_hinge), dt)
        net_c = Net(ly, dom_c)
        loss = tail_weighted_loss(net_smf_residuals(net_c, th, logmh_grid=grid_c, logsm=logsm_c, kernel=cfg.kernel), **tail)
        if cfg.mono_weight > 0:
            loss = loss + cfg.mono_weight * slope_hinge(net_c, th, th_hinge, grid_c, min_slope=cfg.mono_min_slope)
        return loss

    step = adam_step(loss_fn, opt)
    if cfg.require_monotonic:
        theta_mono, slopes = monotonicity_guard_theta(domain, cfg, seed=seed), smallest_slopes(Net, domain)

    def eligible(ly):
        return (not cfg.require_monotonic) or float(jnp.min(slopes(ly, theta_mono))) > 0.0

    v0 = float(val_fn(layers))
    ok0 = eligible(layers)
    best = (v0 if ok0 else float("inf"), layers, 0)
    vname = "validation rms" if cfg.tail_weight == 0 else "validation sqrt(Eq. D4 + tail term)"
    log(f"phase 2: start, {vname} {v0:.4e} dex{'' if ok0 else ' (not monotonic: not eligible as best)'}", quiet)
    history = [(0, float("nan"), v0)]
    stale, stopped, budget_warning = 0, None, None  # budget_warning: set at the first check when max_seconds > 0
    n_face, n_hard = batch_split(cfg)
    n_pool = cfg.batch - n_hard  # batch members drawn from the Latin hypercubes; the rest from the mined pool
    hard_rng = np.random.default_rng(seed + 900_000_000)
    mined = []
    done = 0
    for i in range(cfg.max_steps):
        j = i % BLOCK
        if j == 0:
            pool = mixed_batches(domain, BLOCK, n_pool - n_face, n_face, seed_flat=seed + 1000 + i, seed_face=seed + 500_000_000 + i,
                                 face_power=cfg.face_power)
            if cfg.mono_batch > 0:
                hinge_pool = sample_domain(domain, seed + 700_000_000 + i, BLOCK * cfg.mono_batch, face_power=cfg.face_power)
        th = ShamParams(*(v[j * n_pool : (j + 1) * n_pool] for v in pool))
        if n_hard > 0:
            if i % cfg.hard_every == 0:
                mined.append(refresh_pool(lambda t: worst_fn(layers, t), hard_theta_candidates(domain, cfg, seed=seed, at_step=i),
                                          cfg.hard_pool, at_step=i))
                log(f"phase 2: step {i}, mined the {cfg.hard_pool} worst of {cfg.hard_candidates} fresh theta: max |Delta| "
                    f"{mined[-1].worst:.4f} dex, pool floor {mined[-1].floor:.4f} dex", quiet)
            th = with_draws(th, mined[-1].theta, hard_rng, n_hard)
        th_hinge = None
        if cfg.mono_batch > 0:
            th_hinge = ShamParams(*(v[j * cfg.mono_batch : (j + 1) * cfg.mono_batch] for v in hinge_pool))
        layers, state, loss = step(layers, state, th, th_hinge)
        done = i + 1
        if done % cfg.val_every:
            continue
        v = float(val_fn(layers))
        history.append((done, float(loss), v))
        if v < best[0] and eligible(layers):
            best, stale = (v, layers, done), 0
        else:
            stale += 1
        elapsed = time.time() - t0
        log(f"phase 2: step {done}, batch loss {float(loss):.3e}, {vname} {v:.4e} dex (best {best[0]:.4e} at {best[2]}), "
            f"{elapsed:.0f} s", quiet)
        if budget_warning is None and cfg.max_seconds > 0 and cfg.stop_after_steps == 0:
            budget_warning = _budget_warning(cfg, done, elapsed)  # the schedule anneals only at max_steps: say so at once
            if budget_warning:
                log(f"phase 2: warning: {budget_warning}", quiet)
        if stale >= cfg.patience:
            log(f"phase 2: validation stopped improving for {cfg.patience} checks; stopping", quiet)
            break
        stopped = _budget_stop(cfg, done, time.time() - t0)
        if stopped is not None:
            log(f"phase 2: stopping at step {done} ({stopped}; the schedule runs to {cfg.max_steps})", quiet)
            break
    info = dict(steps=done, best_step=best[2], best_val_rms_dex=best[0], seconds=time.time() - t0, history=history,
                budget_warning=budget_warning or None, stopped_by=stopped)
    if n_hard > 0:
        info["hard_mining"] = [dict(step=m.step, worst_max_abs_dex=m.worst, pool_floor_dex=m.floor) for m in mined]
    return Net(cast_floating(best[1], jnp.float64), domain), info
