"""The griffe extension of the API reference: reST roles become links, undocumented NamedTuple fields go.

The package's docstrings use reST roles; the site is Markdown. ``:func:`make_predictor``` (any of ``func``,
``class``, ``mod``, ``meth``, ``attr``, ``data``, ``obj``, ``exc``, ``const``) becomes the code span
``make_predictor`` wrapped in an *optional* autorefs link: a link when the name resolves (in the scope of the
docstring's object, like Python names; ``~`` shows the last component only; a leading ``.`` is relative to
the enclosing package) to an object rendered somewhere on the site, plain code otherwise (standard-library
and third-party names, private helpers). A reference into the package itself (``shaminfer.x.y`` or a
relative ``.x``) whose target does not exist is a stale name: it logs a warning, so
``mkdocs build --strict`` fails. A paragraph ending in reST's literal-block marker ``::`` ends in ``:``.
A numpydoc type ``x : int, keyword-only`` is rendered as ``int`` (griffe would read ``keyword-only`` as a
subtraction; the signature shows the ``*``).

NamedTuple fields with no docstring of their own (the class docstring describes them) are not rendered one
by one; module constants are, with their values. (Dataclass fields stay: griffe builds the signature from
them.)

Loaded by mkdocstrings (``extensions:`` of the python handler in ``mkdocs.yml``).
"""
from __future__ import annotations

import logging
import re

import griffe

log = logging.getLogger("mkdocs.plugins.shaminfer.griffe")

_ROLE = re.compile(r":(?:py:)?(?:func|class|mod|meth|attr|data|obj|exc|const):`([^`]+)`")
_LITERAL_MARKER = re.compile(r"(\S)::[ \t]*$", re.MULTILINE)
_LONE_MARKER = re.compile(r"^[ \t]*::[ \t]*$", re.MULTILINE)
_KEYWORD_ONLY = re.compile(r"^([ \t]*[\w, *]+ : .*?),[ \t]*keyword-only[ \t]*$", re.MULTILINE)


def _module_of(obj: griffe.Object) -> griffe.Object:
    while not obj.is_module:
        obj = obj.parent
    return obj


def _resolve(obj: griffe.Object, name: str) -> str | None:
    """The full path that ``name`` names in the scope of ``obj``, or None."""
    if name.startswith("."):
        base = _module_of(obj)
        if not base.is_init_module:
            base = base.parent
        dots = len(name) - len(name.lstrip("."))
        for _ in range(dots - 1):
            base = base.parent
        return f"{base.path}.{name.lstrip('.')}" if base is not None else None
    head, _, rest = name.partition(".")
    if head == obj.package.name:
        return name
    try:
        target = obj.resolve(head)
    except (griffe.NameResolutionError, AttributeError, KeyError):
        return None
    return f"{target}.{rest}" if rest else target


def _exists(pkg: griffe.Module, path: str) -> bool:
    """Whether ``path`` (inside ``pkg``) names a loaded object."""
    if path == pkg.name:
        return True
    try:
        pkg[path[len(pkg.name) + 1:]]
    except (KeyError, griffe.AliasResolutionError, griffe.CyclicAliasError):
        return False
    return True


def _rewrite(obj: griffe.Object, text: str) -> str:
    def role(match: re.Match) -> str:
        target = match.group(1).strip()
        if "<" in target and target.endswith(">"):  # :func:`title <target>`
            title, target = target[:-1].split("<", 1)
            title = title.strip()
        else:
            title = None
        short = target.startswith("~")
        target = target.lstrip("~").rstrip("()")
        shown = title or (target.rsplit(".", 1)[-1] if short else target.lstrip("."))
        path = _resolve(obj, target)
        pkg = obj.package
        if path and path.startswith(pkg.name + ".") and not _exists(pkg, path):
            lineno = (obj.docstring.lineno or 0) + text.count("\n", 0, match.start())
            log.warning("%s:%d: docstring of %s: %s names %s, which does not exist",
                        obj.relative_filepath, lineno, obj.path, match.group(0), path)
            path = None
        code = f"<code>{shown}</code>"
        return f'<autoref identifier="{path}" optional>{code}</autoref>' if path else code

    text = _ROLE.sub(role, text)
    text = _LONE_MARKER.sub("", text)
    text = _KEYWORD_ONLY.sub(r"\1", text)
    return _LITERAL_MARKER.sub(r"\1:", text)


class ShaminferDocs(griffe.Extension):
    """Rewrite the docstrings of a package once it is loaded, and drop undocumented NamedTuple fields."""

    def on_package(self, *, pkg: griffe.Module, **kwargs) -> None:
        self._visit(pkg, set())

    def _visit(self, obj: griffe.Object, seen: set[str]) -> None:
        if obj.path in seen:
            return
        seen.add(obj.path)
        if obj.docstring is not None:
            obj.docstring.value = _rewrite(obj, obj.docstring.value)
        if obj.is_class and any(str(base).endswith("NamedTuple") for base in obj.bases):
            for name, member in list(obj.members.items()):
                if not member.is_alias and member.is_attribute and member.docstring is None:
                    del obj.members[name]
        for member in obj.members.values():
            if not member.is_alias:
                self._visit(member, seen)
