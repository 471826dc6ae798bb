"""Two-phase training of SHAMNet (App. D.2-D.3).

Phase 1 (initialization): for many theta from the training domain, fit the
eight three-roll SMHM parameters (App. C.1) with Adam on the loss of Eq. C3,
through the bounded sigmoid variables of App. C.2, vectorized over theta;
discard fits with loss > 0.05; then train the network to reproduce the
accepted relations (Eq. D3).

Phase 2: train the network directly on the SMF loss of Eq. D4 with fresh
Latin-hypercube batches of theta, an Adam step size decaying on a cosine
schedule, and validation on held-out theta every ``val_every`` steps; the best
validated weights are kept and training stops when the validation rms has not
improved for ``patience`` checks (or at ``max_steps``).

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
from .losses import LOSS_LOGSM, TRAIN_LOGMH_GRID, net_smf_residuals, net_smhm_regression_loss, smhm_fit_loss
from .network import ShamNet, init_shamnet, parameter_count

__all__ = ["TrainConfig", "DEFAULT_TRAIN_CONFIG", "TrainResult", "fit_smhm_batch", "train_phase1", "train_phase2", "train_shamnet"]


class TrainConfig(NamedTuple):
    """Every knob of the two training phases (defaults: the shipped network)."""

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
    max_steps: int = 15000
    batch: int = 50
    lr: float = 1e-3
    lr_final_fraction: float = 0.01
    val_every: int = 250
    n_val: int = 64
    patience: int = 8
    n_accuracy: int = 1000
    dtype: str = "float32"


DEFAULT_TRAIN_CONFIG = TrainConfig()


class TrainResult(NamedTuple):
    net: ShamNet
    card: dict


def _cast(tree, dtype):
    """Cast every floating leaf of ``tree`` to ``dtype`` (training runs in float32 for speed)."""
    return jax.tree_util.tree_map(lambda x: jnp.asarray(x, dtype) if jnp.issubdtype(jnp.asarray(x).dtype, jnp.floating) else x, tree)


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
    if keep.sum() < 10:
        raise RuntimeError(f"phase 1: only {int(keep.sum())} three-roll fits passed the loss cut; cannot initialize")
    theta_k = ShamParams(*(jnp.asarray(np.asarray(v)[keep]) for v in theta))
    params = smhm_params_from_unbounded(u[keep])
    targets = jax.vmap(lambda p: three_roll_smhm(p, TRAIN_LOGMH_GRID))(params)

    dt = jnp.dtype(cfg.dtype)
    net = _cast(init_shamnet(key, domain, hidden=cfg.hidden), dt)
    dom_c, theta_c, targets_c, grid_c = _cast((domain, theta_k, targets, TRAIN_LOGMH_GRID), dt)
    opt = optax.adam(optax.cosine_decay_schedule(cfg.init_lr, cfg.init_steps, alpha=0.05))
    state = opt.init(net.layers)

    @jax.jit
    def step(layers, state, idx):
        th = ShamParams(*(v[idx] for v in theta_c))
        loss, g = jax.value_and_grad(
            lambda ly: net_smhm_regression_loss(ShamNet(ly, dom_c), th, targets_c[idx], logmh_grid=grid_c)
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
    return ShamNet(_cast(layers, jnp.float64), domain), info


def _val_rms(net: ShamNet, theta_val: ShamParams, kernel: str) -> float:
    return float(jnp.sqrt(jnp.mean(net_smf_residuals(net, theta_val, kernel=kernel) ** 2)))


def train_phase2(net: ShamNet, cfg: TrainConfig, *, seed: int, quiet=False):
    """Phase 2 (App. D.3): Eq. D4 with early stopping on held-out theta. Returns (net, info)."""
    t0 = time.time()
    dt = jnp.dtype(cfg.dtype)
    domain = net.domain
    dom_c, grid_c, logsm_c = _cast((domain, TRAIN_LOGMH_GRID, LOSS_LOGSM), dt)
    sched = optax.cosine_decay_schedule(cfg.lr, cfg.max_steps, alpha=cfg.lr_final_fraction)
    opt = optax.adam(sched)
    layers = _cast(net.layers, dt)
    state = opt.init(layers)
    theta_val = sample_domain(domain, seed + 3, cfg.n_val)
    # validation in float64 on the training grid
    val_fn = jax.jit(
        lambda ly: jnp.sqrt(jnp.mean(net_smf_residuals(ShamNet(_cast(ly, jnp.float64), domain), theta_val, kernel=cfg.kernel) ** 2))
    )

    def loss_fn(ly, th):
        res = net_smf_residuals(ShamNet(ly, dom_c), th, logmh_grid=grid_c, logsm=logsm_c, kernel=cfg.kernel)
        return jnp.mean(res**2)

    @jax.jit
    def step(layers, state, th):
        loss, g = jax.value_and_grad(loss_fn)(layers, _cast(th, dt))
        upd, state = opt.update(g, state, layers)
        return optax.apply_updates(layers, upd), state, loss

    best = (float(val_fn(layers)), layers, 0)
    _log(f"phase 2: start, validation rms {best[0]:.4e} dex", quiet)
    history = [(0, float("nan"), best[0])]
    stale = 0
    # one Latin hypercube per block of steps, so batches stay space-filling
    block = 100
    step_i = 0
    for b0 in range(0, cfg.max_steps, block):
        pool = sample_domain(domain, seed + 1000 + b0, block * cfg.batch)
        for j in range(min(block, cfg.max_steps - b0)):
            th = ShamParams(*(v[j * cfg.batch : (j + 1) * cfg.batch] for v in pool))
            layers, state, loss = step(layers, state, th)
            step_i += 1
            if step_i % cfg.val_every == 0:
                v = float(val_fn(layers))
                history.append((step_i, float(loss), v))
                if v < best[0]:
                    best = (v, layers, step_i)
                    stale = 0
                else:
                    stale += 1
                _log(
                    f"phase 2: step {step_i}, batch loss (Eq. D4) {float(loss):.3e}, validation rms {v:.4e} dex "
                    f"(best {best[0]:.4e} at {best[2]}), {time.time() - t0:.0f} s",
                    quiet,
                )
                if stale >= cfg.patience:
                    _log(f"phase 2: validation stopped improving for {cfg.patience} checks; stopping", quiet)
                    break
        else:
            continue
        break
    info = dict(steps=step_i, best_step=best[2], best_val_rms_dex=best[0], seconds=time.time() - t0, history=history)
    return ShamNet(_cast(best[1], jnp.float64), domain), info


def train_shamnet(seed: int, out_dir, *, cfg: TrainConfig = DEFAULT_TRAIN_CONFIG, quiet=False, command: str | None = None) -> TrainResult:
    """Run both phases from scratch and write ``out_dir/shamnet.npz`` and ``shamnet.json`` (the model card)."""
    t_start = time.time()
    out_dir = Path(out_dir)
    samples, mean, cov = sdss_posterior(seed, num_warmup=cfg.posterior_warmup, num_samples=cfg.posterior_samples)
    domain = make_domain(mean, cov)
    _log(f"domain: SDSS-like posterior mean {np.round(mean, 5).tolist()}, sd {np.round(np.sqrt(np.diag(cov)), 5).tolist()}", quiet)
    key = jax.random.PRNGKey(seed)
    net1, info1 = train_phase1(key, domain, cfg, seed=seed, quiet=quiet)
    net2, info2 = train_phase2(net1, cfg, seed=seed, quiet=quiet)
    train_seconds = time.time() - t_start
    # held-out accuracy: seeds far from every training draw
    theta_test = sample_domain(domain, 10_000_019 + seed, cfg.n_accuracy)
    acc = smf_accuracy(net2, theta_test, kernel=cfg.kernel)
    slopes = min_smhm_slope(net2, sample_domain(domain, 20_000_003 + seed, 200))
    _log(f"held-out accuracy over {acc.n_theta} theta: rms {acc.rms_dex:.4e} dex, max |Delta| {acc.max_abs_dex:.4e} dex", quiet)
    card = dict(
        name="SHAMNet (shaminfer)",
        command=command or f"shaminfer train-shamnet --seed {seed} --out {out_dir}",
        seed=seed,
        date=time.strftime("%Y-%m-%d"),
        machine=f"{platform.machine()} {platform.system()}, {jax.device_count()} {jax.default_backend()} device(s), python {sys.version.split()[0]}, jax {jax.__version__}",
        architecture=dict(
            inputs=["log10 phi*", "alpha", "sigma_lo", "sigma_hi", "log10 Mpeak"],
            input_scaling="(log10 phi*, alpha) -> domain eigen-coordinates in [-1, 1]; sigma_lo, sigma_hi, log10 Mpeak -> [-1, 1]",
            hidden=list(cfg.hidden),
            activation="SELU (Eq. D2)",
            output="sigmoid of Eq. A1 bounded to -5 < log10 M* < 25",
            n_parameters=parameter_count(net2),
        ),
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
        training=dict(config=cfg._asdict(), phase1=info1, phase2={k: v for k, v in info2.items() if k != "history"}, seconds=train_seconds),
        accuracy=dict(
            protocol="1000 held-out theta (LHS seed 10000019 + seed), Delta = R(phi_pred) - R(phi_target), Eq. C2 y_min = 1e-15, "
            "100 points 9 < log10 M* < 12, App. B quadrature on 1501 nodes",
            rms_dex=acc.rms_dex,
            max_abs_dex=acc.max_abs_dex,
            n_theta=acc.n_theta,
            min_smhm_slope_10_to_15p5=float(np.min(slopes)),
        ),
    )
    save_shamnet(net2, out_dir / "shamnet.npz", kernel=cfg.kernel, card=card)
    hist = np.array(info2["history"], dtype=float)
    np.savetxt(out_dir / "phase2_history.csv", hist, delimiter=",", header="step,batch_loss,val_rms_dex", comments="")
    _log(f"wrote {out_dir / 'shamnet.npz'} and its model card {out_dir / 'shamnet.json'} ({train_seconds:.0f} s)", quiet)
    return TrainResult(net2, card)
