"""maxpool2d in ``symcnn check-code``: CS231n's and the plain functions, probes and mistakes.

Ties follow the first-maximum rule (``ties="first"``: what ``np.argmax`` over the flattened
window gives), so the probes' inputs hold tied maxima on purpose.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from ... import runtime
from ...checkcode.kinds import CodeMistake, Functions, KindCheckCode
from ...checkcode.values import as_fractions, embed_top_left, zeros
from .spec import MaxPool2d


def _refuse_options(spec: MaxPool2d) -> None:
    """The probes' ties and the mistakes' windows assume adjacent taps and the floor output
    size: a layer with dilation or ceil_mode is refused, not checked wrongly."""
    given = [
        name
        for name, value in (("dilation", spec.dilation != (1, 1)), ("ceil_mode", spec.ceil_mode))
        if value
    ]
    if given:
        raise ValueError(
            f"check-code is not available for {spec.type} with {' and '.join(given)}: its"
            " probes and mistakes assume adjacent taps and the floor output size"
        )


def _plain_params(spec: MaxPool2d) -> dict[str, int]:
    """No parameters: the functions are written for the layer (refused as above)."""
    _refuse_options(spec)
    return {}


def _cs231n_params(spec: MaxPool2d) -> dict[str, int]:
    """``pool_param``: the window's height and width, one stride, no padding, first-max ties."""
    _refuse_options(spec)
    problems = []
    if spec.stride[0] != spec.stride[1]:
        problems.append(f"stride {spec.stride[0]}x{spec.stride[1]} (one stride for both axes)")
    if spec.padding != (0, 0):
        problems.append("padding (none)")
    if spec.ties != "first":
        problems.append(f"--ties {spec.ties} (np.argmax's first maximum)")
    if problems:
        raise ValueError(
            "the cs231n convention cannot express " + ", ".join(problems) + ": use --convention"
            " plain, or a layer it can express"
        )
    return {"pool_height": spec.kernel[0], "pool_width": spec.kernel[1], "stride": spec.stride[0]}


CONVENTIONS = {
    "cs231n": Functions(
        forward="max_pool_forward_naive",
        backward="max_pool_backward_naive",
        caller="cs231n_pool",
        signature="max_pool_forward_naive(x, pool_param) -> (out, cache);"
        " max_pool_backward_naive(dout, cache) -> dx;"
        " pool_param = {'pool_height', 'pool_width', 'stride'}",
        params=_cs231n_params,
        backward_needs_forward=True,
    ),
    "plain": Functions(
        forward="",
        backward="",
        caller="plain_pool",
        signature="forward(x) -> out; backward(x, dout) -> dx",
        params=_plain_params,
    ),
}


def probes() -> tuple[MaxPool2d, ...]:
    """Disjoint and overlapping windows, non-square inputs and windows, batch and channels."""
    return (
        MaxPool2d(input_shape=(2, 2, 4, 4), kernel=(2, 2)),
        MaxPool2d(input_shape=(1, 2, 5, 7), kernel=(3, 3), stride=2),
        MaxPool2d(input_shape=(1, 1, 4, 6), kernel=(2, 2)),
        MaxPool2d(input_shape=(2, 1, 4, 5), kernel=(2, 3), stride=1),
    )


def values(spec: MaxPool2d, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Distinct values, then in every other window its maximum copied into its last cell.

    The windows with a copied maximum hold a tie (unless a later copy raised another cell); the
    others keep a single maximum. Both kinds are what the tie rules tell apart.
    """
    cells = int(np.prod(spec.input_shape))
    x = rng.permutation(cells).reshape(spec.input_shape) - cells // 2
    kh, kw = spec.kernel
    sh, sw = spec.stride
    _, _, out_h, out_w = spec.output_shape
    for n, c, i, j in np.ndindex(spec.input_shape[0], spec.input_shape[1], out_h, out_w):
        if (i + j) % 2 == 0:
            window = x[n, c, i * sh : i * sh + kh, j * sw : j * sw + kw]
            window[-1, -1] = window.max()
    return {"x": as_fractions(x, 2)}


# -- the mistakes -------------------------------------------------------------------------------


def _every_tie(spec: MaxPool2d, v) -> dict[str, np.ndarray]:
    mask = dataclasses.replace(spec, ties="all")
    return {"dx": runtime.backward(mask, v["x"], v["dout"])["X"]}


def _stride_ignored(spec: MaxPool2d, v) -> dict[str, np.ndarray] | None:
    if spec.stride == (1, 1):
        return None
    # Windows at (i, j) instead of (i*S, j*S): the stride-1 pool, fed dout in its top left.
    unstrided = dataclasses.replace(spec, stride=(1, 1))
    dout = embed_top_left(v["dout"], unstrided.output_shape)
    return {"dx": runtime.backward(unstrided, v["x"], dout)["X"]}


def _overwritten(spec: MaxPool2d, v) -> dict[str, np.ndarray]:
    """``dx[n, c, window] = mask * dout[n, c, i, j]``: the last window written wins."""
    x, dout = v["x"], v["dout"]
    kh, kw = spec.kernel
    sh, sw = spec.stride
    grad = zeros(spec.input_shape)
    for n, c, i, j in np.ndindex(*dout.shape):
        window = x[n, c, i * sh : i * sh + kh, j * sw : j * sw + kw]
        mask = zeros(window.shape)
        mask.flat[int(np.argmax(window))] = 1
        grad[n, c, i * sh : i * sh + kh, j * sw : j * sw + kw] = mask * dout[n, c, i, j]
    return {"dx": grad}


MISTAKES = (
    CodeMistake(
        "equality_mask_every_tie",
        "equality mask routing to every tied maximum",
        "(window == window.max()) marks every tied maximum; route dout to the first one only"
        " (np.unravel_index(np.argmax(window), window.shape))",
        _every_tie,
    ),
    CodeMistake(
        "stride_ignored_in_backward",
        "stride ignored in the backward windows",
        "the window of output (i, j) starts at (i*stride, j*stride) in the backward pass too",
        _stride_ignored,
    ),
    CodeMistake(
        "windows_overwritten",
        "overlapping windows overwritten instead of accumulated",
        "windows overlap: add into dx (+=), do not assign (=)",
        _overwritten,
    ),
)

TABLE = {
    MaxPool2d.type: KindCheckCode(
        conventions=CONVENTIONS,
        probes=probes,
        values=values,
        outputs={"dx": "X"},
        inputs={"x": "X"},
        mistakes=MISTAKES,
    )
}
