"""Phase 1 of SHAMNet's training (App. D.2): three-roll fits, then the network regressed on them.

For many theta from the training domain, the eight three-roll SMHM parameters
(App. C.1) are fitted with Adam on the loss of Eq. C3, through the bounded
sigmoid variables of App. C.2, vectorized over theta; fits with loss above
``cfg.fit_loss_max`` (0.05) are discarded. The network is then trained to
reproduce the accepted relations on the training halo grid (Eq. D3).
"""
from __future__ import annotations

import time

import jax
import jax.numpy as jnp
import numpy as np
import optax

from ...ingredients.smhm import DEFAULT_SMHM_PARAMS, smhm_params_from_unbounded, smhm_params_to_unbounded, three_roll_smhm
from ...ingredients.theta import ShamParams
from ..domain import ShamNetDomain, sample_domain
from ..losses import TRAIN_LOGMH_GRID, net_smhm_regression_loss, smhm_fit_loss
from .common import adam_step, cast_floating, init_network, log
from .config import TrainConfig

__all__ = ["fit_smhm_batch", "train_phase1"]


def fit_smhm_batch(theta: ShamParams, u_init, *, steps: int, schedule=((0.05, 50), (0.05, 50), (0.01, None)), kernel="triweight"):
    """Adam fits of the three-roll SMHM (Eq. C3, unbounded variables of App. C.2) for a batch of theta.

    Parameters
    ----------
    theta : ShamParams
        Batch of B theta.
    u_init : array (8,)
        Start of every fit, unbounded variables.
    steps : int
        Adam updates in all.
    schedule : sequence of (float, int or None)
        (step size, updates) cycles, each with a fresh Adam state; None takes the
        remaining ``steps``.
    kernel : str
        Scatter kernel of App. E.

    Returns
    -------
    u : array (B, 8)
        Fitted unbounded variables.
    loss : array (B,)
        Loss of Eq. C3 of each fit.
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
        step = adam_step(total, opt)
        state = opt.init(u)
        for _ in range(n):
            u, state, _ = step(u, state, theta)
        used += n
    return u, loss_b(u, theta)


def train_phase1(key, domain: ShamNetDomain, cfg: TrainConfig, *, seed: int, quiet=False):
    """Phase 1 of App. D.2: three-roll fits (Eq. C3), then Eq. D3 regression of a new ``cfg.arch`` network.

    Parameters
    ----------
    key : PRNGKey
        Initializes the network.
    domain : ShamNetDomain
        Training domain; theta are drawn with ``seed + 1``, batches with ``seed + 2``.
    cfg : TrainConfig
    seed : int
    quiet : bool
        No progress lines.

    Returns
    -------
    net : ShamNet or BasisShamNet
        float64 weights.
    info : dict
        Fits made and kept, median and center-fit losses, final Eq. D3 loss, seconds.

    Raises
    ------
    RuntimeError
        Fewer than 10 fits pass the loss cut.
    """
    t0 = time.time()
    center = ShamParams(*(jnp.atleast_1d(v) for v in (domain.center[0], domain.center[1], 0.3, 0.3)))
    u0 = smhm_params_to_unbounded(DEFAULT_SMHM_PARAMS)
    u_c, loss_c = fit_smhm_batch(center, u0, steps=cfg.fit_center_steps, kernel=cfg.kernel)
    log(f"phase 1: three-roll fit at the domain center, loss (Eq. C3) = {float(loss_c[0]):.2e}", quiet)
    theta = sample_domain(domain, seed + 1, cfg.n_fit_theta)
    u, loss = fit_smhm_batch(theta, u_c[0], steps=cfg.fit_steps, schedule=((0.01, None),), kernel=cfg.kernel)
    loss = np.asarray(loss)
    keep = np.isfinite(loss) & (loss <= cfg.fit_loss_max)
    log(f"phase 1: {int(keep.sum())}/{len(loss)} fits kept (loss <= {cfg.fit_loss_max}); "
        f"median loss {np.median(loss):.2e}, max {np.max(loss):.2e}", quiet)
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

    def loss_fn(ly, idx):  # Eq. D3 on the accepted fits of index idx
        th = ShamParams(*(v[idx] for v in theta_c))
        return net_smhm_regression_loss(Net(ly, dom_c), th, targets_c[idx], logmh_grid=grid_c)

    step = adam_step(loss_fn, opt)
    state = opt.init(net.layers)
    rng = np.random.default_rng(seed + 2)
    layers = net.layers
    nk = int(keep.sum())
    for i in range(cfg.init_steps):
        idx = jnp.asarray(rng.choice(nk, size=min(cfg.init_batch, nk), replace=False))
        layers, state, loss_i = step(layers, state, idx)
        if (i + 1) % 500 == 0 or i == 0:
            log(f"phase 1: network step {i + 1}/{cfg.init_steps}, Eq. D3 loss {float(loss_i):.3e}", quiet)
    info = dict(n_fits=int(len(loss)), n_kept=nk, fit_loss_median=float(np.median(loss)), center_fit_loss=float(loss_c[0]),
                final_d3_loss=float(loss_i), seconds=time.time() - t0)
    return Net(cast_floating(layers, jnp.float64), domain), info
