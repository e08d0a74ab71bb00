"""The forward rules of the pools: max, min (an extreme and a tie rule) and average (``TABLE``)."""

from __future__ import annotations

from collections.abc import Iterator

from sympy import Rational

from ... import canonical
from ...pooling import MAXIMUM, MINIMUM, extreme_entries, windows
from ...rules import Entry, polynomial_partials
from ...tensors import Tensors
from .spec import AvgPool2d, ExtremePool2d, MaxPool2d, MinPool2d


def maxpool2d_entries(spec: ExtremePool2d, tensors: Tensors) -> Iterator[Entry]:
    """``O[n,c,i,j] = Max(real cells of window (i, j))``; partials by the tie rule."""
    return extreme_entries(spec, tensors, MAXIMUM)


def minpool2d_entries(spec: ExtremePool2d, tensors: Tensors) -> Iterator[Entry]:
    """``O[n,c,i,j] = Min(real cells of window (i, j))``; partials by the tie rule."""
    return extreme_entries(spec, tensors, MINIMUM)


def avgpool2d_entries(spec: AvgPool2d, tensors: Tensors) -> Iterator[Entry]:
    """``O[n,c,i,j] = (sum of the real cells of window (i, j)) / divisor``.

    The divisor is ``kh*kw`` with ``count_include_pad`` (padded cells count as zeros; a
    ``ceil_mode`` window that overhangs the padding counts only its cells inside it, as
    PyTorch), else the number of real cells in the window (:meth:`AvgPool2d.divisor_factors`).
    """
    rows, cols = spec.divisor_factors()
    for index, window in windows(spec, tensors):
        weight = Rational(1, rows[index[2]] * cols[index[3]])
        expr = canonical.total(canonical.product((weight, x)) for x in window)
        yield Entry(index, expr, polynomial_partials(expr))


#: Layer type -> its forward rule (loaded by :mod:`symcnn.derive` through the registry).
TABLE = {
    MaxPool2d.type: maxpool2d_entries,
    MinPool2d.type: minpool2d_entries,
    AvgPool2d.type: avgpool2d_entries,
}
