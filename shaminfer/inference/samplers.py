"""The NUTS backends by name: :func:`make_sampler` returns a :class:`~.sampling.ChunkedSampler`.

Kept apart from :mod:`.sampling` (settings and the protocol), which both
backends import, so that no module imports one that imports it back. The
backends are imported on first use: importing blackjax or numpyro's
inference utilities starts JAX's CPU client, after which
:func:`shaminfer.configure_jax` could no longer take effect.
"""
from __future__ import annotations

from .sampling import ChunkedSampler, SamplerSettings, check_sampler_settings

__all__ = ["make_sampler"]


def make_sampler(model, settings: SamplerSettings, *, log=None) -> ChunkedSampler:
    """The backend named by ``settings.backend`` for ``model``.

    Parameters
    ----------
    model : ShamModel
        From :func:`~shaminfer.inference.model.build_model`.
    settings : SamplerSettings
        Checked here (:func:`~.sampling.check_sampler_settings`).
    log : callable, optional
        Receives progress messages.

    Returns
    -------
    ChunkedSampler
        :class:`~.nuts_numpyro.NumpyroNUTS` or :class:`~.nuts_blackjax.BlackjaxNUTS`.
    """
    check_sampler_settings(settings)
    if settings.backend == "numpyro":
        from .nuts_numpyro import NumpyroNUTS

        return NumpyroNUTS(model, settings, log=log)
    from .nuts_blackjax import BlackjaxNUTS

    return BlackjaxNUTS(model, settings, log=log)
