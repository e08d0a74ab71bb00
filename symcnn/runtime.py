"""The generic NumPy runtime: every layer's forward and backward pass, computed directly.

This is the reference that every generated kernel is held against, so it is written from the
definitions, not from the derivation. It imports NumPy and the layer specs, never SymPy.

Everything is computed tap by tap. A *tap* is one position ``(p, q)`` of the kernel window. For
one tap, the output windows where that tap lands on a real (not padded) input cell form a
rectangle, and the input cells they read form a strided rectangle (:func:`_taps`). Working on
those two rectangles means the padding is never built: padded cells add nothing to a sum, never
win a max or a min, and are not counted in an average, with no ``-inf`` sentinel. So the same code
runs on float32, float64 and object arrays of exact rationals (``fractions.Fraction`` or SymPy
``Rational``), where it is exact.

- conv2d gathers the taps into columns (im2col) and lets one ``matmul`` per group do the bulk,
  which BLAS runs for float32 and float64 and NumPy runs exactly on object arrays. Its backward
  reuses the columns for the weight gradient and scatter-adds the column gradient back, tap by
  tap, for the input gradient.
- The pools loop over the taps with whole-array operations; the backward scatter-adds per tap.
  Within one tap distinct windows read distinct input cells, so a strided ``+=`` is exact, and
  overlapping windows (stride < kernel) accumulate across taps.

Option checks live in :mod:`symcnn.spec`: the array-level functions build a spec from the
arrays' shapes and their options, then run the spec-level :func:`forward` or :func:`backward`,
which check every array against the spec.

The result dtype is NumPy's promotion of the arrays given (float32 with float32 stays float32).
Object arrays are exact when they hold rationals: the divisions (an average, a split tie, the
``"mean"`` reduction) divide by Python ints, and ``Fraction / int`` is a Fraction where a plain
``int / int`` would be a float. A NaN in a max (min) window makes that output NaN and, being
equal to nothing, receives none of its gradient.

>>> from symcnn.layers.pool.spec import MaxPool2d
>>> x = np.array([[[[1.0, 3.0], [3.0, 2.0]]]])
>>> spec = MaxPool2d(input_shape=x.shape, kernel=(2, 2), ties="split")
>>> forward(spec, x)
array([[[[3.]]]])
>>> backward(spec, x, np.ones((1, 1, 1, 1)))["X"]
array([[[[0. , 0.5],
         [0.5, 0. ]]]])
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any, NamedTuple

import numpy as np

from .layers.conv2d.spec import Conv2d
from .layers.pool.spec import AvgPool2d, ExtremePool2d, MaxPool2d, MinPool2d, Pool2d
from .spec import Layer

#: The dtypes computed on: binary floats (fast, BLAS) and objects (exact rationals).
DTYPES = (np.dtype(np.float32), np.dtype(np.float64), np.dtype(object))


# -- checking arrays ----------------------------------------------------------------------------


def _checked(name: str, value: Any, shape: tuple[int, ...], meaning: str) -> np.ndarray:
    """``value`` as an array of exactly ``shape`` and a supported dtype, or a ValueError."""
    if value is None:
        raise ValueError(f"{name} is missing: expected an array of shape {shape} ({meaning})")
    array = np.asarray(value)
    if array.dtype not in DTYPES:
        raise ValueError(
            f"{name} has dtype {array.dtype}: expected float32, float64 or object"
            " (exact rationals such as fractions.Fraction)"
        )
    if array.shape != tuple(shape):
        raise ValueError(f"{name} has shape {array.shape}: expected {tuple(shape)} ({meaning})")
    return array


def _four_dimensional(name: str, value: Any, axes: str) -> np.ndarray:
    """``value`` as a 4-D array, or a ValueError naming the argument and the axes expected."""
    array = np.asarray(value)
    if array.ndim != 4:
        raise ValueError(f"{name} has shape {array.shape}: expected a 4-D array {axes}")
    return array


def _refuse(spec: Layer, name: str, value: Any, why: str) -> None:
    """Raise when an argument the layer cannot use is given, rather than silently ignore it."""
    if value is not None:
        shape = np.shape(value)
        raise ValueError(f"{name} must be None for this {spec.type} ({why}), got shape {shape}")


def _common_dtype(*arrays: np.ndarray | None) -> np.dtype:
    """The dtype of the computation: NumPy's promotion of the arrays given."""
    return np.result_type(*(a for a in arrays if a is not None))


# -- geometry: which output windows and input cells each tap links ------------------------------


class _Tap(NamedTuple):
    """One kernel position and the two rectangles it links (each ``(..., rows, cols)``)."""

    p: int
    q: int
    out_region: tuple[Any, slice, slice]  # output windows in which this tap is a real cell
    in_region: tuple[Any, slice, slice]  # the input cells those windows read, in the same order


def _axis_taps(
    size: int, out_size: int, kernel: int, stride: int, padding: int, dilation: int
) -> list[tuple[slice, slice] | None]:
    """Per tap along one axis: (output slice, input slice), or None if it only reads padding."""
    taps: list[tuple[slice, slice] | None] = []
    for p in range(kernel):
        offset = p * dilation - padding  # the input index this tap reads in output window 0
        # window i reads index i*stride + offset, which is real when 0 <= it <= size - 1
        first = max(0, -(offset // stride))  # ceil(-offset / stride)
        last = min(out_size - 1, (size - 1 - offset) // stride)
        if first > last:
            taps.append(None)
            continue
        start = first * stride + offset
        taps.append((slice(first, last + 1), slice(start, last * stride + offset + 1, stride)))
    return taps


def _taps(spec: Conv2d | Pool2d) -> Iterator[_Tap]:
    """The taps that read at least one real cell, in row-major window order."""
    _, _, height, width = spec.input_shape
    _, _, out_height, out_width = spec.output_shape
    dilation = getattr(spec, "dilation", (1, 1))  # the pools have no dilation
    rows = _axis_taps(
        height, out_height, spec.kernel[0], spec.stride[0], spec.padding[0], dilation[0]
    )
    cols = _axis_taps(
        width, out_width, spec.kernel[1], spec.stride[1], spec.padding[1], dilation[1]
    )
    for p, row in enumerate(rows):
        for q, col in enumerate(cols):
            if row is not None and col is not None:
                yield _Tap(p, q, (..., row[0], col[0]), (..., row[1], col[1]))


# -- conv2d -------------------------------------------------------------------------------------


def _conv2d_columns(spec: Conv2d, x: np.ndarray) -> np.ndarray:
    """im2col: ``columns[g, c, p, q, n, i, j]`` is the cell that tap (p, q) of window (i, j) reads
    in channel c of group g, or 0 on padding; shape (G, C/G, kh, kw, N, OH, OW)."""
    batch, _, height, width = spec.input_shape
    _, in_per_group, kh, kw = spec.weight_shape
    _, _, out_height, out_width = spec.output_shape
    grouped = x.reshape(batch, spec.groups, in_per_group, height, width)
    shape = (spec.groups, in_per_group, kh, kw, batch, out_height, out_width)
    columns = np.zeros(shape, dtype=x.dtype)
    for tap in _taps(spec):
        cells = grouped[tap.in_region].transpose(1, 2, 0, 3, 4)  # (G, C/G, N, rows, cols)
        columns[:, :, tap.p, tap.q][tap.out_region] = cells
    return columns


def _conv2d_matrices(
    spec: Conv2d, x: np.ndarray, w: np.ndarray, dtype: np.dtype
) -> tuple[np.ndarray, np.ndarray]:
    """Per group, the columns as (C/G*kh*kw, N*OH*OW) and the weight as (K/G, C/G*kh*kw)."""
    columns = _conv2d_columns(spec, x.astype(dtype, copy=False))
    taps_per_output = spec.weight_shape[1] * spec.kernel[0] * spec.kernel[1]
    columns = columns.reshape(spec.groups, taps_per_output, -1)
    weights = w.astype(dtype, copy=False).reshape(spec.groups, -1, taps_per_output)
    return columns, weights


def _conv2d_forward(
    spec: Conv2d, x: np.ndarray, w: np.ndarray, b: np.ndarray | None = None
) -> np.ndarray:
    """``O[n,k,i,j] = b[k] + sum_{c,p,q} X[n, c', i*S - P + p*D, j*S - P + q*D] * W[k,c,p,q]``."""
    dtype = _common_dtype(x, w, b)
    columns, weights = _conv2d_matrices(spec, x, w, dtype)
    # (G, K/G, C/G*kh*kw) @ (G, C/G*kh*kw, N*OH*OW): the bulk of the work, one matmul per group
    out = np.matmul(weights, columns)
    batch, out_channels, out_height, out_width = spec.output_shape
    out = out.reshape(out_channels, batch, out_height, out_width).transpose(1, 0, 2, 3)
    out = np.ascontiguousarray(out)
    if b is not None:
        out += b.astype(dtype, copy=False)[:, None, None]
    return out


def _conv2d_backward(
    spec: Conv2d, x: np.ndarray, upstream: np.ndarray, w: np.ndarray
) -> dict[str, np.ndarray]:
    """dL/dX, dL/dW and (with a bias) dL/dB for dL/dO = ``upstream``."""
    dtype = _common_dtype(x, w, upstream)
    columns, weights = _conv2d_matrices(spec, x, w, dtype)
    upstream = upstream.astype(dtype, copy=False)
    batch, _, height, width = spec.input_shape
    _, _, out_height, out_width = spec.output_shape
    # (N, K, OH, OW) -> (G, K/G, N*OH*OW), matching the columns' last axis
    grouped_upstream = upstream.reshape(batch, spec.groups, -1, out_height * out_width)
    grouped_upstream = grouped_upstream.transpose(1, 2, 0, 3).reshape(
        spec.groups, -1, columns.shape[2]
    )
    grad_weight = np.matmul(grouped_upstream, columns.transpose(0, 2, 1))
    grad_columns = np.matmul(weights.transpose(0, 2, 1), grouped_upstream)
    grad_columns = grad_columns.reshape(
        spec.groups, spec.weight_shape[1], *spec.kernel, batch, out_height, out_width
    )
    # col2im: each column entry goes back to the input cell it was gathered from
    grad_input = np.zeros((batch, spec.groups, spec.weight_shape[1], height, width), dtype=dtype)
    for tap in _taps(spec):
        cells = grad_columns[:, :, tap.p, tap.q][tap.out_region]  # (G, C/G, N, rows, cols)
        grad_input[tap.in_region] += cells.transpose(2, 0, 1, 3, 4)
    grads = {
        "X": grad_input.reshape(spec.input_shape),
        "W": grad_weight.reshape(spec.weight_shape),
    }
    if spec.bias:
        grads["B"] = upstream.sum(axis=(0, 2, 3))
    return grads


# -- max and min pooling ------------------------------------------------------------------------

#: The elementwise extreme of two arrays, per extreme pool. NumPy runs these on object arrays
#: with Python's comparisons, so they are exact on rationals.
_PICK_EXTREME: dict[str, np.ufunc] = {"maxpool2d": np.maximum, "minpool2d": np.minimum}


def _first_real_cells(spec: Pool2d, x: np.ndarray) -> np.ndarray:
    """Every window's first real cell in row-major order (the top-left corner of its real part)."""
    starts = []
    for size, out_size, stride, padding in zip(
        spec.input_shape[2:], spec.output_shape[2:], spec.stride, spec.padding, strict=True
    ):
        # A window starting in the padding has its first real cell at 0; the spec's padding
        # limit (at most half the kernel) guarantees every window holds one.
        starts.append(np.clip(np.arange(out_size) * stride - padding, 0, size - 1))
    rows, cols = starts
    return x[:, :, rows[:, None], cols[None, :]]


def _extreme_forward(spec: ExtremePool2d, x: np.ndarray) -> np.ndarray:
    """``O[n,c,i,j]`` = the max (min) of the real cells of window (i, j)."""
    pick = _PICK_EXTREME[spec.type]
    # Start every window from one of its own real cells, so that padding never takes part.
    out = _first_real_cells(spec, x)
    for tap in _taps(spec):
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
    spec: ExtremePool2d, x: np.ndarray, upstream: np.ndarray
) -> dict[str, np.ndarray]:
    """dL/dX: each window's upstream gradient goes to its extreme cells by the tie rule."""
    dtype = _common_dtype(x, upstream)
    extreme = _extreme_forward(spec, x)
    taps = list(_taps(spec))
    hits = []  # per tap: does the cell it reads equal its window's extreme?
    for tap in taps:
        hit = np.zeros(extreme.shape, dtype=bool)
        hit[tap.out_region] = x[tap.in_region] == extreme[tap.out_region]
        hits.append(hit)
    receives, amount = _TIE_RULES[spec.ties](hits, upstream.astype(dtype, copy=False))
    grad_input = np.zeros(spec.input_shape, dtype=dtype)
    for tap, receive in zip(taps, receives, strict=True):
        grad_input[tap.in_region] += np.where(receive[tap.out_region], amount[tap.out_region], 0)
    return {"X": grad_input}


# -- average pooling ----------------------------------------------------------------------------


def _real_cell_counts(spec: AvgPool2d) -> np.ndarray:
    """The number of real (not padded) cells in every window, shape (OH, OW)."""
    counts = []
    for size, out_size, kernel, stride, padding in zip(
        spec.input_shape[2:],
        spec.output_shape[2:],
        spec.kernel,
        spec.stride,
        spec.padding,
        strict=True,
    ):
        start = np.arange(out_size) * stride - padding
        counts.append(np.minimum(start + kernel, size) - np.maximum(start, 0))
    rows, cols = counts
    return np.multiply.outer(rows, cols)


def _avg_divisor(spec: AvgPool2d, dtype: np.dtype) -> int | np.ndarray:
    """What each window's sum is divided by, in a form that keeps the dtype (and exactness)."""
    if spec.count_include_pad:
        return spec.kernel[0] * spec.kernel[1]  # a Python int keeps float32 float32
    return _real_cell_counts(spec).astype(dtype)  # as objects: Python ints, exact division


def _avg_forward(spec: AvgPool2d, x: np.ndarray) -> np.ndarray:
    """``O[n,c,i,j]`` = the sum of the real cells of window (i, j) over the divisor."""
    total = np.zeros(spec.output_shape, dtype=x.dtype)
    for tap in _taps(spec):
        total[tap.out_region] += x[tap.in_region]
    return total / _avg_divisor(spec, x.dtype)


def _avg_backward(spec: AvgPool2d, x: np.ndarray, upstream: np.ndarray) -> dict[str, np.ndarray]:
    """dL/dX: each window's upstream gradient over the divisor, to each of its real cells."""
    dtype = _common_dtype(x, upstream)
    share = upstream.astype(dtype, copy=False) / _avg_divisor(spec, dtype)
    grad_input = np.zeros(spec.input_shape, dtype=dtype)
    for tap in _taps(spec):
        grad_input[tap.in_region] += share[tap.out_region]
    return {"X": grad_input}


# -- the spec-level entry points ----------------------------------------------------------------


class _LayerRuntime(NamedTuple):
    """How the runtime computes one layer type, on arrays already checked against the spec."""

    forward: Callable[..., np.ndarray]  # (spec, x, **parameters) -> output
    backward: Callable[..., dict[str, np.ndarray]]  # (spec, x, upstream, **weights) -> grads


#: Layer type -> its forward and backward; a new layer is one more entry.
RUNTIMES: dict[str, _LayerRuntime] = {
    "conv2d": _LayerRuntime(_conv2d_forward, _conv2d_backward),
    "maxpool2d": _LayerRuntime(_extreme_forward, _extreme_backward),
    "minpool2d": _LayerRuntime(_extreme_forward, _extreme_backward),
    "avgpool2d": _LayerRuntime(_avg_forward, _avg_backward),
}

#: Parameter argument -> (the spec attribute giving its shape, its axes, whether it is required).
#: A layer without the attribute (or with it None: conv2d with bias=False) takes no such array.
_PARAMETERS: dict[str, tuple[str, str, bool]] = {
    "w": ("weight_shape", "(out_channels, in_channels/groups, kh, kw)", True),
    "b": ("bias_shape", "(out_channels,)", False),
}


def _checked_parameters(spec: Layer, **given: Any) -> dict[str, np.ndarray]:
    """The parameter arrays given (``w``, ``b``) checked against the spec, keyed for its runtime."""
    checked = {}
    for name, value in given.items():
        attribute, axes, required = _PARAMETERS[name]
        shape = getattr(spec, attribute, None)
        if shape is None:
            noun = attribute.removesuffix("_shape")
            _refuse(spec, name, value, f"it has no {noun}")
        elif value is not None or required:
            checked[name] = _checked(name, value, shape, axes)
    return checked


def _runtime_for(spec: Layer) -> _LayerRuntime:
    """The table entry of the spec's layer type, or a ValueError naming the known types."""
    runtime = RUNTIMES.get(spec.type)
    if runtime is None:
        known = ", ".join(sorted(RUNTIMES))
        raise ValueError(f"the runtime has no layer {spec.type!r}: it knows {known}")
    return runtime


def forward(spec: Layer, x: Any, w: Any = None, b: Any = None) -> np.ndarray:
    """The forward pass of the layer ``spec`` describes.

    Parameters
    ----------
    spec : Layer
        A layer from :mod:`symcnn.spec` (``Conv2d``, ``MaxPool2d``, ``MinPool2d``, ``AvgPool2d``).
    x : array_like
        The input, of shape ``spec.input_shape``.
    w : array_like, optional
        conv2d: the weight, of shape ``spec.weight_shape`` (required). Pools take none.
    b : array_like, optional
        conv2d with ``bias=True``: the bias, of shape ``(out_channels,)``; None adds no bias.

    Returns
    -------
    numpy.ndarray
        The output, of shape ``spec.output_shape``, in the promoted dtype of the arrays given
        (float32, float64 or object).

    Raises
    ------
    ValueError
        An array of the wrong shape or dtype, a missing weight, or a parameter the layer
        does not have; the message names the argument, the expected and the given.

    Examples
    --------
    >>> from symcnn.layers.pool.spec import AvgPool2d
    >>> spec = AvgPool2d(input_shape=(1, 1, 2, 4), kernel=(2, 2))
    >>> forward(spec, np.arange(8.0).reshape(spec.input_shape))
    array([[[[2.5, 4.5]]]])
    """
    runtime = _runtime_for(spec)
    x = _checked("x", x, spec.input_shape, "the spec's input_shape")
    return runtime.forward(spec, x, **_checked_parameters(spec, w=w, b=b))


def backward(spec: Layer, x: Any, grad_out: Any, w: Any = None) -> dict[str, np.ndarray]:
    """Every gradient of the layer ``spec`` describes, for the upstream gradient ``grad_out``.

    The loss is ``L = sum(G * O)`` for ``spec.reduction == "sum"`` and ``sum(G * O) / N`` for
    ``"mean"``, where G is ``grad_out`` and N the batch size: so dL/dO is G, or G / N.

    Parameters
    ----------
    spec : Layer
        A layer from :mod:`symcnn.spec`.
    x : array_like
        The input, of shape ``spec.input_shape``.
    grad_out : array_like
        The upstream gradient G, of shape ``spec.output_shape``.
    w : array_like, optional
        conv2d: the weight, of shape ``spec.weight_shape`` (required). Pools take none.

    Returns
    -------
    dict of str to numpy.ndarray
        ``"X"`` (shaped like the input), and for conv2d ``"W"`` (like the weight) and, with
        ``bias=True``, ``"B"`` (like the bias).

    Raises
    ------
    ValueError
        As :func:`forward`; ``grad_out`` must have the forward output's shape.

    Examples
    --------
    >>> from symcnn.layers.conv2d.spec import Conv2d
    >>> spec = Conv2d(input_shape=(2, 1, 2, 2), kernel=(2, 2), reduction="mean")
    >>> x, w = np.ones((2, 1, 2, 2)), np.ones((1, 1, 2, 2))
    >>> grads = backward(spec, x, np.ones((2, 1, 1, 1)), w)
    >>> sorted(grads), grads["B"]
    (['B', 'W', 'X'], array([1.]))
    """
    runtime = _runtime_for(spec)
    x = _checked("x", x, spec.input_shape, "the spec's input_shape")
    upstream = _checked("grad_out", grad_out, spec.output_shape, "the forward output shape")
    weights = _checked_parameters(spec, w=w)
    if spec.reduction == "mean":
        upstream = upstream / spec.batch  # dL/dO = G / N
    return runtime.backward(spec, x, upstream, **weights)


# -- the array-level functions ------------------------------------------------------------------

_INPUT_AXES = "(N, C, H, W)"


def conv2d_forward(
    x: Any,
    w: Any,
    b: Any = None,
    *,
    stride: int | tuple[int, int] = (1, 1),
    padding: int | tuple[int, int] = (0, 0),
    dilation: int | tuple[int, int] = (1, 1),
    groups: int = 1,
) -> np.ndarray:
    """2-D convolution (cross-correlation) with zero padding, as ``torch.nn.functional.conv2d``.

    ``out[n, k, i, j] = b[k] + sum_{c, p, q} x[n, g*C/G + c, i*S - P + p*D, j*S - P + q*D]
    * w[k, c, p, q]`` with ``g = k // (K/G)``; cells outside the input read 0.

    Parameters
    ----------
    x : array_like, shape (N, C, H, W)
        The input: float32, float64, or object (exact rationals).
    w : array_like, shape (K, C/groups, kh, kw)
        The weight.
    b : array_like, shape (K,), optional
        The bias; None adds none.
    stride, padding, dilation : int or (int, int)
        Along (height, width); an int means both.
    groups : int
        Channel groups; must divide C and K.

    Returns
    -------
    numpy.ndarray, shape (N, K, OH, OW)
        ``OH = floor((H + 2P - D(kh - 1) - 1) / S) + 1``, likewise OW.

    Raises
    ------
    ValueError
        An invalid option, or an array of the wrong shape (``w`` not matching ``x``'s channels)
        or dtype.

    Examples
    --------
    >>> x = np.arange(9.0).reshape(1, 1, 3, 3)
    >>> conv2d_forward(x, np.ones((1, 1, 2, 2)), np.array([0.5]))
    array([[[[ 8.5, 12.5],
             [20.5, 24.5]]]])
    """
    spec = _conv2d_spec(x, w, stride, padding, dilation, groups, bias=b is not None)
    return forward(spec, x, w, b)


def conv2d_backward(
    x: Any,
    w: Any,
    grad_out: Any,
    *,
    stride: int | tuple[int, int] = (1, 1),
    padding: int | tuple[int, int] = (0, 0),
    dilation: int | tuple[int, int] = (1, 1),
    groups: int = 1,
    bias: bool = True,
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Gradients of ``L = sum(grad_out * conv2d_forward(x, w, b, ...))``.

    Parameters
    ----------
    x, w, stride, padding, dilation, groups
        As :func:`conv2d_forward`.
    grad_out : array_like, shape (N, K, OH, OW)
        The upstream gradient dL/dO, shaped like the forward output.
    bias : bool
        Whether the layer has a bias (and so a bias gradient).

    Returns
    -------
    grad_x : numpy.ndarray, shape (N, C, H, W)
    grad_w : numpy.ndarray, shape (K, C/groups, kh, kw)
    grad_b : numpy.ndarray, shape (K,), or None when ``bias=False``

    Examples
    --------
    >>> x = np.arange(9.0).reshape(1, 1, 3, 3)
    >>> grad_x, grad_w, grad_b = conv2d_backward(x, np.ones((1, 1, 2, 2)), np.ones((1, 1, 2, 2)))
    >>> grad_x
    array([[[[1., 2., 1.],
             [2., 4., 2.],
             [1., 2., 1.]]]])
    >>> grad_w, grad_b
    (array([[[[ 8., 12.],
             [20., 24.]]]]), array([4.]))
    """
    spec = _conv2d_spec(x, w, stride, padding, dilation, groups, bias=bias)
    grads = backward(spec, x, grad_out, w)
    return grads["X"], grads["W"], grads.get("B")


def _conv2d_spec(
    x: Any, w: Any, stride: Any, padding: Any, dilation: Any, groups: Any, *, bias: bool
) -> Conv2d:
    """The spec of a conv2d on these arrays (the spec checks the options)."""
    x = _four_dimensional("x", x, _INPUT_AXES)
    w = _four_dimensional("w", w, "(out_channels, in_channels/groups, kh, kw)")
    return Conv2d(
        input_shape=x.shape,
        out_channels=w.shape[0],
        kernel=w.shape[2:],
        stride=stride,
        padding=padding,
        dilation=dilation,
        groups=groups,
        bias=bias,
    )


def maxpool2d_forward(
    x: Any,
    *,
    kernel: int | tuple[int, int],
    stride: int | tuple[int, int] | None = None,
    padding: int | tuple[int, int] = (0, 0),
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
    spec = _pool_spec(MaxPool2d, x, kernel, stride, padding)
    return forward(spec, x)


def maxpool2d_backward(
    x: Any,
    grad_out: Any,
    *,
    kernel: int | tuple[int, int],
    stride: int | tuple[int, int] | None = None,
    padding: int | tuple[int, int] = (0, 0),
    ties: str = "first",
) -> np.ndarray:
    """Gradient of ``L = sum(grad_out * maxpool2d_forward(x, ...))`` with respect to ``x``.

    Parameters
    ----------
    x, kernel, stride, padding
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
    spec = _pool_spec(MaxPool2d, x, kernel, stride, padding, ties=ties)
    return backward(spec, x, grad_out)["X"]


def minpool2d_forward(
    x: Any,
    *,
    kernel: int | tuple[int, int],
    stride: int | tuple[int, int] | None = None,
    padding: int | tuple[int, int] = (0, 0),
) -> np.ndarray:
    """2-D min pooling: :func:`maxpool2d_forward` with the minimum.

    Examples
    --------
    >>> x = np.array([[[[1.0, 5.0, 2.0], [4.0, 3.0, 0.0]]]])
    >>> minpool2d_forward(x, kernel=2, stride=1)
    array([[[[1., 0.]]]])
    """
    spec = _pool_spec(MinPool2d, x, kernel, stride, padding)
    return forward(spec, x)


def minpool2d_backward(
    x: Any,
    grad_out: Any,
    *,
    kernel: int | tuple[int, int],
    stride: int | tuple[int, int] | None = None,
    padding: int | tuple[int, int] = (0, 0),
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
    spec = _pool_spec(MinPool2d, x, kernel, stride, padding, ties=ties)
    return backward(spec, x, grad_out)["X"]


def avgpool2d_forward(
    x: Any,
    *,
    kernel: int | tuple[int, int],
    stride: int | tuple[int, int] | None = None,
    padding: int | tuple[int, int] = (0, 0),
    count_include_pad: bool = True,
) -> np.ndarray:
    """2-D average pooling, as ``torch.nn.functional.avg_pool2d``.

    Parameters
    ----------
    x, kernel, stride, padding
        As :func:`maxpool2d_forward`.
    count_include_pad : bool
        Divide every window's sum by ``kh * kw`` (True), or by the number of its real
        (not padded) cells (False).

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
    spec = _pool_spec(AvgPool2d, x, kernel, stride, padding, count_include_pad=count_include_pad)
    return forward(spec, x)


def avgpool2d_backward(
    x: Any,
    grad_out: Any,
    *,
    kernel: int | tuple[int, int],
    stride: int | tuple[int, int] | None = None,
    padding: int | tuple[int, int] = (0, 0),
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
    spec = _pool_spec(AvgPool2d, x, kernel, stride, padding, count_include_pad=count_include_pad)
    return backward(spec, x, grad_out)["X"]


def _pool_spec(
    cls: type[Pool2d], x: Any, kernel: Any, stride: Any, padding: Any, **options: Any
) -> Pool2d:
    """The spec of a pool on this input (the spec checks the options)."""
    x = _four_dimensional("x", x, _INPUT_AXES)
    return cls(input_shape=x.shape, kernel=kernel, stride=stride, padding=padding, **options)
