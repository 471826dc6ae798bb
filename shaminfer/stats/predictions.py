"""What every engine returns (:class:`Predictions`) and which SMHM it evaluates (:func:`resolve_smhm`).

Shared by the exact engine (:mod:`.predict`) and the tabulated one
(:mod:`.tabulated`), so that neither imports the other.
"""
from __future__ import annotations

import functools
from typing import NamedTuple

import jax.numpy as jnp

from ..ingredients.validate import is_traced
from .checks import check_theta
from .weights import galaxy_logsm_pdf_params

__all__ = ["Predictions", "resolve_smhm", "checked_pdf_params"]


class Predictions(NamedTuple):
    """Predicted statistics; a field is empty when the configuration asks for none.

    Attributes
    ----------
    smf : array (nsmf,)
        Stellar mass function [dex^-1 (Mpc/h)^-3] (Eq. 7).
    wp : array (nsample, nrp)
        Projected correlation function [Mpc/h] of each sample (Eqs. 13-17).
    delta_sigma : array (nsample, nR)
        Stacked excess surface density [h Msun / pc^2] of each sample (Eq. 11).
    """

    smf: jnp.ndarray
    wp: jnp.ndarray
    delta_sigma: jnp.ndarray


def resolve_smhm(*, net=None, smhm=None):
    """The SMHM callable ``(theta, logmpeak) -> log10 M*`` and the SHAMNet it uses (or None).

    ``smhm`` wins when given; otherwise SHAMNet's ``predict_logsm`` with ``net``
    (``None``: the shipped weights, loaded once here) and ``monotone=False``: the
    bare network on each point. The statistics do not need an SMHM that rises with
    Mpeak (the bare network dips by < 1e-4 dex on a few theta in ten thousand,
    models/README.md), and the rising table costs 3001 network evaluations per
    theta, ten times the tabulated engine's gradient. Pass
    ``smhm=predict_logsm`` for the rising SMHM.
    """
    if smhm is not None:
        if not callable(smhm):
            raise ValueError(f"smhm: expected a callable (theta, logmpeak) -> log10 M*, found {type(smhm).__name__}")
        return smhm, None
    from ..shamnet import load_shamnet, predict_logsm

    net = load_shamnet() if net is None else net
    return functools.partial(predict_logsm, net=net, monotone=False), net


def checked_pdf_params(theta, logmpeak, *, smhm, net):
    """Median and scatter of log10 M* per subhalo (Eqs. 4-5), checking a concrete theta first.

    Parameters
    ----------
    theta : ShamParams
        Concrete or traced; a concrete theta is checked (:func:`~.checks.check_theta`).
    logmpeak : array (N,)
        log10 Mpeak [Msun/h] of the subhalos (or of the tabulated engine's nodes).
    smhm : callable
        ``(theta, logmpeak) -> log10 M*`` (:func:`resolve_smhm`).
    net : ShamNet or None
        The network whose training domain theta must lie in (None: no domain check).

    Returns
    -------
    mu, sigma : arrays (N,)
        log10 M* [Msun] and its scatter [dex].
    concrete : bool
        Whether theta was concrete (and so checked).
    """
    concrete = not is_traced(theta)
    if concrete:
        check_theta(theta, net)
    mu, sigma = galaxy_logsm_pdf_params(theta, logmpeak, smhm=smhm)
    return mu, sigma, concrete
