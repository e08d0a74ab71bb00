"""The generic NumPy runtime: every layer's forward and backward pass, computed directly.

This is the reference that every generated kernel is held against, so it is written from the
definitions, not from the derivation. It imports NumPy and the layer specs, never SymPy.

This module is the public face: the spec-level :func:`forward` and :func:`backward` and the
shared checks live in :mod:`symcnn.runtime_base`, each layer kind's computation and its
array-level functions (``conv2d_forward``, ``maxpool2d_backward``, ...) in
``symcnn/layers/<kind>/runtime.py``; all are re-exported here. (The import goes one way: the
kinds import the base, never this module.)

Everything is computed tap by tap. A *tap* is one position ``(p, q)`` of the kernel window. For
one tap, the output windows where that tap lands on a real (not padded) input cell form a
rectangle, and the input cells they read form a strided rectangle
(:func:`symcnn.runtime_base.taps`). Working on those two rectangles means the padding is never
built: padded cells add nothing to a sum, never win a max or a min, and are not counted in an
average, with no ``-inf`` sentinel. So the same code runs on float32, float64 and object arrays
of exact rationals (``fractions.Fraction`` or SymPy ``Rational``), where it is exact.

- conv2d gathers the taps into columns (im2col) and lets one ``matmul`` per group do the bulk,
  which BLAS runs for float32 and float64 and NumPy runs exactly on object arrays. Its backward
  reuses the columns for the weight gradient and scatter-adds the column gradient back, tap by
  tap, for the input gradient.
- The pools loop over the taps with whole-array operations; the backward scatter-adds per tap.
  Within one tap distinct windows read distinct input cells, so a strided ``+=`` is exact, and
  overlapping windows (stride < kernel) accumulate across taps.

Option checks live in the specs: the array-level functions build a spec from the
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

import numpy as np  # noqa: F401 (the doctest above reads np from here)

from .layers.conv2d.runtime import conv2d_backward, conv2d_forward
from .layers.pool.runtime import (
    avgpool2d_backward,
    avgpool2d_forward,
    maxpool2d_backward,
    maxpool2d_forward,
    minpool2d_backward,
    minpool2d_forward,
)
from .runtime_base import DTYPES, LayerRuntime, backward, forward

__all__ = [
    "DTYPES",
    "LayerRuntime",
    "avgpool2d_backward",
    "avgpool2d_forward",
    "backward",
    "conv2d_backward",
    "conv2d_forward",
    "forward",
    "maxpool2d_backward",
    "maxpool2d_forward",
    "minpool2d_backward",
    "minpool2d_forward",
]
