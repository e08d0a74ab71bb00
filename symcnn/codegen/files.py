"""Writing generated modules: atomically, and never over a file the generator did not write."""

from __future__ import annotations

from pathlib import Path

from ..files import write_atomic
from .generate import MARKER


def is_generated(path: Path) -> bool:
    """True when ``path`` starts with the generator's do-not-edit header line."""
    try:
        with path.open(encoding="utf-8") as stream:
            return stream.readline().startswith(MARKER)
    except (OSError, UnicodeDecodeError):
        return False


def write_generated(path: Path, text: str, *, force: bool = False) -> Path:
    """Write ``text`` to ``path`` atomically (a temporary file, then a rename).

    A file the generator wrote before (its first line is the do-not-edit header) is replaced;
    any other file is refused with ``ValueError`` unless ``force``. The folder is created if
    missing.
    """
    if path.exists() and not force and not is_generated(path):
        raise ValueError(
            f"{path} exists and was not written by symcnn generate: refusing to overwrite it"
            " (pass --force to replace it anyway)"
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(path, text.encode("utf-8"))
    return path
