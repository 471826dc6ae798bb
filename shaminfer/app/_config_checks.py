"""Checks of a configuration against the file system, run when it is parsed (before any computation).

Private to :mod:`.config`: each check raises :class:`Refused` with a message that starts at the key
(``key 'mock.output': expected ..., found ...``); the parser prefixes the configuration's file name and
raises its ``ConfigError``.
"""
from __future__ import annotations

import contextlib
import os
from pathlib import Path

__all__ = ["Refused", "check_writable", "check_catalog", "catalog_entry_names", "FILE_SOURCES"]

#: Sources read from a user's file (``catalog.path``); the others are generated.
FILE_SOURCES = ("file", "hlist", "halotools")


class Refused(ValueError):
    """A configuration value the file system contradicts (the message starts at the key)."""


def check_writable(path: Path, *, key: str, folder: bool = False) -> None:
    """Refuse an output path that cannot be written, before any computation.

    A file output must not be an existing folder (a folder output not an existing file), and the nearest
    existing folder on its way must be a folder this user may write into (missing folders are created at
    write time).
    """
    path = Path(path)
    if folder and path.exists() and not path.is_dir():
        raise Refused(f"key '{key}': expected a folder for the run, found an existing file {path}")
    if not folder and path.is_dir():
        raise Refused(f"key '{key}': expected a file name to write, found the folder {path}")
    parent = path if folder else path.parent
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent
    if not parent.is_dir():
        raise Refused(f"key '{key}': expected a writable location, found {parent} is not a folder")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise Refused(f"key '{key}': expected a writable location, found {parent} is not writable")


def catalog_entry_names(path: Path) -> list | None:
    """Entry names of a catalog file in our schema (``.npz`` members or HDF5 root keys; read by name only),
    or None when the file cannot be read here (the loader then says why)."""
    import zipfile

    names: list = []
    if path.suffix.lower() == ".npz":
        with contextlib.suppress(OSError, zipfile.BadZipFile):
            with zipfile.ZipFile(path) as zf:
                names = [n.removesuffix(".npy") for n in zf.namelist()]
    else:
        import h5py

        with contextlib.suppress(OSError):
            with h5py.File(path, "r") as f:
                names = list(f.keys())
    return names or None


def _has_lensing_or_particles(path: Path) -> bool:
    """Whether a catalog file in our schema holds lensing profiles or particles (reads its entry names only)."""
    names = catalog_entry_names(path)
    return names is None or "lensing_rbins" in names or "particle_pos" in names  # unreadable: the loader says why


def check_catalog(cat: dict, statistics: list) -> None:
    """Source-specific keys, the catalog file's existence, and statistics the catalog cannot give."""
    source = cat["source"]
    if source in FILE_SOURCES:
        if not cat["path"]:
            raise Refused(f"key 'catalog.path': expected a catalog file for source = \"{source}\", "
                              "found none")
        if not Path(cat["path"]).is_file():
            raise Refused(f"key 'catalog.path': expected an existing catalog file, found "
                              f"{'a folder' if Path(cat['path']).is_dir() else 'no file'} at {cat['path']}")
    else:
        given = [k for k in ("path", "mass_column", "columns", "particles") if cat[k]]
        if given:
            raise Refused(f"key 'catalog.{given[0]}': only used with source = \"hlist\", "
                              f"\"halotools\" or \"file\", found source = \"{source}\"")
    if source not in ("synthetic", "hlist") and cat["box_size"] != "auto":
        raise Refused(f"key 'catalog.box_size': only used with source = \"synthetic\" or \"hlist\" "
                          f"(the {source} catalog knows its box), found {cat['box_size']!r}")
    if cat["particles"] and not Path(cat["particles"]).is_file():
        raise Refused(f"key 'catalog.particles': expected an existing particle file (.h5/.hdf5/.npz), "
                          f"found no file at {cat['particles']}")
    if "delta_sigma" in statistics and source in FILE_SOURCES and not cat["particles"]:
        if source != "file" or not _has_lensing_or_particles(Path(cat["path"])):
            raise Refused(
                f"key 'stats.statistics': delta_sigma needs lensing profiles or dark-matter particles, "
                f"and the {source} catalog {Path(cat['path']).name} has neither; name a particle file with "
                "catalog.particles, or leave delta_sigma out: statistics = [\"smf\", \"wp\"]")
