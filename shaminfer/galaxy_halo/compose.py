"""A galaxy-halo model: components composed into one map from (theta, subhalos) to a population.

::

    model = compose(parametric(), quenching(), disruption(), stellar_mass_offset())
    theta = model.defaults()                      # flat NamedTuple, 24 fields
    sub = bind_catalog(model, catalog)            # per-subhalo arrays; refuses missing properties
    pop = model.population(theta, sub)            # mu, sigma, survive, quenched (pure JAX)

Components apply in the order of :data:`~.components.ROLES` whatever order
they are given in; a model has exactly one ``smhm`` component and at most one
of each other role. ``compose(sham())`` is the paper's SHAM model, whose
theta is :class:`~shaminfer.ingredients.ShamParams`.
"""
from __future__ import annotations

from typing import NamedTuple, Sequence

import jax.numpy as jnp
import numpy as np

from .blocks import check_blocks, check_params_in_blocks, make_params, params_type
from .components import ROLES, Component, Population, Subhalos

__all__ = ["GalaxyModel", "compose", "bind_catalog", "subhalo_arrays", "as_model", "check_model_blocks_with"]


class GalaxyModel(NamedTuple):
    """Components in role order (build with :func:`compose`)."""

    components: tuple

    @property
    def name(self) -> str:
        return " + ".join(c.name for c in self.components)

    @property
    def blocks(self) -> tuple:
        return tuple(b for c in self.components for b in c.blocks)

    @property
    def params_type(self) -> type:
        return params_type(self.blocks)

    @property
    def fields(self) -> tuple:
        return self.params_type._fields

    @property
    def requires(self) -> tuple:
        out = []
        for c in self.components:
            out += [r for r in c.requires if r not in out]
        return tuple(out)

    @property
    def has_quenching(self) -> bool:
        return any(c.role == "quenching" for c in self.components)

    @property
    def has_survival(self) -> bool:
        return any(c.role == "survival" for c in self.components)

    def defaults(self, **values):
        """The flat theta at the blocks' defaults, with ``values`` overriding fields (checked)."""
        return make_params(self.blocks, values)

    def check_theta(self, theta) -> None:
        """Shell check of a concrete theta: its type, every block's bounds, and each component's own check."""
        theta = self.as_theta(theta)
        for f, v in zip(self.fields, theta):
            arr = np.asarray(v, dtype=np.float64)
            if not np.all(np.isfinite(arr)):
                raise ValueError(f"theta.{f}: expected finite values, found {arr.tolist()!r}")
        for c in self.components:  # a component's own check (e.g. SHAMNet's domain) replaces its blocks' bounds
            if c.check is not None:
                c.check(theta)
            else:
                check_params_in_blocks(c.blocks, theta)

    def as_theta(self, theta):
        """``theta`` as this model's flat type.

        A plain tuple or array of the right length is converted; a NamedTuple
        holding every model field and more (a fit's theta with the likelihood
        terms' nuisance parameters) is reduced to the model's fields by name.
        """
        names = getattr(theta, "_fields", None)
        if names == self.fields:
            return theta
        if names is not None and set(self.fields) <= set(names):
            return self.params_type(*(getattr(theta, f) for f in self.fields))
        if getattr(theta, "_fields", None) is None and np.ndim(theta) == 1 and len(theta) == len(self.fields):
            return self.params_type(*theta)
        raise ValueError(f"theta: expected the parameters {list(self.fields)} of the model {self.name!r}, "
                         f"found {getattr(theta, '_fields', type(theta).__name__)}")

    def population(self, theta, subhalos: Subhalos) -> Population:
        """Each subhalo's galaxy: log10 M* kernel, survival and quenched probabilities (pure JAX)."""
        pop = Population()
        for c in self.components:
            pop = c.apply(theta, subhalos, pop)
        return pop


def compose(*components: Component) -> GalaxyModel:
    """Compose components into a :class:`GalaxyModel` (see the module docstring).

    Raises
    ------
    ValueError
        If there is no ``smhm`` component, two components share a role, or two
        blocks share a name or a parameter name.
    """
    comps = []
    for c in components:
        if isinstance(c, GalaxyModel):
            comps += list(c.components)
        elif isinstance(c, Component):
            comps.append(c)
        else:
            raise ValueError(f"compose: expected Component objects, found {type(c).__name__}")
    for c in comps:
        if c.role not in ROLES:
            raise ValueError(f"component {c.name!r}: expected a role in {ROLES}, found {c.role!r}")
    roles = [c.role for c in comps]
    dupes = sorted({r for r in roles if roles.count(r) > 1})
    if dupes:
        raise ValueError(f"compose: expected at most one component per role, found several for {dupes}: "
                         f"{[c.name for c in comps if c.role in dupes]}")
    if "smhm" not in roles:
        raise ValueError("compose: expected one component setting the stellar-mass kernel (sham() or "
                         f"parametric()), found only {[c.name for c in comps]}")
    comps.sort(key=lambda c: ROLES.index(c.role))
    model = GalaxyModel(tuple(comps))
    check_blocks(model.blocks)
    return model


def subhalo_arrays(model: GalaxyModel, catalog) -> dict:
    """The NumPy per-subhalo arrays ``model`` reads from ``catalog`` (errors name what is missing)."""
    logm = np.asarray(catalog.logmpeak, dtype=np.float64)
    host = catalog.host_index
    if "host_index" in model.requires and host is None:
        raise ValueError(f"model {model.name!r} needs the host/satellite structure (host_index, e.g. from the "
                         "hlist column upid), which this catalog lacks")
    if host is None:
        is_central = np.ones_like(logm)
        host_logm = logm.copy()
    else:
        host = np.asarray(host)
        is_central = (host < 0).astype(np.float64)
        host_logm = np.where(host < 0, logm, logm[np.maximum(host, 0)])
    props = {}
    for name in model.requires:
        if name == "host_index":
            continue
        props[name] = np.asarray(catalog.require_property(name, needed_by=f"the model {model.name!r}"),
                                 dtype=np.float64)
    return dict(logmpeak=logm, is_central=is_central, host_logmpeak=host_logm, props=props)


def bind_catalog(model: GalaxyModel, catalog) -> Subhalos:
    """:class:`Subhalos` of ``catalog`` for ``model`` as JAX arrays."""
    a = subhalo_arrays(model, catalog)
    return Subhalos(jnp.asarray(a["logmpeak"]), jnp.asarray(a["is_central"]), jnp.asarray(a["host_logmpeak"]),
                    {k: jnp.asarray(v) for k, v in a["props"].items()})


def as_model(model) -> GalaxyModel:
    """``model`` as a :class:`GalaxyModel` (a single component is composed alone)."""
    if isinstance(model, GalaxyModel):
        return model
    if isinstance(model, Component):
        return compose(model)
    raise ValueError(f"model: expected a GalaxyModel (galaxy_halo.compose(...)) or a component, "
                     f"found {type(model).__name__}")


def check_model_blocks_with(model: GalaxyModel, extra: Sequence) -> tuple:
    """The blocks of ``model`` followed by ``extra`` (e.g. term nuisances), refusing any collision."""
    return check_blocks(model.blocks + tuple(extra))
