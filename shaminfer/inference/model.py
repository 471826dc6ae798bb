"""The NumPyro model: a uniform prior inside SHAMNet's domain and one Gaussian site per term.

::

    u ~ Uniform(-1, 1)^d                        (site "theta_unit"; d = 4 for SHAM)
    theta = center + basis @ (half_width * u)    (priors.theta_from_unit)
    output = forward(theta)                      (e.g. stats.make_predictor(...) -> Predictions)
    data_k ~ N(term_k.predict(theta, output), C_k)   (site "obs_<name_k>", one per term; or the
                                                      term's Student-t or Poisson family, see .families)

The model depends on the forward model only through ``forward``, a pure JAX
function of theta. :func:`build_model` validates everything once at the shell
-- unique term names, the prior inside the domain, finite predictions of the
right length at the prior's centre -- so nothing is checked inside the traced
model.
"""
from __future__ import annotations

import weakref
from typing import Callable, NamedTuple, Sequence

import jax
import jax.numpy as jnp
import numpy as np
import numpyro
import numpyro.distributions as dist

from ..ingredients.validate import is_traced
from .families import joint_loglik, pointwise_loglik, site_distribution
from .priors import ThetaDomain, ThetaPrior, check_prior_in_domain, theta_from_unit
from .terms import PreparedTerm, prepare_term

__all__ = ["UNIT_SITE", "ShamModel", "build_model", "sham_model", "DrawQuantities", "draw_quantities"]

UNIT_SITE = "theta_unit"


class ShamModel(NamedTuple):
    """A validated model: forward model, prepared terms and prior.

    Calling it runs the NumPyro model (so it can be passed to ``NUTS``).
    """

    forward: Callable
    terms: tuple
    prior: ThetaPrior

    def __call__(self):
        sham_model(self.forward, self.terms, self.prior)

    @property
    def term_names(self) -> tuple:
        return tuple(t.name for t in self.terms)


_TRACED_FORWARD = weakref.WeakKeyDictionary()


def traced_forward(forward: Callable) -> Callable:
    """``forward`` under ``jax.jit`` (one per forward), so that NumPyro's concrete calls trace it too.

    A forward model checks concrete thetas in the shell (e.g. that a sample's Delta Sigma has its lensing
    profiles); a fit runs those checks once, at the prior's centre (:func:`build_model`). Starting points
    are drawn and jittered by the samplers with concrete values; through this they are traced, as every
    later step is, so one start in a region a check dislikes does not abort the run.
    """
    try:
        return _TRACED_FORWARD[forward]
    except (KeyError, TypeError):
        jitted = jax.jit(forward)
        try:
            _TRACED_FORWARD[forward] = jitted
        except TypeError:  # not weak-referenceable: jit it each time
            pass
        return jitted


def sham_model(forward: Callable, terms: Sequence[PreparedTerm], prior: ThetaPrior) -> None:
    """NumPyro model body (see the module docstring); ``terms`` must be prepared."""
    u = numpyro.sample(UNIT_SITE, dist.Uniform(-1.0, 1.0).expand([prior.ndim]).to_event(1))
    theta = theta_from_unit(prior, u)
    output = forward(theta) if is_traced(theta) else traced_forward(forward)(theta)
    for term in terms:
        mu = term.predict(theta, output)
        numpyro.sample(term.site, site_distribution(term, mu), obs=term.data)


def build_model(
    forward: Callable,
    terms: Sequence,
    prior: ThetaPrior,
    *,
    domain: ThetaDomain | None = None,
    check_domain: bool = True,
) -> ShamModel:
    """Validate the pieces of a fit and return a :class:`ShamModel`.

    Parameters
    ----------
    forward : callable ``theta -> output``
        Pure JAX forward model, e.g. ``stats.make_predictor(catalog, config)``.
    terms : sequence of likelihood terms
        Objects following :class:`~shaminfer.inference.terms.LikelihoodTerm`.
    prior : ThetaPrior
    domain : ThetaDomain, optional
        Domain the prior must lie in (default: SHAMNet's training domain).
    check_domain : bool
        Check the prior's corners against ``domain`` (default True).

    Raises
    ------
    ValueError
        If there are no terms, two terms share a name, the prior leaves the
        domain, or a prediction at the prior's centre is not finite or does
        not have the length of its data vector.
    """
    _check_nuisances(terms, prior)
    prepared = tuple(prepare_term(t) for t in terms)
    if not prepared:
        raise ValueError("terms: expected at least one likelihood term, found none")
    names = [t.name for t in prepared]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise ValueError(f"terms: expected unique term names, found duplicates {dupes}")
    if check_domain:
        check_prior_in_domain(prior, domain=domain)
    theta0 = theta_from_unit(prior, jnp.zeros(prior.ndim))
    output = forward(theta0)
    for term in prepared:
        mu = np.asarray(term.predict(theta0, output))
        if mu.shape != term.data.shape:
            raise ValueError(
                f"term {term.name!r}: prediction has length {mu.size} (shape {mu.shape}) but the data "
                f"vector has length {term.data.size}; check the term's samples and the data file"
            )
        bad = ~np.isfinite(mu)
        if bad.any():
            raise ValueError(
                f"term {term.name!r}: expected a finite prediction at the prior centre, found "
                f"{int(bad.sum())} non-finite of {mu.size}"
            )
        if term.family == "poisson" and np.any(mu <= 0):
            raise ValueError(
                f"term {term.name!r}: a Poisson term needs positive expected counts, found "
                f"{int(np.sum(mu <= 0))} of {mu.size} <= 0 at the prior centre (smallest {mu.min():.3g})"
            )
    return ShamModel(forward, prepared, prior)


def _check_nuisances(terms, prior) -> None:
    for t in terms:
        for b in getattr(t, "blocks", ()) or ():
            missing = [f for f in b.type._fields if f not in prior.names]
            if missing:
                raise ValueError(
                    f"term {getattr(t, 'name', t)!r}: its nuisance parameter(s) {missing} (block {b.name!r}) are "
                    f"not in the prior's parameters {list(prior.names)}; build the prior with "
                    "inference.model_prior(inference.fit_blocks(model, terms))")


class DrawQuantities(NamedTuple):
    """Per-draw quantities derived from ``theta_unit`` (dicts keyed by term name).

    Attributes
    ----------
    theta : (..., d)
        theta of each draw (``prior.names`` order).
    mu : dict of (..., n_k)
        Model means.
    loglik : dict of (..., n_k)
        Pointwise conditional log-likelihoods.
    loglik_joint : dict of (...)
        Joint per-term log-likelihoods.
    """

    theta: jax.Array
    mu: dict
    loglik: dict
    loglik_joint: dict


def draw_quantities(model: ShamModel, u) -> DrawQuantities:
    """Theta, predictions and log-likelihoods for one unit-cube point ``u`` (d,) (pure JAX)."""
    theta = theta_from_unit(model.prior, u)
    output = model.forward(theta)
    mu, ll, llj = {}, {}, {}
    for term in model.terms:
        m = term.predict(theta, output)
        mu[term.name] = m
        ll[term.name] = pointwise_loglik(term, m)
        llj[term.name] = joint_loglik(term, m)
    return DrawQuantities(jnp.stack(list(theta)), mu, ll, llj)
