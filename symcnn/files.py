"""Writing output files: to stdout, or atomically to a path the user named.

One atomic writer serves every command: the data goes to a temporary file beside the target,
then a rename puts it in place, so a reader never sees half a file and a failed write leaves
the old one as it was.

A temporary file is named ``.NAME.symcnn-PID-RANDOM.tmp`` (PID the writing process). A
``SIGKILL`` between creating it and the rename cannot be caught, so the file stays; the next
write into that folder removes such files whose process no longer runs, and nothing else.
"""

from __future__ import annotations

import os
import re
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


#: A temporary file of :func:`write_atomic`: the process id that wrote it is group 1.
TEMPORARY = re.compile(r"\..+\.symcnn-(\d+)-[A-Za-z0-9_]+\.tmp")


def _temporary_prefix(target: Path) -> str:
    return f".{target.name}.symcnn-{os.getpid()}-"


def remove_stale_temporaries(folder: Path) -> list[Path]:
    """Remove the temporary files a killed symcnn left in ``folder``; return what was removed.

    Only regular files named as :data:`TEMPORARY` names them are touched, and only when the
    process that wrote them is gone (a write still running in another process keeps its file).
    A folder that cannot be listed is left alone: the write itself will say why.
    """
    removed = []
    try:
        names = os.listdir(folder)
    except OSError:
        return removed
    for name in names:
        match = TEMPORARY.fullmatch(name)
        if match is None or _running(int(match.group(1))):
            continue
        path = folder / name
        try:
            if stat.S_ISREG(path.lstat().st_mode):
                path.unlink()
                removed.append(path)
        except OSError:
            continue  # another process removed it first, or it is not ours to remove
    return removed


def _running(pid: int) -> bool:
    """True when a process with this id exists (or may: one we may not signal)."""
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError, ValueError):
        return True
    return True


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
    remove_stale_temporaries(target.parent)
    handle, temporary = tempfile.mkstemp(
        dir=target.parent, prefix=_temporary_prefix(target), suffix=".tmp"
    )
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
