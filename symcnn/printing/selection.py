"""Which entries a large layer shows: representative ones, the rest elided.

A listing of equations shows every entry up to ``max_entries``; past that it keeps, along each
axis, the first, second, middle and last positions (fewer when still too many), so the corners,
the edges and the interior all appear. A matrix shows every row and column up to ``side``;
past that its first two and its last, with dots between.

>>> representatives((1, 1, 3, 3), 4)
[(0, 0, 0, 0), (0, 0, 0, 2), (0, 0, 2, 0), (0, 0, 2, 2)]
>>> len(representatives((1, 1, 28, 28), 16))
16
>>> grid_positions(10, 6)
[0, 1, None, 9]
"""

from __future__ import annotations

import itertools

#: Positions kept along one axis, from the mildest cut to the strongest (a level that keeps as
#: many as the one before it is skipped).
_LEVELS = (
    lambda n: list(range(n)),
    lambda n: sorted({0, 1, n // 2, n - 1}),
    lambda n: sorted({0, n // 2, n - 1}),
    lambda n: sorted({0, n - 1}),
    lambda n: [0],
)


def axis_positions(sizes: tuple[int, ...], budget: int | None) -> list[list[int]]:
    """Positions kept along each axis so that their product is at most ``budget``.

    The axis showing the most positions is cut first (the earliest such axis on a tie), one
    level at a time; ``budget=None`` keeps everything.
    """
    levels = [0] * len(sizes)
    kept = [_LEVELS[0](n) for n in sizes]

    def count() -> int:
        total = 1
        for positions in kept:
            total *= len(positions)
        return total

    while budget is not None and count() > budget:
        candidates = [axis for axis in range(len(sizes)) if levels[axis] < len(_LEVELS) - 1]
        if not candidates:
            break
        axis = max(candidates, key=lambda a: (len(kept[a]), -a))
        before = len(kept[axis])
        while levels[axis] < len(_LEVELS) - 1 and len(kept[axis]) == before:
            levels[axis] += 1
            kept[axis] = _LEVELS[levels[axis]](sizes[axis])
    return kept


#: Axis names of a listing, by the tensor's number of axes (4-D: sample, channel, row, column).
_AXIS_NAMES = {1: ("entry",), 2: ("row", "column"), 4: ("sample", "channel", "row", "column")}


def _position_word(position: int, size: int) -> str:
    words = []
    if position == 0:
        words.append("first")
    elif position == 1:
        words.append("second")
    if position == size // 2 and position not in (0, size - 1):
        words.append("middle")
    if position == size - 1 and position != 0:
        words.append("last")
    return " (the ".join(words) + ")" * (len(words) - 1) if words else f"number {position + 1}"


def describe(shape: tuple[int, ...], shown: list[tuple[int, ...]]) -> str:
    """Which positions along each axis a listing of ``shown`` indices of ``shape`` keeps.

    >>> describe((1, 1, 3, 3), [(0, 0, 0, 0), (0, 0, 0, 2), (0, 0, 2, 0), (0, 0, 2, 2)])
    'the first and last rows, the first and last columns'
    """
    names = _AXIS_NAMES.get(len(shape), tuple(f"axis {a + 1}" for a in range(len(shape))))
    parts = []
    for axis, size in enumerate(shape):
        if size <= 1:
            continue
        kept = sorted({index[axis] for index in shown})
        if len(kept) == size:
            parts.append(f"every {names[axis]}")
            continue
        words = [_position_word(p, size) for p in kept]
        listed = words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]
        parts.append(f"the {listed} {names[axis]}" + ("s" if len(words) > 1 else ""))
    return ", ".join(parts)


def representatives(shape: tuple[int, ...], max_entries: int | None) -> list[tuple[int, ...]]:
    """Indices of ``shape`` to list, in row-major order: all of them, or representative ones."""
    return list(itertools.product(*axis_positions(shape, max_entries)))


def grid_positions(size: int, side: int | None) -> list[int | None]:
    """Rows (or columns) of a matrix to show; ``None`` marks where dots stand for the rest."""
    if side is None or size <= side:
        return list(range(size))
    return [0, 1, None, size - 1]
