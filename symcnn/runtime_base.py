"""The runtime's machinery that every layer kind shares: array checks, taps and the dispatch.

The kinds' runtimes (``symcnn/layers/<kind>/runtime.py``) import this module; the public
:mod:`symcnn.runtime` re-exports it with their array-level functions. It names no layer: the
spec-level :func:`forward` and :func:`backward` check the arrays against the spec and run the
layer type's :class:`LayerRuntime`, found through the registry (:func:`symcnn.layers.entry`).
It imports NumPy and the spec base, never SymPy.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np

from . import layers
from .spec import Layer

#: The dtypes computed on: binary floats (fast, BLAS) and objects (exact rationals).
DTYPES = (np.dtype(np.float32), np.dtype(np.float64), np.dtype(object))


# -- checking arrays ----------------------------------------------------------------------------


def checked(name: str, value: Any, shape: tuple[int, ...], meaning: str) -> np.ndarray:
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


def four_dimensional(name: str, value: Any, axes: str) -> np.ndarray:
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


def common_dtype(*arrays: np.ndarray | None) -> np.dtype:
    """The dtype of the computation: NumPy's promotion of the arrays given."""
    return np.result_type(*(a for a in arrays if a is not None))


# -- geometry: which output windows and input cells each tap links ------------------------------


class Tap(NamedTuple):
    """One kernel position and the two rectangles it links (each ``(..., rows, cols)``)."""

    p: int
    q: int
    out_region: tuple[Any, slice, slice]  # output windows in which this tap is a real cell
    in_region: tuple[Any, slice, slice]  # the input cells those windows read, in the same order


def axis_taps(
    size: int, out_size: int, kernel: int, stride: int, padding: int, dilation: int
) -> list[tuple[slice, slice] | None]:
    """Per tap along one axis: (output slice, input slice), or None if it only reads padding."""
    found: list[tuple[slice, slice] | None] = []
    for p in range(kernel):
        offset = p * dilation - padding  # the input index this tap reads in output window 0
        # window i reads index i*stride + offset, which is real when 0 <= it <= size - 1
        first = max(0, -(offset // stride))  # ceil(-offset / stride)
        last = min(out_size - 1, (size - 1 - offset) // stride)
        if first > last:
            found.append(None)
            continue
        start = first * stride + offset
        found.append((slice(first, last + 1), slice(start, last * stride + offset + 1, stride)))
    return found


def taps(spec: Layer) -> Iterator[Tap]:
    """The taps that read at least one real cell, in row-major window order."""
    _, _, height, width = spec.input_shape
    _, _, out_height, out_width = spec.output_shape
    window = spec.window  # a pool's window has dilation 1
    rows, cols = (
        axis_taps(size, out_size, *axis)
        for size, out_size, axis in zip(
            (height, width),
            (out_height, out_width),
            zip(window.kernel, window.stride, window.padding, window.dilation, strict=True),
            strict=True,
        )
    )
    for p, row in enumerate(rows):
        for q, col in enumerate(cols):
            if row is not None and col is not None:
                yield Tap(p, q, (..., row[0], col[0]), (..., row[1], col[1]))


# -- the spec-level entry points ----------------------------------------------------------------


@dataclass(frozen=True)
class LayerRuntime:
    """How the runtime computes one layer type, on arrays already checked against the spec.

    Each kind's ``layers/<kind>/runtime.py`` fills one in per layer type (its ``TABLE``).
    """

    forward: Callable[..., np.ndarray]  # (spec, x, **parameters) -> output
    backward: Callable[..., dict[str, np.ndarray]]  # (spec, x, upstream, **weights) -> grads


#: Parameter argument -> (its tensor in ``spec.parameters()``, its name for people, its axes,
#: whether it is required). A layer without the tensor (a pool, or conv2d with bias=False)
#: takes no such array.
_PARAMETERS: dict[str, tuple[str, str, str, bool]] = {
    "w": ("W", "weight", "(out_channels, in_channels/groups, kh, kw)", True),
    "b": ("B", "bias", "(out_channels,)", False),
}


def _checked_parameters(spec: Layer, **given: Any) -> dict[str, np.ndarray]:
    """The parameter arrays given (``w``, ``b``) checked against the spec, keyed for its runtime."""
    shapes = spec.parameters()
    checked_arrays = {}
    for name, value in given.items():
        tensor, noun, axes, required = _PARAMETERS[name]
        shape = shapes.get(tensor)
        if shape is None:
            _refuse(spec, name, value, f"it has no {noun}")
        elif value is not None or required:
            checked_arrays[name] = checked(name, value, shape, axes)
    return checked_arrays


def _runtime_for(spec: Layer) -> LayerRuntime:
    """The registry's entry of the spec's layer type, or a ValueError naming the known types."""
    return layers.entry("runtime", spec.type, "the runtime")


def _target(spec: Layer, target: Any) -> dict[str, Any]:
    """A loss's target, passed on to its runtime (which checks it: class indices or values)."""
    if spec.target_shape is not None:
        if target is None:
            raise ValueError(f"target=None is not valid: {spec.type} is a loss and needs a target")
        return {"target": target}
    if target is not None:
        _refuse(spec, "target", target, "it is not a loss")
    return {}


def forward(spec: Layer, x: Any, w: Any = None, b: Any = None, *, target: Any = None) -> np.ndarray:
    """The forward pass of the layer ``spec`` describes.

    Parameters
    ----------
    spec : Layer
        A layer spec (``symcnn.Conv2d``, ``MaxPool2d``, ``MinPool2d``, ``AvgPool2d``).
    x : array_like
        The input, of shape ``spec.input_shape``.
    w : array_like, optional
        conv2d: the weight, of shape ``spec.weight_shape`` (required). Pools take none.
    target : array_like, optional
        A loss's target (required for a loss, refused otherwise): class indices of shape
        ``(N,)`` for softmax_cross_entropy, values shaped like the input for mse.
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
    x = checked("x", x, spec.input_shape, "the spec's input_shape")
    parameters = _checked_parameters(spec, w=w, b=b)
    return runtime.forward(spec, x, **parameters, **_target(spec, target))


def backward(
    spec: Layer, x: Any, grad_out: Any, w: Any = None, *, target: Any = None
) -> dict[str, np.ndarray]:
    """Every gradient of the layer ``spec`` describes, for the upstream gradient ``grad_out``.

    The loss is ``L = sum(G * O)`` for ``spec.reduction == "sum"`` and ``sum(G * O) / N`` for
    ``"mean"``, where G is ``grad_out`` and N the batch size: so dL/dO is G, or G / N.

    Parameters
    ----------
    spec : Layer
        A layer spec.
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
    x = checked("x", x, spec.input_shape, "the spec's input_shape")
    upstream = checked("grad_out", grad_out, spec.output_shape, "the forward output shape")
    weights = _checked_parameters(spec, w=w)
    if spec.reduction == "mean":
        upstream = upstream / spec.batch  # dL/dO = G / N
    return runtime.backward(spec, x, upstream, **weights, **_target(spec, target))


#: The axes of every spatial input, for the messages of the array-level functions.
INPUT_AXES = "(N, C, H, W)"
