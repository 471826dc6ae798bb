"""Hard-theta mining in phase 2 (a deviation from App. D.3): batches that visit the worst theta.

The accuracy goal bounds the maximum of |Delta| (Eq. C2) over 1000 theta,
which is set by a few theta in a thousand that random batches of 100 rarely
contain. With ``cfg.hard_fraction > 0``, every ``cfg.hard_every`` steps phase
2 draws ``cfg.hard_candidates`` fresh theta (:func:`hard_theta_candidates`:
half uniform, half face-crowded), ranks them by the current network's worst
residual max |Delta| (float64, training grid) and keeps the ``cfg.hard_pool``
worst (:func:`refresh_pool`); that fraction of every batch is then drawn from
this pool in place of uniform theta (:func:`with_draws`). The worst and the
floor of each mined pool are logged and recorded in the model card.
"""
from __future__ import annotations

from typing import NamedTuple

import jax.numpy as jnp
import numpy as np

from ...ingredients.theta import ShamParams
from ..domain import ShamNetDomain, sample_domain
from .common import chunked
from .config import TrainConfig

__all__ = ["MinedPool", "hard_theta_candidates", "refresh_pool", "with_draws"]


class MinedPool(NamedTuple):
    """A mined pool of theta and what its mining found."""

    theta: ShamParams
    """The kept theta, hardest first."""
    step: int
    """Phase-2 step at which they were mined."""
    worst: float
    """Score of the hardest kept theta (max |Delta| [dex] for hard-theta mining)."""
    floor: float
    """Score of the easiest kept theta."""


def hard_theta_candidates(domain: ShamNetDomain, cfg: TrainConfig, *, seed: int, at_step: int) -> ShamParams:
    """``cfg.hard_candidates`` fresh theta: half uniform (``seed + 900_000_000 + at_step``), half face-crowded (``seed + 950_000_000 + at_step``)."""
    n_u = cfg.hard_candidates // 2
    cand = [sample_domain(domain, seed + 900_000_000 + at_step, n_u),
            sample_domain(domain, seed + 950_000_000 + at_step, cfg.hard_candidates - n_u, face_power=cfg.face_power)]
    return ShamParams(*(jnp.concatenate([a, b]) for a, b in zip(*cand)))


def refresh_pool(score, candidates: ShamParams, keep: int, *, at_step: int, chunk: int = 500) -> MinedPool:
    """The ``keep`` candidates with the highest ``score(theta) -> (B,)``, scored in chunks of ``chunk`` theta.

    Parameters
    ----------
    score : callable
        Hardness of each theta under the current weights (larger: harder).
    candidates : ShamParams
        Fresh theta to rank.
    keep : int
        Size of the pool.
    at_step : int
        Phase-2 step, recorded.
    chunk : int
        Theta per evaluation of ``score``.
    """
    s = chunked(score, candidates, chunk=chunk)
    top = jnp.argsort(-s)[:keep]
    return MinedPool(ShamParams(*(v[top] for v in candidates)), at_step, float(s[top[0]]), float(s[top[-1]]))


def with_draws(theta: ShamParams, pool: ShamParams, rng: np.random.Generator, n: int) -> ShamParams:
    """``theta`` followed by ``n`` draws (with replacement, from ``rng``) of the mined ``pool``."""
    pick = rng.integers(0, np.size(pool.alpha), n)
    return ShamParams(*(jnp.concatenate([a, b[pick]]) for a, b in zip(theta, pool)))
