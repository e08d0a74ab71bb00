"""The pools' forward passes as index formulas: average, and max and min with their tie rule.

``O[n, c, i, j] = max_{p, q} X[n, c, S·i − P + p, S·j − P + q]`` over the window's cells
inside the input (min likewise): the extreme is a part of the formula of its own
(:class:`~symcnn.indexform.algebra.TieRule`), and its gradient carries the tie rule's share of
the cell in its window as a factor on values (:class:`~symcnn.indexform.algebra.Share`),
instantiated as the tie rule's exact case distinction (:func:`share`).

``O[n, c, i, j] = Σ_{p, q} X[n, c, S·i − P + p, S·j − P + q] / divisor(i, j)``, the divisor
``kh·kw`` with ``count_include_pad``, else the real cells of the window, itself an index
expression: ``(min(H − 1, S·i − P + kh − 1) − max(0, S·i − P) + 1)`` rows times as many columns.
The gradient's divisor per window follows by the same elimination as the indices.
"""

from __future__ import annotations

import dataclasses

from sympy import Max, Min, S

from ...indexform.algebra import Formula, Limit, Part, Read, TieRule, index_symbol
from ...indexform.derivation import KindGeneral
from ...pooling import MAXIMUM, MINIMUM, extreme_partial
from .spec import AvgPool2d, ExtremePool2d, MaxPool2d, MinPool2d


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
                " its last windows overhang the input, which the forward formula here does not"
                " write; the entries below are exact."
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


def extreme_forward(spec: ExtremePool2d) -> Formula:
    """``O[n, c, i, j] = max (min) over the window's taps of X``, 0-based, not yet tight."""
    n, c, i, j, p, q = (index_symbol(name) for name in "ncijpq")
    window = spec.window
    (kh, kw), (sh, sw), (ph, pw) = window.kernel, window.stride, window.padding
    cell = Read("X", (n, c, sh * i - ph + p, sw * j - pw + q))
    sums = (Limit(p, S.Zero, S(kh - 1)), Limit(q, S.Zero, S(kw - 1)))
    free = tuple(
        Limit(v, S.Zero, S(size - 1))
        for v, size in zip((n, c, i, j), spec.output_shape, strict=True)
    )
    rule = TieRule("max" if isinstance(spec, MaxPool2d) else "min", spec.ties)
    return Formula("O", free, (Part(S.One, (cell,), sums, extreme=rule),))


def share(rule: TieRule, window: list, position: int):
    """The exact partial of the window's extreme by ``window[position]`` under ``rule``."""
    extreme = MAXIMUM if rule.extreme == "max" else MINIMUM
    return extreme_partial(rule.ties, extreme, window, position)


_NAMES = {"X": ("n", "c", "h", "w")}
TABLE = {
    AvgPool2d.type: KindGeneral(forward=forward, names=_NAMES, refuse=refuse),
    **{
        cls.type: KindGeneral(forward=extreme_forward, names=_NAMES, refuse=refuse, share=share)
        for cls in (MaxPool2d, MinPool2d)
    },
}
