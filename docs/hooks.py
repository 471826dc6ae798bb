"""MkDocs hooks of the shaminfer site: the pages that are generated from the code, and the checks that keep the
site complete (each check logs a warning, so ``mkdocs build --strict`` fails on it).

* ``cli.md``: the marker ``<!-- shaminfer-cli-help -->`` becomes the ``--help`` of ``shaminfer`` and of every
  subcommand, rendered from :func:`shaminfer.app.cli.build_parser`, so the page cannot drift from the parser.
* Every public module of the package (no path component starting with ``_``) must be rendered by a
  ``::: module`` block on some page.
* ``figures.md`` must show every ``figures/*.png``.

Listed under ``hooks:`` in ``mkdocs.yml``; excluded from the site by ``exclude_docs``.
"""
from __future__ import annotations

import argparse
import contextlib
import logging
import os
import re
from pathlib import Path

log = logging.getLogger("mkdocs.hooks.shaminfer")

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = "shaminfer"
CLI_MARKER = "<!-- shaminfer-cli-help -->"
HELP_WIDTH = "88"
_IDENTIFIER = re.compile(r"^:::\s*([\w.]+)", re.MULTILINE)

_rendered: set[str] = set()
_figure_refs: set[str] | None = None


def public_modules(root: Path = ROOT, package: str = PACKAGE) -> list[str]:
    """Dotted names of the package's public modules (not packages), found on disk without importing them."""
    names = []
    for path in sorted((root / package).rglob("*.py")):
        parts = path.relative_to(root).with_suffix("").parts
        if parts[-1] == "__init__" or any(p.startswith("_") for p in parts):
            continue
        names.append(".".join(parts))
    return names


@contextlib.contextmanager
def _help_environment():
    """A fixed help width and no colour, whatever the terminal that runs the build."""
    saved = {k: os.environ.get(k) for k in ("COLUMNS", "NO_COLOR")}
    os.environ.update(COLUMNS=HELP_WIDTH, NO_COLOR="1")
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def cli_reference() -> str:
    """Markdown of ``shaminfer --help`` and ``shaminfer COMMAND --help`` for every registered subcommand."""
    from shaminfer.app.cli import build_parser

    with _help_environment():
        parser = build_parser()
        sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
        blocks = [("shaminfer", parser.format_help())]
        blocks += [(f"shaminfer {name}", p.format_help()) for name, p in sub.choices.items()]
    out = []
    for title, text in blocks:
        out += [f"## `{title}`", "", "```text", text.rstrip(), "```", ""]
    return "\n".join(out)


def on_pre_build(config, **kwargs):
    global _figure_refs
    _rendered.clear()
    _figure_refs = None


def on_page_markdown(markdown, page, config, files, **kwargs):
    _rendered.update(_IDENTIFIER.findall(markdown))
    src = page.file.src_uri
    if src == "cli.md":
        if CLI_MARKER not in markdown:
            log.warning("cli.md: the marker %s is missing; the CLI reference was not generated", CLI_MARKER)
            return markdown
        return markdown.replace(CLI_MARKER, cli_reference())
    if src == "figures.md":
        global _figure_refs
        _figure_refs = set(re.findall(r"figures/([\w.-]+\.png)", markdown))
    return markdown


def on_post_build(config, **kwargs):
    missing = [m for m in public_modules() if m not in _rendered]
    if missing:
        log.warning("public modules with no '::: module' block on any page: %s", ", ".join(missing))
    if _figure_refs is not None:
        shown = {p.name for p in (ROOT / "figures").glob("*.png")}
        if shown - _figure_refs:
            log.warning("figures.md does not show: %s", ", ".join(sorted(shown - _figure_refs)))
