"""Loader for Rockstar / ConsistentTrees ASCII subhalo catalogs (``hlist_*.list``, ``out_*.list``, ``.gz``).

The first header line names the columns. Three variants load alike:

* **indexed** (ConsistentTrees ``hlist``): ``#scale(0) id(1) desc_scale(2) ... x(17) ... Mpeak(60) ...``;
* **indexed with trailing names**: as above, then names without an index (``... M_pe_Diemer(56) Macc
  Mpeak Vacc``), which take the next indices in order;
* **positional** (Rockstar ``out_*.list``): ``#ID DescID Mvir Vmax ... X Y Z ...``, names in column order.

Columns are found by name (case-insensitive), never by a fixed position. The other ``#`` lines may give
``#a = 1.00000`` and ``#Full box size = 250.000000 Mpc/h`` (or ``#Box size: 250.000000 Mpc/h``). When
the header has no scale factor it is read from the file name (``hlist_0.50000.list``) or from the
``scale`` column of the first row; when it has no box size, pass ``box_size``.

The file (plain or gzip, detected by its first bytes) is streamed in chunks of lines, parsed by
``numpy.loadtxt``, with a progress bar over the bytes on disk; the mass cut is applied per chunk, so only
kept rows are held in memory. Every row is checked before the cut: a line with too few columns (a
truncated last line), a field that is not a number, a non-finite position or a mass that is not positive
and finite is an error naming the file, the line and the column. Nothing is dropped silently: ``meta``
counts the rows read, kept and cut.

Units: positions comoving Mpc/h, masses Msun/h; ``upid = -1`` marks host halos (without an ``upid``
column the catalog has no host structure). Halo ids and ``upid`` are kept as the properties ``id`` and
``upid``, and any further column asked for by name under its name in the file.
"""
from __future__ import annotations

import gzip
import io
import itertools
import os
import re
import sys
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from ._loading import check_rows, hosts_from_upid, require_columns, wrap_edges
from .catalog import SubhaloCatalog

__all__ = ["read_hlist_header", "load_hlist"]

_INDEXED = re.compile(r"^(.+)\((\d+)\)$")
_SCALE = re.compile(r"^#\s*a\s*=\s*([0-9.eE+-]+)")
_BOX = re.compile(r"^#\s*(?:Full box size|Box size)\s*[=:]\s*([0-9.eE+-]+)\s*Mpc/h", re.IGNORECASE)
_SCALE_IN_NAME = re.compile(r"(?:hlist|out|halos|hlists?)_([0-9]*\.[0-9]+)")
_INT_ROLES = ("id", "upid")


def _open_text(path: Path):
    """(text stream, raw byte stream) of a plain or gzip file; the raw stream's position tracks progress."""
    raw = open(path, "rb")
    magic = raw.read(2)
    raw.seek(0)
    if magic == b"\x1f\x8b":
        return io.TextIOWrapper(gzip.GzipFile(fileobj=raw), encoding="utf-8", errors="replace"), raw
    return io.TextIOWrapper(raw, encoding="utf-8", errors="replace"), raw


def _column_line(tokens: list[str]) -> tuple[dict, str] | None:
    """Column indices of a header line, and its variant; None when the line does not name columns."""
    if not tokens:
        return None
    first = _INDEXED.match(tokens[0])
    if first and first.group(2) == "0":
        columns, nxt, trailing = {}, 0, False
        for tok in tokens:
            m = _INDEXED.match(tok)
            if m:
                name, idx = m.group(1), int(m.group(2))
            else:
                name, idx, trailing = tok, nxt, True
            columns.setdefault(name, idx)
            nxt = idx + 1
        return columns, "indexed+trailing" if trailing else "indexed"
    if len(tokens) >= 4 and not any("=" in t or ":" in t for t in tokens):
        return {tok: i for i, tok in reversed(list(enumerate(tokens)))}, "positional"
    return None


def read_hlist_header(path: os.PathLike) -> dict:
    """Parse the header of a Rockstar / ConsistentTrees ASCII catalog (plain or gzip).

    Returns
    -------
    dict
        ``columns`` (name -> column index), ``variant`` ("indexed", "indexed+trailing" or "positional"),
        ``scale`` (float or None), ``box_size`` (float or None, Mpc/h) and ``n_header_lines``.

    Raises
    ------
    ValueError
        For an empty file or one whose first line names no columns.
    """
    path = Path(path)
    if path.is_dir():
        raise ValueError(f"{path}: expected a halo catalog file, found a folder")
    if path.stat().st_size == 0:
        raise ValueError(f"{path}: expected a Rockstar / ConsistentTrees catalog, found an empty file")
    text, raw = _open_text(path)
    columns, variant, scale, box, n = None, None, None, None, 0
    with raw, text:
        try:
            for line in text:
                if not line.startswith("#"):
                    break
                n += 1
                if columns is None:
                    parsed = _column_line(line[1:].split())
                    if parsed is not None:
                        columns, variant = parsed
                        continue
                m = _SCALE.match(line)
                if m:
                    scale = float(m.group(1))
                m = _BOX.match(line)
                if m:
                    box = float(m.group(1))
        except (OSError, EOFError) as exc:  # a damaged gzip stream
            raise ValueError(f"{path}: unreadable catalog ({exc})") from None
    if columns is None:
        raise ValueError(f"{path}: expected a first line naming the columns, like '#scale(0) id(1) ... x(17) ...' "
                         "(ConsistentTrees) or '#ID DescID Mvir ... X Y Z ...' (Rockstar), found none")
    return dict(columns=columns, variant=variant, scale=scale, box_size=box, n_header_lines=n)


def _scale_factor(path: Path, header: dict, first_scale: float | None) -> tuple[float, str]:
    if header["scale"] is not None:
        return header["scale"], "header"
    m = _SCALE_IN_NAME.search(path.name)
    if m:
        return float(m.group(1)), "file name"
    if first_scale is not None:
        return first_scale, "scale column"
    raise ValueError(f"{path}: redshift: expected '#a = ...' in the header, a scale factor in the file name "
                     "(hlist_0.50000.list) or a 'scale' column, found none; pass redshift=")


def _locate_bad_line(path: Path, lines: list[tuple[int, str]], usecols: list[int], names: list[str],
                     integer: list[bool]):
    """Raise the error for the first line of a chunk that numpy could not parse."""
    need = max(usecols) + 1
    for lineno, line in lines:
        tokens = line.split()
        if len(tokens) < need:
            raise ValueError(f"{path}: line {lineno}: expected at least {need} columns, found {len(tokens)} "
                             "(a truncated line?)")
        for col, name, is_int in zip(usecols, names, integer):
            try:
                int(tokens[col]) if is_int else float(tokens[col])
            except ValueError:
                raise ValueError(f"{path}: line {lineno}, column '{name}': expected "
                                 f"{'an integer' if is_int else 'a number'}, found {tokens[col]!r}") from None
    raise ValueError(f"{path}: lines {lines[0][0]}..{lines[-1][0]}: could not be parsed")


def load_hlist(path: os.PathLike, *, logmpeak_min=None, box_size=None, redshift=None, mass_column="Mpeak",
               columns=(), chunk_lines=200_000, missing_host="central", progress=None) -> SubhaloCatalog:
    """Load a Rockstar / ConsistentTrees ASCII catalog (plain or ``.gz``) into a :class:`SubhaloCatalog`.

    Parameters
    ----------
    path : path-like
        The ``hlist_*.list`` / ``out_*.list`` file, optionally gzip-compressed.
    logmpeak_min : float or None, keyword-only
        Keep rows with ``log10 mass >= logmpeak_min`` [Msun/h] (applied while reading; counted in ``meta``).
    box_size : float or None, keyword-only
        Box side [Mpc/h]; default from the ``#Full box size = ...`` comment.
    redshift : float or None, keyword-only
        Default ``1/a - 1`` with ``a`` from the header, the file name or the ``scale`` column.
    mass_column : str, keyword-only
        Name of the mass column used as Mpeak (default ``"Mpeak"``).
    columns : sequence of str, keyword-only
        Further columns to keep as per-subhalo properties (e.g. ``("Vpeak", "Mvir")``).
    chunk_lines : int, keyword-only
        Lines parsed per chunk.
    missing_host : {"central", "raise"}, keyword-only
        What to do with satellites whose host is not loaded (see
        :func:`shaminfer.catalogs._loading.hosts_from_upid`).
    progress : bool or None, keyword-only
        Progress bar over bytes read (None: only on a terminal).

    Returns
    -------
    SubhaloCatalog
        With ``host_index`` from ``upid``/``id`` and the properties ``id``, ``upid`` and ``columns``;
        ``meta`` records the source, header variant, cut and the rows read, kept, cut, edge-wrapped and
        orphaned.

    Raises
    ------
    ValueError
        Naming the file, and the line and column where a row is bad.
    """
    path = Path(path)
    header = read_hlist_header(path)
    found = header["columns"]
    wanted = dict(id="id", x="x", y="y", z="z", mass=mass_column)
    if any(name.lower() == "upid" for name in found):
        wanted["upid"] = "upid"
    if any(name.lower() == "scale" for name in found):
        wanted["scale"] = "scale"
    core = require_columns(found, wanted, source=str(path))
    extra = require_columns(found, {f"col:{c}": c for c in columns}, source=str(path))
    by_name = {name: role for role, name in core.items()}
    cols = {**core, **{role: name for role, name in extra.items() if name not in by_name}}
    alias = {c: by_name.get(extra[f"col:{c}"], f"col:{c}") for c in columns}  # a core column asked for again
    if box_size is None:
        box_size = header["box_size"]
        if box_size is None:
            raise ValueError(f"{path}: box_size: not given and no '#Full box size = ... Mpc/h' comment in the "
                             "header; pass box_size=")
    roles = list(cols)
    usecols = [found[cols[r]] for r in roles]
    order = np.argsort(usecols, kind="stable")  # loadtxt fills the fields in column order
    sorted_cols = [usecols[i] for i in order]
    dtype = np.dtype([(roles[i], "i8" if roles[i] in _INT_ROLES else "f8") for i in order])
    names = [cols[roles[i]] for i in order]

    if progress is None:
        progress = sys.stderr.isatty()
    kept, n_read, n_cut, first_scale = [], 0, 0, None
    lineno = 0
    text, raw = _open_text(path)
    with raw, text, tqdm(total=os.path.getsize(path), unit="B", unit_scale=True, desc=f"reading {path.name}",
                         disable=not progress) as bar:
        while True:
            try:
                chunk = list(itertools.islice(text, int(chunk_lines)))
            except (OSError, EOFError) as exc:
                raise ValueError(f"{path}: unreadable catalog after line {lineno} ({exc})") from None
            if not chunk:
                break
            lines = [(lineno + i + 1, line) for i, line in enumerate(chunk) if line.strip() and line[0] != "#"]
            lineno += len(chunk)
            bar.update(raw.tell() - bar.n)
            if not lines:
                continue
            last = lines[-1]
            try:
                data = np.loadtxt([line for _, line in lines], dtype=dtype, usecols=sorted_cols, ndmin=1)
            except ValueError:
                _locate_bad_line(path, lines, sorted_cols, names, [dtype[i].kind == "i" for i in range(len(names))])
            check_rows(data, roles=roles, names=cols, lines=np.array([n for n, _ in lines]), source=str(path))
            if first_scale is None and "scale" in roles:
                first_scale = float(data["scale"][0])
            n_read += data.size
            if logmpeak_min is not None:
                keep = np.log10(data["mass"]) >= float(logmpeak_min)
                n_cut += int(data.size - keep.sum())
                data = data[keep]
            kept.append(data)
    if n_read == 0:
        raise ValueError(f"{path}: expected halo rows after the header, found none")
    n_columns = max(found.values()) + 1
    if len(last[1].split()) < n_columns:
        raise ValueError(f"{path}: line {last[0]}: expected {n_columns} columns as the header names, found "
                         f"{len(last[1].split())} (a truncated last line?)")
    if redshift is None:
        scale, scale_source = _scale_factor(path, header, first_scale)
        if not 0.0 < scale <= 1.0 + 1e-9:
            raise ValueError(f"{path}: expected a scale factor in (0, 1] ({scale_source}), found {scale!r}")
        redshift = max(1.0 / scale - 1.0, 0.0)
    else:
        scale_source = "argument"
    data = np.concatenate(kept)
    pos, n_wrapped = wrap_edges(np.stack([data["x"], data["y"], data["z"]], axis=1), float(box_size))
    props = {"id": data["id"]}
    host, n_orphan = None, 0
    if "upid" in roles:
        props["upid"] = data["upid"]
        host, n_orphan = hosts_from_upid(data["id"], data["upid"], missing_host=missing_host, source=path.name)
    props.update({extra[f"col:{c}"]: data[alias[c]] for c in columns})
    meta = dict(origin="hlist", source=path.name, header_variant=header["variant"], mass_column=cols["mass"],
                redshift_from=scale_source, n_rows_read=int(n_read), n_rows_kept=int(data.size),
                n_rows_cut=int(n_cut), n_edge_wrapped=n_wrapped, n_orphan_satellites=n_orphan)
    if logmpeak_min is not None:
        meta["logmpeak_min"] = float(logmpeak_min)
    return SubhaloCatalog(pos=pos, logmpeak=np.log10(data["mass"]), box_size=float(box_size),
                          redshift=float(redshift), host_index=host, meta=meta, properties=props)
