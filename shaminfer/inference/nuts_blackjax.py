"""BlackJAX NUTS with window adaptation on the NumPyro model's potential.

``numpyro.infer.util.initialize_model`` gives the potential energy of the
model in its unconstrained coordinates (the same ones NumPyro's NUTS uses)
and the transform back to ``theta_unit``; ``blackjax.window_adaptation``
tunes the step size and a diagonal (or dense) mass matrix per chain, and
``blackjax.nuts`` draws, one jitted ``lax.scan`` per chunk. Chains run one
after the other through the same compiled functions.

``window_adaptation(...).run`` is one jitted scan over the whole schedule
(its step function is not exposed, so it cannot be cut into segments without
re-implementing it), and ``blackjax.progress_bar`` patches ``jax.lax.scan``
process-wide: the warmup bar therefore counts steps but moves by
``num_warmup`` when each chain's adaptation returns.
"""
from __future__ import annotations

import functools

import blackjax
import jax
import jax.numpy as jnp
import numpy as np
from numpyro.infer.initialization import init_to_uniform
from numpyro.infer.util import initialize_model

from .model import UNIT_SITE, ShamModel
from .sampling import SamplerSettings, chain_state, initial_points, sample_chains, warmup_chains

__all__ = ["BlackjaxNUTS"]


class BlackjaxNUTS:
    """Chunked BlackJAX NUTS for a :class:`ShamModel` (see :class:`.sampling.ChunkedSampler`).

    The state is a dict ``{"position", "logdensity", "logdensity_grad",
    "step_size", "inverse_mass_matrix"}`` of arrays with a leading chain axis.
    """

    name = "blackjax"

    def __init__(self, model: ShamModel, settings: SamplerSettings, log=None):
        self.model = model
        self.settings = settings
        self.log = log
        info = initialize_model(jax.random.PRNGKey(0), model, init_strategy=init_to_uniform)
        self._potential = info.potential_fn
        self._postprocess = info.postprocess_fn
        self._logdensity = lambda position: -self._potential(position)
        max_depth = settings.max_tree_depth
        self._chunk = jax.jit(functools.partial(_sample_chunk, self._logdensity, max_depth), static_argnums=3)
        self._to_unit = jax.jit(jax.vmap(lambda pos: self._postprocess(pos)[UNIT_SITE]))

    def warmup(self, key):
        s = self.settings
        k_start, k_run = jax.random.split(key)
        start = initial_points(self.model, s, k_start, log=self.log)
        imm = start.inverse_mass_matrix
        if imm is not None and not s.dense_mass:
            imm = np.diag(imm)
        adapt = blackjax.window_adaptation(
            blackjax.nuts,
            self._logdensity,
            is_mass_matrix_diagonal=not s.dense_mass,
            initial_inverse_mass_matrix=None if imm is None else jnp.asarray(imm),
            target_acceptance_rate=s.target_accept,
            max_num_doublings=s.max_tree_depth,
        )
        run = jax.jit(lambda k, position: adapt.run(k, position, s.num_warmup)[0])

        def warm(c, k, advance):
            res = run(k, start.positions[c])
            return dict(position=res.state.position, logdensity=res.state.logdensity,
                        logdensity_grad=res.state.logdensity_grad, step_size=res.parameters["step_size"],
                        inverse_mass_matrix=res.parameters["inverse_mass_matrix"])

        return warmup_chains(s, k_run, "blackjax warmup", warm)

    def sample(self, state, key, n: int):
        n = int(n)

        def step(c, k):
            one = chain_state(state, c)
            hmc_state = blackjax.mcmc.hmc.HMCState(one["position"], one["logdensity"], one["logdensity_grad"])
            last, (positions, st) = self._chunk(hmc_state, one["step_size"], one["inverse_mass_matrix"], n, k)
            st = dict(st, step_size=np.full(n, float(one["step_size"])))
            new = dict(one, position=last.position, logdensity=last.logdensity, logdensity_grad=last.logdensity_grad)
            return new, self._to_unit(positions), st

        return sample_chains(self.settings, key, n, "blackjax sample", step)

    def state_to_arrays(self, state) -> dict:
        return {
            "position": np.asarray(state["position"][UNIT_SITE]),
            "logdensity": np.asarray(state["logdensity"]),
            "logdensity_grad": np.asarray(state["logdensity_grad"][UNIT_SITE]),
            "step_size": np.asarray(state["step_size"]),
            "inverse_mass_matrix": np.asarray(state["inverse_mass_matrix"]),
        }

    def state_from_arrays(self, arrays: dict):
        try:
            return dict(
                position={UNIT_SITE: jnp.asarray(arrays["position"])},
                logdensity=jnp.asarray(arrays["logdensity"]),
                logdensity_grad={UNIT_SITE: jnp.asarray(arrays["logdensity_grad"])},
                step_size=jnp.asarray(arrays["step_size"]),
                inverse_mass_matrix=jnp.asarray(arrays["inverse_mass_matrix"]),
            )
        except KeyError as exc:
            raise ValueError(f"checkpoint: expected a BlackJAX state, missing array {exc}") from None


def _sample_chunk(logdensity, max_depth, state, step_size, inverse_mass_matrix, n, key):
    """``n`` NUTS steps from ``state`` (one chain); returns the last state and per-draw records."""
    kernel = blackjax.nuts(logdensity, step_size=step_size, inverse_mass_matrix=inverse_mass_matrix,
                           max_num_doublings=max_depth)

    def body(carry, k):
        new, info = kernel.step(k, carry)
        rec = dict(
            lp=new.logdensity,
            diverging=info.is_divergent,
            tree_depth=info.num_trajectory_expansions.astype(jnp.int32),
            n_steps=info.num_integration_steps.astype(jnp.int32),
            acceptance_rate=info.acceptance_rate,
            energy=info.energy,
        )
        return new, (new.position, rec)

    return jax.lax.scan(body, state, jax.random.split(key, n))
