"""Named parameter blocks and the flat parameter tuple of a composed model.

A galaxy-halo model (:mod:`.compose`) and a likelihood term with a nuisance
parameter (:mod:`shaminfer.inference.model_terms`) each declare their parameters
as a :class:`ParamBlock`: a NamedTuple type, a defaults dict, closed bounds
where the model is defined, and the default prior range (inside the bounds).
This is the ``DEFAULT_X_PDICT -> XParams -> X_BOUNDS`` pattern of
:mod:`shaminfer.ingredients`, with a name.

The parameters of a fit are one flat NamedTuple whose fields are the blocks'
fields in block order (:func:`params_type`): ``theta.logsm_0``,
``theta.fq_cen_hi``, ``theta.m``. Field names are therefore unique across a
fit's blocks, and :func:`check_blocks` refuses a collision by naming both
blocks. For SHAM's four parameters the flat type is
:class:`~shaminfer.ingredients.ShamParams` itself, so every SHAM-only code
path sees exactly what it always has. A component reads its own block with
:meth:`ParamBlock.take` (pure JAX: works under ``jit``, ``grad``, ``vmap``).
"""
from __future__ import annotations

import functools
import math
from types import MappingProxyType
from typing import Mapping, NamedTuple, Sequence

import numpy as np

from ..ingredients import ShamParams
from ..ingredients.validate import is_traced

__all__ = ["ParamBlock", "make_block", "check_blocks", "params_type", "params_type_of_fields", "make_params", "block_of",
           "fit_fields", "check_params_in_blocks"]


class ParamBlock(NamedTuple):
    """A named block of scalar parameters.

    Attributes
    ----------
    name : str
        Block name used in messages and configuration (``[prior.<name>]``).
    type : type
        The block's NamedTuple type (fields in order).
    defaults : mapping field -> float
        A reference point inside the bounds (the mock's ``theta_true`` default).
    bounds : mapping field -> (lo, hi)
        Closed interval where the model is defined; values outside are refused.
    prior : mapping field -> (lo, hi)
        Default uniform prior range, inside ``bounds``.
    doc : str
        One line saying what the block models.
    """

    name: str
    type: type
    defaults: Mapping[str, float]
    bounds: Mapping[str, tuple]
    prior: Mapping[str, tuple]
    doc: str = ""

    @property
    def fields(self) -> tuple:
        return tuple(self.type._fields)

    def take(self, theta):
        """This block's NamedTuple, read by field name from a flat ``theta``."""
        return self.type(*(getattr(theta, f) for f in self.fields))

    def check_value(self, field: str, value, *, what: str = "value") -> float:
        """Return ``value`` as a float after checking it lies inside the field's bounds."""
        lo, hi = self.bounds[field]
        try:
            v = float(value)
        except (TypeError, ValueError):
            raise ValueError(f"block {self.name!r}, field {field!r}: expected a real number, found {value!r}") from None
        if not (math.isfinite(v) and lo <= v <= hi):
            raise ValueError(f"block {self.name!r}, field {field!r}: expected a {what} in [{lo:g}, {hi:g}], "
                             f"found {value!r}")
        return v


def make_block(name: str, type_: type, defaults: Mapping, bounds: Mapping, prior: Mapping, doc: str = "") -> ParamBlock:
    """Build a :class:`ParamBlock` after checking that defaults and prior lie inside the bounds."""
    fields = tuple(type_._fields)
    for what, table in (("defaults", defaults), ("bounds", bounds), ("prior", prior)):
        if set(table) != set(fields):
            raise ValueError(f"block {name!r} {what}: expected the fields {list(fields)}, found {sorted(table)}")
    block = ParamBlock(name, type_, MappingProxyType({f: float(defaults[f]) for f in fields}),
                       MappingProxyType({f: (float(bounds[f][0]), float(bounds[f][1])) for f in fields}),
                       MappingProxyType({f: (float(prior[f][0]), float(prior[f][1])) for f in fields}), doc)
    for f in fields:
        lo, hi = block.bounds[f]
        plo, phi = block.prior[f]
        if not (lo < hi and lo <= plo < phi <= hi):
            raise ValueError(f"block {name!r}, field {f!r}: expected lo < hi and a prior [{plo:g}, {phi:g}] inside "
                             f"the bounds [{lo:g}, {hi:g}]")
        block.check_value(f, block.defaults[f], what="default")
    return block


def check_blocks(blocks: Sequence[ParamBlock]) -> tuple:
    """Return ``blocks`` as a tuple after refusing duplicate block names or field names."""
    blocks = tuple(blocks)
    if not blocks:
        raise ValueError("blocks: expected at least one parameter block, found none")
    seen_blocks, owner = set(), {}
    for b in blocks:
        if not isinstance(b, ParamBlock):
            raise ValueError(f"blocks: expected ParamBlock objects, found {type(b).__name__}")
        if b.name in seen_blocks:
            raise ValueError(f"blocks: expected unique block names, found {b.name!r} twice")
        seen_blocks.add(b.name)
        for f in b.fields:
            if f in owner:
                raise ValueError(f"block {b.name!r}: parameter {f!r} collides with the parameter of the same name "
                                 f"in block {owner[f]!r}; rename one of them")
            owner[f] = b.name
    return blocks


def fit_fields(blocks: Sequence[ParamBlock]) -> tuple:
    """All field names of ``blocks`` in order."""
    return tuple(f for b in blocks for f in b.fields)


@functools.lru_cache(maxsize=None)
def _named_tuple(fields: tuple) -> type:
    if fields == ShamParams._fields:
        return ShamParams
    cls = NamedTuple("ModelParams", [(f, float) for f in fields])
    cls.__doc__ = "Flat parameters of a composed galaxy-halo model: " + ", ".join(fields)
    cls.__module__ = __name__
    return cls


def params_type(blocks: Sequence[ParamBlock]) -> type:
    """The flat NamedTuple type of ``blocks`` (``ShamParams`` for SHAM's block alone).

    Equal field lists give the same type, so ``jit`` caches and comparisons
    see one type per model.
    """
    return _named_tuple(fit_fields(check_blocks(blocks)))


def params_type_of_fields(fields: Sequence[str]) -> type:
    """The flat NamedTuple type with these field names (``ShamParams`` for SHAM's four), e.g. to read a
    stored parameter vector back by name; the same type :func:`params_type` gives for blocks with these fields."""
    fields = tuple(fields)
    bad = [f for f in fields if not (isinstance(f, str) and f.isidentifier() and not f.startswith("_"))]
    if bad or not fields or len(set(fields)) != len(fields):
        raise ValueError(f"parameter names: expected distinct identifiers, found {list(fields)}")
    return _named_tuple(fields)


def block_of(blocks: Sequence[ParamBlock], field: str) -> ParamBlock:
    """The block owning ``field``."""
    for b in blocks:
        if field in b.fields:
            return b
    raise KeyError(field)


def make_params(blocks: Sequence[ParamBlock], values: Mapping | None = None, *, partial: bool = True):
    """A checked flat parameter tuple from ``values`` (a flat dict, or a dict of per-block dicts).

    Parameters
    ----------
    blocks : sequence of ParamBlock
    values : mapping, optional
        ``{field: value}`` or ``{block_name: {field: value}}`` (may be mixed).
        Missing fields take the block defaults when ``partial`` is true.
    partial : bool, keyword-only
        If false, every field must be given.

    Raises
    ------
    ValueError
        Naming the block, field, value and allowed range for an unknown or
        missing field or a value outside the bounds.
    """
    blocks = check_blocks(blocks)
    flat = {}
    names = {b.name: b for b in blocks}
    for key, value in dict(values or {}).items():
        if key in names and isinstance(value, Mapping):
            block = names[key]
            for f, v in value.items():
                if f not in block.fields:
                    raise ValueError(f"block {key!r}: unknown field {f!r}; expected one of {list(block.fields)}")
                flat[f] = v
        else:
            flat[key] = value
    known = fit_fields(blocks)
    unknown = sorted(set(flat) - set(known))
    if unknown:
        where = {b.name: list(b.fields) for b in blocks}
        raise ValueError(f"parameters: unknown field(s) {unknown}; the blocks have {where}")
    out = []
    for b in blocks:
        for f in b.fields:
            if f not in flat:
                if not partial:
                    raise ValueError(f"block {b.name!r}: missing field {f!r} (allowed range {list(b.bounds[f])})")
                flat[f] = b.defaults[f]
            v = flat[f]
            out.append(v if is_traced(v) else b.check_value(f, v))
    return params_type(blocks)(*out)


def check_params_in_blocks(blocks: Sequence[ParamBlock], theta) -> None:
    """Refuse a concrete flat ``theta`` with a value outside its block's bounds (traced values pass)."""
    if is_traced(theta):
        return
    for b in blocks:
        for f in b.fields:
            arr = np.asarray(getattr(theta, f), dtype=np.float64)
            lo, hi = b.bounds[f]
            bad = ~np.isfinite(arr) | (arr < lo) | (arr > hi)
            if bad.any():
                raise ValueError(f"block {b.name!r}, field {f!r}: expected values in [{lo:g}, {hi:g}], found "
                                 f"{np.asarray(getattr(theta, f)).tolist()!r}")
