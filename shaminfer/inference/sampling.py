"""Sampler settings and the chunked-sampler protocol shared by both NUTS backends.

A backend (:mod:`.nuts_numpyro`, :mod:`.nuts_blackjax`) runs warmup once and
then draws in chunks, carrying its state between chunks, so that
:func:`shaminfer.app.fit.run_fit` can checkpoint after every chunk and
resume an interrupted run. Both backends sample the same NumPyro model
(:class:`~shaminfer.inference.model.ShamModel`) in the same unconstrained
coordinates and report the same per-draw statistics; :func:`.samplers.make_sampler`
picks one by name.
"""
from __future__ import annotations

import sys
from typing import Any, NamedTuple, Protocol

import jax
import jax.numpy as jnp
import numpy as np
from tqdm.auto import tqdm

__all__ = [
    "BACKENDS",
    "DEFAULT_SAMPLER_PDICT",
    "SamplerSettings",
    "DEFAULT_SAMPLER_SETTINGS",
    "check_sampler_settings",
    "ChunkDraws",
    "ChunkedSampler",
    "chunk_key",
    "initial_points",
    "progress_bar",
    "stack_chains",
    "chain_state",
    "sample_chains",
    "warmup_chains",
    "warmup_segment_length",
    "STAT_NAMES",
]

BACKENDS = ("numpyro", "blackjax")
STAT_NAMES = ("lp", "diverging", "step_size", "tree_depth", "n_steps", "acceptance_rate", "energy")

DEFAULT_SAMPLER_PDICT = dict(
    backend="numpyro",
    num_chains=4,
    num_warmup=500,
    num_samples=500,
    chunk_size=100,
    seed=0,
    target_accept=0.8,
    max_tree_depth=10,
    dense_mass=True,
    init="laplace",
    progress_bar=True,
)


class SamplerSettings(NamedTuple):
    """NUTS settings shared by both backends.

    Attributes
    ----------
    backend : {"numpyro", "blackjax"}
    num_chains, num_warmup, num_samples : int
        Chains; warmup (adaptation) steps and kept draws per chain.
    chunk_size : int
        Draws per chain between checkpoints.
    seed : int
        Seeds warmup, every chunk and the posterior-predictive draws.
    target_accept : float
        Target acceptance probability of the step-size adaptation.
    max_tree_depth : int
        Maximum number of trajectory doublings.
    dense_mass : bool
        Adapt a dense (True, default: theta has only 4 correlated components)
        or diagonal (False) mass matrix.
    init : {"laplace", "prior"}
        Chain starts: overdispersed draws around per-chain posterior modes with
        the Laplace covariance as the initial metric (:mod:`.initialization`),
        or uniform over the prior with an identity metric.
    progress_bar : bool
    """

    backend: str = "numpyro"
    num_chains: int = 4
    num_warmup: int = 500
    num_samples: int = 500
    chunk_size: int = 100
    seed: int = 0
    target_accept: float = 0.8
    max_tree_depth: int = 10
    dense_mass: bool = True
    init: str = "laplace"
    progress_bar: bool = True


DEFAULT_SAMPLER_SETTINGS = SamplerSettings(**DEFAULT_SAMPLER_PDICT)


def check_sampler_settings(settings: SamplerSettings) -> SamplerSettings:
    """Validate ``settings`` once; raise ``ValueError`` naming the bad field."""
    if settings.backend not in BACKENDS:
        raise ValueError(f"sampler.backend: expected one of {BACKENDS}, found {settings.backend!r}")
    for name, lo in (("num_chains", 1), ("num_warmup", 1), ("num_samples", 1), ("chunk_size", 1),
                     ("max_tree_depth", 1), ("seed", 0)):
        value = getattr(settings, name)
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < lo:
            raise ValueError(f"sampler.{name}: expected an integer >= {lo}, found {value!r}")
    ta = settings.target_accept
    if isinstance(ta, bool) or not isinstance(ta, (int, float)) or not 0.0 < ta < 1.0:
        raise ValueError(f"sampler.target_accept: expected a number in (0, 1), found {ta!r}")
    if settings.init not in ("laplace", "prior"):
        raise ValueError(f"sampler.init: expected 'laplace' or 'prior', found {settings.init!r}")
    for name in ("dense_mass", "progress_bar"):
        if not isinstance(getattr(settings, name), bool):
            raise ValueError(f"sampler.{name}: expected true or false, found {getattr(settings, name)!r}")
    return settings


class ChunkDraws(NamedTuple):
    """One chunk of draws.

    Attributes
    ----------
    unit : (chains, n, 4) ndarray
        Draws of ``theta_unit`` (the prior's unit-cube coordinates).
    stats : dict of (chains, n) ndarrays
        The sampler statistics named in :data:`STAT_NAMES`.
    """

    unit: np.ndarray
    stats: dict


class ChunkedSampler(Protocol):
    """What :func:`~shaminfer.app.fit.run_fit` needs from a backend."""

    name: str

    def warmup(self, key) -> Any:
        """Choose starting points, run warmup (adaptation) for every chain; return the post-warmup state."""

    def sample(self, state, key, n: int) -> tuple[Any, ChunkDraws]:
        """Draw ``n`` more draws per chain from ``state``; return the new state and the draws."""

    def state_to_arrays(self, state) -> dict:
        """The state as a flat dict of arrays (for a pickle-free checkpoint)."""

    def state_from_arrays(self, arrays: dict) -> Any:
        """Inverse of :meth:`state_to_arrays`."""


def chunk_key(seed: int, purpose: int, index: int = 0):
    """Key for warmup (purpose 0), chunk ``index`` (purpose 1) or predictive draws (purpose 2)."""
    return jax.random.fold_in(jax.random.fold_in(jax.random.PRNGKey(seed), purpose), index)


def tree_depth_from_steps(n_steps) -> np.ndarray:
    """NUTS tree depth from the number of leapfrog steps, as ArviZ's ``from_numpyro`` does."""
    n = np.maximum(np.asarray(n_steps), 1)
    return (np.floor(np.log2(n)).astype(np.int64) + 1)


def initial_points(model, settings: SamplerSettings, key, log=None):
    """Chain starts and initial metric for ``settings.init`` (see :mod:`.initialization`)."""
    from .initialization import laplace_init, prior_init  # on first use: numpyro's utilities start JAX's client

    if settings.init == "laplace":
        return laplace_init(model, key, settings.num_chains, log=log)
    return prior_init(model, key, settings.num_chains)


def progress_bar(settings: SamplerSettings, total: int, desc: str):
    """A tqdm bar on stderr, shown when ``settings.progress_bar``."""
    return tqdm(total=total, desc=desc, disable=not settings.progress_bar, file=sys.stderr,
                leave=False, dynamic_ncols=True)


def stack_chains(states):
    """Stack per-chain pytrees along a new leading chain axis."""
    return jax.tree.map(lambda *xs: jnp.stack(xs), *states)


def chain_state(state, c: int):
    """Chain ``c`` of a pytree with a leading chain axis."""
    return jax.tree.map(lambda x: x[c], state)


def warmup_segment_length(num_warmup: int, *, segments: int = 10) -> int:
    """Steps per warmup segment: the longest divisor of ``num_warmup`` giving at least ``segments`` segments.

    Equal segments let a backend run warmup through one compiled scan of this
    length (a remainder segment would compile a second one); with no such
    divisor (``num_warmup`` prime, or below ``segments``) it is 1.

    Examples
    --------
    >>> warmup_segment_length(500), warmup_segment_length(150), warmup_segment_length(101)
    (50, 15, 1)
    """
    target = max(1, int(num_warmup) // segments)
    return max(d for d in range(1, target + 1) if num_warmup % d == 0)


def warmup_chains(settings: SamplerSettings, key, desc: str, warm) -> Any:
    """Run ``warm(c, key_c, advance) -> post-warmup chain state`` for every chain; stack the states.

    The progress bar counts warmup steps over all chains
    (``num_chains * num_warmup``). A backend that runs warmup in segments calls
    ``advance(n)`` after each segment of ``n`` steps; whatever a chain has not
    reported is counted when ``warm`` returns, so a backend whose warmup is one
    call (BlackJAX's window adaptation) moves the bar by ``num_warmup`` steps
    per chain.
    """
    keys = jax.random.split(key, settings.num_chains)
    states = []
    with progress_bar(settings, settings.num_chains * settings.num_warmup, desc) as bar:
        for c in range(settings.num_chains):
            done = [0]

            def advance(n: int, done=done) -> None:
                n = max(0, min(int(n), settings.num_warmup - done[0]))
                if n:
                    done[0] += n
                    bar.update(n)

            states.append(warm(c, keys[c], advance))
            advance(settings.num_warmup - done[0])
    return stack_chains(states)


def sample_chains(settings: SamplerSettings, key, n: int, desc: str, step) -> tuple[Any, ChunkDraws]:
    """Run ``step(c, key_c) -> (new chain state, unit draws (n, 4), stats dict of (n,) arrays)`` for every chain.

    Chains run one after the other (one compiled chunk serves all of them);
    the results are stacked into a state with a chain axis and a :class:`ChunkDraws`.
    """
    keys = jax.random.split(key, settings.num_chains)
    new_states, units, stats = [], [], []
    with progress_bar(settings, settings.num_chains * n, desc) as bar:
        for c in range(settings.num_chains):
            new, unit, st = step(c, keys[c])
            new_states.append(new)
            units.append(np.asarray(unit))
            stats.append({name: np.asarray(v) for name, v in st.items()})
            bar.update(n)
    stacked = {name: np.stack([st[name] for st in stats]) for name in stats[0]}
    return stack_chains(new_states), ChunkDraws(np.stack(units), stacked)
