"""Writing generated modules: atomically, and never over a file the generator did not write."""

from __future__ import annotations

import itertools
from pathlib import Path

from ..files import regular_target, write_atomic
from .generate import CATALOG_MARKER, MARKER

#: How much of a file's start is read to find the header (a header is a few hundred bytes).
_HEADER_BYTES = 4096


def _header(path: Path) -> list[str]:
    """The first lines of a regular file, or [] (not a regular file, unreadable, not UTF-8)."""
    try:
        if not path.is_file():  # never open a FIFO (it would block) or a device
            return []
        with path.open("rb") as stream:
            return stream.read(_HEADER_BYTES).decode("utf-8", "replace").splitlines()
    except OSError:
        return []


def is_generated(path: Path) -> bool:
    """True when ``path`` starts with the generator's do-not-edit header line."""
    lines = _header(path)
    return bool(lines) and lines[0].startswith(MARKER)


def is_catalog_module(path: Path) -> bool:
    """True when ``path`` is a generated module marked as part of the catalog."""
    lines = _header(path)
    if not lines or not lines[0].startswith(MARKER):
        return False
    # The marker is in the header: the comment lines before the docstring.
    header = itertools.takewhile(lambda line: line.startswith("#"), lines)
    return any(line.startswith(CATALOG_MARKER) for line in header)


def refusal(path: Path, *, force: bool = False) -> str | None:
    """Why writing a generated module at ``path`` is refused, or None when it may be written.

    Nothing, or a module symcnn generated, may be replaced; any other regular file only with
    ``force``; a folder, FIFO, device or socket never.
    """
    try:
        target = regular_target(path)
    except ValueError as error:
        return str(error)
    if target.exists() and not force and not is_generated(target):
        return (
            f"{path} exists and was not written by symcnn generate: refusing to overwrite it"
            " (pass --force to replace it anyway)"
        )
    return None


def write_generated(path: Path, text: str, *, force: bool = False) -> Path:
    """Write ``text`` to ``path`` atomically (a temporary file, then a rename).

    A file the generator wrote before (its first line is the do-not-edit header) is replaced;
    any other file is refused with ``ValueError`` unless ``force``. The folder is created if
    missing.
    """
    why = refusal(path, force=force)
    if why is not None:
        raise ValueError(why)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(path, text.encode("utf-8"))
    return path
