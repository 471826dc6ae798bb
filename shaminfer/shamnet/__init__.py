"""SHAMNet (Sec. 3, App. C-D): a network that solves the abundance-matching equation (Eq. 2).

``predict_logsm(theta, logmpeak)`` gives the median log10 M* of subhalos of
mass ``logmpeak`` for theta = (log10 phi*, alpha, sigma_lo, sigma_hi), with
the shipped weights (``models/shamnet_default.npz``, trained by
``shaminfer train-shamnet``; the model card is the JSON beside it).
"""
from .domain import ShamNetDomain, make_domain, sdss_posterior
from .io import default_weights_path, load_kernel, load_shamnet, save_shamnet
from .network import DEFAULT_BASIS_HIDDEN, DEFAULT_HIDDEN, DEFAULT_KNOTS, BasisShamNet, ShamNet, architecture
from .network import init_basis_shamnet as _init_basis_with_domain, init_shamnet as _init_with_domain, net_logsm, shamnet_forward
from .predict import check_theta_in_domain, checked_predict_logsm, default_domain, in_domain, predict_logsm, sample_domain


def init_shamnet(key, domain: ShamNetDomain | None = None, *, hidden=DEFAULT_HIDDEN) -> ShamNet:
    """Random (untrained) network on ``domain`` (default: the shipped network's domain)."""
    return _init_with_domain(key, default_domain() if domain is None else domain, hidden=hidden)


def init_basis_shamnet(key, domain: ShamNetDomain | None = None, *, hidden=DEFAULT_BASIS_HIDDEN, knots=DEFAULT_KNOTS) -> BasisShamNet:
    """Random (untrained) monotone-basis network on ``domain`` (default: the shipped network's domain)."""
    return _init_basis_with_domain(key, default_domain() if domain is None else domain, hidden=hidden, knots=knots)


__all__ = [
    "ShamNet",
    "BasisShamNet",
    "architecture",
    "init_basis_shamnet",
    "ShamNetDomain",
    "DEFAULT_HIDDEN",
    "init_shamnet",
    "net_logsm",
    "shamnet_forward",
    "predict_logsm",
    "checked_predict_logsm",
    "in_domain",
    "check_theta_in_domain",
    "sample_domain",
    "default_domain",
    "load_shamnet",
    "save_shamnet",
    "load_kernel",
    "default_weights_path",
    "make_domain",
    "sdss_posterior",
]
