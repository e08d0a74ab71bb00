"""conv2d in ``symcnn check-code``: CS231n's and the plain functions, probes and mistakes.

Each mistake is a wrong implementation people write, computed by the runtime on exact
rationals from a changed layer or changed arrays (the kernel rotated, the stride set to 1), or,
where no layer computes it (windows overwritten), by the loop the mistake writes.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from ... import runtime
from ...checkcode.kinds import CodeMistake, Functions, KindCheckCode
from ...checkcode.values import embed_top_left, fractions, nonzero_fractions, zeros
from .spec import Conv2d


def _cs231n_params(spec: Conv2d) -> dict[str, int]:
    """``conv_param``: one stride and one padding for both axes, no dilation or groups."""
    problems = []
    if spec.stride[0] != spec.stride[1]:
        problems.append(f"stride {spec.stride[0]}x{spec.stride[1]} (one stride for both axes)")
    if spec.padding[0] != spec.padding[1]:
        problems.append(f"padding {spec.padding[0]}x{spec.padding[1]} (one pad for both axes)")
    if spec.dilation != (1, 1):
        problems.append("a dilation (none)")
    if spec.groups != 1:
        problems.append("groups (none)")
    if not spec.bias:
        problems.append("--no-bias (conv_forward_naive always takes b)")
    if problems:
        raise ValueError(
            "the cs231n convention cannot express " + ", ".join(problems) + ": use --convention"
            " plain, or a layer it can express"
        )
    return {"stride": spec.stride[0], "pad": spec.padding[0]}


CONVENTIONS = {
    "cs231n": Functions(
        forward="conv_forward_naive",
        backward="conv_backward_naive",
        caller="cs231n_conv",
        signature="conv_forward_naive(x, w, b, conv_param) -> (out, cache);"
        " conv_backward_naive(dout, cache) -> (dx, dw, db); conv_param = {'stride', 'pad'}",
        params=_cs231n_params,
        backward_needs_forward=True,
    ),
    "plain": Functions(
        forward="",
        backward="",
        caller="plain_conv",
        signature="forward(x, w, b) -> out; backward(x, w, b, dout) -> (dx, dw, db)"
        " (b and db are None with --no-bias)",
        params=lambda spec: {},
    ),
}


def probes() -> tuple[Conv2d, ...]:
    """Strides 1, 2, 3, paddings 0, 1, 2, non-square inputs and kernels, batch and channels.

    Every size fits CS231n's assertion that the stride divides ``H + 2P - KH``.
    """
    return (
        Conv2d(input_shape=(1, 1, 3, 3), kernel=(2, 2)),
        Conv2d(input_shape=(2, 3, 5, 6), out_channels=2, kernel=(3, 2), stride=2, padding=1),
        Conv2d(input_shape=(1, 2, 8, 5), out_channels=3, kernel=(3, 3), stride=3, padding=2),
        Conv2d(input_shape=(2, 1, 4, 5), out_channels=2, kernel=(2, 3), padding=2),
    )


def values(spec: Conv2d, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Small rationals; no weight is zero, so every upstream entry a window reads shows in dx."""
    out = {
        "x": fractions(rng, spec.input_shape, 6, 2),
        "w": nonzero_fractions(rng, spec.weight_shape),
    }
    if spec.bias:
        out["b"] = fractions(rng, (spec.out_channels,), 4, 2)
    return out


# -- the mistakes -------------------------------------------------------------------------------


def _kernel_rotated(spec: Conv2d, v) -> dict[str, np.ndarray]:
    rotated = v["w"][:, :, ::-1, ::-1]
    return {"dx": runtime.backward(spec, v["x"], v["dout"], w=rotated)["X"]}


def _stride_ignored(spec: Conv2d, v) -> dict[str, np.ndarray] | None:
    if spec.stride == (1, 1):
        return None
    # Windows at (i, j) instead of (i*S, j*S): the stride-1 layer, fed dout in its top left.
    unstrided = dataclasses.replace(spec, stride=(1, 1))
    dout = embed_top_left(v["dout"], unstrided.output_shape)
    grads = runtime.backward(unstrided, v["x"], dout, w=v["w"])
    return {"dx": grads["X"], "dw": grads["W"]}


def _padded_gradient(spec: Conv2d, v) -> np.ndarray:
    """dL/d(padded x): the unpadded layer on the padded input."""
    n, c, h, w = spec.input_shape
    ph, pw = spec.padding
    padded = dataclasses.replace(spec, input_shape=(n, c, h + 2 * ph, w + 2 * pw), padding=(0, 0))
    x = zeros(padded.input_shape)
    x[:, :, ph : ph + h, pw : pw + w] = v["x"]
    return runtime.backward(padded, x, v["dout"], w=v["w"])["X"]


def _cropped_by(amount: int):
    def predict(spec: Conv2d, v) -> dict[str, np.ndarray] | None:
        if spec.padding == (amount, amount):
            return None
        grad = _padded_gradient(spec, v)
        height, width = grad.shape[-2:]
        return {"dx": grad[:, :, amount : height - amount, amount : width - amount]}

    return predict


def _db_over_batch(spec: Conv2d, v) -> dict[str, np.ndarray] | None:
    if spec.input_shape[0] == 1 or not spec.bias:
        return None
    grad = runtime.backward(spec, v["x"], v["dout"], w=v["w"])["B"]
    return {"db": grad / spec.input_shape[0]}


def _overwritten(spec: Conv2d, v) -> dict[str, np.ndarray]:
    """``dx_pad[n, :, window] = w[f] * dout[n, f, i, j]``: the last window written wins."""
    w, dout = v["w"], v["dout"]
    n_batch, channels, height, width = spec.input_shape
    ph, pw = spec.padding
    sh, sw = spec.stride
    kh, kw = spec.kernel
    grad = zeros((n_batch, channels, height + 2 * ph, width + 2 * pw))
    for n in range(n_batch):
        for f in range(spec.out_channels):
            for i in range(dout.shape[2]):
                for j in range(dout.shape[3]):
                    grad[n, :, i * sh : i * sh + kh, j * sw : j * sw + kw] = w[f] * dout[n, f, i, j]
    return {"dx": grad[:, :, ph : ph + height, pw : pw + width]}


MISTAKES = (
    CodeMistake(
        "kernel_rotated_in_scatter",
        "kernel rotated in the scatter form",
        "dx_pad[window] += w[f] * dout[n, f, i, j] takes the kernel as it is: the rotation belongs"
        " to the full-convolution form only",
        _kernel_rotated,
    ),
    CodeMistake(
        "stride_ignored_in_backward",
        "stride ignored in the backward windows",
        "the window of output (i, j) starts at (i*stride, j*stride) in the backward pass too",
        _stride_ignored,
    ),
    *(
        CodeMistake(
            f"padding_cropped_by_{amount}",
            f"padding cropped by a fixed amount ({amount} on every side, whatever the padding)",
            "crop dx_pad by the layer's pad: dx = dx_pad[:, :, pad:pad+H, pad:pad+W]",
            _cropped_by(amount),
        )
        for amount in (0, 1, 2)
    ),
    CodeMistake(
        "db_divided_by_batch",
        "db divided by the batch",
        "db sums dout over the batch and every output position: no division (the loss is a sum)",
        _db_over_batch,
    ),
    CodeMistake(
        "windows_overwritten",
        "overlapping windows overwritten instead of accumulated",
        "windows overlap: add into dx_pad (+=), do not assign (=)",
        _overwritten,
    ),
)

TABLE = {
    Conv2d.type: KindCheckCode(
        conventions=CONVENTIONS,
        probes=probes,
        values=values,
        outputs={"dx": "X", "dw": "W", "db": "B"},
        inputs={"x": "X", "w": "W", "b": "B"},
        mistakes=MISTAKES,
    )
}
