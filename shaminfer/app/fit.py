"""Run NUTS on a :class:`ShamModel` in chunks, checkpointing after every chunk.

Layout of a run directory::

    checkpoint.npz   raw draws so far + sampler state + metadata (the source of truth)
    posterior.nc     ArviZ InferenceData of all draws so far (attrs: complete, draws_done)
    .lock            while a fit runs: its pid, host and start time

Both files are rewritten atomically after every chunk, so an interrupted run
(Ctrl-C, SIGTERM, SIGKILL, a crash) always leaves a valid partial result.
Calling :func:`run_fit` again on the same directory with the same
configuration resumes from the checkpoint (warmup is not repeated) and,
because every chunk has its own key, produces the same draws as an
uninterrupted run. Raising ``num_samples`` and rerunning extends a finished
run. The resume fingerprint holds content (data, covariances, prior, sampler
settings, configuration) but no absolute path, so a run folder that was moved
or copied elsewhere resumes too. One fit at a time may use a run folder (the
lock); a second one fails at once, naming the first.
"""
from __future__ import annotations

import hashlib
import json
import sys
import time
from pathlib import Path
from typing import Callable, Mapping, NamedTuple

import jax
import numpy as np

from ._run_folder import Terminated, exit_on_sigterm, portable_config, run_folder_lock
from .atomic import atomic_path, atomic_save_npz, json_dumps, load_npz
from ..inference.families import replicate
from ..inference.inference_data import build_inference_data, import_arviz, package_versions
from ..inference.model import ShamModel, draw_quantities
from ..inference.priors import THETA_NAMES
from ..inference.samplers import make_sampler
from ..inference.sampling import STAT_NAMES, SamplerSettings, check_sampler_settings, chunk_key

__all__ = ["CHECKPOINT_NAME", "POSTERIOR_NAME", "FitResult", "run_fit", "load_posterior", "write_netcdf"]

CHECKPOINT_NAME = "checkpoint.npz"
POSTERIOR_NAME = "posterior.nc"
_FORMAT_VERSION = 1
# Settings that may change between the calls that build one run.
_RESUMABLE_FIELDS = ("num_samples", "chunk_size", "progress_bar")


class FitResult(NamedTuple):
    """Outcome of :func:`run_fit`.

    Attributes
    ----------
    idata : arviz.InferenceData
    run_dir : Path
    complete : bool
        False when ``max_chunks`` stopped the run early (rerun to resume).
    seconds : float
        Wall time of this call.
    """

    idata: object
    run_dir: Path
    complete: bool
    seconds: float


def _stderr(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def _fingerprint(model: ShamModel, settings: SamplerSettings, config, run_dir: Path) -> tuple[str, dict]:
    """Hash of everything that must not change while a run is resumed (no absolute path: see portable_config)."""
    digest = hashlib.sha256()
    for term in model.terms:
        digest.update(f"{term.family}:{term.df}".encode())
        for arr in (term.data, term.scale_tril):
            if arr is not None:
                digest.update(np.ascontiguousarray(arr, dtype=np.float64).tobytes())
    for arr in (model.prior.center, model.prior.basis, model.prior.half_width):
        digest.update(np.ascontiguousarray(arr, dtype=np.float64).tobytes())
    if tuple(model.prior.names) != THETA_NAMES:  # SHAM fits keep their fingerprints
        digest.update(",".join(model.prior.names).encode())
    fixed = {k: v for k, v in settings._asdict().items() if k not in _RESUMABLE_FIELDS}
    parts = {"sampler": fixed, "terms": list(model.term_names), "arrays": digest.hexdigest(),
             "config": portable_config(json.loads(json_dumps(config or {})), run_dir)}
    return hashlib.sha256(json_dumps(parts).encode()).hexdigest(), parts


def write_netcdf(idata, path: str | Path) -> Path:
    """Write ``idata`` to a netCDF file atomically."""
    with atomic_path(path, suffix=".nc") as tmp:
        idata.to_netcdf(str(tmp))
    return Path(path)


def load_posterior(run_dir: str | Path):
    """Load ``posterior.nc`` of a run directory (or a path to an ``.nc`` file) into memory."""
    az = import_arviz()
    path = Path(run_dir)
    if path.is_dir():
        path = path / POSTERIOR_NAME
    if not path.exists():
        raise FileNotFoundError(f"{path}: no posterior found (run `shaminfer fit` first)")
    try:
        idata = az.from_netcdf(str(path))
        for group in idata.groups():
            getattr(idata, group).load()
    except (OSError, ValueError, KeyError) as exc:
        raise ValueError(f"{path}: unreadable posterior, expected a netCDF file written by `shaminfer fit` "
                         f"({type(exc).__name__}: {' '.join(str(exc).split())}); rerun the fit, which rewrites it "
                         "from its checkpoint") from None
    return idata


class _Store:
    """Raw draws accumulated across chunks (numpy arrays with a chain axis)."""

    def __init__(self, terms):
        self.terms = list(terms)
        self.unit = None
        self.stats = {}
        self.mu, self.loglik, self.y_rep = {}, {}, {}

    def append(self, unit, stats, mu, loglik, y_rep):
        def cat(old, new):
            return new if old is None else np.concatenate([old, new], axis=1)

        self.unit = cat(self.unit, unit)
        for name in STAT_NAMES:
            self.stats[name] = cat(self.stats.get(name), stats[name])
        for t in self.terms:
            self.mu[t] = cat(self.mu.get(t), mu[t])
            self.loglik[t] = cat(self.loglik.get(t), loglik[t])
            self.y_rep[t] = cat(self.y_rep.get(t), y_rep[t])

    @property
    def n_done(self) -> int:
        return 0 if self.unit is None else int(self.unit.shape[1])

    def to_arrays(self) -> dict:
        if self.unit is None:
            return {}
        out = {"unit": self.unit}
        out.update({f"stat_{k}": v for k, v in self.stats.items()})
        for t in self.terms:
            out[f"mu_{t}"], out[f"ll_{t}"], out[f"yrep_{t}"] = self.mu[t], self.loglik[t], self.y_rep[t]
        return out

    @classmethod
    def from_arrays(cls, terms, arrays) -> "_Store":
        store = cls(terms)
        if "unit" in arrays:
            store.unit = arrays["unit"]
            store.stats = {k: arrays[f"stat_{k}"] for k in STAT_NAMES}
            for t in store.terms:
                store.mu[t], store.loglik[t], store.y_rep[t] = (
                    arrays[f"mu_{t}"], arrays[f"ll_{t}"], arrays[f"yrep_{t}"])
        return store


def run_fit(
    model: ShamModel,
    settings: SamplerSettings,
    run_dir: str | Path,
    *,
    config: Mapping | None = None,
    attrs: Mapping | None = None,
    layouts: Mapping | None = None,
    restart: bool | str = False,
    max_chunks: int | None = None,
    log: Callable[[str], None] | None = None,
) -> FitResult:
    """Sample the posterior of ``model`` with NUTS, resuming from ``run_dir`` when possible.

    Parameters
    ----------
    model : ShamModel
        From :func:`shaminfer.inference.model.build_model`.
    settings : SamplerSettings
        Backend, chains, warmup, draws, chunk size, seed, ...
    run_dir : path
        Directory of the run (created if missing).
    config : mapping, optional
        JSON-serializable description of the fit (data file, terms, forward
        model); stored in the attrs and part of the resume fingerprint, where
        an absolute path enters relative to ``run_dir`` when inside it and by
        its file name otherwise (so a moved run folder resumes).
    attrs : mapping, optional
        Extra top-level attrs for the InferenceData (e.g. ``theta_true``).
    layouts : mapping term -> TermLayout, optional
        Abscissae and labels of each term's data, for the plots.
    restart : bool or "if_changed"
        True: discard an existing checkpoint in ``run_dir`` instead of
        resuming. "if_changed": resume when the checkpoint is of this
        configuration, start over (with a message) when it is not.
    max_chunks : int, optional
        Stop after this many chunks in this call (the run stays resumable).
    log : callable, optional
        Receives progress messages (default: print to stderr).

    Returns
    -------
    FitResult

    Raises
    ------
    ValueError
        If ``run_dir`` holds a checkpoint of a different configuration (and
        ``restart`` is False), an unreadable checkpoint (and ``restart`` is not
        True), or is locked by another running fit, or the settings are invalid.
    SystemExit
        With status 143 (``Terminated``) when the process receives SIGTERM:
        the lock is released and the checkpoint of the last finished chunk
        stays, so rerunning resumes.
    """
    t0 = time.perf_counter()
    log = _stderr if log is None else log
    settings = check_sampler_settings(settings)
    if restart not in (False, True, "if_changed"):
        raise ValueError(f"restart: expected False, True or 'if_changed', found {restart!r}")
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    with exit_on_sigterm(), run_folder_lock(run_dir, log=log):
        try:
            return _run_locked(model, settings, run_dir, config=config, attrs=attrs, layouts=layouts,
                               restart=restart, max_chunks=max_chunks, log=log, t0=t0)
        except Terminated:
            log(f"[{run_dir}] terminated (SIGTERM); the checkpoint holds every finished chunk: rerun to resume")
            raise


def _read_checkpoint(path: Path) -> tuple[dict, dict]:
    """Arrays and metadata of a checkpoint; a ValueError with the ``--restart`` hint when it is unreadable."""
    try:
        arrays = load_npz(path, what="checkpoint", required=("meta_json",))
        meta = json.loads(str(arrays["meta_json"]))
        if not isinstance(meta, dict):
            raise ValueError(f"meta_json: expected a JSON object, found {type(meta).__name__}")
    except ValueError as exc:
        raise _unreadable(path, exc) from None
    return arrays, meta


def _unreadable(path: Path, exc: Exception) -> ValueError:
    detail = " ".join(str(exc).split())
    detail = detail[len(f"{path}: "):] if detail.startswith(f"{path}: ") else f"{type(exc).__name__}: {detail}"
    return ValueError(f"{path}: unreadable checkpoint ({detail}); to start the run over, rerun with --restart "
                      "(restart=True)")


def _run_locked(model, settings, run_dir, *, config, attrs, layouts, restart, max_chunks, log, t0) -> FitResult:
    """The body of :func:`run_fit`, run while holding the lock of ``run_dir``."""
    ckpt_path = run_dir / CHECKPOINT_NAME
    fingerprint, fp_parts = _fingerprint(model, settings, config, run_dir)
    sampler = make_sampler(model, settings, log=log)
    terms = list(model.term_names)
    arrays = meta = None
    if ckpt_path.exists() and restart is not True:
        arrays, meta = _read_checkpoint(ckpt_path)
    if arrays is not None:
        if meta.get("format") != _FORMAT_VERSION or meta.get("fingerprint") != fingerprint:
            old = meta.get("fingerprint_parts", {})
            differ = sorted(k for k in set(old) | set(fp_parts) if old.get(k) != fp_parts.get(k))
            if restart != "if_changed":
                raise ValueError(
                    f"{ckpt_path}: expected a checkpoint of this configuration, found one that differs in "
                    f"{differ or ['format']}; use another run directory or restart=True (--restart)"
                )
            log(f"[{run_dir}] the checkpoint is of another configuration (differs in {differ}); starting over")
            arrays = None
    if arrays is None:
        for name in (CHECKPOINT_NAME, POSTERIOR_NAME):
            (run_dir / name).unlink(missing_ok=True)

    if arrays is not None:
        try:
            state = sampler.state_from_arrays({k[6:]: v for k, v in arrays.items() if k.startswith("state_")})
            store = _Store.from_arrays(terms, arrays)
        except (ValueError, KeyError) as exc:
            raise _unreadable(ckpt_path, exc) from None
        log(f"[{run_dir}] resuming {settings.backend} run at {store.n_done}/{settings.num_samples} draws per chain")
    else:
        meta = {"format": _FORMAT_VERSION, "fingerprint": fingerprint, "fingerprint_parts": fp_parts,
                "chunk_index": 0, "warmup_seconds": 0.0, "sampling_seconds": 0.0}
        store = _Store(terms)
        log(f"[{run_dir}] {settings.backend} warmup: {settings.num_chains} chains x {settings.num_warmup} steps")
        tw = time.perf_counter()
        state = sampler.warmup(chunk_key(settings.seed, 0))
        meta["warmup_seconds"] = time.perf_counter() - tw
        _save_checkpoint(ckpt_path, meta, sampler, state, store)

    derive = jax.jit(lambda u: jax.lax.map(lambda x: draw_quantities(model, x), u))
    chunks_run = 0
    while store.n_done < settings.num_samples and (max_chunks is None or chunks_run < max_chunks):
        n = min(settings.chunk_size, settings.num_samples - store.n_done)
        ts = time.perf_counter()
        index = int(meta["chunk_index"])
        state, draws = sampler.sample(state, chunk_key(settings.seed, 1, index), n)
        chains = draws.unit.shape[0]
        q = derive(draws.unit.reshape(chains * n, -1))
        mu = {t: np.asarray(q.mu[t]).reshape(chains, n, -1) for t in terms}
        ll = {t: np.asarray(q.loglik[t]).reshape(chains, n, -1) for t in terms}
        rng = np.random.default_rng([settings.seed, 2, index])
        y_rep = {}
        for term in model.terms:
            y_rep[term.name] = replicate(term, mu[term.name], rng)
        bad = [t for t in terms if not (np.all(np.isfinite(mu[t])) and np.all(np.isfinite(ll[t])))]
        if bad:
            raise FloatingPointError(
                f"terms {bad}: non-finite predictions or log-likelihoods at accepted draws "
                f"(chunk {index}); the forward model returned NaN/inf inside the prior"
            )
        store.append(draws.unit, draws.stats, mu, ll, y_rep)
        meta["chunk_index"] = index + 1
        meta["sampling_seconds"] = float(meta["sampling_seconds"]) + time.perf_counter() - ts
        _save_checkpoint(ckpt_path, meta, sampler, state, store)
        complete = store.n_done >= settings.num_samples
        idata = _to_idata(model, settings, store, meta, config, attrs, layouts, complete)
        write_netcdf(idata, run_dir / POSTERIOR_NAME)
        chunks_run += 1
        n_div = int(store.stats["diverging"].sum())
        log(f"[{run_dir}] {store.n_done}/{settings.num_samples} draws per chain saved "
            f"({n_div} divergences so far)")

    complete = store.n_done >= settings.num_samples
    if store.n_done == 0:
        idata = None
    else:
        idata = _to_idata(model, settings, store, meta, config, attrs, layouts, complete)
        if not (run_dir / POSTERIOR_NAME).exists() or chunks_run == 0:
            write_netcdf(idata, run_dir / POSTERIOR_NAME)
    return FitResult(idata, run_dir, complete, time.perf_counter() - t0)


def _save_checkpoint(path: Path, meta: dict, sampler, state, store: _Store) -> None:
    arrays = {"meta_json": np.asarray(json_dumps(meta))}
    arrays.update({f"state_{k}": v for k, v in sampler.state_to_arrays(state).items()})
    arrays.update(store.to_arrays())
    atomic_save_npz(path, arrays)


def _to_idata(model: ShamModel, settings: SamplerSettings, store: _Store, meta: dict, config, attrs, layouts,
              complete):
    versions = package_versions()
    top = {
        "backend": settings.backend,
        "sampler_json": json_dumps(settings._asdict()),
        "config_json": json_dumps(config or {}),
        "versions_json": json_dumps(versions),
        "term_names": ",".join(model.term_names),
        "theta_names": ",".join(model.prior.names),
        "complete": int(bool(complete)),
        "draws_done": int(store.n_done),
        "num_chains": int(settings.num_chains),
        "num_warmup": int(settings.num_warmup),
        "warmup_seconds": float(meta["warmup_seconds"]),
        "sampling_seconds": float(meta["sampling_seconds"]),
        "prior_center": np.asarray(model.prior.center),
        "prior_basis": np.asarray(model.prior.basis).ravel(),
        "prior_half_width": np.asarray(model.prior.half_width),
    }
    top.update({f"{k}_version": v for k, v in versions.items()})
    top.update(dict(attrs or {}))
    return build_inference_data(
        prior=model.prior,
        unit=store.unit,
        stats=store.stats,
        mu=store.mu,
        loglik=store.loglik,
        y_rep=store.y_rep,
        observed={t.name: t.data for t in model.terms},
        covariance={t.name: t.cov for t in model.terms if t.cov is not None},
        layouts=layouts,
        attrs=top,
    )
