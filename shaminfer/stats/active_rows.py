"""SHAMNet evaluated only on the subhalos whose weights need it, with the same values and derivatives (App. E).

A triweight weight (Eq. 6) of subhalo ``a`` depends on its median ``mu_a``
(Eq. 5) only through ``z = (c - mu_a) / sigma_a`` at the edges ``c`` of the
SMF bins and samples (the *cuts*), and where ``|z| >= 3`` for every cut the
weight is exactly 0 or 1 with zero derivative (App. E). The exact engine's
population (:func:`make_active_population`) therefore runs the network only
where a cut can fall inside ``mu_a +- 3 sigma_a``:

1. the subhalos are sorted by log10 Mpeak once and grouped in blocks of
   ``block`` consecutive rows; for the current theta the network's range on
   each block's Mpeak interval is bounded from above and below
   (:func:`shaminfer.shamnet.bounds.logsm_interval_bounds`, a few thousand
   interval evaluations);
2. a block is *decided* when no cut lies inside its envelope
   ``[lo - 3 max sigma, hi + 3 max sigma]`` widened by ``MARGIN`` dex (so that
   round-off cannot move a row across ``|z| = 3``); every other block is
   *active*;
3. the network runs on the chunks of ``chunk`` rows holding an active block
   (a ``lax.while_loop`` over their indices, so the number of rows is decided
   at run time and the function compiles once); a ``custom_jvp`` gives the
   tangent from each row's Jacobian in the four scaled theta inputs, which
   one backward pass through the network yields
   (:func:`~shaminfer.shamnet.bounds.logsm_with_theta_jacobian`);
4. a decided row gets a stand-in median inside its gap between cuts, at
   least ``3 sigma_a`` from both (the gap's midpoint, or ``3 sigma_a + 1``
   dex beyond the outermost cut): every ``|z| >= 3``, so each weight is the
   same 0 or 1, bit for bit, with zero derivative, as with the network's
   value. NaNs in theta make every block active, so they reach the output.

Values and derivatives equal those of running the network on every row up
to round-off (the network sees batches of another shape); ``jit``,
``grad``, ``jacfwd`` and ``vmap`` work. Applies to SHAM through the App. D.1
network, alone or composed with quenching, survival and the additive
``sm_offset`` (:func:`make_active_population` returns None otherwise).
"""
from __future__ import annotations

from typing import Callable, Optional

import jax
import jax.numpy as jnp
import numpy as np

from ..galaxy_halo import sham
from ..galaxy_halo.compose import GalaxyModel
from ..galaxy_halo.components import SHAM_BLOCK, Subhalos
from ..shamnet.bounds import logsm_interval_bounds, logsm_with_theta_jacobian, scaled_logmpeak, scaled_theta
from ..shamnet.network import ShamNet, shamnet_forward

__all__ = ["BLOCK", "CHUNK", "MARGIN", "model_cuts", "make_active_population", "make_active_median"]

#: Rows per bounded block (sorted by Mpeak).
BLOCK = 64
#: Rows per network evaluation (a multiple of BLOCK).
CHUNK = 1024
#: Widening of each block's envelope [dex], far above round-off, far below any weight's scale.
MARGIN = 1e-6


def model_cuts(config) -> np.ndarray:
    """Sorted, distinct log10 M* edges at which the weights of ``config`` look at the median (SMF bins, samples)."""
    cuts = list(config.smf_edges)
    for s in config.samples:
        cuts.append(s.lo)
        if s.kind != "threshold":
            cuts.append(s.hi)
    return np.unique(np.asarray(cuts, dtype=np.float64))


def _chunked_median(net: ShamNet, m_sorted: jnp.ndarray, chunk: int):
    """``median(t, chunk_index, count) -> mu`` (Npad,) on the listed chunks (zero elsewhere), with a custom_jvp."""
    npad = m_sorted.shape[0]

    def run(t, index, count, with_jac):
        mu0 = jnp.zeros((npad,), dtype=t.dtype)
        jac0 = jnp.zeros((npad if with_jac else 0, 4), dtype=t.dtype)

        def body(state):
            i, mu, jac = state
            start = index[i] * chunk
            m = jax.lax.dynamic_slice(m_sorted, (start,), (chunk,))
            if with_jac:
                v, j = logsm_with_theta_jacobian(net, t, m)
                jac = jax.lax.dynamic_update_slice(jac, j, (start, jnp.zeros_like(start)))
            else:
                x = jnp.concatenate([jnp.broadcast_to(t, (chunk, 4)), m[:, None]], axis=-1)
                v = shamnet_forward(net.layers, x)
            return i + 1, jax.lax.dynamic_update_slice(mu, v, (start,)), jac

        _, mu, jac = jax.lax.while_loop(lambda s: s[0] < count, body, (jnp.int32(0), mu0, jac0))
        return mu, jac

    @jax.custom_jvp
    def median(t, index, count):
        return run(t, index, count, False)[0]

    @median.defjvp
    def _median_jvp(primals, tangents):
        t, index, count = primals
        mu, jac = run(t, index, count, True)
        return mu, jac @ tangents[0]

    return median


def make_active_median(net: ShamNet, logmpeak, cuts, *, block: int = BLOCK, chunk: int = CHUNK) -> Callable:
    """``median(theta, sigma, offset) -> mu`` (N,): SHAMNet's median plus ``offset`` where a weight needs it.

    Parameters
    ----------
    net : ShamNet
        The App. D.1 network.
    logmpeak : array (N,)
        log10 Mpeak [Msun/h] of the subhalos (captured, sorted once here).
    cuts : array (K,)
        The log10 M* edges the weights look at (:func:`model_cuts`).
    block, chunk : int, keyword-only
        Rows per bounded block and per network evaluation (``chunk`` a multiple of ``block``).

    Returns
    -------
    callable
        ``median(theta, sigma, offset)``: ``theta`` a ShamParams, ``sigma`` (N,)
        the triweight widths [dex], ``offset`` (N,) or scalar added to the
        network's log10 M*. Returns (N,): the network's value plus ``offset``
        on the rows of active chunks, a stand-in elsewhere (module docstring).
    """
    if chunk % block:
        raise ValueError(f"chunk: expected a multiple of block = {block}, found {chunk}")
    logm = np.asarray(logmpeak, dtype=np.float64)
    n = logm.size
    cuts = np.asarray(cuts, dtype=np.float64)
    order = np.argsort(logm, kind="stable")
    rank = np.empty(n, dtype=np.int64)
    rank[order] = np.arange(n)
    nchunk = max(1, -(-n // chunk))
    npad = nchunk * chunk
    pad = np.full(npad - n, n - 1 if n else 0, dtype=np.int64)
    order_pad = np.concatenate([order, order[pad] if n else pad])  # padding repeats the heaviest subhalo
    m_sorted = scaled_logmpeak(net.domain, jnp.asarray(logm[order_pad]))
    m_blocks = m_sorted.reshape(-1, block)
    m_lo, m_hi = m_blocks[:, 0], m_blocks[:, -1]
    per_chunk = chunk // block
    median_rows = _chunked_median(net, m_sorted, chunk)
    order_pad_j, rank_j = jnp.asarray(order_pad), jnp.asarray(rank)
    cuts_j = jnp.asarray(cuts)
    lower_cut = jnp.asarray(np.concatenate([[-np.inf], cuts]))  # gap k lies between lower_cut[k] and upper_cut[k]
    upper_cut = jnp.asarray(np.concatenate([cuts, [np.inf]]))

    def median(theta, sigma, offset):
        t = scaled_theta(net, theta)
        sig = jax.lax.stop_gradient(jnp.broadcast_to(sigma, (n,)))
        off = jax.lax.stop_gradient(jnp.broadcast_to(offset, (n,)))
        lo, hi = logsm_interval_bounds(net, jax.lax.stop_gradient(t), m_lo, m_hi)
        sig_b = sig[order_pad_j].reshape(-1, block)
        off_b = off[order_pad_j].reshape(-1, block)
        env_lo = lo + off_b.min(axis=1) - 3.0 * sig_b.max(axis=1) - MARGIN
        env_hi = hi + off_b.max(axis=1) + 3.0 * sig_b.max(axis=1) + MARGIN
        below, above = cuts_j <= env_lo[:, None], cuts_j >= env_hi[:, None]
        decided = jnp.all(below | above, axis=1)  # NaN bounds: not decided
        chunk_active = ~jnp.all(decided.reshape(nchunk, per_chunk), axis=1)
        index = jnp.nonzero(chunk_active, size=nchunk, fill_value=0)[0].astype(jnp.int32)
        count = jnp.sum(chunk_active, dtype=jnp.int32)
        mu_sorted = median_rows(t, index, count)
        computed = jnp.repeat(chunk_active, chunk)[rank_j]
        gap = jnp.repeat(jnp.sum(below, axis=1), block)[rank_j]
        g_lo, g_hi = lower_cut[gap], upper_cut[gap]
        stand_in = jnp.where(jnp.isfinite(g_lo) & jnp.isfinite(g_hi), 0.5 * (g_lo + g_hi),
                             jnp.where(jnp.isfinite(g_lo), g_lo + 3.0 * sig + 1.0,
                                       jnp.where(jnp.isfinite(g_hi), g_hi - 3.0 * sig - 1.0, 0.0)))
        return jnp.where(computed, mu_sorted[rank_j] + offset, stand_in)

    return median


def make_active_population(model: GalaxyModel, subhalos: Subhalos, cuts) -> Optional[Callable]:
    """``population(theta) -> Population`` of ``model`` with SHAMNet run only where a weight needs it.

    Parameters
    ----------
    model : GalaxyModel
    subhalos : Subhalos
        :func:`~shaminfer.galaxy_halo.bind_catalog` of the catalog.
    cuts : array (K,)
        :func:`model_cuts` of the statistics' configuration.

    Returns
    -------
    callable or None
        The population with ``mu`` from :func:`make_active_median` and every
        other field from the model; None unless the model's stellar-mass
        kernel is ``sham`` with an App. D.1 network and its only change of the
        median (if any) is the additive ``sm_offset``.
    """
    smhm = [c for c in model.components if c.role == "smhm"]
    offsets = [c for c in model.components if c.role == "mass_offset"]
    if len(smhm) != 1 or smhm[0].name != "sham" or not isinstance(smhm[0].net, ShamNet):
        return None
    if any(c.name != "sm_offset" for c in offsets):
        return None
    net = smhm[0].net
    # the model with the network's median replaced by 0: sigma, survival, quenching, and the offset as its mu
    no_median = sham(smhm=lambda th, logm: jnp.zeros_like(logm))
    rest = GalaxyModel(tuple(no_median if c is smhm[0] else c for c in model.components))
    median = make_active_median(net, np.asarray(subhalos.logmpeak), cuts)

    def population(theta):
        pop = rest.population(theta, subhalos)
        return pop._replace(mu=median(SHAM_BLOCK.take(theta), pop.sigma, pop.mu))

    return population
