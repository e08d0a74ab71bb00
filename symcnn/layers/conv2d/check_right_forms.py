"""The right forms the diagnoses suggest, built from the layer's full identity and proven.

A diagnosis ends with "the right form is ...". That form must hold for the layer at hand: at
stride 2 it dilates dL/dO, under padding it crops, under dilation it dilates the kernel, and
where the strided windows leave rows unread it extends (dL/dX) or keeps the top-left block
(dL/dW). Each form is a small tree of the checker's operators (:data:`OPERATORS`); one
function writes it in the checker's syntax, another evaluates it with those very operators, and
:func:`right_forms` compares that value with the exact gradient of a single-channel layer of
the same geometry before it returns the text. A form that does not hold raises.
"""

from __future__ import annotations

from functools import cache

import numpy as np

from ...check.operators import OPERATORS
from ...derive import derive
from ...identities import upstream_gradient
from .spec import Conv2d

#: A form: a leaf name ("X", "W", "dO") or (operator, argument forms..., whole numbers...).
Form = str | tuple


def _numbers(pair: tuple[int, int]) -> tuple[int, ...]:
    return (pair[0],) if pair[0] == pair[1] else pair


def input_form(spec: Conv2d) -> Form:
    """dL/dX = crop(extend(full_conv(dilate(dO, S), rot180(dilate(W, D))), Hp, Wp), P)."""
    upstream: Form = "dO" if spec.stride == (1, 1) else ("dilate", "dO", *_numbers(spec.stride))
    kernel: Form = "W" if spec.dilation == (1, 1) else ("dilate", "W", *_numbers(spec.dilation))
    form: Form = ("full_conv", upstream, ("rot180", kernel))
    _, _, height, width = spec.input_shape
    padded = (height + 2 * spec.padding[0], width + 2 * spec.padding[1])
    span = [spec.dilation[i] * (spec.kernel[i] - 1) + 1 for i in (0, 1)]
    full = tuple((spec.output_shape[2 + i] - 1) * spec.stride[i] + span[i] for i in (0, 1))
    if full != padded:
        form = ("extend", form, *padded)
    if spec.padding != (0, 0):
        form = ("crop", form, *_numbers(spec.padding))
    return form


def weight_form(spec: Conv2d) -> Form:
    """dL/dW = block(every(conv(pad(X, P), dilate(dO, S)), D), Kh, Kw)."""
    image: Form = "X" if spec.padding == (0, 0) else ("pad", "X", *_numbers(spec.padding))
    upstream: Form = "dO" if spec.stride == (1, 1) else ("dilate", "dO", *_numbers(spec.stride))
    form: Form = ("conv", image, upstream)
    _, _, height, width = spec.input_shape
    padded = (height + 2 * spec.padding[0], width + 2 * spec.padding[1])
    rows, cols = (padded[i] - (spec.output_shape[2 + i] - 1) * spec.stride[i] for i in (0, 1))
    if spec.dilation != (1, 1):
        form = ("every", form, *_numbers(spec.dilation))
        rows, cols = -(-rows // spec.dilation[0]), -(-cols // spec.dilation[1])
    if (rows, cols) != tuple(spec.kernel):
        form = ("block", form, *spec.kernel)
    return form


def written(form: Form) -> str:
    """The form in the checker's syntax, ``{X}``, ``{W}``, ``{dO}`` standing for the letters."""
    if isinstance(form, str):
        return "{" + form + "}"
    name, *arguments = form
    return (
        f"{name}("
        + ", ".join(str(a) if isinstance(a, int) else written(a) for a in arguments)
        + ")"
    )


def evaluate(form: Form, leaves: dict[str, np.ndarray]) -> np.ndarray:
    """The form's value, computed by the checker's own operators."""
    if isinstance(form, str):
        return leaves[form]
    name, *arguments = form
    arrays = [evaluate(a, leaves) for a in arguments if not isinstance(a, int)]
    numbers = [(a, a) for a in arguments if isinstance(a, int)]  # as the reader passes them
    return OPERATORS[name].apply(*arrays, *numbers)


def _single_channel(spec: Conv2d) -> Conv2d:
    """The same geometry with one sample, one channel in and out: where a form is one matrix."""
    _, _, height, width = spec.input_shape
    return Conv2d(
        input_shape=(1, 1, height, width),
        kernel=spec.kernel,
        stride=spec.stride,
        padding=spec.padding,
        dilation=spec.dilation,
    )


@cache
def right_forms(spec: Conv2d) -> dict[str, str]:
    """``{"right_X": ..., "right_W": ...}``: the full identities, each proven before use.

    Raises
    ------
    AssertionError
        When a written form does not equal the exact gradient (a bug, never a report).
    """
    single = _single_channel(spec)
    derivation = derive(single)
    leaves = {
        "X": derivation.tensors.X[0, 0],
        "W": derivation.tensors.W[0, 0],
        "dO": upstream_gradient(derivation)[0, 0],
    }
    out = {}
    for tensor, form in (("X", input_form(single)), ("W", weight_form(single))):
        value = evaluate(form, leaves)
        exact = derivation.grads[tensor][0, 0]
        if value.shape != exact.shape or any(
            (a - b).expand() != 0 for a, b in zip(value.flat, exact.flat, strict=True)
        ):
            raise AssertionError(f"the right form {written(form)} is not dL/d{tensor} for {spec}")
        out[f"right_{tensor}"] = written(form)
    return out
