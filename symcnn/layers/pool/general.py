"""Average pooling's forward pass as an index formula (max and min pooling have none yet).

``O[n, c, i, j] = Σ_{p, q} X[n, c, S·i − P + p, S·j − P + q] / divisor(i, j)``, the divisor
``kh·kw`` with ``count_include_pad``, else the real cells of the window, itself an index
expression: ``(min(H − 1, S·i − P + kh − 1) − max(0, S·i − P) + 1)`` rows times as many columns.
The gradient's divisor per window follows by the same elimination as the indices.
"""

from __future__ import annotations

import dataclasses

from sympy import Max, Min, S

from ...indexform.algebra import Formula, Limit, Part, Read, index_symbol
from ...indexform.derivation import KindGeneral
from .spec import AvgPool2d


def _real_cells(start, kernel: int, size: int):
    """How many of ``start .. start + kernel - 1`` lie in ``0 .. size - 1``."""
    return Min(size - 1, start + kernel - 1) - Max(0, start) + 1


def refuse(spec: AvgPool2d) -> str | None:
    """Why the window has no formula here: options the forward formula does not express.

    The forward formula reads adjacent taps and divides by the floor-mode window, so dilation,
    and a ceil_mode that changes the output, are refused rather than proven wrong.
    """
    if tuple(spec.window.dilation) != (1, 1):
        return (
            f"The general formulas are not available for {spec.type} with dilation: its windows"
            " skip cells, which the forward formula here does not express; the entries below"
            " are exact."
        )
    if spec.ceil_mode:
        try:
            floor = dataclasses.replace(spec, ceil_mode=False).output_shape
        except ValueError:  # no window fits without ceil_mode
            floor = None
        if floor != spec.output_shape:
            return (
                f"The general formulas are not available for {spec.type} with ceil_mode here:"
                " its last windows overhang the input, and their divisor is not written as an"
                " index formula; the entries below are exact."
            )
    return None


def forward(spec: AvgPool2d) -> Formula:
    """The forward formula of ``spec``, 0-based, its bounds the definition's (not yet tight)."""
    n, c, i, j, p, q = (index_symbol(name) for name in "ncijpq")
    window = spec.window  # kernel, stride, padding (and dilation, refused above)
    (kh, kw), (sh, sw), (ph, pw) = window.kernel, window.stride, window.padding
    top, left = sh * i - ph, sw * j - pw
    if spec.count_include_pad:
        divisor = S(kh * kw)
    else:
        height, width = spec.input_shape[2:]
        divisor = _real_cells(top, kh, height) * _real_cells(left, kw, width)
    cell = Read("X", (n, c, top + p, left + q))
    sums = (Limit(p, S.Zero, S(kh - 1)), Limit(q, S.Zero, S(kw - 1)))
    free = tuple(
        Limit(v, S.Zero, S(size - 1))
        for v, size in zip((n, c, i, j), spec.output_shape, strict=True)
    )
    return Formula("O", free, (Part(1 / divisor, (cell,), sums),))


TABLE = {
    AvgPool2d.type: KindGeneral(forward=forward, names={"X": ("n", "c", "h", "w")}, refuse=refuse)
}
