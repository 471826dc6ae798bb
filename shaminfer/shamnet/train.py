"""Training of SHAMNet (App. D.2-D.3, plus a supervised stage).

Phase 1 (initialization): for many theta from the training domain, fit the
eight three-roll SMHM parameters (App. C.1) with Adam on the loss of Eq. C3,
through the bounded sigmoid variables of App. C.2, vectorized over theta;
discard fits with loss > 0.05; then train the network to reproduce the
accepted relations (Eq. D3).

Supervised stage (a deviation from App. D aimed at the accuracy goal; opt-in,
``sup_steps > 0``, off in the default configuration because the issue-3 run
with it did not beat the shipped network): Eq. D4 alone is an indirect, slowly
converging target, so between the two phases the network is regressed on
exact SMHMs. Eq. 2 is solved once for ``n_sup_theta`` Latin-hypercube theta
by fixed-point deconvolution (:mod:`shaminfer.shamnet.deconvolution`), and
Adam minimizes the mean squared difference on the halo nodes whose
scatter-free match lies in ``sup_x_range`` (below the SMF's exponential tail,
where the deconvolution is accurate to a few 1e-3 dex), in mini-batches, keeping the best weights
on 64 held-out solutions.

Monotonicity guard (also a deviation; opt-in, ``mono_weight > 0`` and
``require_monotonic``, which keeps in Phase 2 only weights whose SMHM rises on
256 held-out theta): the supervised stage and Phase 2 add
``mono_weight`` times a hinge penalty on SMHM slopes below ``mono_min_slope``
over the training halo grid (:func:`~shaminfer.shamnet.losses.smhm_slope_penalty`);
it is zero for any relation that rises at least that fast.

Phase 2: train the network directly on the SMF loss of Eq. D4 with fresh
Latin-hypercube batches of theta, an Adam step size decaying on a cosine
schedule, and validation on held-out theta every ``val_every`` steps; the best
validated weights are kept and training stops when the validation rms has not
improved for ``patience`` checks (or at ``max_steps``).

Step size warm-up and face oversampling (deviations; opt-in): with
``warmup_steps > 0`` the Adam step size rises linearly from 0 to ``lr`` before
the cosine decay (a gentle restart for warm starts), and with
``face_fraction > 0`` that fraction of every batch is drawn with each sigma
crowded towards the faces of [0.1, 0.5] (``face_power``; see
:func:`~shaminfer.shamnet.domain.sample_domain`), where the largest errors sit.

Monotonicity guard on the faces (opt-in, ``mono_guard_faces > 0``): the
``require_monotonic`` check adds that many theta drawn crowded towards the
sigma faces, where the shipped network's SMHM dips below slope 0 on a few
theta in a thousand (benchmarks/RESULTS.md). ``mono_batch > 0`` adds that
many face-crowded theta to every phase-2 step that enter only the slope
hinge (no SMF quadrature, so they are cheap): the hinge then averages over
the batch and these theta, and sees the sigma corners far more densely than
the batch alone. ``mono_points > 0`` evaluates the hinge-only theta and the
``require_monotonic`` check on that many evenly spaced log10 Mpeak over
10..15.5 (default: the hinge on the training grid, 0.02 dex apart, and the
check on 221 points): an SELU network's slope jumps where a hidden unit
changes sign, and a dip narrower than the grid spacing escapes a coarse grid.

Slope mining (a deviation; opt-in, ``mono_mine > 0`` with ``mono_batch > 0``):
every ``hard_every`` steps phase 2 draws ``mono_mine`` fresh face-crowded
theta, ranks them by the current network's smallest finite-difference SMHM
slope on the ``require_monotonic`` grid (float64) and keeps the ``mono_batch``
lowest; half of every step's hinge-only theta are then drawn from this pool.
The dips sit in a small corner of the domain (sigma_lo ~ 0.1, sigma_hi ~ 0.5,
where the SMHM of Eq. 2 is a plateau: benchmarks/RESULTS.md), which random
hinge theta visit rarely; mining puts the hinge where the network dips.

Hard-theta mining (a deviation; opt-in, ``hard_fraction > 0``): every
``hard_every`` steps phase 2 draws ``hard_candidates`` fresh theta (half
uniform, half face-crowded), ranks them by the current network's worst
residual max |Delta| (float64, training grid) and keeps the ``hard_pool``
worst; that fraction of every batch is then drawn from this pool in place of
uniform theta. The accuracy goal bounds the maximum over 1000 theta, which is
set by a few theta in a thousand that random batches of 100 rarely contain.
The worst and the floor of each mined pool are logged and recorded in the card.

Keeping the last weights (opt-in, ``keep_last``): phase 2 returns the
weights of its last validation check that passes the monotonicity
requirement instead of those with the best validation objective (which, on
64 theta, says little about the worst of 1000), falling back to the best
when no check passes.

Wall-time budget (opt-in, ``max_seconds > 0``): phase 2 also stops at the
first validation check after that many seconds, keeping the best weights so
far; the card records the steps actually taken (a budget on a slower machine
stops earlier). ``stop_after_steps > 0`` stops at the first check at or after
that step with the step-size schedule of ``max_steps`` unchanged, so a run
stopped by its budget is reproduced by the same command with
``stop_after_steps`` set to the step recorded in its card. At the first
check phase 2 estimates from the pace so far (compilation included, so it
errs early) whether the budget will stop it before ``max_steps``, where the
cosine schedule anneals, and if so logs a warning and records it in the card.

Widening (opt-in, warm starts only): ``train_shamnet(..., widen=hidden)``
grows the warm-start network to wider hidden layers without changing its
predictions (:func:`~shaminfer.shamnet.network.widen_shamnet`) before phase 2.

Monotone-basis network and distillation (deviations; opt-in, ``arch="basis"``
and ``train_shamnet(..., distil=path)``): ``arch="basis"`` trains the
:class:`~shaminfer.shamnet.network.BasisShamNet`, whose SMHM rises with Mpeak
by construction, so the slope hinge and the guard have nothing to do. With
``distil``, phase 1 regresses the new network on a trained network's SMHM
(:func:`train_distil`; optionally on its slopes too, ``distil_slope_weight``,
and mostly on the nodes whose log10 M* lies in ``distil_x_range``) instead of
on three-roll fits; phase 2 then runs as usual.

Tail term (a deviation; opt-in, ``tail_weight > 0``): Phase 2 adds
``tail_weight * mean(|Delta|^p)^(2/p)`` (``p = tail_power``) to Eq. D4
(:func:`~shaminfer.shamnet.losses.tail_weighted_loss`), which weights the
largest residuals, since the accuracy goal bounds max |Delta| as well as the
rms. Validation then uses the square root of the same objective.

This is the shell around pure loss functions: it owns the random seeds,
prints progress and writes the weights and the model card.
"""
from __future__ import annotations

import json
import platform
import sys
import time
from pathlib import Path
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax

from ..ingredients.smhm import DEFAULT_SMHM_PARAMS, smhm_params_from_unbounded, smhm_params_to_unbounded, three_roll_smhm
from ..ingredients.theta import ShamParams
from .accuracy import min_smhm_slope, smf_accuracy
from .domain import SDSS_FIDUCIAL, ShamNetDomain, make_domain, sample_domain, sdss_posterior
from .io import save_shamnet
from .deconvolution import solve_smhm_batch
from .losses import LOSS_LOGSM, TRAIN_LOGMH_GRID, net_smf_residuals, net_smhm_regression_loss, smhm_fit_loss, smhm_slope_penalty, tail_weighted_loss
from .network import (BasisShamNet, ShamNet, architecture, basis_knots, hidden_widths, init_basis_shamnet, init_shamnet,
                      net_logsm, parameter_count, widen_shamnet)

__all__ = ["TrainConfig", "DEFAULT_TRAIN_CONFIG", "TrainResult", "cast_floating", "fit_smhm_batch", "monotonicity_guard_theta", "train_phase1", "solve_targets", "train_supervised", "train_phase2", "train_shamnet"]


class TrainConfig(NamedTuple):
    """Every knob of the training stages (defaults: App. D only, the from-scratch recipe of step 1 in models/README.md).

    The shipped network continued from there with the flags its model card records.

    The supervised stage (``sup_steps > 0``), the slope hinge (``mono_weight > 0``)
    and monotonic-only best weights (``require_monotonic``) are opt-in. The
    shipped network's continuations use the hinge and the guard; the supervised
    stage did not help (issue 3, benchmarks/RESULTS.md).
    Issue-3 from-scratch run: sup_steps=10000, max_steps=10000, lr=5e-4,
    mono_weight=100, require_monotonic=True.
    """

    hidden: tuple = (64, 32, 8, 4)
    kernel: str = "triweight"
    posterior_warmup: int = 1000
    posterior_samples: int = 4000
    n_fit_theta: int = 200
    fit_center_steps: int = 3000
    fit_steps: int = 300
    fit_loss_max: float = 0.05
    init_steps: int = 3000
    init_batch: int = 50
    init_lr: float = 3e-3
    n_sup_theta: int = 2000
    sup_iter: int = 40
    sup_steps: int = 0
    sup_batch: int = 64
    sup_lr: float = 2e-3
    sup_x_range: tuple = (7.0, 11.0)
    mono_weight: float = 0.0
    mono_min_slope: float = 0.002
    require_monotonic: bool = False
    max_steps: int = 15000
    batch: int = 50
    lr: float = 1e-3
    lr_final_fraction: float = 0.01
    val_every: int = 250
    n_val: int = 64
    patience: int = 8
    n_accuracy: int = 1000
    dtype: str = "float32"
    tail_weight: float = 0.0
    tail_power: float = 8.0
    warmup_steps: int = 0
    face_fraction: float = 0.0
    face_power: float = 3.0
    mono_guard_faces: int = 0
    mono_batch: int = 0
    mono_points: int = 0
    mono_mine: int = 0
    hard_fraction: float = 0.0
    hard_candidates: int = 4000
    hard_pool: int = 256
    hard_every: int = 250
    keep_last: bool = False
    max_seconds: float = 0.0
    stop_after_steps: int = 0
    arch: str = "mlp"
    knots: int = 96
    distil_steps: int = 3000
    distil_lr: float = 1e-3
    distil_batch: int = 100
    distil_slope_weight: float = 0.0
    distil_x_range: tuple = (-5.0, 25.0)


DEFAULT_TRAIN_CONFIG = TrainConfig()


class TrainResult(NamedTuple):
    net: ShamNet
    card: dict


def cast_floating(tree, dtype):
    """Cast every floating leaf of ``tree`` to ``dtype`` (training runs in float32 for speed)."""
    return jax.tree_util.tree_map(lambda x: jnp.asarray(x, dtype) if jnp.issubdtype(jnp.asarray(x).dtype, jnp.floating) else x, tree)


def init_network(key, domain: ShamNetDomain, cfg: TrainConfig):
    """Untrained network of ``cfg.arch``: the App. D.1 MLP (``"mlp"``) or the monotone basis (``"basis"``, ``cfg.knots`` knots)."""
    if cfg.arch == "mlp":
        return init_shamnet(key, domain, hidden=cfg.hidden)
    if cfg.arch == "basis":
        return init_basis_shamnet(key, domain, hidden=cfg.hidden, knots=cfg.knots)
    raise ValueError(f"arch: expected 'mlp' or 'basis', found {cfg.arch!r}")


def mixed_batches(domain: ShamNetDomain, n_batches: int, n_flat: int, n_face: int, *, seed_flat: int, seed_face: int,
                  face_power: float) -> ShamParams:
    """Theta for ``n_batches`` consecutive batches, each ``n_flat`` uniform then ``n_face`` face-crowded draws.

    One Latin hypercube of each kind covers all the batches (so they stay space-filling); the draws are interleaved
    so that batch j is the slice ``[j * (n_flat + n_face), (j + 1) * (n_flat + n_face))``.
    """
    pool = sample_domain(domain, seed_flat, n_batches * n_flat)
    if n_face == 0:
        return pool
    faces = sample_domain(domain, seed_face, n_batches * n_face, face_power=face_power)
    return ShamParams(*(jnp.concatenate([a.reshape(n_batches, n_flat), f.reshape(n_batches, n_face)], axis=1).reshape(-1)
                        for a, f in zip(pool, faces)))


def _window_weights(target_logsm, x_range):
    """1 on nodes whose target log10 M* lies inside ``x_range``, 0.01 elsewhere (distillation)."""
    return jnp.where((target_logsm > x_range[0]) & (target_logsm < x_range[1]), 1.0, 0.01)


def _log(msg: str, quiet: bool) -> None:
    if not quiet:
        print(msg, flush=True)


def _stack(theta: ShamParams):
    return jnp.stack([jnp.asarray(v) for v in theta], axis=-1)


def fit_smhm_batch(theta: ShamParams, u_init, *, steps: int, schedule=((0.05, 50), (0.05, 50), (0.01, None)), kernel="triweight"):
    """Adam fits of the three-roll SMHM (unbounded u, App. C.2) for a batch of theta.

    ``schedule`` lists (step size, updates) cycles; None takes the remaining
    ``steps``. Returns (u (B, 8), loss (B,)).
    """
    loss_b = jax.vmap(lambda u, th: smhm_fit_loss(u, th, kernel=kernel))

    def total(u, th):
        return jnp.sum(loss_b(u, th))

    u = jnp.broadcast_to(u_init, (np.size(theta.logphi_star), 8))
    used = 0
    for lr, n in schedule:
        n = steps - used if n is None else n
        if n <= 0:
            continue
        opt = optax.adam(lr)
        state = opt.init(u)

        @jax.jit
        def step(u, state):
            g = jax.grad(total)(u, theta)
            upd, state = opt.update(g, state, u)
            return optax.apply_updates(u, upd), state

        for _ in range(n):
            u, state = step(u, state)
        used += n
    return u, loss_b(u, theta)


def train_phase1(key, domain: ShamNetDomain, cfg: TrainConfig, *, seed: int, quiet=False):
    """Phase 1 of App. D.2. Returns (net, info dict)."""
    t0 = time.time()
    center = ShamParams(*(jnp.atleast_1d(v) for v in (domain.center[0], domain.center[1], 0.3, 0.3)))
    u0 = smhm_params_to_unbounded(DEFAULT_SMHM_PARAMS)
    u_c, loss_c = fit_smhm_batch(center, u0, steps=cfg.fit_center_steps, kernel=cfg.kernel)
    _log(f"phase 1: three-roll fit at the domain center, loss (Eq. C3) = {float(loss_c[0]):.2e}", quiet)
    theta = sample_domain(domain, seed + 1, cfg.n_fit_theta)
    u, loss = fit_smhm_batch(theta, u_c[0], steps=cfg.fit_steps, schedule=((0.01, None),), kernel=cfg.kernel)
    loss = np.asarray(loss)
    keep = np.isfinite(loss) & (loss <= cfg.fit_loss_max)
    _log(
        f"phase 1: {int(keep.sum())}/{len(loss)} fits kept (loss <= {cfg.fit_loss_max}); "
        f"median loss {np.median(loss):.2e}, max {np.max(loss):.2e}",
        quiet,
    )
    if keep.sum() < min(10, cfg.n_fit_theta):
        raise RuntimeError(f"phase 1: only {int(keep.sum())} three-roll fits passed the loss cut; cannot initialize")
    theta_k = ShamParams(*(jnp.asarray(np.asarray(v)[keep]) for v in theta))
    params = smhm_params_from_unbounded(u[keep])
    targets = jax.vmap(lambda p: three_roll_smhm(p, TRAIN_LOGMH_GRID))(params)

    dt = jnp.dtype(cfg.dtype)
    net = cast_floating(init_network(key, domain, cfg), dt)
    Net = type(net)
    dom_c, theta_c, targets_c, grid_c = cast_floating((domain, theta_k, targets, TRAIN_LOGMH_GRID), dt)
    opt = optax.adam(optax.cosine_decay_schedule(cfg.init_lr, cfg.init_steps, alpha=0.05))
    state = opt.init(net.layers)

    @jax.jit
    def step(layers, state, idx):
        th = ShamParams(*(v[idx] for v in theta_c))
        loss, g = jax.value_and_grad(
            lambda ly: net_smhm_regression_loss(Net(ly, dom_c), th, targets_c[idx], logmh_grid=grid_c)
        )(layers)
        upd, state = opt.update(g, state, layers)
        return optax.apply_updates(layers, upd), state, loss

    rng = np.random.default_rng(seed + 2)
    layers = net.layers
    nk = int(keep.sum())
    for i in range(cfg.init_steps):
        idx = jnp.asarray(rng.choice(nk, size=min(cfg.init_batch, nk), replace=False))
        layers, state, loss_i = step(layers, state, idx)
        if (i + 1) % 500 == 0 or i == 0:
            _log(f"phase 1: network step {i + 1}/{cfg.init_steps}, Eq. D3 loss {float(loss_i):.3e}", quiet)
    info = dict(
        n_fits=int(len(loss)),
        n_kept=nk,
        fit_loss_median=float(np.median(loss)),
        center_fit_loss=float(loss_c[0]),
        final_d3_loss=float(loss_i),
        seconds=time.time() - t0,
    )
    return Net(cast_floating(layers, jnp.float64), domain), info


def train_distil(key, teacher, cfg: TrainConfig, *, seed: int, quiet=False):
    """Phase 1 by distillation (a deviation from App. D.2): regress a new ``cfg.arch`` network on ``teacher``'s SMHM.

    Eq. D3 with the teacher's log10 M* on ``TRAIN_LOGMH_GRID`` as the target in
    place of three-roll fits: ``cfg.distil_steps`` Adam steps (cosine schedule
    from ``cfg.distil_lr``) on fresh batches of ``cfg.distil_batch`` theta, a
    ``cfg.face_fraction`` of them crowded towards the sigma faces as in phase 2.
    The weights with the lowest rms on 256 held-out theta (checked every
    ``cfg.val_every`` steps, float64) are kept. This carries a trained
    network's accuracy into a new architecture before phase 2 refines it on
    Eq. D4. Returns (net, info).
    """
    t0 = time.time()
    domain = teacher.domain
    dt = jnp.dtype(cfg.dtype)
    net = cast_floating(init_network(key, domain, cfg), dt)
    Net = type(net)
    dom_c, grid_c = cast_floating((domain, TRAIN_LOGMH_GRID), dt)
    teach = jax.jit(lambda th: jax.vmap(lambda t: net_logsm(teacher, t, TRAIN_LOGMH_GRID))(th))

    def loss_fn(ly, th, tgt):
        pred = jax.vmap(lambda t: net_logsm(Net(ly, dom_c), t, grid_c))(th)
        # nodes where the teacher's log10 M* lies outside distil_x_range (far from the SMF's 9 < log10 M* < 12 even
        # after scatter) count 1% as much
        wt = _window_weights(tgt, cfg.distil_x_range)
        loss = jnp.sum(wt * (pred - tgt) ** 2) / jnp.sum(wt)
        if cfg.distil_slope_weight > 0:  # slopes too (Sobolev): each basis weight then sees its own, local residual
            ws = wt[..., 1:] * wt[..., :-1]
            ds = (jnp.diff(pred, axis=-1) - jnp.diff(tgt, axis=-1)) / jnp.diff(grid_c)
            loss = loss + cfg.distil_slope_weight * jnp.sum(ws * ds**2) / jnp.sum(ws)
        return loss

    opt = optax.adam(optax.cosine_decay_schedule(cfg.distil_lr, cfg.distil_steps, alpha=cfg.lr_final_fraction))
    layers = net.layers
    state = opt.init(layers)

    @jax.jit
    def step(layers, state, th, tgt):
        loss, g = jax.value_and_grad(loss_fn)(layers, cast_floating(th, dt), cast_floating(tgt, dt))
        upd, state = opt.update(g, state, layers)
        return optax.apply_updates(layers, upd), state, loss

    theta_val = sample_domain(domain, seed + 11, 256)
    tgt_val = teach(theta_val)
    wt_val = _window_weights(tgt_val, cfg.distil_x_range)

    def val_fn(ly):  # weighted rms difference in log10 M* on the held-out theta (values only), float64
        pred = jax.vmap(lambda t: net_logsm(Net(cast_floating(ly, jnp.float64), domain), t, TRAIN_LOGMH_GRID))(theta_val)
        return jnp.sqrt(jnp.sum(wt_val * (pred - tgt_val) ** 2) / jnp.sum(wt_val))

    val_fn = jax.jit(val_fn)
    best = (float(val_fn(layers)), layers, 0)
    _log(f"distillation: start, held-out rms {best[0]:.3e} dex in log10 M*", quiet)
    n_face = int(round(cfg.face_fraction * cfg.distil_batch))
    n_flat = cfg.distil_batch - n_face
    block = 100
    loss = jnp.nan
    for b0 in range(0, cfg.distil_steps, block):
        nb = min(block, cfg.distil_steps - b0)
        pool = mixed_batches(domain, nb, n_flat, n_face, seed_flat=seed + 12_000 + b0, seed_face=seed + 600_000_000 + b0,
                             face_power=cfg.face_power)
        # the teacher's SMHMs for this block, in chunks that bound the memory of its hidden activations
        tgt = jnp.concatenate([teach(ShamParams(*(v[i : i + 1000] for v in pool))) for i in range(0, nb * cfg.distil_batch, 1000)])
        for j in range(nb):
            sl = slice(j * cfg.distil_batch, (j + 1) * cfg.distil_batch)
            layers, state, loss = step(layers, state, ShamParams(*(v[sl] for v in pool)), tgt[sl])
            i = b0 + j + 1
            if i % cfg.val_every == 0 or i == cfg.distil_steps:
                v = float(val_fn(layers))
                if v < best[0]:
                    best = (v, layers, i)
                _log(f"distillation: step {i}/{cfg.distil_steps}, batch loss {float(loss):.3e}, held-out rms {v:.3e} dex "
                     f"(best {best[0]:.3e} at {best[2]}), {time.time() - t0:.0f} s", quiet)
    info = dict(steps=cfg.distil_steps, best_step=best[2], best_val_rms_logsm_dex=best[0], final_batch_loss=float(loss),
                seconds=time.time() - t0)
    return Net(cast_floating(best[1], jnp.float64), domain), info


def solve_targets(theta: ShamParams, cfg: TrainConfig, *, chunk: int = 100):
    """Exact SMHMs (deconvolution.py) on ``TRAIN_LOGMH_GRID`` for a batch of theta.

    Returns (logsm (B, G), mask (B, G) of the nodes used in the regression, seconds).
    """
    t0 = time.time()
    f = jax.jit(lambda th: solve_smhm_batch(th, TRAIN_LOGMH_GRID, n_iter=cfg.sup_iter, kernel=cfg.kernel))
    n = int(np.size(theta.logphi_star))
    mus, x0s = [], []
    for i in range(0, n, chunk):
        sol = f(ShamParams(*(jnp.asarray(v, jnp.float64)[i : i + chunk] for v in theta)))
        mus.append(np.asarray(sol.logsm))
        x0s.append(np.asarray(sol.scatter_free))
    mu, x0 = np.concatenate(mus), np.concatenate(x0s)
    lo, hi = cfg.sup_x_range
    mask = (x0 > lo) & (x0 < hi) & np.isfinite(mu)
    return mu, mask, time.time() - t0


def train_supervised(net: ShamNet, cfg: TrainConfig, *, seed: int, quiet=False):
    """Supervised stage (not in App. D): regress the network on exact SMHMs.

    Solves Eq. 2 for ``n_sup_theta`` Latin-hypercube theta once
    (:mod:`shaminfer.shamnet.deconvolution`), then runs Adam (cosine schedule
    ``sup_lr`` -> ``sup_lr / 100``) on mini-batches of ``sup_batch`` theta:
    masked mean squared error over the nodes whose scatter-free match lies in
    ``sup_x_range`` plus ``mono_weight`` times the slope hinge
    (:func:`~shaminfer.shamnet.losses.smhm_slope_penalty`) over all nodes.
    The best weights on 64 held-out solutions are kept. Returns (net, info).
    """
    t0 = time.time()
    domain = net.domain
    Net = type(net)
    theta = sample_domain(domain, seed + 4, cfg.n_sup_theta)
    theta_val = sample_domain(domain, seed + 5, 64)
    mu, mask, t_solve = solve_targets(theta, cfg)
    mu_v, mask_v, _ = solve_targets(theta_val, cfg)
    _log(f"supervised: solved Eq. 2 for {len(mu)} + {len(mu_v)} theta in {t_solve:.0f} s; {mask.mean():.2f} of the nodes used", quiet)
    dt = jnp.dtype(cfg.dtype)
    dom_c, grid_c = cast_floating((domain, TRAIN_LOGMH_GRID), dt)
    th_c, mu_c, mask_c = cast_floating((theta, jnp.asarray(np.where(mask, mu, 0.0)), jnp.asarray(mask, jnp.float32)), dt)

    def losses(ly, th, tgt, msk, dom, grid):
        pred = jax.vmap(lambda t: net_logsm(Net(ly, dom), t, grid))(th)
        mse = jnp.sum(msk * (pred - tgt) ** 2) / jnp.maximum(jnp.sum(msk), 1.0)
        pen = smhm_slope_penalty(pred, grid, min_slope=cfg.mono_min_slope)
        return mse + cfg.mono_weight * pen, (mse, pen)

    sched = optax.cosine_decay_schedule(cfg.sup_lr, cfg.sup_steps, alpha=0.01)
    opt = optax.adam(sched)
    layers = cast_floating(net.layers, dt)
    state = opt.init(layers)

    @jax.jit
    def step(layers, state, idx):
        th = ShamParams(*(v[idx] for v in th_c))
        (loss, aux), g = jax.value_and_grad(losses, has_aux=True)(layers, th, mu_c[idx], mask_c[idx], dom_c, grid_c)
        upd, state = opt.update(g, state, layers)
        return optax.apply_updates(layers, upd), state, loss

    mu_v64, mask_v64 = jnp.asarray(np.where(mask_v, mu_v, 0.0)), jnp.asarray(mask_v, jnp.float64)
    val_fn = jax.jit(lambda ly: losses(cast_floating(ly, jnp.float64), theta_val, mu_v64, mask_v64, domain, TRAIN_LOGMH_GRID)[0])
    v0 = float(val_fn(layers))
    best = (v0, layers, 0)
    _log(f"supervised: start, held-out loss {v0:.3e}", quiet)
    rng = np.random.default_rng(seed + 6)
    n = len(mu)
    check = max(cfg.sup_steps // 20, 1)
    first_loss = None
    for i in range(cfg.sup_steps):
        idx = jnp.asarray(rng.choice(n, size=min(cfg.sup_batch, n), replace=False))
        layers, state, loss = step(layers, state, idx)
        if first_loss is None:
            first_loss = float(loss)
        if (i + 1) % check == 0 or i + 1 == cfg.sup_steps:
            v = float(val_fn(layers))
            if v < best[0]:
                best = (v, layers, i + 1)
            _log(f"supervised: step {i + 1}/{cfg.sup_steps}, batch loss {float(loss):.3e}, held-out loss {v:.3e} "
                 f"(rms {np.sqrt(v):.2e} dex), {time.time() - t0:.0f} s", quiet)
    info = dict(
        n_theta=n, solve_seconds=t_solve, node_fraction=float(mask.mean()), steps=cfg.sup_steps,
        first_batch_loss=first_loss, final_batch_loss=float(loss), val_loss_start=v0, best_val_loss=best[0],
        best_step=best[2], seconds=time.time() - t0,
    )
    return Net(cast_floating(best[1], jnp.float64), domain), info


def monotonicity_guard_theta(domain, cfg: TrainConfig, *, seed: int) -> ShamParams:
    """Theta of phase 2's ``require_monotonic`` check: 256 uniform draws, then ``cfg.mono_guard_faces`` face-crowded ones."""
    theta = sample_domain(domain, seed + 7, 256)
    if cfg.mono_guard_faces > 0:
        extra = sample_domain(domain, seed + 8, cfg.mono_guard_faces, face_power=cfg.face_power)
        theta = ShamParams(*(jnp.concatenate([a, b]) for a, b in zip(theta, extra)))
    return theta


def _mined_pool(miner, layers, step_i, records, quiet, describe):
    """Run ``miner(layers, step_i)`` -> (pool, record); keep the record and log ``describe(record)``; return the pool."""
    pool, rec = miner(layers, step_i)
    records.append(rec)
    _log(f"phase 2: step {step_i}, {describe(rec)}", quiet)
    return pool


def _with_draws(theta: ShamParams, pool: ShamParams, rng, n: int) -> ShamParams:
    """``theta`` followed by ``n`` draws (with replacement, from ``rng``) of the mined ``pool``."""
    pick = rng.integers(0, np.size(pool.alpha), n)
    return ShamParams(*(jnp.concatenate([a, b[pick]]) for a, b in zip(theta, pool)))


def train_phase2(net: ShamNet, cfg: TrainConfig, *, seed: int, quiet=False):
    """Phase 2 (App. D.3): Eq. D4 with early stopping on held-out theta. Returns (net, info)."""
    t0 = time.time()
    dt = jnp.dtype(cfg.dtype)
    domain = net.domain
    Net = type(net)
    dom_c, grid_c, logsm_c = cast_floating((domain, TRAIN_LOGMH_GRID, LOSS_LOGSM), dt)
    if cfg.warmup_steps >= cfg.max_steps:
        raise ValueError(f"warmup_steps: expected fewer than max_steps = {cfg.max_steps}, found {cfg.warmup_steps}")
    if cfg.mono_batch > 0 and cfg.mono_weight <= 0:
        raise ValueError(f"mono_batch: theta that enter only the slope hinge need mono_weight > 0, found mono_weight = {cfg.mono_weight}")
    if cfg.mono_points == 1 or cfg.mono_points < 0:
        raise ValueError(f"mono_points: expected 0 (the default grids) or at least 2 points, found {cfg.mono_points}")
    if cfg.mono_mine < 0 or (cfg.mono_mine > 0 and not 2 <= cfg.mono_batch <= cfg.mono_mine):
        raise ValueError(f"mono_mine: expected 0 (off) or at least mono_batch >= 2 candidates, found mono_mine = {cfg.mono_mine}, "
                         f"mono_batch = {cfg.mono_batch}")
    if cfg.mono_mine > 0 and cfg.hard_every < 1:
        raise ValueError(f"hard_every: expected at least 1 step between minings, found {cfg.hard_every}")
    n_face = int(round(cfg.face_fraction * cfg.batch))
    n_hard = int(round(cfg.hard_fraction * cfg.batch))
    if n_face + n_hard > cfg.batch:
        raise ValueError(f"hard_fraction: expected face_fraction + hard_fraction <= 1 ({n_face} + {n_hard} theta of a batch of {cfg.batch}), "
                         f"found {cfg.face_fraction} + {cfg.hard_fraction}")
    if n_hard > 0 and not (1 <= cfg.hard_pool <= cfg.hard_candidates and cfg.hard_every >= 1):
        raise ValueError(f"hard_pool: expected 1 <= hard_pool <= hard_candidates and hard_every >= 1, found hard_pool = {cfg.hard_pool}, "
                         f"hard_candidates = {cfg.hard_candidates}, hard_every = {cfg.hard_every}")
    if cfg.warmup_steps > 0:
        sched = optax.warmup_cosine_decay_schedule(0.0, cfg.lr, cfg.warmup_steps, cfg.max_steps, end_value=cfg.lr * cfg.lr_final_fraction)
    else:
        sched = optax.cosine_decay_schedule(cfg.lr, cfg.max_steps, alpha=cfg.lr_final_fraction)
    opt = optax.adam(sched)
    layers = cast_floating(net.layers, dt)
    state = opt.init(layers)
    theta_val = sample_domain(domain, seed + 3, cfg.n_val)
    tail = dict(tail_weight=cfg.tail_weight, tail_power=cfg.tail_power)
    # validation in float64 on the training grid: sqrt of the training objective without the slope hinge
    # (the rms of Delta, i.e. Eq. D4, unless a tail weight is set)
    def res64(ly, th):  # residuals of weights ``ly`` in float64 on the training grid (validation and mining)
        return net_smf_residuals(Net(cast_floating(ly, jnp.float64), domain), th, kernel=cfg.kernel)

    val_fn = jax.jit(lambda ly: jnp.sqrt(tail_weighted_loss(res64(ly, theta_val), **tail)))

    # log10 Mpeak of the monotonicity check and, with mono_points > 0, of the hinge-only theta
    m_mono = jnp.linspace(10.0, 15.5, cfg.mono_points if cfg.mono_points > 0 else 221)
    m_hinge = cast_floating(m_mono, dt) if cfg.mono_points > 0 else grid_c

    def loss_fn(ly, th, th_hinge):
        net_c = Net(ly, dom_c)
        res = net_smf_residuals(net_c, th, logmh_grid=grid_c, logsm=logsm_c, kernel=cfg.kernel)
        loss = tail_weighted_loss(res, **tail)
        if cfg.mono_weight > 0:
            hinge = lambda t, grid: smhm_slope_penalty(jax.vmap(lambda u: net_logsm(net_c, u, grid))(t), grid,
                                                      min_slope=cfg.mono_min_slope)
            pen = hinge(th, grid_c)
            if th_hinge is not None:  # the batch plus the hinge-only theta of mono_batch, weighted by theta count
                n_b, n_h = th.alpha.shape[0], th_hinge.alpha.shape[0]
                pen = (n_b * pen + n_h * hinge(th_hinge, m_hinge)) / (n_b + n_h)
            loss = loss + cfg.mono_weight * pen
        return loss

    @jax.jit
    def step(layers, state, th, th_hinge):
        loss, g = jax.value_and_grad(loss_fn)(layers, cast_floating(th, dt), cast_floating(th_hinge, dt))
        upd, state = opt.update(g, state, layers)
        return optax.apply_updates(layers, upd), state, loss

    # monotonicity check on 256 held-out theta (plus mono_guard_faces face-crowded ones, where the SMHM of Eq. 2 is
    # flattest: benchmarks/RESULTS.md): finite-difference slopes on 10 <= log10 Mpeak <= 15.5
    theta_mono = monotonicity_guard_theta(domain, cfg, seed=seed)
    # smallest finite-difference slope of each theta on m_mono (float64): the check and slope mining
    slopes_fn = jax.jit(
        lambda ly, th: jnp.min(jnp.diff(jax.vmap(lambda t: net_logsm(Net(cast_floating(ly, jnp.float64), domain), t, m_mono))(th), axis=-1),
                               axis=-1) / (m_mono[1] - m_mono[0])
    )
    def all_slopes(ly, th, chunk=1000):  # in chunks of theta, which bound the memory of a large guard or mining draw
        return jnp.concatenate([slopes_fn(ly, ShamParams(*(v[i : i + chunk] for v in th))) for i in range(0, np.size(th.alpha), chunk)])

    def eligible(ly):
        return (not cfg.require_monotonic) or float(jnp.min(all_slopes(ly, theta_mono))) > 0.0

    worst_fn = jax.jit(lambda ly, th: jnp.max(jnp.abs(res64(ly, th)), axis=-1))

    def mine(ly, at_step):
        """The hard_pool theta, of hard_candidates fresh ones, with the largest max |Delta| under weights ``ly``."""
        n_u = cfg.hard_candidates // 2
        cand = [sample_domain(domain, seed + 900_000_000 + at_step, n_u),
                sample_domain(domain, seed + 950_000_000 + at_step, cfg.hard_candidates - n_u, face_power=cfg.face_power)]
        cand = ShamParams(*(jnp.concatenate([a, b]) for a, b in zip(*cand)))
        chunk = 500
        worst = jnp.concatenate([worst_fn(ly, ShamParams(*(v[i : i + chunk] for v in cand))) for i in range(0, cfg.hard_candidates, chunk)])
        top = jnp.argsort(-worst)[: cfg.hard_pool]
        return ShamParams(*(v[top] for v in cand)), (at_step, float(worst[top[0]]), float(worst[top[-1]]))

    def mine_slopes(ly, at_step):
        """The mono_batch theta, of mono_mine fresh face-crowded ones, with the smallest SMHM slope under weights ``ly``."""
        cand = sample_domain(domain, seed + 1_100_000_000 + at_step, cfg.mono_mine, face_power=cfg.face_power)
        low = all_slopes(ly, cand)
        top = jnp.argsort(low)[: cfg.mono_batch]
        return ShamParams(*(v[top] for v in cand)), (at_step, float(low[top[0]]), float(low[top[-1]]))

    v0 = float(val_fn(layers))
    ok0 = eligible(layers)
    best = (v0 if ok0 else float("inf"), layers, 0)
    vname = "validation rms" if cfg.tail_weight == 0 else "validation sqrt(Eq. D4 + tail term)"
    _log(f"phase 2: start, {vname} {v0:.4e} dex{'' if ok0 else ' (not monotonic: not eligible as best)'}", quiet)
    history = [(0, float("nan"), v0)]
    stale = 0
    stopped = None
    budget_warning = None  # set at the first check when max_seconds > 0: "" or the warning
    # one Latin hypercube per block of steps, so batches stay space-filling
    block = 100
    step_i = 0
    n_pool = cfg.batch - n_hard  # batch members drawn from the Latin hypercubes; the rest from the mined pool
    n_flat = n_pool - n_face
    hard_rng = np.random.default_rng(seed + 900_000_000)
    hard, mined = None, []
    n_mono_mined = cfg.mono_batch // 2 if cfg.mono_mine > 0 else 0
    slope_pool, slope_mined = None, []
    slope_rng = np.random.default_rng(seed + 1_100_000_000)
    last_ok = None
    for b0 in range(0, cfg.max_steps, block):
        pool = mixed_batches(domain, block, n_flat, n_face, seed_flat=seed + 1000 + b0, seed_face=seed + 500_000_000 + b0,
                             face_power=cfg.face_power)
        hinge_pool = None
        if cfg.mono_batch > 0:
            hinge_pool = sample_domain(domain, seed + 700_000_000 + b0, block * cfg.mono_batch, face_power=cfg.face_power)
        for j in range(min(block, cfg.max_steps - b0)):
            th = ShamParams(*(v[j * n_pool : (j + 1) * n_pool] for v in pool))
            refresh = step_i % cfg.hard_every == 0
            if n_hard > 0:
                if refresh:
                    hard = _mined_pool(mine, layers, step_i, mined, quiet, lambda r: (
                        f"mined the {cfg.hard_pool} worst of {cfg.hard_candidates} fresh theta: max |Delta| {r[1]:.4f} dex, "
                        f"pool floor {r[2]:.4f} dex"))
                th = _with_draws(th, hard, hard_rng, n_hard)
            th_hinge = None if hinge_pool is None else ShamParams(*(v[j * cfg.mono_batch : (j + 1) * cfg.mono_batch - n_mono_mined]
                                                                   for v in hinge_pool))
            if n_mono_mined > 0:
                if refresh:
                    slope_pool = _mined_pool(mine_slopes, layers, step_i, slope_mined, quiet, lambda r: (
                        f"mined the {cfg.mono_batch} lowest SMHM slopes of {cfg.mono_mine} fresh theta: min {r[1]:+.4f}, "
                        f"pool ceiling {r[2]:+.4f}"))
                th_hinge = _with_draws(th_hinge, slope_pool, slope_rng, n_mono_mined)
            layers, state, loss = step(layers, state, th, th_hinge)
            step_i += 1
            if step_i % cfg.val_every == 0:
                v = float(val_fn(layers))
                history.append((step_i, float(loss), v))
                ok = eligible(layers) if (cfg.keep_last or v < best[0]) else False
                if cfg.keep_last and ok:
                    last_ok = (v, layers, step_i)
                if v < best[0] and ok:
                    best = (v, layers, step_i)
                    stale = 0
                else:
                    stale += 1
                _log(
                    f"phase 2: step {step_i}, batch loss {float(loss):.3e}, {vname} {v:.4e} dex "
                    f"(best {best[0]:.4e} at {best[2]}), {time.time() - t0:.0f} s",
                    quiet,
                )
                if budget_warning is None and cfg.max_seconds > 0 and cfg.stop_after_steps == 0:
                    # the schedule anneals only at max_steps: say so at once when the budget will stop the run first
                    fit = int(cfg.max_seconds * step_i / max(time.time() - t0, 1e-9))
                    budget_warning = ""
                    if fit < cfg.max_steps:
                        budget_warning = (f"at the pace of the first {step_i} steps (compilation included) the wall-time budget of {cfg.max_seconds:.0f} s "
                                          f"ends near step {fit} of the {cfg.max_steps}-step schedule, before the step size "
                                          f"anneals; lower max_steps to about {fit} for a run that anneals")
                        _log(f"phase 2: warning: {budget_warning}", quiet)
                if stale >= cfg.patience:
                    _log(f"phase 2: validation stopped improving for {cfg.patience} checks; stopping", quiet)
                    break
                if 0 < cfg.stop_after_steps <= step_i:
                    stopped = f"stop_after_steps = {cfg.stop_after_steps}"
                    _log(f"phase 2: stopping at step {step_i} ({stopped}; the schedule runs to {cfg.max_steps})", quiet)
                    break
                if cfg.max_seconds > 0 and time.time() - t0 > cfg.max_seconds:
                    stopped = f"wall-time budget of {cfg.max_seconds:.0f} s"
                    _log(f"phase 2: {stopped} spent at step {step_i}; stopping", quiet)
                    break
        else:
            continue
        break
    info = dict(steps=step_i, best_step=best[2], best_val_rms_dex=best[0], seconds=time.time() - t0, history=history,
                budget_warning=budget_warning or None,
                stopped_by=stopped)
    if cfg.keep_last:
        kept = last_ok if last_ok is not None else best
        info["kept"] = dict(step=kept[2], val=kept[0], why="last eligible check (keep_last)" if last_ok is not None else
                            "no eligible check: best validation")
        best = kept
    if n_mono_mined > 0:
        info["slope_mining"] = [dict(step=a, min_slope=b, pool_ceiling=c) for a, b, c in slope_mined]
    if n_hard > 0:
        info["hard_mining"] = [dict(step=a, worst_max_abs_dex=b, pool_floor_dex=c) for a, b, c in mined]
    return Net(cast_floating(best[1], jnp.float64), domain), info


def _lineage(path) -> tuple:
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


def _parent(path) -> tuple:
    """(network, card, lineage dict, posterior mean, posterior cov) of a weights file that a run starts from."""
    from .io import load_shamnet

    card, info = _lineage(path)
    return load_shamnet(path), card, info, np.asarray(card["domain"]["posterior_mean"]), np.asarray(card["domain"]["posterior_cov"])


def architecture_card(net) -> dict:
    """The model card's description of ``net``'s architecture."""
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


def train_shamnet(seed: int, out_dir, *, cfg: TrainConfig = DEFAULT_TRAIN_CONFIG, quiet=False, command: str | None = None,
                  init=None, widen=None, distil=None) -> TrainResult:
    """Run phase 1, the supervised stage and phase 2 from scratch and write ``out_dir/shamnet.npz`` and ``shamnet.json`` (the model card).

    With ``init`` (a weights file), the network, its domain and the domain's
    posterior are taken from that file and its model card, phase 1 and the
    supervised stage are skipped, and phase 2 continues from those weights
    (a warm-start fine-tune; the card records the file's checksum and command).
    ``widen`` (hidden widths, warm starts only) first widens that network
    without changing its predictions (:func:`~shaminfer.shamnet.network.widen_shamnet`).
    With ``distil`` (a weights file), phase 1 is replaced by distillation of a
    new ``cfg.arch`` network from that network (:func:`train_distil`), on its
    domain and posterior; the card records the teacher's lineage.
    """
    t_start = time.time()
    out_dir = Path(out_dir)
    init_info = None
    distil_info = None
    if init is not None and distil is not None:
        raise ValueError("distil: a warm start (init) continues its own network; distil starts a new one: give one of them")
    if init is not None:
        # the card of a warm start carries its whole lineage: each ancestor's file, checksum, command, architecture
        # and accuracy (so a widened network's card also reports the accuracy of the narrower one it grew from)
        net1, init_card, init_info, mean, cov = _parent(init)
        domain = net1.domain
        info1 = dict(skipped=f"warm start from {init}")
        info_sup = dict(steps=0, seconds=0.0, skipped=f"warm start from {init}")
        _log(f"warm start from {init} ({init_card.get('command')})", quiet)
        if widen is not None:
            old_hidden = list(hidden_widths(net1))
            net1 = widen_shamnet(jax.random.PRNGKey(seed), net1, widen)
            init_info["widened_from_hidden"] = old_hidden
            info1 = dict(skipped=f"warm start from {init}, widened from {old_hidden} to {list(widen)} (function-preserving)")
            _log(f"widened {old_hidden} -> {list(widen)}; predictions unchanged", quiet)
        # the card's config records the architecture actually trained
        cfg = cfg._replace(hidden=hidden_widths(net1), arch=architecture(net1))
        if cfg.arch == "basis":
            cfg = cfg._replace(knots=basis_knots(net1))
    elif distil is not None:
        teacher, teacher_card, distil_info, mean, cov = _parent(distil)
        domain = teacher.domain
        _log(f"distilling a {cfg.arch} network {list(cfg.hidden)} from {distil} ({teacher_card.get('command')})", quiet)
        net1, info1 = train_distil(jax.random.PRNGKey(seed), teacher, cfg, seed=seed, quiet=quiet)
        info_sup = dict(steps=0, seconds=0.0, skipped=f"distilled from {distil}")
    else:
        if widen is not None:
            raise ValueError("widen: only a warm start (init=...) can be widened; set cfg.hidden for a network from scratch")
        samples, mean, cov = sdss_posterior(seed, num_warmup=cfg.posterior_warmup, num_samples=cfg.posterior_samples)
        domain = make_domain(mean, cov)
        _log(f"domain: SDSS-like posterior mean {np.round(mean, 5).tolist()}, sd {np.round(np.sqrt(np.diag(cov)), 5).tolist()}", quiet)
        key = jax.random.PRNGKey(seed)
        net1, info1 = train_phase1(key, domain, cfg, seed=seed, quiet=quiet)
        if cfg.sup_steps > 0:
            net1, info_sup = train_supervised(net1, cfg, seed=seed, quiet=quiet)
        else:
            info_sup = dict(steps=0, seconds=0.0)
    net2, info2 = train_phase2(net1, cfg, seed=seed, quiet=quiet)
    train_seconds = time.time() - t_start
    # held-out accuracy: seeds far from every training draw
    theta_test = sample_domain(domain, 10_000_019 + seed, cfg.n_accuracy)
    acc = smf_accuracy(net2, theta_test, kernel=cfg.kernel)
    theta_slope = sample_domain(domain, 20_000_003 + seed, 200)
    slopes, raw_slopes = (min_smhm_slope(net2, theta_slope, monotone=mono) for mono in (True, False))
    _log(f"held-out accuracy over {acc.n_theta} theta: rms {acc.rms_dex:.4e} dex, max |Delta| {acc.max_abs_dex:.4e} dex", quiet)
    card = dict(
        name="SHAMNet (shaminfer)",
        command=command or f"shaminfer train-shamnet --seed {seed} --out {out_dir}",
        seed=seed,
        date=time.strftime("%Y-%m-%d"),
        machine=f"{platform.machine()} {platform.system()}, {jax.device_count()} {jax.default_backend()} device(s), python {sys.version.split()[0]}, jax {jax.__version__}",
        architecture=architecture_card(net2),
        kernel=f"{cfg.kernel} scatter kernel P(M*|Mpeak) (App. E), width sigma(Mpeak) of Eq. 4",
        domain=dict(
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
        ),
        stages=([f"warm start from {init} (phase 1 and the supervised stage skipped)"
                 + (f"; widened to {list(widen)} without changing its predictions" if widen is not None else "")] if init is not None else [
            f"phase 1 by distillation (deviation from App. D.2): Eq. D3 regression of a new {cfg.arch} network on the SMHM "
            f"of {distil} for {cfg.distil_steps} steps",
        ] if distil is not None else [
            "phase 1 (App. D.2): three-roll fits (Eq. C3) and network regression to them (Eq. D3)",
            "supervised stage (deviation from App. D, for the accuracy goal): regression on exact SMHMs solved from Eq. 2 "
            "by fixed-point deconvolution (shaminfer/shamnet/deconvolution.py) for n_sup_theta theta, on the nodes whose "
            "scatter-free match lies in sup_x_range, plus mono_weight x slope hinge",
        ]) + [
            "phase 2 (App. D.3): Eq. D4 fine-tune, plus mono_weight x slope hinge (deviation: guards monotonicity)",
        ],
        training=dict(config=cfg._asdict(), init_weights=init_info, distilled_from=distil_info, phase1=info1, supervised=info_sup, phase2={k: v for k, v in info2.items() if k != "history"}, seconds=train_seconds),
        accuracy=dict(
            protocol="1000 held-out theta (LHS seed 10000019 + seed), Delta = R(phi_pred) - R(phi_target), Eq. C2 y_min = 1e-15, "
            "100 points 9 < log10 M* < 12, App. B quadrature on 1501 nodes, for the SMHM predict_logsm returns (the network "
            "through the rising table of shaminfer/shamnet/monotone.py); min slopes on 200 theta (seed 20000003 + seed), "
            "of that SMHM and of the bare network",
            rms_dex=acc.rms_dex,
            max_abs_dex=acc.max_abs_dex,
            n_theta=acc.n_theta,
            min_smhm_slope_10_to_15p5=float(np.min(slopes)),
            raw_min_smhm_slope_10_to_15p5=float(np.min(raw_slopes)),
        ),
    )
    save_shamnet(net2, out_dir / "shamnet.npz", kernel=cfg.kernel, card=card)
    hist = np.array(info2["history"], dtype=float)
    np.savetxt(out_dir / "phase2_history.csv", hist, delimiter=",", header="step,batch_loss,val_rms_dex", comments="")
    _log(f"wrote {out_dir / 'shamnet.npz'} and its model card {out_dir / 'shamnet.json'} ({train_seconds:.0f} s)", quiet)
    return TrainResult(net2, card)
