"""The NumPy runtime of conv2d: im2col forward and backward, and the array-level functions.

The columns gather every tap of every window (:func:`symcnn.runtime_base.taps`), so one
``matmul`` per group does the bulk: BLAS for float32 and float64, exact NumPy on object arrays
of rationals. The backward reuses the columns for the weight gradient and scatter-adds the
column gradient back, tap by tap, for the input gradient. The public functions are re-exported
by :mod:`symcnn.runtime`.
"""

from __future__ import annotations

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
from .spec import Conv2d

# -- the layer -------------------------------------------------------------------------------------


def _conv2d_columns(spec: Conv2d, x: np.ndarray) -> np.ndarray:
    """im2col: ``columns[g, c, p, q, n, i, j]`` is the cell that tap (p, q) of window (i, j) reads
    in channel c of group g, or 0 on padding; shape (G, C/G, kh, kw, N, OH, OW)."""
    batch, _, height, width = spec.input_shape
    _, in_per_group, kh, kw = spec.weight_shape
    _, _, out_height, out_width = spec.output_shape
    grouped = x.reshape(batch, spec.groups, in_per_group, height, width)
    shape = (spec.groups, in_per_group, kh, kw, batch, out_height, out_width)
    columns = np.zeros(shape, dtype=x.dtype)
    for tap in taps(spec):
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
    dtype = common_dtype(x, w, b)
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
    dtype = common_dtype(x, w, upstream)
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
    for tap in taps(spec):
        cells = grad_columns[:, :, tap.p, tap.q][tap.out_region]  # (G, C/G, N, rows, cols)
        grad_input[tap.in_region] += cells.transpose(2, 0, 1, 3, 4)
    grads = {
        "X": grad_input.reshape(spec.input_shape),
        "W": grad_weight.reshape(spec.weight_shape),
    }
    if spec.bias:
        grads["B"] = upstream.sum(axis=(0, 2, 3))
    return grads


# -- the array-level functions ------------------------------------------------------------------


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
    x = four_dimensional("x", x, INPUT_AXES)
    w = four_dimensional("w", w, "(out_channels, in_channels/groups, kh, kw)")
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


#: Layer type -> its forward and backward (the spec-level dispatch finds it through the registry).
TABLE = {Conv2d.type: LayerRuntime(_conv2d_forward, _conv2d_backward)}
