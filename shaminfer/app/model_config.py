"""The ``[model]`` table of the mock and fit configurations, and the checks that depend on the model.

::

    [model]
    components = ["parametric", "quenching", "stellar_mass_offset"]   # default ["sham"]
    disruption_proxy = "vmax_frac"   # (with "disruption") the catalog property it reads; "" = vmax_frac
    scatter = "knots"                # (with "parametric" or "knots") the scatter at Mpeak knots; default "roll"
    quenching = "knots"              # (with "quenching") the fractions at mass knots; default "sigmoid"

A component name maps to a factory of :mod:`shaminfer.galaxy_halo`
(:data:`MODEL_COMPONENTS`); :func:`galaxy_model` composes them. ``["sham"]``
alone (:func:`is_sham`) is the paper's SHAM model, run exactly as without the
table: the shell passes no model to ``stats.make_predictor`` then, so SHAM
keeps its own path, the tabulated engine included.

Everything else here checks a configuration against the model, before any
computation: ``theta_true`` by parameter name (:func:`theta_from_table`),
the prior's per-field ranges (:func:`prior_ranges`), red / blue statistics
(:func:`check_colors`), the engine (:func:`check_engine`) and the catalog's
per-subhalo properties (:func:`check_catalog_provides` from the
configuration alone, :func:`check_catalog_binds` on a loaded catalog). Each
raises :class:`~._config_checks.Refused` with a message that starts at the
key; :mod:`.config` and :mod:`.pipeline` prefix the file name.
"""
from __future__ import annotations

import difflib
from pathlib import Path
from typing import Mapping, Sequence

from ._config_checks import FILE_SOURCES, Refused, catalog_entry_names

__all__ = [
    "MODEL_COMPONENTS",
    "DEFAULT_MODEL",
    "SYNTHETIC_PROPERTIES",
    "check_model_table",
    "is_sham",
    "galaxy_model",
    "theta_from_table",
    "mock_theta",
    "shear_bias_blocks",
    "prior_ranges",
    "check_prior_table",
    "check_colors",
    "check_engine",
    "check_catalog_provides",
    "check_catalog_binds",
]

#: Component names of ``model.components`` (factories of :mod:`shaminfer.galaxy_halo`).
MODEL_COMPONENTS = ("sham", "parametric", "knots", "quenching", "disruption", "stellar_mass_offset")
#: The stellar-mass kernels among them (a model has exactly one).
KERNELS = ("sham", "parametric", "knots")
#: The model without a ``[model]`` table: SHAM through SHAMNet.
DEFAULT_MODEL = {"components": ["sham"], "disruption_proxy": ""}
#: ``model.scatter``: the scatter of the "parametric" and "knots" kernels, the first the default
#: (``galaxy_halo.SCATTER_KINDS``, kept here so that reading a configuration does not import JAX).
SCATTER_KINDS = ("roll", "knots")
#: ``model.quenching``: the parameterization of the "quenching" component, the first the default
#: (``galaxy_halo.QUENCHING_KINDS``, kept here for the same reason).
QUENCHING_KINDS = ("sigmoid", "knots")
#: Per-subhalo properties of the ``synthetic`` and ``small_test`` catalogs (``catalogs.synthetic``).
SYNTHETIC_PROPERTIES = ("host_logmpeak", "vmax_frac")


def _suggest(name: str, options: Sequence[str]) -> str:
    close = difflib.get_close_matches(name, list(options), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def check_model_table(model: Mapping) -> dict:
    """Normalize a validated ``[model]`` table; refuse unknown or repeated components and impossible models.

    Returns ``{"components": [...], "disruption_proxy": str}``, plus ``"scatter"`` when it is not the default
    ``"roll"`` and ``"quenching"`` when it is not the default ``"sigmoid"`` (so that the stored configurations of
    other models stay as they were). A model must have
    exactly one stellar-mass kernel (``"sham"``, ``"parametric"`` or ``"knots"``) and at
    most one component of each other kind (:func:`shaminfer.galaxy_halo.compose`).
    """
    comps = list(model.get("components") or DEFAULT_MODEL["components"])
    for i, name in enumerate(comps):
        if not isinstance(name, str) or name not in MODEL_COMPONENTS:
            hint = _suggest(name, MODEL_COMPONENTS) if isinstance(name, str) else ""
            raise Refused(f"key 'model.components': unknown component {name!r} at position {i}{hint}; expected "
                          f"names from {list(MODEL_COMPONENTS)}")
    dupes = sorted({c for c in comps if comps.count(c) > 1})
    if dupes:
        raise Refused(f"key 'model.components': expected distinct components, found {dupes} more than once")
    kernels = [c for c in comps if c in KERNELS]
    if len(kernels) != 1:
        raise Refused(f"key 'model.components': expected exactly one stellar-mass kernel, \"sham\", "
                      f"\"parametric\" or \"knots\", found {kernels or 'none'} in {comps}")
    proxy = str(model.get("disruption_proxy") or "")
    if proxy and "disruption" not in comps:
        raise Refused(f"key 'model.disruption_proxy': only used with the \"disruption\" component, found "
                      f"components = {comps}")
    if proxy and not proxy.isidentifier():
        raise Refused(f"key 'model.disruption_proxy': expected a property name, found {proxy!r}")
    scatter = str(model.get("scatter") or SCATTER_KINDS[0])
    if scatter not in SCATTER_KINDS:
        raise Refused(f"key 'model.scatter': expected one of {list(SCATTER_KINDS)}, found {scatter!r}")
    if scatter != SCATTER_KINDS[0] and kernels[0] == "sham":
        raise Refused(f"key 'model.scatter': {scatter!r} applies to the \"parametric\" and \"knots\" kernels; "
                      f"\"sham\" takes its scatter from SHAMNet's theta, found components = {comps}")
    quench = str(model.get("quenching") or QUENCHING_KINDS[0])
    if quench not in QUENCHING_KINDS:
        raise Refused(f"key 'model.quenching': expected one of {list(QUENCHING_KINDS)}, found {quench!r}")
    if quench != QUENCHING_KINDS[0] and "quenching" not in comps:
        raise Refused(f"key 'model.quenching': {quench!r} applies to the \"quenching\" component, found "
                      f"components = {comps}")
    out = {"components": comps, "disruption_proxy": proxy}
    if scatter != SCATTER_KINDS[0]:
        out["scatter"] = scatter
    if quench != QUENCHING_KINDS[0]:
        out["quenching"] = quench
    return out


def is_sham(model: Mapping) -> bool:
    """Whether the ``[model]`` table is SHAM alone (the paper's four parameters)."""
    return list(model.get("components") or DEFAULT_MODEL["components"]) == ["sham"]


def galaxy_model(model: Mapping, *, net=None):
    """The :class:`~shaminfer.galaxy_halo.GalaxyModel` of a ``[model]`` table (SHAM through ``net``).

    ``net=None`` uses the shipped SHAMNet weights; the blocks, fields and
    requirements of the model do not depend on the weights.
    """
    from .. import galaxy_halo as gh

    model = check_model_table(model)
    proxy = model["disruption_proxy"] or None
    scatter = model.get("scatter", SCATTER_KINDS[0])
    factories = {
        "sham": lambda: gh.sham(net=net),
        "parametric": lambda: gh.parametric(scatter=scatter),
        "knots": lambda: gh.knots(scatter=scatter),
        "quenching": lambda: gh.quenching(kind=model.get("quenching", QUENCHING_KINDS[0])),
        "disruption": lambda: gh.disruption(proxy=proxy) if proxy else gh.disruption(),
        "stellar_mass_offset": gh.stellar_mass_offset,
    }
    try:
        return gh.compose(*(factories[c]() for c in model["components"]))
    except ValueError as exc:
        raise Refused(f"key 'model.components': {exc}") from None


def _number(key: str, value) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise Refused(f"key '{key}': expected a number, found {value!r}")
    return float(value)


def _field_block(key: str, field: str, blocks: Sequence):
    for b in blocks:
        if field in b.fields:
            return b
    names = [f for b in blocks for f in b.fields]
    raise Refused(f"key '{key}': unknown parameter {field!r}{_suggest(field, names)}; the parameters by block: "
                  f"{ {b.name: list(b.fields) for b in blocks} }")


def _checked_value(key: str, block, field: str, value) -> float:
    v = _number(key, value)
    lo, hi = block.bounds[field]
    if not lo <= v <= hi:
        raise Refused(f"key '{key}': block {block.name!r}, field {field!r}: expected a value in the block's "
                      f"bounds [{lo:g}, {hi:g}], found {value!r}")
    return v


def theta_from_table(model, values: Mapping, *, key: str = "mock.theta_true"):
    """The model's flat theta from ``{field: value}``: missing fields take their block's default.

    Parameters
    ----------
    model : GalaxyModel
    values : mapping field -> number
    key : str, keyword-only
        The configuration key, for messages.

    Raises
    ------
    Refused
        Naming the key, the block, the field, the value and the allowed range.
    """
    blocks = model.blocks
    checked = {}
    for field, value in values.items():
        block = _field_block(f"{key}.{field}", field, blocks)
        checked[field] = _checked_value(f"{key}.{field}", block, field, value)
    return model.defaults(**checked)


def _sham_box_problem(v) -> str | None:
    """What is wrong with SHAM's four numbers as a table (None: nothing)."""
    from ..ingredients import ShamParams

    ok = set(v) == set(ShamParams._fields) and all(
        isinstance(x, (int, float)) and not isinstance(x, bool) for x in v.values())
    return None if ok else f"a table with the 4 numbers {list(ShamParams._fields)}"


def mock_theta(values: Mapping | None, model: Mapping) -> tuple:
    """``(theta_true, galaxy_model)`` of a mock; ``values`` None when ``mock.theta_true`` is not given.

    SHAM alone: all four numbers are required (``ShamParams``; the galaxy model
    is None, SHAM's own path). Any other model: the fields given by name, the
    rest at their blocks' defaults (:func:`theta_from_table`).
    """
    from ..ingredients import ShamParams

    if is_sham(model):
        if values is None:
            raise Refused("missing required key 'mock.theta_true'")
        msg = _sham_box_problem(values)
        if msg:
            raise Refused(f"key 'mock.theta_true': expected {msg}, found {values!r}")
        return ShamParams(**{k: float(values[k]) for k in ShamParams._fields}), None
    galaxy = galaxy_model(model)
    return theta_from_table(galaxy, values or {}), galaxy


def shear_bias_blocks(shear_bias: bool) -> tuple:
    """The likelihood's nuisance blocks a fit configuration names (``m`` of ``likelihood.shear_bias``)."""
    from ..inference.model_terms import shear_bias_block

    return (shear_bias_block(),) if shear_bias else ()


def prior_ranges(prior: Mapping, blocks: Sequence) -> dict:
    """``{field: (lo, hi)}`` of a ``[prior]`` table with ``kind = "model"`` over the fit's ``blocks``.

    ``prior.lo`` and ``prior.hi`` override single fields' ranges by name; a
    field given on one side keeps its block's default on the other. SHAM's
    four fields are a box given on both sides for all four, or not at all
    (SHAMNet's training box). Every value must lie inside its block's bounds.
    """
    from ..inference.priors import THETA_NAMES

    lo = {f: _checked_value(f"prior.lo.{f}", _field_block(f"prior.lo.{f}", f, blocks), f, v)
          for f, v in (prior.get("lo") or {}).items()}
    hi = {f: _checked_value(f"prior.hi.{f}", _field_block(f"prior.hi.{f}", f, blocks), f, v)
          for f, v in (prior.get("hi") or {}).items()}
    sham = [f for b in blocks if b.fields == THETA_NAMES for f in b.fields]  # SHAM's block, not look-alike names
    for side, given in (("lo", lo), ("hi", hi)):
        have = [f for f in sham if f in given]
        other = lo if side == "hi" else hi
        if have and (len(have) != len(THETA_NAMES) or any(f not in other for f in THETA_NAMES)):
            raise Refused(f"key 'prior.{side}': SHAM's parameters {list(THETA_NAMES)} take a box given in both "
                          f"prior.lo and prior.hi for all four, or none (SHAMNet's training box); found {have} "
                          f"in prior.{side} and {[f for f in sham if f in other]} in "
                          f"prior.{'lo' if side == 'hi' else 'hi'}")
    out = {}
    for b in blocks:
        for f in b.fields:
            if f not in lo and f not in hi:
                continue
            a, z = lo.get(f, b.prior[f][0]), hi.get(f, b.prior[f][1])
            if not a < z:
                raise Refused(f"key 'prior': block {b.name!r}, field {f!r}: expected lo < hi, found [{a:g}, {z:g}] "
                              f"(a side not given takes the block's default prior {list(b.prior[f])})")
            out[f] = (a, z)
    return out


def check_prior_table(prior: Mapping, model: Mapping | None, *, shear_bias: bool = False) -> None:
    """The ``[prior]`` keys for its kind; with a known ``model`` table, the fields of ``lo`` / ``hi`` too.

    ``model`` is None when the fit takes its model from the data file (checked
    again when the fit runs, with :func:`prior_ranges`).
    """
    kind = prior["kind"]
    if kind == "box":
        if not (prior["lo"] and prior["hi"]):
            raise Refused(f"missing required key '{'prior.lo' if not prior['lo'] else 'prior.hi'}' for "
                          "prior.kind = \"box\"")
        for side in ("lo", "hi"):
            msg = _sham_box_problem(prior[side])
            if msg:
                raise Refused(f"key 'prior.{side}': expected {msg}, found {prior[side]!r}")
        if model is not None and "sham" not in model["components"]:
            raise Refused(f"key 'prior.kind': \"box\" is a box on SHAM's four parameters, found a model without "
                          f"them (model.components = {model['components']}); use kind = \"model\" with "
                          "prior.lo / prior.hi by parameter name")
    elif kind == "domain":
        if prior["lo"] or prior["hi"]:
            raise Refused(f"key 'prior.{'lo' if prior['lo'] else 'hi'}': only allowed with prior.kind = \"box\" "
                          "or \"model\", found kind = \"domain\"")
    elif model is not None:
        prior_ranges(prior, galaxy_model(model).blocks + shear_bias_blocks(shear_bias))
    else:
        for side in ("lo", "hi"):
            for f, v in prior[side].items():
                _number(f"prior.{side}.{f}", v)


def check_colors(stats: Mapping, model: Mapping, *, origin: str = "") -> None:
    """Refuse red / blue samples or colour SMFs when the model has no quenching component.

    ``stats`` is a ``[stats]`` table (``samples`` with optional ``color``,
    ``smf_colors``); ``origin`` says where it comes from when it is not the
    configuration being read (a fit's data file).
    """
    comps = list(model.get("components") or DEFAULT_MODEL["components"])
    if "quenching" in comps:
        return
    of = f" of {origin}" if origin else ""
    fix = f"add \"quenching\" to model.components (now {comps})"
    for i, s in enumerate(stats.get("samples") or ()):
        color = s.get("color", "all")
        if color != "all":
            alt = "list the terms without \"wp\" and \"delta_sigma\"" if origin else "use color = \"all\""
            raise Refused(f"key 'stats.samples[{i}].color'{of}: {color!r} needs a model with quenching, found a "
                          f"model without; {fix} or {alt}")
    colored = [c for c in stats.get("smf_colors") or () if c != "all"]
    if colored:
        alt = "list the terms without \"smf_color\"" if origin else "leave them out"
        raise Refused(f"key 'stats.smf_colors'{of}: {colored} need a model with quenching, found a model without; "
                      f"{fix} or {alt}")


def check_engine(engine: str, model: Mapping, stats: Mapping | None = None, *, key: str = "forward.engine") -> None:
    """Refuse an engine that cannot run the model: the tabulated engine tabulates SHAMNet for SHAM alone
    (not composed with other components), and computes SHAM's colour SMFs on the exact engine only."""
    if engine != "tabulated":
        return
    comps = list(model.get("components") or DEFAULT_MODEL["components"])
    if "sham" in comps and comps != ["sham"]:
        raise Refused(f"key '{key}': \"tabulated\" tabulates SHAMNet for SHAM alone, found components = {comps}; "
                      "use engine = \"exact\", or \"parametric\" instead of \"sham\"")
    if comps == ["sham"] and stats is not None and stats.get("smf_colors"):
        raise Refused(f"key '{key}': \"tabulated\" with SHAM computes no colour SMFs, found stats.smf_colors = "
                      f"{list(stats['smf_colors'])}; use engine = \"exact\" or leave smf_colors out")


def _model_needs(model) -> tuple[bool, list]:
    req = list(model.requires)
    return "host_index" in req, [r for r in req if r != "host_index"]


def check_catalog_provides(cat: Mapping, model) -> None:
    """Refuse, from the ``[catalog]`` table alone, a model needing a property the catalog will not have.

    Synthetic catalogs have the host structure and :data:`SYNTHETIC_PROPERTIES`;
    a ``file`` catalog the entries it stores (read by name only); ``hlist``
    and ``halotools`` catalogs their id / upid columns and ``catalog.columns``.
    """
    needs_host, props = _model_needs(model)
    source = cat["source"]
    host = True
    if source in FILE_SOURCES and source != "file":
        have = {"id", "upid"} if source == "hlist" else {"halo_id", "halo_upid"}
        have |= set(cat.get("columns") or ())
        lower = {h.lower() for h in have}
        missing = [p for p in props if p.lower() not in lower]
        where = f"the {source} catalog keeps {sorted(have)}; add the column to catalog.columns"
    elif source == "file":
        names = catalog_entry_names(Path(cat["path"]))
        if names is None:  # unreadable here: the loader says why
            return
        have = {n[len("prop_"):] for n in names if n.startswith("prop_")}
        host = "host_index" in names
        missing = [p for p in props if p not in have]
        where = f"the catalog file {Path(cat['path']).name} has the properties {sorted(have) or 'none'}"
    else:
        have = set(SYNTHETIC_PROPERTIES)
        missing = [p for p in props if p not in have]
        where = f"the {source} catalog has {sorted(have)}"
    if needs_host and not host:
        raise Refused(f"key 'model.components': the model {model.name!r} needs the host/satellite structure "
                      f"(host_index), which the catalog file {Path(cat['path']).name} lacks")
    if missing:
        hint = "; or set model.disruption_proxy to a property it has" if any(
            c.role == "survival" for c in model.components) else ""
        raise Refused(f"key 'model.components': the model {model.name!r} needs the per-subhalo property "
                      f"{missing[0]!r}, which the catalog lacks: {where}{hint}")


def check_catalog_binds(catalog, model) -> None:
    """Refuse a loaded catalog lacking the host structure or a property ``model`` reads (cheap: no statistics)."""
    from ..galaxy_halo import subhalo_arrays

    try:
        subhalo_arrays(model, catalog)
    except ValueError as exc:
        raise Refused(f"key 'model.components': {exc}") from None
