"""The prior of a fit with parameter blocks (a galaxy-halo model plus the terms' nuisances).

One uniform prior over every parameter, in the :class:`~.priors.ThetaPrior`
form ``theta = center + basis @ (half_width * u)``, ``u`` in (-1, 1)^d:

* the SHAM block (when the model has one) keeps SHAMNet's training box in its
  eigen-coordinates (:func:`~.priors.domain_prior`), or the axis-aligned box
  the user gives for all four of its fields;
* every other parameter is uniform on ``ranges[field]`` or its block's default
  prior range, which must lie inside the block's bounds.

The basis is block-diagonal, so NUTS samples ``u`` through one bounded
transform and ArviZ shows every parameter by name.
"""
from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np

from ..galaxy_halo.blocks import ParamBlock, check_blocks, fit_fields
from .priors import THETA_NAMES, ThetaPrior, box_prior, domain_prior

__all__ = ["model_prior", "nuisance_blocks", "fit_blocks"]


def nuisance_blocks(terms: Sequence) -> tuple:
    """The parameter blocks declared by likelihood terms (attribute ``blocks``), in term order."""
    out = []
    for t in terms:
        for b in getattr(t, "blocks", ()) or ():
            if not isinstance(b, ParamBlock):
                raise ValueError(f"term {getattr(t, 'name', t)!r}: blocks: expected ParamBlock objects, found "
                                 f"{type(b).__name__}")
            out.append(b)
    return tuple(out)


def fit_blocks(model, terms: Sequence = ()) -> tuple:
    """A model's blocks followed by the terms' nuisance blocks; a nuisance that collides with a model
    parameter is refused, naming both blocks."""
    return check_blocks(tuple(model.blocks) + nuisance_blocks(terms))


def model_prior(blocks: Sequence[ParamBlock], *, ranges: Mapping[str, tuple] | None = None,
                sham_prior: ThetaPrior | None = None, net=None) -> ThetaPrior:
    """Uniform prior over ``blocks`` (module docstring).

    Parameters
    ----------
    blocks : sequence of ParamBlock
        E.g. :func:`fit_blocks` of a model and its terms.
    ranges : mapping field -> (lo, hi), optional, keyword-only
        Prior ranges replacing the blocks' defaults; SHAM's fields all four or none.
    sham_prior : ThetaPrior, optional, keyword-only
        The SHAM block's prior (default :func:`~.priors.domain_prior` of ``net``).
    net : ShamNet, optional, keyword-only

    Raises
    ------
    ValueError
        Naming the block, field, value and allowed range of a range outside the
        bounds, an unknown field, or a range with lo >= hi.
    """
    blocks = check_blocks(blocks)
    names = fit_fields(blocks)
    ranges = dict(ranges or {})
    unknown = sorted(set(ranges) - set(names))
    if unknown:
        raise ValueError(f"prior: unknown parameter(s) {unknown}; the model has {list(names)}")
    d = len(names)
    center, half, basis = np.zeros(d), np.zeros(d), np.eye(d)
    for b in blocks:
        idx = [names.index(f) for f in b.fields]
        if b.fields == THETA_NAMES:
            given = [f for f in b.fields if f in ranges]
            if given and len(given) != 4:
                raise ValueError(f"prior: block {b.name!r}: give a range for all of {list(THETA_NAMES)} or none, "
                                 f"found {given}")
            if given:
                sub = box_prior([ranges[f][0] for f in THETA_NAMES], [ranges[f][1] for f in THETA_NAMES])
            else:
                sub = sham_prior if sham_prior is not None else domain_prior(net=net)
            center[idx] = sub.center
            half[idx] = sub.half_width
            basis[np.ix_(idx, idx)] = sub.basis
            continue
        for f, i in zip(b.fields, idx):
            lo, hi = ranges.get(f, b.prior[f])
            lo = b.check_value(f, lo, what="prior lower edge")
            hi = b.check_value(f, hi, what="prior upper edge")
            if not lo < hi:
                raise ValueError(f"prior: block {b.name!r}, field {f!r}: expected lo < hi, found [{lo:g}, {hi:g}]")
            center[i], half[i] = 0.5 * (lo + hi), 0.5 * (hi - lo)
    return ThetaPrior(center, basis, half, names)
