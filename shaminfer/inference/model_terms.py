"""Likelihood terms for galaxy-halo models: colour SMFs, and terms that carry a nuisance parameter.

* :class:`SMFColorTerm` compares data with ``output.smf_color[i]``, the SMF of
  one colour in ``StatsConfig.smf_colors`` (a model with quenching).
* :func:`with_shear_bias` returns a copy of a Delta Sigma term (any term)
  whose prediction is multiplied by ``1 + m``: a multiplicative shear
  calibration bias. The term declares the block of ``m`` (attribute
  ``blocks``); :func:`~.model_prior.fit_blocks` adds it to the fit, and a name
  that collides with a model parameter is refused there.
"""
from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import NamedTuple

import jax.numpy as jnp

from ..galaxy_halo.blocks import ParamBlock, make_block
from ..galaxy_halo.blocks import _named_tuple
from .terms import GaussianTerm

__all__ = ["SMFColorTerm", "with_shear_bias", "shear_bias_block"]


class _SmfColor(NamedTuple):
    index: int

    def __call__(self, theta, output):
        return output.smf_color[self.index]


@dataclass(frozen=True, eq=False, init=False, repr=False)
class SMFColorTerm(GaussianTerm):
    """SMF of one colour: predicts ``output.smf_color[color_index]`` (nsmf,).

    Parameters
    ----------
    data : (nsmf,) array
    cov : (nsmf, nsmf) array
    color_index : int
        Index into ``StatsConfig.smf_colors``.
    name : str, default "smf_red"
    """

    color_index: int = 0

    def __init__(self, data, cov, *, color_index: int = 0, name: str = "smf_red"):
        if isinstance(color_index, bool) or not isinstance(color_index, int) or color_index < 0:
            raise ValueError(f"term {name!r}: color_index: expected a non-negative int, found {color_index!r}")
        object.__setattr__(self, "color_index", color_index)
        super().__init__(name, data, cov, _SmfColor(color_index))


def shear_bias_block(param: str = "m", *, prior=(-0.05, 0.05), bounds=(-0.3, 0.3)) -> ParamBlock:
    """The one-parameter block of a multiplicative shear bias named ``param``."""
    if not isinstance(param, str) or not param.isidentifier():
        raise ValueError(f"shear bias: expected an identifier as parameter name, found {param!r}")
    return make_block(f"shear_bias_{param}", _named_tuple((param,)), {param: 0.0}, {param: bounds},
                      {param: prior}, doc="multiplicative shear bias: Delta Sigma -> (1 + m) Delta Sigma")


class _Scaled(NamedTuple):
    fn: object
    param: str

    def __call__(self, theta, output):
        return (1.0 + getattr(theta, self.param)) * jnp.reshape(self.fn(theta, output), (-1,))


def with_shear_bias(term, *, param: str = "m", prior=(-0.05, 0.05), bounds=(-0.3, 0.3)):
    """A copy of ``term`` predicting ``(1 + param) * term.predict``, declaring the block of ``param``.

    Parameters
    ----------
    term : GaussianTerm (or a subclass, e.g. DeltaSigmaTerm; Student-t too)
    param : str, keyword-only
        Name of the bias parameter (unique in the fit; e.g. ``m_hsc`` for a second survey).
    prior, bounds : (lo, hi), keyword-only
        Uniform prior range and allowed range of ``param``.
    """
    if not isinstance(term, GaussianTerm):
        raise ValueError(f"with_shear_bias: expected a GaussianTerm (e.g. DeltaSigmaTerm), found "
                         f"{type(term).__name__}")
    block = shear_bias_block(param, prior=prior, bounds=bounds)
    out = copy.copy(term)
    object.__setattr__(out, "fn", _Scaled(term.fn, param))
    object.__setattr__(out, "blocks", tuple(getattr(term, "blocks", ())) + (block,))
    return out
