"""The operator identities of backpropagation, built from named operators and proved per layer.

Lecture notes state the gradients of a convolution as operator forms:

- dL/dW is the correlation of the (padded) input X with dL/dO dilated by the stride, read at
  steps of the dilation;
- dL/dX is the full convolution of the stride-dilated dL/dO with the kernel rotated 180
  degrees (itself dilated by the dilation), cropped by the padding;
- dL/dB is the sum of dL/dO over the batch and the positions.

This module builds each form with the small operators below (``rot180``, ``dilate``, ``pad``,
``crop``, ``correlate``, ``full_convolve``) on object arrays of SymPy expressions, and
:func:`verify` proves it equal to the derived gradient entry by entry. The printers name the
identities that hold; the checker recomputes wrong derivations with the same operators.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from sympy import S, expand

from . import canonical
from .derive import Derivation

# -- the operators, on 2-D object arrays ---------------------------------------------------------


def rot180(kernel: np.ndarray) -> np.ndarray:
    """Rotate a 2-D array by 180 degrees: flip it vertically, then horizontally."""
    return kernel[::-1, ::-1]


def dilate(array: np.ndarray, step: tuple[int, int]) -> np.ndarray:
    """Insert ``step - 1`` zeros between neighbouring entries along each axis."""
    rows, cols = array.shape
    out = np.full(((rows - 1) * step[0] + 1, (cols - 1) * step[1] + 1), S.Zero, dtype=object)
    out[:: step[0], :: step[1]] = array
    return out


def pad(array: np.ndarray, before: tuple[int, int], after: tuple[int, int] | None = None):
    """Surround a 2-D array with zeros: ``before`` rows/columns first, ``after`` last."""
    after = before if after is None else after
    rows, cols = array.shape
    out = np.full((rows + before[0] + after[0], cols + before[1] + after[1]), S.Zero, dtype=object)
    out[before[0] : before[0] + rows, before[1] : before[1] + cols] = array
    return out


def crop(array: np.ndarray, before: tuple[int, int], size: tuple[int, int]) -> np.ndarray:
    """The ``size`` window of ``array`` starting ``before`` rows and columns in."""
    return array[before[0] : before[0] + size[0], before[1] : before[1] + size[1]]


def correlate(image: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    """Valid cross-correlation: ``R[u, v] = sum_{a,b} image[u + a, v + b] * kernel[a, b]``.

    This is what CNN frameworks call convolution. Zero entries on either side add no term.
    """
    kh, kw = kernel.shape
    rows, cols = image.shape[0] - kh + 1, image.shape[1] - kw + 1
    out = np.empty((rows, cols), dtype=object)
    taps = [(a, b, kernel[a, b]) for a in range(kh) for b in range(kw) if kernel[a, b] != 0]
    for u in range(rows):
        for v in range(cols):
            terms = [image[u + a, v + b] * k for a, b, k in taps if image[u + a, v + b] != 0]
            out[u, v] = canonical.total(terms)
    return out


def full_convolve(array: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    """Full convolution: the kernel rotated 180 degrees, slid over every overlap with ``array``.

    ``full_convolve(A, K) = correlate(pad(A, K.shape - 1), rot180(K))``.
    """
    kh, kw = kernel.shape
    return correlate(pad(array, (kh - 1, kw - 1)), rot180(kernel))


# -- the identities -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Identity:
    """One operator identity, the form it builds, and whether it equals the derived gradient."""

    key: str
    tensor: str
    statement: str
    form: np.ndarray
    holds: bool


def _upstream(derivation: Derivation) -> np.ndarray:
    """dL/dO as an array: the upstream gradient G times the reduction's scale."""
    scale = derivation.upstream_scale
    return np.vectorize(lambda g: g * scale, otypes=[object])(derivation.tensors.G)


def conv2d_weight_form(derivation: Derivation) -> np.ndarray:
    """dL/dW[k, c] = sum_n correlate(pad(X[n, c']), dilate(dL/dO[n, k], S)) read at steps D."""
    spec = derivation.spec
    upstream = _upstream(derivation)
    n_batch, _, _, _ = spec.input_shape
    out_channels, in_per_group, kh, kw = spec.weight_shape
    out_per_group = out_channels // spec.groups
    form = np.empty(spec.weight_shape, dtype=object)
    for k in range(out_channels):
        for c in range(in_per_group):
            channel = (k // out_per_group) * in_per_group + c
            total = np.full((kh, kw), S.Zero, dtype=object)
            for n in range(n_batch):
                image = pad(derivation.tensors.X[n, channel], spec.padding)
                response = correlate(image, dilate(upstream[n, k], spec.stride))
                total = total + response[:: spec.dilation[0], :: spec.dilation[1]][:kh, :kw]
            form[k, c] = total
    return form


def conv2d_input_form(derivation: Derivation) -> np.ndarray:
    """dL/dX[n, c'] = crop_P(sum_k full_convolve(dilate(dL/dO[n, k], S), dilate(W[k, c], D)))."""
    spec = derivation.spec
    upstream = _upstream(derivation)
    n_batch, in_channels, height, width = spec.input_shape
    out_channels, in_per_group, _, _ = spec.weight_shape
    out_per_group = out_channels // spec.groups
    padded = (height + 2 * spec.padding[0], width + 2 * spec.padding[1])
    form = np.empty(spec.input_shape, dtype=object)
    for n in range(n_batch):
        for channel in range(in_channels):
            group, c = divmod(channel, in_per_group)
            total = np.full(padded, S.Zero, dtype=object)
            for k in range(group * out_per_group, (group + 1) * out_per_group):
                kernel = dilate(derivation.tensors.W[k, c], spec.dilation)
                full = full_convolve(dilate(upstream[n, k], spec.stride), kernel)
                # Rows and columns the strided windows never reached receive no gradient.
                total = total + pad(
                    full, (0, 0), (padded[0] - full.shape[0], padded[1] - full.shape[1])
                )
            form[n, channel] = crop(total, spec.padding, (height, width))
    return form


def conv2d_bias_form(derivation: Derivation) -> np.ndarray:
    """dL/dB[k] = sum over n, i, j of dL/dO[n, k, i, j]."""
    upstream = _upstream(derivation)
    return np.array(
        [canonical.total(upstream[:, k].flat) for k in range(upstream.shape[1])], dtype=object
    )


IdentityRule = tuple[str, str, str, Callable[[Derivation], np.ndarray]]

#: Layer type -> its identities: (key, tensor, statement, builder of the operator form).
IDENTITIES: dict[str, list[IdentityRule]] = {
    "conv2d": [
        (
            "weight_correlation",
            "W",
            "dL/dW = corr(X, dilate(dL/dO, stride)), read at steps of the dilation",
            conv2d_weight_form,
        ),
        (
            "input_full_convolution",
            "X",
            "dL/dX = crop(full_conv(dilate(dL/dO, stride), rot180(dilate(W, dilation))), padding)",
            conv2d_input_form,
        ),
        ("bias_sum", "B", "dL/dB = sum of dL/dO over batch and positions", conv2d_bias_form),
    ],
}


def equal_entries(left: np.ndarray, right: np.ndarray) -> bool:
    """True when two object arrays of expressions are equal entry by entry."""
    if left.shape != right.shape:
        return False
    for a, b in zip(left.flat, right.flat, strict=True):
        if a != b and expand(a - b) != 0:
            return False
    return True


def verify(derivation: Derivation) -> list[Identity]:
    """Build every identity of the layer's type and prove it against the derived gradients."""
    results = []
    for key, tensor, statement, build in IDENTITIES.get(derivation.spec.type, []):
        if tensor not in derivation.grads:
            continue  # e.g. the bias identity of a layer without bias
        form = build(derivation)
        holds = equal_entries(form, derivation.grads[tensor])
        results.append(Identity(key, tensor, statement, form, holds))
    return results
