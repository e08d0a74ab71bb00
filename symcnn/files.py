"""Writing output files: to stdout, or atomically to a path the user named.

One atomic writer serves every command: the data goes to a temporary file beside the target,
then a rename puts it in place, so a reader never sees half a file and a failed write leaves
the old one as it was.
"""

from __future__ import annotations

import os
import stat
import sys
import tempfile
from pathlib import Path

from .options import UsageError

#: What ``os.stat`` calls the kinds of file symcnn refuses to write over.
_KINDS = (
    (stat.S_ISDIR, "a folder"),
    (stat.S_ISFIFO, "a named pipe (FIFO)"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
)


def regular_target(path: Path) -> Path:
    """The file a write to ``path`` replaces: ``path``, or the file its symbolic link names.

    Only a regular file (or nothing) is ever replaced: a folder, a FIFO, a device or a socket at
    the path (or at the end of its link) is refused with :class:`UsageError`, as is a dangling
    link and a path the system cannot look up (too long, not permitted).
    """
    try:
        status = path.stat()  # follows links: what a write would reach
    except FileNotFoundError:
        if path.is_symlink():
            raise UsageError(f"cannot write {path}: it is a link to a missing file") from None
        return path
    except OSError as error:
        raise UsageError(f"cannot write {path}: {error.strerror}") from None
    for test, kind in _KINDS:
        if test(status.st_mode):
            advice = "; name a file in it" if kind == "a folder" else ""
            raise UsageError(
                f"cannot write {path}: it is {kind}, and symcnn writes regular files only{advice}"
            )
    return path.resolve() if path.is_symlink() else path


def check_output_path(path: str | None, *, force: bool) -> None:
    """Refuse an output path that cannot be written: run before any work, and again on writing.

    ``force`` allows replacing an existing regular file (keeping its mode), nothing else.
    """
    if path is None or path == "-":
        return
    if path == "":
        raise UsageError("-o '' names no file: give a file name, or - for stdout")
    target = regular_target(Path(path))
    if target.exists() and not force:
        raise UsageError(
            f"{path} exists; pass --force to replace it (a regular file; its mode is kept)"
        )
    if not target.parent.is_dir():
        raise UsageError(f"cannot write {path}: the folder {target.parent} does not exist")


def write_atomic(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file in the same folder and a rename.

    Only a regular file is replaced (see :func:`regular_target`; a link is followed, and the
    file it names is replaced), and it keeps its mode; a new file gets the mode any new file
    would get. OSError propagates; the temporary file never outlives a failure.
    """
    target = regular_target(path)
    if target.exists():
        mode = stat.S_IMODE(target.stat().st_mode)
    else:
        umask = os.umask(0)
        os.umask(umask)
        mode = 0o666 & ~umask
    handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.")
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
        os.chmod(temporary, mode)
        os.replace(temporary, target)
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
