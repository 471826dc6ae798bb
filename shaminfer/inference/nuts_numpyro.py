"""NumPyro NUTS, driven chunk by chunk through its pure kernel.

``numpyro.infer.NUTS`` is used through its kernel interface: ``init`` (once
per chain, from :func:`.sampling.initial_points`) and ``sample``, a
pure map ``HMCState -> HMCState`` that adapts the step size and mass matrix
(Stan's windowed schedule) while ``state.i < num_warmup``. The state carries
the adaptation (step counter, windows, dual averaging, Welford sums), so
warmup runs as equal segments of one jitted ``lax.scan`` of kernel steps
(:func:`.sampling.warmup_segment_length`): the same steps, bit for bit, as
one scan of ``num_warmup``, with the progress bar moving after each segment.
Each chunk of draws is another scan, so every chunk reuses one compiled
function and the state between chunks is an ordinary pytree that can be
checkpointed. (NumPyro's ``MCMC`` driver is this same loop; driving the
kernel directly avoids its recompilation of every ``run`` call, which
dominates short chunks.)
"""
from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np
from numpyro.infer import NUTS
from numpyro.infer.initialization import init_to_uniform

from .model import UNIT_SITE, ShamModel
from .sampling import (
    SamplerSettings,
    chain_state,
    initial_points,
    sample_chains,
    stack_chains,
    tree_depth_from_steps,
    warmup_chains,
    warmup_segment_length,
)

__all__ = ["NumpyroNUTS"]


class NumpyroNUTS:
    """Chunked NumPyro NUTS for a :class:`ShamModel` (see :class:`.sampling.ChunkedSampler`).

    The state is NumPyro's :class:`~numpyro.infer.hmc.HMCState` with a leading
    chain axis on every leaf.
    """

    name = "numpyro"

    def __init__(self, model: ShamModel, settings: SamplerSettings, log=None):
        self.model = model
        self.settings = settings
        self.log = log
        self.kernel = None
        self._initialized = False

    def _make_kernel(self, inverse_mass_matrix=None):
        s = self.settings
        if inverse_mass_matrix is not None and not s.dense_mass:
            inverse_mass_matrix = np.diag(inverse_mass_matrix)
        self.kernel = NUTS(
            self.model,
            target_accept_prob=s.target_accept,
            max_tree_depth=s.max_tree_depth,
            dense_mass=s.dense_mass,
            init_strategy=init_to_uniform,
            inverse_mass_matrix=None if inverse_mass_matrix is None else jnp.asarray(inverse_mass_matrix),
        )

    def _init(self, key, positions=None):
        if self.kernel is None:
            self._make_kernel()
        keys = jax.random.split(key, self.settings.num_chains)
        positions = positions or [None] * len(keys)
        states = [
            self.kernel.init(k, self.settings.num_warmup, pos, model_args=(), model_kwargs={})
            for k, pos in zip(keys, positions)
        ]
        state = stack_chains(states)
        if not self._initialized:
            kernel = self.kernel
            self._segment = warmup_segment_length(self.settings.num_warmup)
            self._warmup = jax.jit(functools.partial(_run_steps, kernel, self._segment, False))
            self._chunk = jax.jit(functools.partial(_run_steps, kernel), static_argnums=(0, 1))
            post = kernel.postprocess_fn((), {})
            self._to_unit = jax.jit(jax.vmap(lambda z: post(z)[UNIT_SITE]))
            self._initialized = True
        return state

    def warmup(self, key):
        k_start, k_init, k_run = jax.random.split(key, 3)
        start = initial_points(self.model, self.settings, k_start, log=self.log)
        self._make_kernel(start.inverse_mass_matrix)
        state = self._init(k_init, start.positions)
        return warmup_chains(self.settings, k_run, "numpyro warmup",
                             lambda c, k, advance: self._warm_chain(chain_state(state, c)._replace(rng_key=k),
                                                                    advance))

    def _warm_chain(self, state, advance):
        """``num_warmup`` kernel steps of one chain, in equal segments; ``advance(n)`` after each."""
        for _ in range(self.settings.num_warmup // self._segment):
            state = jax.block_until_ready(self._warmup(state)[0])
            advance(self._segment)
        return state

    def sample(self, state, key, n: int):
        n = int(n)

        def step(c, k):
            last, rec = self._chunk(n, True, chain_state(state, c)._replace(rng_key=k))
            unit = self._to_unit(rec.pop("z"))
            rec = {k: np.asarray(v) for k, v in rec.items()}
            return last, unit, {
                "lp": -rec["potential_energy"],
                "diverging": rec["diverging"].astype(bool),
                "step_size": rec["step_size"],
                "tree_depth": tree_depth_from_steps(rec["num_steps"]),
                "n_steps": rec["num_steps"].astype(np.int64),
                "acceptance_rate": rec["accept_prob"],
                "energy": rec["energy"],
            }

        return sample_chains(self.settings, key, n, "numpyro sample", step)

    def state_to_arrays(self, state) -> dict:
        leaves = jax.tree_util.tree_leaves(state)
        out = {f"leaf_{i:03d}": np.asarray(x) for i, x in enumerate(leaves)}
        out["n_leaves"] = np.asarray(len(leaves))
        return out

    def state_from_arrays(self, arrays: dict):
        template = self._init(jax.random.PRNGKey(0))
        leaves, treedef = jax.tree_util.tree_flatten(template)
        n = int(arrays.get("n_leaves", -1))
        shapes_ok = n == len(leaves) and all(
            np.shape(arrays.get(f"leaf_{i:03d}")) == np.shape(x) for i, x in enumerate(leaves))
        if not shapes_ok:
            raise ValueError(
                f"checkpoint: expected a NumPyro NUTS state of {len(leaves)} arrays matching this "
                f"configuration, found {n} (written by another backend or NumPyro version?)"
            )
        return jax.tree_util.tree_unflatten(treedef, [jnp.asarray(arrays[f"leaf_{i:03d}"]) for i in range(n)])


def _run_steps(kernel, n, record, state):
    """``n`` kernel steps from ``state`` (one chain); with ``record``, per-step diagnostics too."""

    def body(s, _):
        new = kernel.sample(s, (), {})
        if not record:
            return new, None
        return new, dict(z=new.z, potential_energy=new.potential_energy, energy=new.energy,
                         num_steps=new.num_steps, accept_prob=new.accept_prob, diverging=new.diverging,
                         step_size=new.adapt_state.step_size)

    return jax.lax.scan(body, state, None, length=n)
