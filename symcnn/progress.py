"""What a command tells a person while it works: progress bars and one-line reports.

Both go to stderr, so stdout stays the command's output. A bar appears only when the command
line asked for it (:func:`shown`; the Python API stays silent), stderr is a terminal, and the
work lasts more than half a second; ``--quiet`` turns bars and reports off.

>>> list(bar(range(3), total=3, desc="entries"))  # not shown: nothing asked for it
[0, 1, 2]
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import TypeVar

T = TypeVar("T")

#: Whether the running command shows progress (False: the Python API, or --quiet).
_SHOWN: ContextVar[bool] = ContextVar("symcnn_progress_shown", default=False)
#: Whether the running command reports what it did (False only under --quiet).
_TALKS: ContextVar[bool] = ContextVar("symcnn_progress_talks", default=True)


@contextmanager
def shown(enabled: bool) -> Iterator[None]:
    """Show progress bars and reports within the block (``enabled=False``: neither)."""
    bars, talks = _SHOWN.set(enabled), _TALKS.set(enabled)
    try:
        yield
    finally:
        _SHOWN.reset(bars)
        _TALKS.reset(talks)


def bar(iterable: Iterable[T], *, total: int, desc: str, unit: str = "it") -> Iterable[T]:
    """``iterable`` with a tqdm bar on a terminal when progress is shown; else as it is."""
    if not _SHOWN.get() or not sys.stderr.isatty():
        return iterable
    from tqdm import tqdm

    # delay: quick work draws nothing; leave=False: the bar clears itself when done.
    return tqdm(iterable, total=total, desc=desc, unit=unit, delay=0.5, leave=False)


def say(message: str) -> None:
    """One line to stderr about what a command did, unless ``--quiet``."""
    if _TALKS.get():
        print(message, file=sys.stderr)
