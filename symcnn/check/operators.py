"""The named operators of matrix-level claims, on 2-D object arrays of SymPy expressions.

They mean what lecture notes on CNNs mean by them, which is what makes
``dL/dX = full_conv(dL/dO, rot180(W))`` and ``dL/dW = conv(X, dL/dO)`` true for a stride-1
layer without padding:

- ``conv(A, K)`` (also ``corr``): valid cross-correlation, K slid over A without flipping, as a
  CNN layer computes it. When K is larger than A, it is slid over every position where A lies
  inside it (so ``conv(dL/dO, X)`` is defined: the rotated ``conv(X, dL/dO)``).
- ``full_conv(A, K)``: the same over A zero-padded by ``K - 1`` on every side; the rotation, if
  any, is written explicitly (``rot180(W)``).
- ``transpose_conv(A, K[, s])``: the transposed convolution, every entry of A spreading a copy
  of K (steps of ``s``) -- ``full_conv(dilate(A, s), rot180(K))``.
- ``rot180``, ``dilate(A, s[, s2])``, ``pad(A, p[, p2])``, ``crop(A, p[, p2])`` (removes ``p``
  from every side), ``block(A, r, c)`` (the top-left r×c block), ``sum(A)`` (a number).

Built from :mod:`symcnn.identities`, so the checker's operators and the identities the
printers state are the same functions.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from .. import canonical, identities

Pair = tuple[int, int]


def conv(image: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    """Valid cross-correlation; a kernel larger than the image slides around it instead."""
    grow = (max(kernel.shape[0] - image.shape[0], 0), max(kernel.shape[1] - image.shape[1], 0))
    if grow != (0, 0):
        image = identities.pad(image, grow)
    return identities.correlate(image, kernel)


full_conv = identities.full_correlate  # the notes' full convolution: no rotation of its own


def transpose_conv(array: np.ndarray, kernel: np.ndarray, step: Pair = (1, 1)) -> np.ndarray:
    """Transposed convolution: ``full_conv(dilate(array, step), rot180(kernel))``."""
    return full_conv(identities.dilate(array, step), identities.rot180(kernel))


def crop_sides(array: np.ndarray, amount: Pair) -> np.ndarray:
    """Remove ``amount`` rows and columns from every side."""
    rows, cols = array.shape
    size = (rows - 2 * amount[0], cols - 2 * amount[1])
    if size[0] < 1 or size[1] < 1:
        raise ValueError(f"crop by {list(amount)} leaves nothing of a {rows}x{cols} array")
    return identities.crop(array, amount, size)


def every(array: np.ndarray, step: Pair) -> np.ndarray:
    """Every ``step``-th entry along each axis, from the first: ``A[::s, ::s]``."""
    return array[:: step[0], :: step[1]]


def extend(array: np.ndarray, size: Pair) -> np.ndarray:
    """Zero rows and columns appended up to ``size`` (the rows no strided window reached)."""
    rows, cols = max(size[0] - array.shape[0], 0), max(size[1] - array.shape[1], 0)
    return identities.pad(array, (0, 0), (rows, cols))


def block(array: np.ndarray, size: Pair) -> np.ndarray:
    """The top-left ``size`` block (the kernel's taps of a correlation larger than the kernel)."""
    rows, cols = array.shape
    if size[0] > rows or size[1] > cols:
        raise ValueError(f"block {size[0]}x{size[1]} is larger than the {rows}x{cols} array")
    return array[: size[0], : size[1]]


def _block_shape(shapes: list[Pair], size: Pair) -> tuple[Pair, int]:
    (ah, aw) = shapes[0]
    out = (min(ah, size[0]), min(aw, size[1]))
    return out, out[0] * out[1]


def total(array: np.ndarray):
    """The sum of every entry."""
    return canonical.total(list(array.flat))


#: Largest array an operator may build, and most multiply terms a claim's operators may cost.
MAX_ENTRIES = 40_000
MAX_WORK = 2_000_000


@dataclass(frozen=True)
class Operator:
    """One operator: its array and whole-number arguments, its result shape and its cost."""

    arrays: int
    numbers: tuple[int, int]  # (fewest, most) whole-number arguments
    apply: Callable[..., object]
    shape: Callable[[list[Pair], Pair], tuple[Pair | None, int]]  # -> (shape, work)
    usage: str
    positive: bool = False  # whole-number arguments must be >= 1 (steps) rather than >= 0


def _pair(numbers: tuple[Pair, ...]) -> Pair:
    """``(s,)`` or ``(s1, s2)`` -> one (rows, cols) pair; a layer parameter is already a pair."""
    if not numbers:
        return (1, 1)
    if len(numbers) == 1:
        return numbers[0]
    return (numbers[0][0], numbers[1][0])


def _conv_shape(shapes: list[Pair], _: Pair) -> tuple[Pair, int]:
    (ah, aw), (kh, kw) = shapes
    out = (abs(ah - kh) + 1, abs(aw - kw) + 1)
    return out, out[0] * out[1] * kh * kw


def _full_shape(shapes: list[Pair], _: Pair) -> tuple[Pair, int]:
    (ah, aw), (kh, kw) = shapes
    out = (ah + kh - 1, aw + kw - 1)
    return out, out[0] * out[1] * kh * kw


def _transpose_shape(shapes: list[Pair], step: Pair) -> tuple[Pair, int]:
    (ah, aw), (kh, kw) = shapes
    out = ((ah - 1) * step[0] + kh, (aw - 1) * step[1] + kw)
    return out, out[0] * out[1] * kh * kw


def _same(shapes: list[Pair], _: Pair) -> tuple[Pair, int]:
    return shapes[0], shapes[0][0] * shapes[0][1]


def _dilated(shapes: list[Pair], step: Pair) -> tuple[Pair, int]:
    (ah, aw) = shapes[0]
    out = ((ah - 1) * step[0] + 1, (aw - 1) * step[1] + 1)
    return out, out[0] * out[1]


def _padded(shapes: list[Pair], amount: Pair) -> tuple[Pair, int]:
    (ah, aw) = shapes[0]
    out = (ah + 2 * amount[0], aw + 2 * amount[1])
    return out, out[0] * out[1]


def _cropped(shapes: list[Pair], amount: Pair) -> tuple[Pair, int]:
    (ah, aw) = shapes[0]
    out = (ah - 2 * amount[0], aw - 2 * amount[1])
    return out, max(out[0] * out[1], 0)


def _every_shape(shapes: list[Pair], step: Pair) -> tuple[Pair, int]:
    (ah, aw) = shapes[0]
    out = (-(-ah // step[0]), -(-aw // step[1]))
    return out, out[0] * out[1]


def _extended(shapes: list[Pair], size: Pair) -> tuple[Pair, int]:
    (ah, aw) = shapes[0]
    out = (max(ah, size[0]), max(aw, size[1]))
    return out, out[0] * out[1]


def _scalar(shapes: list[Pair], _: Pair) -> tuple[None, int]:
    return None, shapes[0][0] * shapes[0][1]


#: Operator name -> its definition (names as :data:`symcnn.check.parse.OPERATOR_NAMES` gives).
OPERATORS: dict[str, Operator] = {
    "conv": Operator(2, (0, 0), lambda a, k: conv(a, k), _conv_shape, "conv(A, K)"),
    "full_conv": Operator(2, (0, 0), lambda a, k: full_conv(a, k), _full_shape, "full_conv(A, K)"),
    "transpose_conv": Operator(
        2,
        (0, 2),
        lambda a, k, *s: transpose_conv(a, k, _pair(s)),
        _transpose_shape,
        "transpose_conv(A, K[, stride])",
        positive=True,
    ),
    "rot180": Operator(1, (0, 0), identities.rot180, _same, "rot180(A)"),
    "dilate": Operator(
        1,
        (1, 2),
        lambda a, *s: identities.dilate(a, _pair(s)),
        _dilated,
        "dilate(A, step)",
        positive=True,
    ),
    "pad": Operator(
        1, (1, 2), lambda a, *p: identities.pad(a, _pair(p)), _padded, "pad(A, amount)"
    ),
    "crop": Operator(1, (1, 2), lambda a, *p: crop_sides(a, _pair(p)), _cropped, "crop(A, amount)"),
    "sum": Operator(1, (0, 0), total, _scalar, "sum(A)"),
    "every": Operator(
        1, (1, 2), lambda a, *s: every(a, _pair(s)), _every_shape, "every(A, step)", positive=True
    ),
    "block": Operator(
        1,
        (1, 2),
        lambda a, *s: block(a, _pair(s)),
        _block_shape,
        "block(A, rows, cols)",
        positive=True,
    ),
    "extend": Operator(
        1,
        (1, 2),
        lambda a, *s: extend(a, _pair(s)),
        _extended,
        "extend(A, rows, cols)",
        positive=True,
    ),
}
