"""TOML configuration of ``shaminfer mock`` and ``shaminfer fit``: schema and validation.

Mock configuration (``shaminfer mock CONFIG``)::

    [catalog]            # which subhalo catalog the forward model runs on
    source = "synthetic" # "synthetic" (synthetic_universe), "small_test", "file" (our npz/hdf5 schema),
                         # "hlist" (Rockstar / ConsistentTrees ASCII, .gz too) or "halotools" (its cached HDF5)
    seed = 0             # (synthetic only)
    box_size = "auto"    # Mpc/h: synthetic 175; hlist from its header ("auto") or this number
    redshift = "auto"    # synthetic 0; hlist from its header, file name or scale column
    logmpeak_min = 11.0  # log10 Msun/h: the mass cut (synthetic: its smallest mass)
    profile_logmpeak_min = 11.5  # lensing profiles above this log10 Mpeak
    path = "cat.npz"     # (file, hlist, halotools) the catalog file
    mass_column = ""     # (hlist, halotools) the Mpeak column; "" = "Mpeak" / "halo_mpeak"
    columns = []         # (hlist, halotools) further columns kept as per-subhalo properties
    missing_host = "central"  # satellites whose host is cut: "central" (kept as centrals) or "raise"
    particles = ""       # (file, hlist, halotools) particle file (.h5/.npz, positions in Mpc/h) for Delta Sigma
    particle_mass = 0.0  # Msun/h; 0 = from the particle file

    [stats]              # StatsConfig: bins and samples
    smf_edges = {lo = 9.75, hi = 11.75, n = 9}     # or an explicit list of edges, log10 Msun
    samples = [{kind = "threshold", lo = 10.0}, {kind = "bin", lo = 10.0, hi = 10.5, color = "red"}]
    rp_edges = {lo = 0.5, hi = 20.0, n = 7}        # or a list; log-spaced, Mpc/h
    pi_max = 20.0                                  # Mpc/h
    ds_rebin = 3                                   # merge the catalog's lensing annuli 3 at a time
    statistics = ["smf", "wp", "delta_sigma"]      # what the mock computes (delta_sigma needs lensing)
    smf_colors = []                                # e.g. ["red", "blue"]: colour SMFs too (smf_color)

    [forward]
    engine = "tabulated" # forward-model engine of the fits ("exact", "corrfunc", "tabulated"); mocks use "exact"
    shamnet = ""         # path to SHAMNet weights ("" = the shipped default)

    [model]              # the galaxy-halo model (see model_config.py); no table = SHAM
    components = ["sham"]  # from "sham", "parametric", "knots", "quenching", "disruption", "stellar_mass_offset"
    disruption_proxy = ""  # (with "disruption") the catalog property it reads; "" = "vmax_frac"
    scatter = ""; quenching = ""  # "knots": the scatter / quenched fractions at mass knots ("" = "roll" / "sigmoid")

    [mock]
    theta_true = {logphi_star = -2.301, alpha = -1.07, sigma_lo = 0.35, sigma_hi = 0.22}  # other models: by name
    covariance = "jackknife"  # or the path of an .npz with cov_smf, cov_wp, cov_delta_sigma
    jackknife_n_side = 3      # n_side^3 subvolumes
    noise = false; noise_seed = 0  # add a draw from the covariance
    diag_regularization = 0.0 # C + eps diag(C); only if the jackknife matrix is singular
    output = "mock.npz"

Fit configuration (``shaminfer fit CONFIG``)::

    data = "mock.npz"              # from `shaminfer mock` (or the same layout, see mock.py)
    run_dir = "runs/fit"           # default: next to the config, named after it
    terms = []                     # from "smf", "wp", "delta_sigma", "smf_color"; [] = every statistic in the data
    wp_samples = [0, 1, 2]; delta_sigma_samples = [0, 1, 2]   # default: every sample in the data file

    [forward]                      # optional: overrides the data file's forward model, e.g. engine = "exact"
    [model]                        # optional: keys as the mock's; empty keeps the data's

    [prior]
    kind = "domain"                # SHAM on SHAMNet's box, other blocks on their default priors; "box": SHAM in
                                   # (lo, hi); "model" (default with [model]): ranges replaced by name
    margin = 0.02
    # lo = {logphi_star = ..., ...}, hi = {...} (kind = "box"); lo = {fq_cen_hi = 0.6}, hi = {...} ("model")

    [likelihood]                   # the family of every term (inference.families)
    family = "gaussian"            # or "student_t" (heavy tails; covariance = df / (df - 2) x the matrix)
    df = 5.0                       # Student-t degrees of freedom
    shear_bias = false             # true: Delta Sigma -> (1 + m) Delta Sigma, m a fitted nuisance

    [sampler]                      # sampling.SamplerSettings
    backend = "numpyro"            # or "blackjax"
    num_chains = 4; num_warmup = 500; num_samples = 500; chunk_size = 100; seed = 0    (one key per line)
    target_accept = 0.8; max_tree_depth = 10; progress_bar = true
    dense_mass = true              # dense metric
    init = "laplace"               # or "prior" (see initialization.py)

    [output]
    plots = true                   # corner, trace and data-vs-posterior-predictive PNGs

Relative paths are relative to the configuration file. Statistics the
catalog cannot give (Delta Sigma of a catalog with neither lensing profiles
nor particles), a model needing a catalog property the catalog lacks, red or
blue statistics of a model without quenching, and missing input files are
refused here, before any computation. An unknown key, a value of the wrong
type or out of range, or a missing required key raises :class:`ConfigError`.
"""
from __future__ import annotations

import difflib
from pathlib import Path
from typing import Any, Callable, Mapping, NamedTuple

from ..stats.config import SAMPLE_COLORS
from ..stats.predict import ENGINES
from ..inference.sampling import BACKENDS, DEFAULT_SAMPLER_PDICT, SamplerSettings
from ._config_checks import FILE_SOURCES, Refused, check_catalog, check_writable
from . import model_config as mc
from .toml_io import load_toml

__all__ = ["ConfigError", "MockConfig", "FitConfig", "TERM_KINDS", "STATISTICS", "parse_mock_config",
           "parse_fit_config", "load_mock_config", "load_fit_config", "edges_from_spec"]

#: What a mock computes (``stats.statistics``); the colour SMFs follow ``stats.smf_colors``.
STATISTICS = ("smf", "wp", "delta_sigma")
#: Likelihood terms of a fit: the statistics, and ``smf_color`` (one term ``smf_<colour>`` per colour).
TERM_KINDS = STATISTICS + ("smf_color",)
CATALOG_SOURCES = ("synthetic", "small_test") + FILE_SOURCES

_REQUIRED = object()
#: theta_true's default: required for SHAM, the blocks' defaults for any other model.
_BY_MODEL = object()


class ConfigError(ValueError):
    """A configuration problem; the message names the file and the key."""


class _Field(NamedTuple):
    types: tuple
    default: Any = _REQUIRED
    check: Callable[[Any], str | None] | None = None


def _type_name(types: tuple) -> str:
    names = {bool: "true/false", int: "an integer", float: "a number", str: "a string", list: "a list",
             dict: "a table"}
    return " or ".join(names.get(t, t.__name__) for t in types)


def _is_type(value, types: tuple) -> bool:
    if isinstance(value, bool):
        return bool in types
    if isinstance(value, int) and float in types:
        return True
    return isinstance(value, tuple(t for t in types if t is not bool))


def _validate(raw: Mapping, schema: Mapping[str, Any], *, where: str, prefix: str = "") -> dict:
    if not isinstance(raw, Mapping):
        raise ConfigError(f"{where}: key '{prefix.rstrip('.')}': expected a table, found {raw!r}")
    out = {}
    for key in raw:
        if key not in schema:
            close = difflib.get_close_matches(key, list(schema), n=1)
            hint = f" (did you mean '{prefix}{close[0]}'?)" if close else ""
            raise ConfigError(
                f"{where}: unknown key '{prefix}{key}'{hint}; allowed keys here: {sorted(schema)}"
            )
    for key, spec in schema.items():
        path = f"{prefix}{key}"
        if isinstance(spec, Mapping):
            out[key] = _validate(raw.get(key, {}), spec, where=where, prefix=f"{path}.")
            continue
        if key not in raw:
            if spec.default is _REQUIRED:
                raise ConfigError(f"{where}: missing required key '{path}'")
            out[key] = spec.default
            continue
        value = raw[key]
        if not _is_type(value, spec.types):
            raise ConfigError(f"{where}: key '{path}': expected {_type_name(spec.types)}, found {value!r}")
        if isinstance(value, int) and not isinstance(value, bool) and float in spec.types and int not in spec.types:
            value = float(value)
        if spec.check is not None:
            msg = spec.check(value)
            if msg:
                raise ConfigError(f"{where}: key '{path}': expected {msg}, found {value!r}")
        out[key] = value
    return out


def _min(lo):
    return lambda v: None if v >= lo else f"a value >= {lo}"


def _positive(v):
    return None if v > 0 else "a positive value"


def _one_of(options):
    return lambda v: None if v in options else f"one of {list(options)}"


def _check_edges(v) -> str | None:
    if isinstance(v, list):
        ok = len(v) >= 2 and all(_is_type(x, (float,)) for x in v) and all(a < b for a, b in zip(v, v[1:]))
        return None if ok else "a list of at least 2 increasing numbers"
    ok = set(v) == {"lo", "hi", "n"} and _is_type(v["lo"], (float,)) and _is_type(v["hi"], (float,)) \
        and v["lo"] < v["hi"] and isinstance(v["n"], int) and not isinstance(v["n"], bool) and v["n"] >= 1
    return None if ok else "{lo = <number>, hi = <number> > lo, n = <bins >= 1>} or a list of edges"


def _check_rp_edges(v) -> str | None:
    msg = _check_edges(v)
    if msg:
        return msg
    lo = v[0] if isinstance(v, list) else v["lo"]
    return None if lo > 0 else "positive projected separations (the bins are log-spaced), lo > 0"


def _auto_or(check):
    return lambda v: None if v == "auto" else (check(v) if not isinstance(v, str) else '"auto" or a number')


def _check_names(v) -> str | None:
    ok = all(isinstance(x, str) and x for x in v) and len(set(v)) == len(v)
    return None if ok else "a list of distinct column names"


def _check_samples(v) -> str | None:
    msg = ('a non-empty list of tables {kind = "threshold", lo = <log10 M*>} or '
           '{kind = "bin", lo = <log10 M*>, hi = <log10 M*> > lo}, each with an optional '
           f'color from {list(SAMPLE_COLORS)}')
    if not v:
        return msg
    for s in v:
        if not isinstance(s, Mapping) or s.get("kind") not in ("threshold", "bin"):
            return msg
        keys = {"kind", "lo"} if s["kind"] == "threshold" else {"kind", "lo", "hi"}
        if set(s) - {"color"} != keys or not all(_is_type(s[k], (float,)) for k in keys - {"kind"}):
            return msg
        if s.get("color", "all") not in SAMPLE_COLORS:
            return msg
        if s["kind"] == "bin" and not s["lo"] < s["hi"]:
            return msg
    return None


def _check_int_list(v) -> str | None:
    ok = all(isinstance(x, int) and not isinstance(x, bool) and x >= 0 for x in v) and len(set(v)) == len(v) and v
    return None if ok else "a non-empty list of distinct sample indices >= 0"


def _check_names_from(options):
    def check(v) -> str | None:
        ok = v and all(t in options for t in v) and len(set(v)) == len(v)
        return None if ok else f"a non-empty list of distinct names from {list(options)}"
    return check


_check_terms = _check_names_from(TERM_KINDS)


def _check_components(v) -> str | None:  # the names themselves: model_config (with the closest name)
    return None if all(isinstance(x, str) for x in v) else f"a list of names from {list(mc.MODEL_COMPONENTS)}"


_FORWARD_SCHEMA = {
    "engine": _Field((str,), "tabulated", _one_of(ENGINES)),
    "shamnet": _Field((str,), ""),
}

def _model_schema(components: list) -> dict:
    return {"components": _Field((list,), components, _check_components), "disruption_proxy": _Field((str,), ""),
            "scatter": _Field((str,), "", lambda v: None if not v else _one_of(mc.SCATTER_KINDS)(v)),
            "quenching": _Field((str,), "", lambda v: None if not v else _one_of(mc.QUENCHING_KINDS)(v))}


_MOCK_SCHEMA = {
    "catalog": {
        "source": _Field((str,), "synthetic", _one_of(CATALOG_SOURCES)),
        "seed": _Field((int,), 0, _min(0)),
        "box_size": _Field((float, str), "auto", _auto_or(_positive)),
        "redshift": _Field((float, str), "auto", _auto_or(_min(0.0))),
        "logmpeak_min": _Field((float,), 11.0),
        "profile_logmpeak_min": _Field((float,), 11.5),
        "path": _Field((str,), ""),
        "mass_column": _Field((str,), ""),
        "columns": _Field((list,), [], _check_names),
        "missing_host": _Field((str,), "central", _one_of(("central", "raise"))),
        "particles": _Field((str,), ""),
        "particle_mass": _Field((float,), 0.0, _min(0.0)),
    },
    "stats": {
        "smf_edges": _Field((list, dict), {"lo": 9.75, "hi": 11.75, "n": 8}, _check_edges),
        "samples": _Field((list,), [{"kind": "threshold", "lo": 10.0}, {"kind": "threshold", "lo": 10.5},
                                    {"kind": "threshold", "lo": 11.0}], _check_samples),
        "rp_edges": _Field((list, dict), {"lo": 0.5, "hi": 20.0, "n": 7}, _check_rp_edges),
        "pi_max": _Field((float,), 20.0, _positive),
        "ds_rebin": _Field((int,), 3, _min(1)),
        "statistics": _Field((list,), list(STATISTICS), _check_names_from(STATISTICS)),
        "smf_colors": _Field((list,), [], lambda v: None if not v else _check_names_from(SAMPLE_COLORS)(v)),
    },
    "forward": _FORWARD_SCHEMA,
    "model": _model_schema(list(mc.DEFAULT_MODEL["components"])),
    "mock": {
        "theta_true": _Field((dict,), _BY_MODEL),
        "covariance": _Field((str,), "jackknife"),
        "jackknife_n_side": _Field((int,), 3, _min(2)),
        "noise": _Field((bool,), False),
        "noise_seed": _Field((int,), 0, _min(0)),
        "diag_regularization": _Field((float,), 0.0, _min(0.0)),
        "output": _Field((str,), "mock.npz"),
    },
}

#: ``prior.kind``: SHAMNet's box for SHAM and block defaults ("domain"), SHAM's box ("box"), per-field ranges.
PRIOR_KINDS = ("domain", "box", "model")

_SAMPLER_CHECKS = {
    "backend": _one_of(BACKENDS), "num_chains": _min(1), "num_warmup": _min(1), "num_samples": _min(1),
    "chunk_size": _min(1), "seed": _min(0), "max_tree_depth": _min(1),
    "target_accept": lambda v: None if 0 < v < 1 else "a number in (0, 1)",
    "init": _one_of(("laplace", "prior")),
}

_FIT_SCHEMA = {
    "data": _Field((str,)),
    "run_dir": _Field((str,), ""),
    "terms": _Field((list,), [], lambda v: None if not v else _check_terms(v)),
    "wp_samples": _Field((list,), [], lambda v: None if not v else _check_int_list(v)),
    "delta_sigma_samples": _Field((list,), [], lambda v: None if not v else _check_int_list(v)),
    "forward": {"engine": _Field((str,), "", lambda v: None if not v else _one_of(ENGINES)(v)),
                "shamnet": _Field((str,), "")},
    "model": _model_schema([]),
    "prior": {
        "kind": _Field((str,), "domain", _one_of(PRIOR_KINDS)),
        "margin": _Field((float,), 0.02, lambda v: None if 0 < v < 0.5 else "a fraction in (0, 0.5)"),
        "lo": _Field((dict,), {}),
        "hi": _Field((dict,), {}),
    },
    "likelihood": {
        "family": _Field((str,), "gaussian", _one_of(("gaussian", "student_t"))),
        "df": _Field((float,), 5.0, lambda v: None if 0 < v < float("inf") else "a positive finite number"),
        "shear_bias": _Field((bool,), False),
    },
    "sampler": {
        k: _Field((type(v) if not isinstance(v, float) else float,), v, _SAMPLER_CHECKS.get(k))
        for k, v in DEFAULT_SAMPLER_PDICT.items()
    },
    "output": {"plots": _Field((bool,), True)},
}


def edges_from_spec(spec, *, log: bool) -> tuple:
    """Bin edges from a list or ``{lo, hi, n}`` (linear, or log-spaced when ``log``)."""
    import numpy as np

    if isinstance(spec, Mapping):
        n = int(spec["n"]) + 1
        lo, hi = float(spec["lo"]), float(spec["hi"])
        arr = np.geomspace(lo, hi, n) if log else np.linspace(lo, hi, n)
        return tuple(float(x) for x in arr)
    return tuple(float(x) for x in spec)


class MockConfig(NamedTuple):
    """Validated mock configuration (see the module docstring); paths are absolute.

    ``theta_true`` is ``ShamParams`` for SHAM, the model's flat NamedTuple
    otherwise; ``model`` the normalized ``[model]`` table.
    """

    catalog: dict
    stats: dict
    forward: dict
    theta_true: tuple
    covariance: str
    jackknife_n_side: int
    noise: bool
    noise_seed: int
    diag_regularization: float
    output: Path
    source: str
    model: dict

    def to_dict(self) -> dict:
        """JSON/TOML-ready form (what is stored in the mock file); ``model`` only when it is not SHAM's."""
        out = {"catalog": dict(self.catalog), "stats": dict(self.stats), "forward": dict(self.forward),
               "mock": {"theta_true": dict(self.theta_true._asdict()), "covariance": self.covariance,
                        "jackknife_n_side": self.jackknife_n_side, "noise": self.noise,
                        "noise_seed": self.noise_seed,
                        "diag_regularization": self.diag_regularization, "output": str(self.output)}}
        if dict(self.model) != mc.DEFAULT_MODEL:
            out["model"] = dict(self.model)
        return out


class FitConfig(NamedTuple):
    """Validated fit configuration (see the module docstring); paths are absolute.

    ``model`` holds the ``[model]`` keys given (empty values: the data file's);
    ``shear_bias`` is ``likelihood.shear_bias``.
    """

    data: Path
    run_dir: Path
    terms: tuple
    wp_samples: tuple
    delta_sigma_samples: tuple
    forward: dict
    prior: dict
    sampler: SamplerSettings
    plots: bool
    source: str
    likelihood: dict
    model: dict
    shear_bias: bool

    def to_dict(self) -> dict:
        """JSON-ready form. ``model`` and ``likelihood.shear_bias`` appear only when set, so a SHAM fit's
        stored configuration -- part of its resume fingerprint -- is what it was before they existed."""
        likelihood = dict(self.likelihood, **({"shear_bias": True} if self.shear_bias else {}))
        out = {"data": str(self.data), "run_dir": str(self.run_dir), "terms": list(self.terms),
               "wp_samples": list(self.wp_samples), "delta_sigma_samples": list(self.delta_sigma_samples),
               "forward": dict(self.forward), "prior": dict(self.prior), "likelihood": likelihood,
               "sampler": self.sampler._asdict(), "output": {"plots": self.plots}}
        if any(self.model.values()):
            out["model"] = dict(self.model)
        return out


def _resolve(base: Path, value: str) -> Path:
    p = Path(value).expanduser()
    return p if p.is_absolute() else (base / p).resolve()


def _checked(check, *args, where: str, **kwargs):
    try:
        return check(*args, **kwargs)
    except Refused as exc:
        raise ConfigError(f"{where}: {exc}") from None


def parse_mock_config(raw: Mapping, *, base_dir: str | Path = ".", where: str = "mock config") -> MockConfig:
    """Validate a parsed mock TOML document; raise :class:`ConfigError` naming the bad key."""
    cfg = _validate(raw, _MOCK_SCHEMA, where=where)
    base = Path(base_dir)
    cat = cfg["catalog"]
    for key in ("path", "particles"):
        if cat[key]:
            cat[key] = str(_resolve(base, cat[key]))
    _checked(check_catalog, cat, cfg["stats"]["statistics"], where=where)
    if cfg["forward"]["shamnet"]:
        cfg["forward"]["shamnet"] = str(_resolve(base, cfg["forward"]["shamnet"]))
    model = _checked(mc.check_model_table, cfg["model"], where=where)
    _checked(mc.check_colors, cfg["stats"], model, where=where)
    _checked(mc.check_engine, cfg["forward"]["engine"], model, cfg["stats"], where=where)
    m = cfg["mock"]
    theta_raw = None if m["theta_true"] is _BY_MODEL else m["theta_true"]
    theta, galaxy = _checked(mc.mock_theta, theta_raw, model, where=where)
    if galaxy is not None:
        _checked(mc.check_catalog_provides, cat, galaxy, where=where)
    cov = m["covariance"]
    if cov != "jackknife":
        cov = str(_resolve(base, cov))
    output = _resolve(base, m["output"])
    _checked(check_writable, output, key="mock.output", where=where)
    return MockConfig(cat, cfg["stats"], cfg["forward"], theta, cov, m["jackknife_n_side"], m["noise"],
                      m["noise_seed"], m["diag_regularization"], output, where, model)


def parse_fit_config(raw: Mapping, *, base_dir: str | Path = ".", where: str = "fit config",
                     default_run_dir: str = "run") -> FitConfig:
    """Validate a parsed fit TOML document; raise :class:`ConfigError` naming the bad key."""
    cfg = _validate(raw, _FIT_SCHEMA, where=where)
    base = Path(base_dir)
    model_keys = cfg["model"]
    model = _checked(mc.check_model_table, model_keys, where=where) if model_keys["components"] else None
    if model is not None:
        model_keys = model
    prior = cfg["prior"]
    if model is not None and not mc.is_sham(model) and "kind" not in raw.get("prior", {}):
        prior["kind"] = "model"
    likelihood = dict(cfg["likelihood"])
    shear_bias = likelihood.pop("shear_bias")
    if shear_bias and cfg["terms"] and "delta_sigma" not in cfg["terms"]:
        raise ConfigError(f"{where}: key 'likelihood.shear_bias': scales the delta_sigma term, found terms = "
                          f"{cfg['terms']}")
    _checked(mc.check_prior_table, prior, model, shear_bias=shear_bias, where=where)
    forward = {k: v for k, v in cfg["forward"].items() if v}
    if model is not None and "engine" in forward:
        _checked(mc.check_engine, forward["engine"], model, where=where)
    if "shamnet" in forward:
        forward["shamnet"] = str(_resolve(base, forward["shamnet"]))
    sampler = SamplerSettings(**cfg["sampler"])
    run_dir = _resolve(base, cfg["run_dir"] or default_run_dir)
    _checked(check_writable, run_dir, key="run_dir", folder=True, where=where)
    return FitConfig(_resolve(base, cfg["data"]), run_dir, tuple(cfg["terms"]), tuple(cfg["wp_samples"]),
                     tuple(cfg["delta_sigma_samples"]), forward, prior, sampler, cfg["output"]["plots"], where,
                     likelihood, model_keys, shear_bias)


def load_mock_config(path: str | Path) -> MockConfig:
    """Read and validate a mock TOML file."""
    path = Path(path)
    return parse_mock_config(load_toml(path), base_dir=path.resolve().parent, where=str(path))


def load_fit_config(path: str | Path) -> FitConfig:
    """Read and validate a fit TOML file (``run_dir`` defaults to ``runs/<config stem>`` beside it)."""
    path = Path(path)
    return parse_fit_config(load_toml(path), base_dir=path.resolve().parent, where=str(path),
                            default_run_dir=f"runs/{path.stem}")
