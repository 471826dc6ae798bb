"""Read TOML with :mod:`tomllib` and write the small subset our configs use.

The writer handles what the configuration files contain: tables of strings,
booleans, integers, floats, lists of those, and lists of flat tables (written
inline). Floats are written with ``repr`` so they read back bit for bit.
"""
from __future__ import annotations

import math
import tomllib
from pathlib import Path
from typing import Any, Mapping

__all__ = ["load_toml", "dumps_toml"]


def load_toml(path: str | Path) -> dict:
    """Parse a TOML file; a syntax error becomes ``ValueError`` naming the file."""
    path = Path(path)
    try:
        with open(path, "rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError:
        raise FileNotFoundError(f"{path}: config file not found") from None
    except IsADirectoryError:
        raise ValueError(f"{path}: expected a TOML config file, found a folder") from None
    except tomllib.TOMLDecodeError as exc:
        raise ValueError(f"{path}: invalid TOML: {exc}") from None
    except UnicodeDecodeError as exc:
        raise ValueError(f"{path}: invalid TOML: not UTF-8 text (byte {exc.start}); is it a binary file?") from None


def _key(k: str) -> str:
    return k if k.replace("_", "").replace("-", "").isalnum() else _scalar(k)


def _scalar(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        if not math.isfinite(v):
            raise ValueError(f"TOML: cannot write non-finite float {v!r}")
        return repr(v)
    if isinstance(v, str):
        return '"' + v.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'
    if isinstance(v, Mapping):
        return "{" + ", ".join(f"{_key(k)} = {_scalar(x)}" for k, x in v.items()) + "}"
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(_scalar(x) for x in v) + "]"
    if hasattr(v, "item"):  # numpy scalar
        return _scalar(v.item())
    raise ValueError(f"TOML: cannot write a value of type {type(v).__name__}")


def dumps_toml(data: Mapping[str, Any]) -> str:
    """Serialize ``data``: top-level scalars first, then one ``[table]`` per nested mapping."""
    lines = []
    tables = []
    for k, v in data.items():
        if isinstance(v, Mapping):
            tables.append((k, v))
        else:
            lines.append(f"{_key(k)} = {_scalar(v)}")
    for name, table in tables:
        if lines:
            lines.append("")
        lines.append(f"[{_key(name)}]")
        for k, v in table.items():
            lines.append(f"{_key(k)} = {_scalar(v)}")
    return "\n".join(lines) + "\n"
