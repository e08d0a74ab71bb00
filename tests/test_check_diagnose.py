"""Every diagnosis names a generated wrong derivation correctly; a right one draws none.

The wrong derivations are written here as explicit index formulas (which kernel tap, which
input entry each term uses), independent of the operators the checker recomputes them with.
"""

import numpy as np
import pytest
from check_claims import Writer, explicit_grads
from sympy import expand

from symcnn.check import check_text
from symcnn.check.operators import conv, full_conv
from symcnn.derive import derive
from symcnn.identities import rot180
from symcnn.layers import entry
from symcnn.layers.conv2d.check import input_gradient, weight_gradient
from symcnn.layers.conv2d.spec import Conv2d

SMALL = Conv2d(input_shape=(1, 1, 3, 3), kernel=(2, 2), bias=False)
STRIDED = Conv2d(input_shape=(1, 1, 5, 5), kernel=(3, 3), stride=(2, 2), bias=False)
PADDED = Conv2d(input_shape=(1, 1, 3, 3), kernel=(2, 2), padding=(1, 1), bias=False)
WIDE = Conv2d(input_shape=(1, 1, 4, 5), kernel=(2, 3), stride=(1, 2), padding=(1, 0), bias=False)


def sizes(derivation):
    """(output rows, dilated upstream rows, dilated kernel rows, padded input rows) per axis."""
    spec = derivation.spec
    out = spec.output_shape[2:]
    upstream = [(o - 1) * s + 1 for o, s in zip(out, spec.stride, strict=True)]
    kernel = [(k - 1) * d + 1 for k, d in zip(spec.kernel, spec.dilation, strict=True)]
    padded = [n + 2 * p for n, p in zip(spec.input_shape[2:], spec.padding, strict=True)]
    return out, upstream, kernel, padded


# Each wrong derivation: (pattern key, spec, input_tap, weight_tap), taps as in explicit_grads.
def kernel_not_rotated(d):
    kh, kw = d.spec.kernel
    return {"input_tap": lambda u, v, p, q, i, j: (i, j, kh - 1 - p, kw - 1 - q)}


def rotation_misplaced(d):
    (oh, ow), _, _, _ = sizes(d)
    (sh, sw), (dh, dw) = d.spec.stride, d.spec.dilation

    def moved(u, v, p, q):
        return (oh - 1 - u) * sh + p * dh, (ow - 1 - v) * sw + q * dw

    return {
        "input_tap": lambda u, v, p, q, i, j: (*moved(u, v, p, q), p, q),
        "weight_tap": lambda u, v, p, q, i, j: (p, q, *moved(u, v, p, q)),
    }


def stride_dilation_missing(d):
    (dh, dw) = d.spec.dilation
    return {
        "input_tap": lambda u, v, p, q, i, j: (u + p * dh, v + q * dw, p, q),
        "weight_tap": lambda u, v, p, q, i, j: (p, q, u + p * dh, v + q * dw),
    }


def padding_not_cropped(d):
    (ph, pw) = d.spec.padding
    return {"input_tap": lambda u, v, p, q, i, j: (i + ph, j + pw, p, q)}


def correlation_for_convolution(d):
    kh, kw = d.spec.kernel
    return {
        "input_tap": lambda u, v, p, q, i, j: (i, j, kh - 1 - p, kw - 1 - q),
        "weight_tap": lambda u, v, p, q, i, j: (kh - 1 - p, kw - 1 - q, i, j),
    }


def input_kernel_swapped(d):
    _, (ah, aw), (kh, kw), (xh, xw) = sizes(d)
    (sh, sw), (dh, dw) = d.spec.stride, d.spec.dilation
    return {
        "input_tap": lambda u, v, p, q, i, j: (
            kh + ah - 2 - u * sh - p * dh,
            kw + aw - 2 - v * sw - q * dw,
            p,
            q,
        ),
        "weight_tap": lambda u, v, p, q, i, j: (
            p,
            q,
            u * sh + xh - ah - p * dh,
            v * sw + xw - aw - q * dw,
        ),
    }


MISTAKES = [
    ("kernel_not_rotated", SMALL, kernel_not_rotated),
    ("kernel_not_rotated", WIDE, kernel_not_rotated),
    ("rotation_misplaced", SMALL, rotation_misplaced),
    ("rotation_misplaced", STRIDED, rotation_misplaced),
    ("stride_dilation_missing", STRIDED, stride_dilation_missing),
    ("stride_dilation_missing", WIDE, stride_dilation_missing),
    ("padding_not_cropped", PADDED, padding_not_cropped),
    ("correlation_for_convolution", SMALL, correlation_for_convolution),
    ("correlation_for_convolution", WIDE, correlation_for_convolution),
    ("input_kernel_swapped", SMALL, input_kernel_swapped),
    ("input_kernel_swapped", STRIDED, input_kernel_swapped),
]


@pytest.mark.parametrize(
    "spec",
    [
        SMALL,
        STRIDED,
        PADDED,
        WIDE,
        Conv2d(input_shape=(1, 1, 5, 5), kernel=(2, 2), dilation=(2, 2), stride=(2, 1), bias=False),
    ],
)
def test_the_explicit_formula_is_the_exact_derivation(spec):
    derivation = derive(spec)
    grads = explicit_grads(derivation)
    for name in ("X", "W"):
        for index, expected in np.ndenumerate(derivation.grads[name]):
            assert expand(grads[name][index] - expected) == 0, (name, index)


@pytest.mark.parametrize(("key", "spec", "mistake"), MISTAKES)
@pytest.mark.parametrize("style", ["plain", "latex"])
def test_a_generated_wrong_derivation_is_named(key, spec, mistake, style):
    derivation = derive(spec)
    wrong = explicit_grads(derivation, **mistake(derivation))
    assert any(  # the mistake changes something, or the test would prove nothing
        expand(wrong[n][i] - derivation.grads[n][i]) != 0
        for n in ("X", "W")
        for i in np.ndindex(derivation.grads[n].shape)
    )
    text = Writer(derivation, style=style).claims(wrong)
    report = check_text(text, spec)
    assert report.summary["wrong"] > 0
    keys = [diagnosis.pattern.key for diagnosis in report.diagnoses]
    assert keys == [key]


@pytest.mark.parametrize("spec", [SMALL, STRIDED, PADDED, WIDE])
def test_a_correct_derivation_draws_no_diagnosis(spec):
    derivation = derive(spec)
    report = check_text(Writer(derivation).claims(derivation.grads), spec)
    assert report.exit_status == 0
    assert report.diagnoses == []
    assert report.summary["wrong"] == report.summary["invalid"] == 0


def test_indices_shifted_by_one_are_named_both_ways():
    derivation = derive(SMALL)
    zero_based = Writer(derivation, zero_based=True).claims(derivation.grads)
    report = check_text(zero_based, SMALL)
    assert [d.pattern.key for d in report.diagnoses] == ["indices_shifted"]
    assert report.exit_status == 2  # read from 1, index 0 cannot be read
    assert check_text(zero_based, SMALL, zero_based=True).diagnoses == []
    one_based = Writer(derivation).claims(derivation.grads)
    report = check_text(one_based, SMALL, zero_based=True)
    assert [d.pattern.key for d in report.diagnoses] == ["indices_shifted"]


def test_a_single_typo_is_not_a_pattern():
    derivation = derive(SMALL)
    grads = {name: grad.copy() for name, grad in derivation.grads.items()}
    g, w = derivation.tensors.G[0, 0], derivation.tensors.W[0, 0]
    grads["X"][0, 0, 0, 0] = g[0, 0] * w[1, 1]  # the kernel-not-rotated value, at one entry
    report = check_text(Writer(derivation).claims(grads), SMALL)
    assert report.summary["wrong"] == 1
    assert report.diagnoses == []  # eight right entries of dL/dX contradict the pattern


def test_only_the_wrong_tensor_is_blamed():
    """dL/dX unrotated, dL/dW right: the kernel, not correlation-for-convolution."""
    derivation = derive(SMALL)
    wrong = explicit_grads(derivation, **kernel_not_rotated(derivation))
    text = Writer(derivation).claims({"X": wrong["X"], "W": derivation.grads["W"]})
    keys = [d.pattern.key for d in check_text(text, SMALL).diagnoses]
    assert keys == ["kernel_not_rotated"]


@pytest.mark.parametrize(
    "spec",
    [
        Conv2d(input_shape=(2, 3, 5, 4), out_channels=2, kernel=(2, 3), stride=(2, 1)),
        Conv2d(input_shape=(1, 4, 5, 5), out_channels=2, kernel=(3, 3), groups=2, padding=1),
        Conv2d(input_shape=(1, 1, 6, 6), kernel=(2, 2), dilation=(2, 2), reduction="mean"),
    ],
)
def test_the_pattern_builders_unbroken_give_the_exact_gradients(spec):
    """The builders every pattern bends are the identities' forms when nothing is bent."""
    derivation = derive(spec)
    rebuilt = {
        "X": input_gradient(derivation, lambda g, w: full_conv(g, rot180(w))),
        "W": weight_gradient(derivation, conv),
    }
    for name, form in rebuilt.items():
        for index, expected in np.ndenumerate(derivation.grads[name]):
            assert expand(form[index] - expected) == 0, (name, index)


def test_every_convolution_pattern_has_a_test():
    tested = {key for key, _, _ in MISTAKES}
    assert tested == {pattern.key for pattern in entry("check", "conv2d").patterns}
