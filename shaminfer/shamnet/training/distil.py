"""Phase 1 by distillation (a deviation from App. D.2): a new network regressed on a trained network's SMHM.

Eq. D3 with the teacher's log10 M* on the training halo grid as the target in
place of three-roll fits: ``cfg.distil_steps`` Adam steps (cosine schedule
from ``cfg.distil_lr``) on fresh batches of ``cfg.distil_batch`` theta, a
``cfg.face_fraction`` of them crowded towards the sigma faces as in phase 2.
The weights with the lowest rms on 256 held-out theta (checked every
``cfg.val_every`` steps, float64) are kept. This carries a trained network's
accuracy into a new architecture (``cfg.arch``, e.g. the monotone basis
network) before phase 2 refines it on Eq. D4.
"""
from __future__ import annotations

import time

import jax
import jax.numpy as jnp
import optax

from ...ingredients.theta import ShamParams
from ..domain import sample_domain
from ..losses import TRAIN_LOGMH_GRID
from ..network import net_logsm
from .common import adam_step, cast_floating, chunked, init_network, log, mixed_batches
from .config import TrainConfig

__all__ = ["train_distil"]


def train_distil(key, teacher, cfg: TrainConfig, *, seed: int, quiet=False):
    """Distil a new ``cfg.arch`` network from ``teacher`` (Eq. D3 on the teacher's SMHM).

    Parameters
    ----------
    key : PRNGKey
        Initializes the new network.
    teacher : ShamNet or BasisShamNet
        Trained network; its domain becomes the new network's.
    cfg : TrainConfig
        ``distil_steps``, ``distil_lr``, ``distil_batch``, ``face_fraction``,
        ``face_power``, ``val_every``, ``dtype``, ``arch``, ``hidden``, ``knots``.
    seed : int
        Held-out theta use ``seed + 11``; batches ``seed + 12_000 + step`` (uniform)
        and ``seed + 600_000_000 + step`` (face-crowded).
    quiet : bool

    Returns
    -------
    net : ShamNet or BasisShamNet
        float64 weights with the best held-out rms.
    info : dict
        ``steps``, ``best_step``, ``best_val_rms_logsm_dex`` (dex in log10 M*),
        ``final_batch_loss``, ``seconds``.
    """
    t0 = time.time()
    domain = teacher.domain
    dt = jnp.dtype(cfg.dtype)
    net = cast_floating(init_network(key, domain, cfg), dt)
    Net = type(net)
    dom_c, grid_c = cast_floating((domain, TRAIN_LOGMH_GRID), dt)
    teach = jax.jit(lambda th: jax.vmap(lambda t: net_logsm(teacher, t, TRAIN_LOGMH_GRID))(th))

    def loss_fn(ly, th, tgt):  # Eq. D3 with the teacher's SMHM as the target
        th, tgt = cast_floating((th, tgt), dt)
        pred = jax.vmap(lambda t: net_logsm(Net(ly, dom_c), t, grid_c))(th)
        return jnp.mean((pred - tgt) ** 2)

    opt = optax.adam(optax.cosine_decay_schedule(cfg.distil_lr, cfg.distil_steps, alpha=cfg.lr_final_fraction))
    step = adam_step(loss_fn, opt)
    layers = net.layers
    state = opt.init(layers)
    theta_val = sample_domain(domain, seed + 11, 256)
    tgt_val = teach(theta_val)

    @jax.jit
    def val_fn(ly):  # rms difference in log10 M* on the held-out theta, float64
        pred = jax.vmap(lambda t: net_logsm(Net(cast_floating(ly, jnp.float64), domain), t, TRAIN_LOGMH_GRID))(theta_val)
        return jnp.sqrt(jnp.mean((pred - tgt_val) ** 2))

    best = (float(val_fn(layers)), layers, 0)
    log(f"distillation: start, held-out rms {best[0]:.3e} dex in log10 M*", quiet)
    n_face = int(round(cfg.face_fraction * cfg.distil_batch))
    n_flat = cfg.distil_batch - n_face
    block = 100
    loss = jnp.nan
    for b0 in range(0, cfg.distil_steps, block):
        nb = min(block, cfg.distil_steps - b0)
        pool = mixed_batches(domain, nb, n_flat, n_face, seed_flat=seed + 12_000 + b0, seed_face=seed + 600_000_000 + b0,
                             face_power=cfg.face_power)
        tgt = chunked(teach, pool, chunk=1000)  # the teacher's SMHMs for this block; chunks bound its activations' memory
        for j in range(nb):
            sl = slice(j * cfg.distil_batch, (j + 1) * cfg.distil_batch)
            layers, state, loss = step(layers, state, ShamParams(*(v[sl] for v in pool)), tgt[sl])
            i = b0 + j + 1
            if i % cfg.val_every == 0 or i == cfg.distil_steps:
                v = float(val_fn(layers))
                if v < best[0]:
                    best = (v, layers, i)
                log(f"distillation: step {i}/{cfg.distil_steps}, batch loss {float(loss):.3e}, held-out rms {v:.3e} dex "
                    f"(best {best[0]:.3e} at {best[2]}), {time.time() - t0:.0f} s", quiet)
    info = dict(steps=cfg.distil_steps, best_step=best[2], best_val_rms_logsm_dex=best[0], final_batch_loss=float(loss),
                seconds=time.time() - t0)
    return Net(cast_floating(best[1], jnp.float64), domain), info
