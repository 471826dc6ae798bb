"""Pieces every training stage shares: the untrained network, casts, batches of theta and the Adam step.

Phase 1 (App. D.2), distillation and phase 2 (App. D.3) all minimize a loss of
the network's layers with Adam on batches of theta drawn from the training
domain (Latin hypercubes, :func:`~shaminfer.shamnet.domain.sample_domain`).
:func:`adam_step` builds their one jitted update; :func:`mixed_batches` draws
their batches, uniform and crowded towards the sigma faces; the steps run in
``cfg.dtype`` (:func:`cast_floating`) and every stage returns float64 weights.
"""
from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import optax

from ...ingredients.theta import ShamParams
from ..domain import ShamNetDomain, sample_domain
from ..network import init_basis_shamnet, init_shamnet
from .config import TrainConfig

__all__ = ["cast_floating", "init_network", "mixed_batches", "chunked", "adam_step", "log"]


def cast_floating(tree, dtype):
    """Cast every floating leaf of ``tree`` to ``dtype`` (training runs in float32 for speed); other leaves pass."""
    return jax.tree_util.tree_map(lambda x: jnp.asarray(x, dtype) if jnp.issubdtype(jnp.asarray(x).dtype, jnp.floating) else x, tree)


def init_network(key, domain: ShamNetDomain, cfg: TrainConfig):
    """Untrained network of ``cfg.arch``: the App. D.1 MLP (``"mlp"``) or the monotone basis (``"basis"``, ``cfg.knots`` knots).

    Raises
    ------
    ValueError
        ``cfg.arch`` is neither.
    """
    if cfg.arch == "mlp":
        return init_shamnet(key, domain, hidden=cfg.hidden)
    if cfg.arch == "basis":
        return init_basis_shamnet(key, domain, hidden=cfg.hidden, knots=cfg.knots)
    raise ValueError(f"arch: expected 'mlp' or 'basis', found {cfg.arch!r}")


def mixed_batches(domain: ShamNetDomain, n_batches: int, n_flat: int, n_face: int, *, seed_flat: int, seed_face: int,
                  face_power: float) -> ShamParams:
    """Theta for ``n_batches`` consecutive batches, each ``n_flat`` uniform then ``n_face`` face-crowded draws.

    One Latin hypercube of each kind covers all the batches (so they stay
    space-filling); the draws are interleaved so that batch j is the slice
    ``[j * (n_flat + n_face), (j + 1) * (n_flat + n_face))``.
    """
    pool = sample_domain(domain, seed_flat, n_batches * n_flat)
    if n_face == 0:
        return pool
    faces = sample_domain(domain, seed_face, n_batches * n_face, face_power=face_power)
    return ShamParams(*(jnp.concatenate([a.reshape(n_batches, n_flat), f.reshape(n_batches, n_face)], axis=1).reshape(-1)
                        for a, f in zip(pool, faces)))


def chunked(fn, theta: ShamParams, *, chunk: int):
    """``fn(theta)`` evaluated on slices of ``chunk`` theta and concatenated (bounds the memory of large draws)."""
    n = int(np.size(theta.alpha))
    return jnp.concatenate([fn(ShamParams(*(v[i : i + chunk] for v in theta))) for i in range(0, n, chunk)])


def adam_step(loss_fn, opt: optax.GradientTransformation):
    """The jitted update ``step(layers, state, *args) -> (layers, state, loss)`` of ``loss_fn(layers, *args)``.

    Examples
    --------
    >>> opt = optax.adam(1e-3)                                      # doctest: +SKIP
    >>> step = adam_step(lambda ly, th: loss(ly, th), opt)          # doctest: +SKIP
    >>> layers, state, value = step(layers, opt.init(layers), th)   # doctest: +SKIP
    """

    @jax.jit
    def step(layers, state, *args):
        loss, g = jax.value_and_grad(loss_fn)(layers, *args)
        upd, state = opt.update(g, state, layers)
        return optax.apply_updates(layers, upd), state, loss

    return step


def log(msg: str, quiet: bool) -> None:
    """Print a progress line unless ``quiet``."""
    if not quiet:
        print(msg, flush=True)
