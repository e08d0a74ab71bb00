"""The NumPy runtime of the pools (max, min, average), and their array-level functions.

The pools loop over the taps (:func:`symcnn.runtime_base.taps`) with whole-array operations;
the backward scatter-adds per tap. Within one tap distinct windows read distinct input cells,
so a strided ``+=`` is exact, and overlapping windows (stride < kernel) accumulate across taps.
Padded cells are never built: they never win a max or a min and are not counted in an average.
The public functions are re-exported by :mod:`symcnn.runtime`.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import numpy as np

from ...runtime_base import (
    INPUT_AXES,
    LayerRuntime,
    backward,
    common_dtype,
    forward,
    four_dimensional,
    taps,
)
from .spec import AvgPool2d, ExtremePool2d, MaxPool2d, MinPool2d, Pool2d

# -- max and min pooling ------------------------------------------------------------------------


def _first_real_cells(spec: Pool2d, x: np.ndarray) -> np.ndarray:
    """Every window's first real cell in row-major order (the top-left corner of its real part)."""
    starts = []
    window = spec.window
    for out_size, stride, padding, dilation in zip(
        spec.output_shape[2:], window.stride, window.padding, window.dilation, strict=True
    ):
        # A window starting in the padding has its first real cell at its first tap at or after
        # 0 (0 itself without dilation); the spec guarantees every window holds one.
        start = np.arange(out_size) * stride - padding
        starts.append(np.where(start < 0, start % dilation, start))
    rows, cols = starts
    return x[:, :, rows[:, None], cols[None, :]]


def _extreme_forward(spec: ExtremePool2d, x: np.ndarray, *, pick: np.ufunc) -> np.ndarray:
    """``O[n,c,i,j]`` = the max (min) of the real cells of window (i, j).

    ``pick`` is the elementwise extreme of two arrays (``np.maximum``, ``np.minimum``); NumPy
    runs it on object arrays with Python's comparisons, so it is exact on rationals.
    """
    # Start every window from one of its own real cells, so that padding never takes part.
    out = _first_real_cells(spec, x)
    for tap in taps(spec):
        window = out[tap.out_region]
        pick(window, x[tap.in_region], out=window)
    return out


def _ties_first(hits: list[np.ndarray], upstream: np.ndarray) -> tuple[list, np.ndarray]:
    """The whole gradient to the first extreme entry in row-major window order (PyTorch)."""
    taken = np.zeros_like(hits[0])
    firsts = []
    for hit in hits:  # the taps come in row-major window order
        first = hit & ~taken
        taken |= first
        firsts.append(first)
    return firsts, upstream


def _ties_all(hits: list[np.ndarray], upstream: np.ndarray) -> tuple[list, np.ndarray]:
    """The whole gradient to every tied entry (what an equality mask gives)."""
    return hits, upstream


def _ties_split(hits: list[np.ndarray], upstream: np.ndarray) -> tuple[list, np.ndarray]:
    """Tied entries share the gradient equally."""
    ties = np.sum(hits, axis=0)
    # ties >= 1 since each window's extreme is one of its cells; the floor of 1 only keeps a
    # NaN window (equal to nothing) from dividing by zero. astype: Python ints for objects.
    return hits, upstream / np.maximum(ties, 1).astype(upstream.dtype)


#: Tie rule -> (which taps of each window receive, the amount each receives).
_TIE_RULES: dict[str, Callable[..., tuple[list, np.ndarray]]] = {
    "first": _ties_first,
    "all": _ties_all,
    "split": _ties_split,
}


def _extreme_backward(
    spec: ExtremePool2d, x: np.ndarray, upstream: np.ndarray, *, pick: np.ufunc
) -> dict[str, np.ndarray]:
    """dL/dX: each window's upstream gradient goes to its extreme cells by the tie rule."""
    dtype = common_dtype(x, upstream)
    extreme = _extreme_forward(spec, x, pick=pick)
    window_taps = list(taps(spec))
    hits = []  # per tap: does the cell it reads equal its window's extreme?
    for tap in window_taps:
        hit = np.zeros(extreme.shape, dtype=bool)
        hit[tap.out_region] = x[tap.in_region] == extreme[tap.out_region]
        hits.append(hit)
    receives, amount = _TIE_RULES[spec.ties](hits, upstream.astype(dtype, copy=False))
    grad_input = np.zeros(spec.input_shape, dtype=dtype)
    for tap, receive in zip(window_taps, receives, strict=True):
        grad_input[tap.in_region] += np.where(receive[tap.out_region], amount[tap.out_region], 0)
    return {"X": grad_input}


# -- average pooling ----------------------------------------------------------------------------


def _avg_divisor(spec: AvgPool2d, dtype: np.dtype) -> int | np.ndarray:
    """What each window's sum is divided by, in a form that keeps the dtype (and exactness)."""
    rows, cols = spec.divisor_factors()
    if len(set(rows)) == 1 and len(set(cols)) == 1:
        return rows[0] * cols[0]  # a Python int keeps float32 float32
    return np.multiply.outer(rows, cols).astype(dtype)  # as objects: Python ints, exact division


def _avg_forward(spec: AvgPool2d, x: np.ndarray) -> np.ndarray:
    """``O[n,c,i,j]`` = the sum of the real cells of window (i, j) over the divisor."""
    total = np.zeros(spec.output_shape, dtype=x.dtype)
    for tap in taps(spec):
        total[tap.out_region] += x[tap.in_region]
    return total / _avg_divisor(spec, x.dtype)


def _avg_backward(spec: AvgPool2d, x: np.ndarray, upstream: np.ndarray) -> dict[str, np.ndarray]:
    """dL/dX: each window's upstream gradient over the divisor, to each of its real cells."""
    dtype = common_dtype(x, upstream)
    share = upstream.astype(dtype, copy=False) / _avg_divisor(spec, dtype)
    grad_input = np.zeros(spec.input_shape, dtype=dtype)
    for tap in taps(spec):
        grad_input[tap.in_region] += share[tap.out_region]
    return {"X": grad_input}


# -- the array-level functions ------------------------------------------------------------------


def maxpool2d_forward(
    x: Any,
    *,
    kernel: int | tuple[int, int],
    stride: int | tuple[int, int] | None = None,
    padding: int | tuple[int, int] = (0, 0),
    dilation: int | tuple[int, int] = 1,
    ceil_mode: bool = False,
) -> np.ndarray:
    """2-D max pooling, as ``torch.nn.functional.max_pool2d``; padded cells never win.

    Parameters
    ----------
    x : array_like, shape (N, C, H, W)
        The input: float32, float64, or object (exact rationals).
    kernel : int or (int, int)
        The window (kh, kw).
    stride : int or (int, int), optional
        The step between windows; the kernel when None.
    padding : int or (int, int)
        Implicit padding on each side, at most half the kernel (as PyTorch).
    dilation : int or (int, int)
        The spacing of the window's taps (1: adjacent cells), as PyTorch's.
    ceil_mode : bool
        Round the output size up, as PyTorch's: a last window that starts inside the input
        (or its left padding) and overhangs its end is kept; its cells past the end are not
        read.

    Returns
    -------
    numpy.ndarray, shape (N, C, OH, OW)
        The maximum of each window's real cells.

    Examples
    --------
    >>> x = np.array([[[[1.0, 5.0, 2.0], [4.0, 3.0, 0.0]]]])
    >>> maxpool2d_forward(x, kernel=2, stride=1)
    array([[[[5., 5.]]]])
    """
    spec = _pool_spec(MaxPool2d, x, kernel, stride, padding, dilation=dilation, ceil_mode=ceil_mode)
    return forward(spec, x)


def maxpool2d_backward(
    x: Any,
    grad_out: Any,
    *,
    kernel: int | tuple[int, int],
    stride: int | tuple[int, int] | None = None,
    padding: int | tuple[int, int] = (0, 0),
    dilation: int | tuple[int, int] = 1,
    ceil_mode: bool = False,
    ties: str = "first",
) -> np.ndarray:
    """Gradient of ``L = sum(grad_out * maxpool2d_forward(x, ...))`` with respect to ``x``.

    Parameters
    ----------
    x, kernel, stride, padding, dilation, ceil_mode
        As :func:`maxpool2d_forward`.
    grad_out : array_like, shape (N, C, OH, OW)
        The upstream gradient, shaped like the forward output.
    ties : {"first", "all", "split"}
        Who receives a window's gradient when several cells hold its maximum: ``first`` the
        first in row-major window order (PyTorch), ``all`` every one (an equality mask),
        ``split`` all of them in equal shares. Overlapping windows accumulate.

    Returns
    -------
    numpy.ndarray, shape (N, C, H, W)

    Examples
    --------
    >>> x = np.array([[[[1.0, 3.0], [3.0, 2.0]]]])
    >>> maxpool2d_backward(x, np.ones((1, 1, 1, 1)), kernel=2)
    array([[[[0., 1.],
             [0., 0.]]]])
    >>> maxpool2d_backward(x, np.ones((1, 1, 1, 1)), kernel=2, ties="all")
    array([[[[0., 1.],
             [1., 0.]]]])
    """
    spec = _pool_spec(
        MaxPool2d, x, kernel, stride, padding, dilation=dilation, ceil_mode=ceil_mode, ties=ties
    )
    return backward(spec, x, grad_out)["X"]


def minpool2d_forward(
    x: Any,
    *,
    kernel: int | tuple[int, int],
    stride: int | tuple[int, int] | None = None,
    padding: int | tuple[int, int] = (0, 0),
    dilation: int | tuple[int, int] = 1,
    ceil_mode: bool = False,
) -> np.ndarray:
    """2-D min pooling: :func:`maxpool2d_forward` with the minimum.

    Examples
    --------
    >>> x = np.array([[[[1.0, 5.0, 2.0], [4.0, 3.0, 0.0]]]])
    >>> minpool2d_forward(x, kernel=2, stride=1)
    array([[[[1., 0.]]]])
    """
    spec = _pool_spec(MinPool2d, x, kernel, stride, padding, dilation=dilation, ceil_mode=ceil_mode)
    return forward(spec, x)


def minpool2d_backward(
    x: Any,
    grad_out: Any,
    *,
    kernel: int | tuple[int, int],
    stride: int | tuple[int, int] | None = None,
    padding: int | tuple[int, int] = (0, 0),
    dilation: int | tuple[int, int] = 1,
    ceil_mode: bool = False,
    ties: str = "first",
) -> np.ndarray:
    """Gradient of min pooling: :func:`maxpool2d_backward` with the minimum.

    Examples
    --------
    >>> x = np.array([[[[1.0, 3.0], [1.0, 2.0]]]])
    >>> minpool2d_backward(x, np.ones((1, 1, 1, 1)), kernel=2, ties="split")
    array([[[[0.5, 0. ],
             [0.5, 0. ]]]])
    """
    spec = _pool_spec(
        MinPool2d, x, kernel, stride, padding, dilation=dilation, ceil_mode=ceil_mode, ties=ties
    )
    return backward(spec, x, grad_out)["X"]


def avgpool2d_forward(
    x: Any,
    *,
    kernel: int | tuple[int, int],
    stride: int | tuple[int, int] | None = None,
    padding: int | tuple[int, int] = (0, 0),
    ceil_mode: bool = False,
    count_include_pad: bool = True,
) -> np.ndarray:
    """2-D average pooling, as ``torch.nn.functional.avg_pool2d``.

    Parameters
    ----------
    x, kernel, stride, padding, ceil_mode
        As :func:`maxpool2d_forward` (average pooling has no dilation, as in PyTorch).
    count_include_pad : bool
        Divide every window's sum by ``kh * kw`` (True), or by the number of its real
        (not padded) cells (False). A ``ceil_mode`` window overhanging the padding divides
        by its cells inside the padded input, as PyTorch.

    Returns
    -------
    numpy.ndarray, shape (N, C, OH, OW)

    Examples
    --------
    >>> x = np.full((1, 1, 2, 2), 4.0)
    >>> avgpool2d_forward(x, kernel=2, padding=1)
    array([[[[1., 1.],
             [1., 1.]]]])
    >>> avgpool2d_forward(x, kernel=2, padding=1, count_include_pad=False)
    array([[[[4., 4.],
             [4., 4.]]]])
    """
    spec = _pool_spec(
        AvgPool2d,
        x,
        kernel,
        stride,
        padding,
        count_include_pad=count_include_pad,
        ceil_mode=ceil_mode,
    )
    return forward(spec, x)


def avgpool2d_backward(
    x: Any,
    grad_out: Any,
    *,
    kernel: int | tuple[int, int],
    stride: int | tuple[int, int] | None = None,
    padding: int | tuple[int, int] = (0, 0),
    ceil_mode: bool = False,
    count_include_pad: bool = True,
) -> np.ndarray:
    """Gradient of ``L = sum(grad_out * avgpool2d_forward(x, ...))`` with respect to ``x``.

    Each window's upstream gradient, over the same divisor as the forward pass, goes to each of
    its real cells; overlapping windows accumulate.

    Examples
    --------
    >>> x = np.zeros((1, 1, 2, 3))
    >>> avgpool2d_backward(x, np.array([[[[4.0, 8.0]]]]), kernel=2, stride=1)
    array([[[[1., 3., 2.],
             [1., 3., 2.]]]])
    """
    spec = _pool_spec(
        AvgPool2d,
        x,
        kernel,
        stride,
        padding,
        count_include_pad=count_include_pad,
        ceil_mode=ceil_mode,
    )
    return backward(spec, x, grad_out)["X"]


def _pool_spec(
    cls: type[Pool2d], x: Any, kernel: Any, stride: Any, padding: Any, **options: Any
) -> Pool2d:
    """The spec of a pool on this input (the spec checks the options)."""
    x = four_dimensional("x", x, INPUT_AXES)
    return cls(input_shape=x.shape, kernel=kernel, stride=stride, padding=padding, **options)


def _extreme_runtime(pick: np.ufunc) -> LayerRuntime:
    """The runtime of an extreme pool whose elementwise extreme of two arrays is ``pick``."""
    return LayerRuntime(
        functools.partial(_extreme_forward, pick=pick),
        functools.partial(_extreme_backward, pick=pick),
    )


#: Layer type -> its forward and backward (the spec-level dispatch finds it through the registry).
TABLE = {
    MaxPool2d.type: _extreme_runtime(np.maximum),
    MinPool2d.type: _extreme_runtime(np.minimum),
    AvgPool2d.type: LayerRuntime(_avg_forward, _avg_backward),
}
