"""The checker's knowledge of conv2d: its known mistakes, each rebuilt with the identities.

Every pattern rebuilds the *wrong* derivation its mistake produces, with the same operators as
the identities (:mod:`symcnn.check.operators`, built on :mod:`symcnn.identities`): the kernel
left unrotated, the stride dilation forgotten, the padded gradient left uncropped, the
arguments of the convolution swapped, and so on.
"""

from __future__ import annotations

import numpy as np

from ... import identities
from ...check.kinds import KindCheck, NotApplicable, Pattern
from ...check.operators import conv, full_conv
from ...derive import Derivation
from .check_right_forms import right_forms

# The operator forms of the identities, with the operators of each mistake put in.
input_gradient = identities.conv2d_input_gradient
weight_gradient = identities.conv2d_weight_gradient


def _rotated_weight_gradient(derivation: Derivation) -> np.ndarray:
    """rot180 of every kernel slice of the exact dL/dW."""
    grad = derivation.grads["W"]
    out = np.empty(grad.shape, dtype=object)
    for k in range(grad.shape[0]):
        for c in range(grad.shape[1]):
            out[k, c] = identities.rot180(grad[k, c])
    return out


def _needs(condition: bool) -> None:
    if not condition:
        raise NotApplicable


def _kernel_not_rotated(d: Derivation) -> dict[str, np.ndarray]:
    return {"X": input_gradient(d, lambda g, w: full_conv(g, w))}


def _rotation_misplaced(d: Derivation) -> dict[str, np.ndarray]:
    rotate = identities.rot180
    return {
        "X": input_gradient(d, lambda g, w: full_conv(rotate(g), rotate(w))),
        "W": weight_gradient(d, lambda x, g: conv(x, rotate(g))),
    }


def _stride_dilation_missing(d: Derivation) -> dict[str, np.ndarray]:
    _needs(d.spec.stride != (1, 1))
    return {
        "X": input_gradient(
            d, lambda g, w: full_conv(g, identities.rot180(w)), stride_dilation=False
        ),
        "W": weight_gradient(d, conv, stride_dilation=False),
    }


def _padding_not_cropped(d: Derivation) -> dict[str, np.ndarray]:
    _needs(d.spec.padding != (0, 0))
    return {
        "X": input_gradient(d, lambda g, w: full_conv(g, identities.rot180(w)), crop_padding=False)
    }


def _correlation_for_convolution(d: Derivation) -> dict[str, np.ndarray]:
    return {
        "X": input_gradient(d, lambda g, w: full_conv(g, w)),
        "W": _rotated_weight_gradient(d),
    }


def _input_kernel_swapped(d: Derivation) -> dict[str, np.ndarray]:
    return {
        "X": input_gradient(d, lambda g, w: full_conv(identities.rot180(w), g)),
        "W": weight_gradient(d, lambda x, g: conv(g, x)),
    }


# The right forms are the layer's full identities (stride, padding, dilation and all), built and
# proven by check_right_forms.py and filled in per layer through KindCheck.fields.
RIGHT_X = "{right_X}"
RIGHT_W = "{right_W}"

#: The known mistakes of a convolution, in the order they are listed when several match.
PATTERNS: tuple[Pattern, ...] = (
    Pattern(
        "kernel_not_rotated",
        "kernel not rotated",
        {"X": ("full_conv({dO}, {W})", RIGHT_X)},
        _kernel_not_rotated,
    ),
    Pattern(
        "rotation_misplaced",
        "rotation applied where it does not belong",
        {
            "X": ("full_conv(rot180({dO}), rot180({W}))", RIGHT_X),
            "W": ("conv({X}, rot180({dO}))", RIGHT_W),
        },
        _rotation_misplaced,
    ),
    Pattern(
        "stride_dilation_missing",
        "stride dilation missing",
        {
            "X": (
                "full_conv({dO}, rot180({W})), {dO} not dilated",
                RIGHT_X,
            ),
            "W": ("conv({X}, {dO}), {dO} not dilated", RIGHT_W),
        },
        _stride_dilation_missing,
    ),
    Pattern(
        "padding_not_cropped",
        "padding not cropped",
        {
            "X": (
                "the gradient of the padded input, read from its corner",
                RIGHT_X,
            ),
        },
        _padding_not_cropped,
    ),
    Pattern(
        "correlation_for_convolution",
        "correlation taken for convolution",
        {
            "X": (
                "full_conv({dO}, {W}), the gradient of a flipped-kernel convolution",
                RIGHT_X + " (the layer is a cross-correlation)",
            ),
            "W": (
                "rot180(conv({X}, {dO})), the gradient of a flipped-kernel convolution",
                RIGHT_W + " (the layer is a cross-correlation)",
            ),
        },
        _correlation_for_convolution,
    ),
    Pattern(
        "input_kernel_swapped",
        "input and kernel swapped",
        {
            "X": ("full_conv(rot180({W}), {dO}), the operands in the wrong order", RIGHT_X),
            "W": ("conv({dO}, {X}), the operands in the wrong order", RIGHT_W),
        },
        _input_kernel_swapped,
    ),
)

TABLE = {"conv2d": KindCheck(patterns=PATTERNS, fields=right_forms, upstream_terms=True)}
