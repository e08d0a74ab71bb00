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

#: Positions kept along one axis, from the mildest cut to the strongest.
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
        levels[axis] += 1
        kept[axis] = _LEVELS[levels[axis]](sizes[axis])
    return kept


def representatives(shape: tuple[int, ...], max_entries: int | None) -> list[tuple[int, ...]]:
    """Indices of ``shape`` to list, in row-major order: all of them, or representative ones."""
    return list(itertools.product(*axis_positions(shape, max_entries)))


def grid_positions(size: int, side: int | None) -> list[int | None]:
    """Rows (or columns) of a matrix to show; ``None`` marks where dots stand for the rest."""
    if side is None or size <= side:
        return list(range(size))
    return [0, 1, None, size - 1]
