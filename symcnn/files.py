"""Writing output files: to stdout, or atomically to a path the user named.

One atomic writer serves every command: the data goes to a temporary file beside the target,
then a rename puts it in place, so a reader never sees half a file and a failed write leaves
the old one as it was.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

from .options import UsageError


def check_output_path(path: str | None, *, force: bool) -> None:
    """Refuse an output path that cannot be written: run before any work, and again on writing."""
    if path is None or path == "-":
        return
    target = Path(path)
    if target.is_dir():
        raise UsageError(f"cannot write {path}: it is a folder; name a file in it")
    if target.exists() and not force:
        raise UsageError(f"{path} exists; pass --force to overwrite it")
    if not target.parent.is_dir():
        raise UsageError(f"cannot write {path}: the folder {target.parent} does not exist")


def write_atomic(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file in the same folder and a rename.

    The new file gets the mode any new file would get (``mkstemp`` makes it private, 0600).
    OSError propagates; the temporary file never outlives a failure.
    """
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(temporary, 0o666 & ~umask)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def write_output(text: str | bytes, path: str | None, *, force: bool) -> None:
    """Write to stdout, or atomically to ``path``, refusing to replace a file unless forced."""
    if path is None or path == "-":
        if isinstance(text, bytes):
            sys.stdout.buffer.write(text)
        else:
            sys.stdout.write(text)
        return
    check_output_path(path, force=force)
    data = text.encode() if isinstance(text, str) else text
    try:
        write_atomic(Path(path), data)
    except OSError as error:  # e.g. a folder without write permission
        raise UsageError(f"cannot write {path}: {error.strerror}") from None
