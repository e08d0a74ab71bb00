"""Line breaking shared by the printers: long sums over several lines, short equations packed.

Widths are measured by the caller (the text printer's width of a node is a fair estimate of its
printed width in every format), so the same breaks come out wherever the same widths do.

>>> chunk_widths([10, 10, 10, 10], first=25, rest=25)
[[0, 1], [2, 3]]
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from sympy import Basic

from .nodes import At, Product, Terms

#: Separator widths: " + " between terms, ", " plus a quad between packed equations.
PLUS = 3
PACK_GAP = 5


def chunk_widths(widths: Sequence[int], first: int, rest: int) -> list[list[int]]:
    """Group item positions into lines: the first line holds ``first`` columns, the others ``rest``.

    Every line holds at least one item, however wide.
    """
    lines: list[list[int]] = [[]]
    used, budget = 0, first
    for position, width in enumerate(widths):
        extra = width if not lines[-1] else PLUS + width
        if lines[-1] and used + extra > budget:
            lines.append([])
            used, budget, extra = 0, rest, width
        lines[-1].append(position)
        used += extra
    return lines


def sum_parts(side: Basic) -> tuple[Basic | None, tuple[Basic, ...]] | None:
    """``(coefficient, terms)`` of a side that is a sum (``c·(t1 + t2 + ...)`` too), else None."""
    if isinstance(side, At):
        side = side.value
    if isinstance(side, Terms) and len(side.args) > 1:
        return None, side.args
    if (
        isinstance(side, Product)
        and len(side.args) == 2
        and side.args[0].is_Number
        and isinstance(side.args[1], Terms)
        and len(side.args[1].args) > 1
    ):
        return side.args[0], side.args[1].args
    return None


def pack(items: Sequence[Basic], measure: Callable[[Basic], int], budget: int) -> list[list[int]]:
    """Group short items (equations of one group) into lines of at most ``budget`` columns."""
    lines: list[list[int]] = [[]]
    used = 0
    for position, item in enumerate(items):
        width = measure(item)
        extra = width if not lines[-1] else PACK_GAP + width
        if lines[-1] and used + extra > budget:
            lines.append([])
            used, extra = 0, width
        lines[-1].append(position)
        used += extra
    return lines
