"""Writing generated modules: atomically, and never over a file the generator did not write."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

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
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="\n") as stream:
            stream.write(text)
        # mkstemp creates the file private (0600); give it the mode any new file would get.
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(temporary, 0o666 & ~umask)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return path
