"""Prediction entry points: pure ``predict_logsm`` and the checked shell functions."""
from __future__ import annotations

import numpy as np

from ..ingredients.theta import ShamParams
from ..ingredients.validate import check_finite_array, is_traced
from . import domain as _domain
from .io import load_shamnet
from .monotone import monotone_logsm
from .network import ShamNet, net_logsm

__all__ = ["predict_logsm", "checked_predict_logsm", "in_domain", "check_theta_in_domain", "sample_domain", "default_domain"]


def _net(net):
    return load_shamnet() if net is None else net


def default_domain():
    """Training domain of the shipped default network."""
    return load_shamnet().domain


def predict_logsm(theta: ShamParams, logmpeak, *, net: ShamNet | None = None, monotone: bool = True):
    """Median log10 M* [Msun] at ``logmpeak`` [log10 Msun/h] for ``theta`` (Eq. 5).

    ``monotone=True`` (default): SHAMNet's prediction made to rise strictly with
    Mpeak by construction (:mod:`shaminfer.shamnet.monotone`; 3001 network
    evaluations per theta, 1.4e-5 dex rms from the network). ``monotone=False``:
    the bare network on each point (``net_logsm``), which the statistics' forward
    models use because they do not need a rising SMHM and evaluate it on a few
    hundred nodes, where the table would cost ten times more per gradient.
    Pure JAX: jits, vmaps over halos (or broadcasts), and differentiates in
    ``theta`` and ``logmpeak``. ``net=None`` uses the shipped weights. Use
    :func:`checked_predict_logsm` at the shell to refuse inputs outside the
    training domain.
    """
    net = _net(net)
    return monotone_logsm(net, theta, logmpeak) if monotone else net_logsm(net, theta, logmpeak)


def checked_predict_logsm(theta: ShamParams, logmpeak, *, net: ShamNet | None = None, monotone: bool = True):
    """:func:`predict_logsm` after checking ``theta`` and ``logmpeak`` against the training domain."""
    net = _net(net)
    if not is_traced(theta):
        _domain.check_theta_in_domain(net.domain, theta)
    arr = check_finite_array("logmpeak", logmpeak)
    if not is_traced(arr):
        lo, hi = (float(x) for x in np.asarray(net.domain.logmpeak_range))
        bad = (arr < lo) | (arr > hi)
        if bad.any():
            raise ValueError(
                f"logmpeak: expected values in SHAMNet's training range [{lo}, {hi}], "
                f"found {int(bad.sum())} outside (min {arr.min():.3f}, max {arr.max():.3f}); apply a mass cut"
            )
    return predict_logsm(theta, logmpeak, net=net, monotone=monotone)


def in_domain(theta: ShamParams, *, net: ShamNet | None = None):
    """Traceable bool: ``theta`` inside the network's training domain."""
    return _domain.in_domain(_net(net).domain, theta)


def check_theta_in_domain(theta: ShamParams, *, net: ShamNet | None = None) -> None:
    """Raise ``ValueError`` (naming the field and the range) when ``theta`` leaves the domain."""
    _domain.check_theta_in_domain(_net(net).domain, theta)


def sample_domain(seed: int, n: int, *, net: ShamNet | None = None) -> ShamParams:
    """``n`` theta from a Latin hypercube over the training domain."""
    return _domain.sample_domain(_net(net).domain, seed, n)
