"""How the notes print a 2-D convolution: its sentence, shapes and options, and its identities.

The identities are shown on the layer's own matrices: the kernel gradient as a correlation of
the input with the stride-dilated upstream gradient, the input gradient as a full convolution
with the rotated kernel (every intermediate matrix built by the core's operators), the bias
gradient as a sum. The steps are the printer's standard ones.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
from sympy import Basic, Symbol

from ... import identities as ops
from ...identities import Identity
from ...printing.checked import checked
from ...printing.context import Context, display, pair
from ...printing.example import Example
from ...printing.general_step import general_step
from ...printing.identity_steps import verdict
from ...printing.kind import KindNotes
from ...printing.model import Display, Equation, Heading, Paragraph
from ...printing.nodes import (
    Apply,
    At,
    Dots,
    Element,
    Equals,
    Loss,
    Partial,
    Shape,
    SumOver,
    Terms,
    Whole,
)
from ...printing.steps import STANDARD_STEPS
from .spec import Conv2d


def _description(ctx: Context) -> tuple:
    bias = ctx.spec.bias
    return (
        "A 2-D convolution (a cross-correlation, as every CNN framework computes it) slides the"
        " kernel ",
        Whole("W"),
        " over the input ",
        Whole("X"),
        ", multiplies entry by entry and sums" + (", then adds the bias " if bias else ""),
        *((Whole("B"),) if bias else ()),
        "; the sums form the output ",
        Whole("O"),
        ".",
    )


def _shapes(ctx: Context) -> Iterable:
    yield from (", ", Whole("W"), ": ", Shape(ctx.shapes["W"]))
    yield " (output channels × input channels"
    yield " per group" if ctx.spec.groups > 1 else ""
    yield " × height × width)"
    if "B" in ctx.shapes:
        yield from (", ", Whole("B"), ": ", Shape(ctx.shapes["B"]))


def _options(ctx: Context) -> Iterable:
    if ctx.spec.groups > 1:
        groups = ctx.spec.groups
        yield f", {groups} groups (each output channel sees only its group's input channels)"


def _upstream(ctx: Context, n: int, k: int) -> np.ndarray:
    """dL/dO for one sample and output channel: the upstream gradient times the reduction."""
    plane = ctx.derivation.tensors.G[n, k]
    return np.vectorize(lambda g: ctx.scale * g, otypes=[object])(plane)


def _plain_grid(ctx: Context, array: np.ndarray) -> Basic:
    return ctx.grid(array, None, ())


def _some(values: list[int]) -> list[int]:
    """At most the first and the last of a long list (sums over many channels stay short)."""
    return values if len(values) <= 2 else [values[0], values[-1]]


def _sum_or_one(terms: list[Basic], elided: bool) -> Basic:
    if elided:
        terms = [terms[0], Dots("h"), terms[-1]]
    return terms[0] if len(terms) == 1 else Terms(*terms)


def _channel_of(ctx: Context, k: int, c: int) -> int:
    """The input channel that weight channel ``c`` of output channel ``k`` reads."""
    spec = ctx.spec
    out_per_group = spec.out_channels // spec.groups
    in_per_group = spec.in_channels // spec.groups
    return (k // out_per_group) * in_per_group + c


def _ordinal(step: int) -> str:
    """``2nd``, ``3rd``, ``4th``: the words "every 2nd response"."""
    suffix = {1: "st", 2: "nd", 3: "rd"}.get(step % 10 if step % 100 not in (11, 12, 13) else 0)
    return f"{step}{suffix or 'th'}"


def _every(values: tuple[int, int]) -> str:
    if values[0] == values[1]:
        return _ordinal(values[0])
    return f"{_ordinal(values[0])} row and {_ordinal(values[1])} column"


def _channel_symbols(ctx: Context) -> tuple[Symbol, Symbol]:
    """(input channel, weight channel): ``c`` for both without groups, ``c`` and ``c'`` with."""
    c = Symbol("c")
    return c, (Symbol("c'") if ctx.spec.groups > 1 else c)


def _group_sentence(ctx: Context) -> list:
    """What ``c`` and ``c'`` are under groups (one line shared by both identities)."""
    groups = ctx.spec.groups
    return [
        f"; with {groups} groups, output channel ",
        Symbol("k"),
        " of group ",
        Symbol("g"),
        " reads only the input channels of that group: input channel ",
        Equals(Symbol("c"), Symbol("g") * Symbol("C_in") / Symbol("G") + Symbol("c'")),
        " is weight channel ",
        Symbol("c'"),
        " of its group (groups counted from 0)",
    ]


def _response(ctx: Context, sample: int, out_k: int, channel: int) -> np.ndarray:
    """corr(pad(X), dilate(dL/dO)) for one sample, output channel and input channel."""
    spec = ctx.spec
    tensors = ctx.derivation.tensors
    image = ops.pad(tensors.X[sample, channel], spec.padding)
    return ops.correlate(image, ops.dilate(_upstream(ctx, sample, out_k), spec.stride))


def _weight_term(ctx: Context, response: np.ndarray, node: Basic) -> tuple[Basic, np.ndarray]:
    """``block(every(corr(...), D), K)`` as far as this layer needs it, with its value."""
    spec = ctx.spec
    value = response
    if spec.dilation != (1, 1):
        value = value[:: spec.dilation[0], :: spec.dilation[1]]
        node = Apply("every", node, pair(spec.dilation))
    if value.shape != tuple(spec.kernel):
        value = ops.crop(value, (0, 0), spec.kernel)
        node = Apply("block", node, Shape(spec.kernel))
    return node, value


def weight_correlation(ctx: Context, identity: Identity) -> Iterable:
    """The kernel gradient as a correlation of X with the stride-dilated dL/dO, on this layer."""
    spec = ctx.spec
    stride, padding, dilation = spec.stride, spec.padding, spec.dilation
    n, k = Symbol("n"), Symbol("k")
    channel_c, weight_c = _channel_symbols(ctx)
    heading: tuple = ("The kernel gradient is a correlation of ", Whole("X"), " with ")
    if stride != (1, 1):
        heading += ("the stride-dilated ",)
    yield Heading((*heading, Partial(Loss(), Whole("O"))))
    image = Whole("X", (n, channel_c))
    upstream = Partial(Loss(), Whole("O", (n, k)))
    if any(padding):
        image = Apply("pad", image, pair(padding))
    if stride != (1, 1):
        upstream = Apply("dilate", upstream, pair(stride))
    sample_response = _response(ctx, 0, 0, _channel_of(ctx, 0, 0))
    form, _ = _weight_term(ctx, sample_response, Apply("corr", image, upstream))
    blocked = isinstance(form, Apply) and form.name == "block"
    if spec.batch > 1:
        form = SumOver(form, (n, 0, Symbol("N") - 1))
    prose = [
        "Slide ",
        Partial(Loss(), Whole("O")),
        " over the input as if it were the kernel (",
        Apply("corr", Symbol("A"), Symbol("K")),
        " is what CNN frameworks call convolution)",
    ]
    if stride != (1, 1):
        prose += [
            "; with stride ",
            pair(stride),
            " its entries are first spread apart by ",
            Apply("dilate", Symbol("A"), pair(stride)),
            ", which puts zeros between them",
        ]
    if any(padding):
        prose += ["; the input is zero-padded as in the forward pass"]
    if dilation != (1, 1):
        prose += [
            "; with kernel dilation ",
            pair(dilation),
            f" only every {_every(dilation)} response is kept (",
            Apply("every", Symbol("A"), pair(dilation)),
            ")",
        ]
    if blocked:
        prose += [
            "; the correlation is larger than the kernel, because the strided windows leave"
            " input rows or columns at the bottom or right unread, and only its top-left ",
            Shape(spec.kernel),
            " block is the kernel gradient (",
            Apply("block", Symbol("A"), Shape(spec.kernel)),
            " keeps it): the rows and columns past it would be taps beyond the kernel",
        ]
    if spec.groups > 1:
        prose += _group_sentence(ctx)
    if spec.batch > 1:
        prose += ["; the samples of the batch add up"]
    yield Paragraph((*prose, ":"))
    yield Display((Equation((Partial(Loss(), Whole("W", (k, weight_c))), form)),))
    equations = []
    tensors = ctx.derivation.tensors
    for part in ctx.slices(ctx.shapes["W"]):
        out_k, weight_channel = part
        channel = _channel_of(ctx, out_k, weight_channel)
        samples = list(range(spec.batch))
        shown = _some(samples)
        nodes, values = [], []
        for sample in samples:
            image_grid: Basic = _plain_grid(ctx, ops.pad(tensors.X[sample, channel], padding))
            upstream_grid = _plain_grid(ctx, ops.dilate(_upstream(ctx, sample, out_k), stride))
            node, value = _weight_term(
                ctx,
                _response(ctx, sample, out_k, channel),
                Apply("corr", image_grid, upstream_grid),
            )
            values.append(value)
            if sample in shown:
                nodes.append(node)
        total = ops.add_arrays(values, values[0].shape)  # one sum per entry, not a growing one
        result = ctx.grid(ctx.derivation.grads["W"], "grad:W", part)
        lhs = Partial(Loss(), Whole("W", part))
        gradient = ctx.derivation.grads["W"][part]
        equations.append(
            checked(
                (lhs, gradient),
                (_sum_or_one(nodes, len(shown) < len(samples)), total),
                (result, gradient),
            )
        )
    yield Display(tuple(equations))
    yield verdict(identity)


def _padded_size(ctx: Context) -> tuple[int, int]:
    _, _, height, width = ctx.spec.input_shape
    return (height + 2 * ctx.spec.padding[0], width + 2 * ctx.spec.padding[1])


def input_full_convolution(ctx: Context, identity: Identity) -> Iterable:
    """The input gradient as a full convolution with the rotated kernel, every matrix shown."""
    spec = ctx.spec
    stride, padding, dilation = spec.stride, spec.padding, spec.dilation
    n, k = Symbol("n"), Symbol("k")
    channel_c, weight_c = _channel_symbols(ctx)
    yield Heading(("The input gradient is a full convolution with the 180-degree-rotated kernel",))
    upstream: Basic = Partial(Loss(), Whole("O", (n, k)))
    if stride != (1, 1):
        upstream = Apply("dilate", upstream, pair(stride))
    kernel: Basic = Whole("W", (k, weight_c))
    if dilation != (1, 1):
        kernel = Apply("dilate", kernel, pair(dilation))
    form: Basic = Apply("full conv", upstream, Apply("rot180", kernel))
    padded = _padded_size(ctx)
    kernel_h, kernel_w = (dilation[i] * (spec.kernel[i] - 1) + 1 for i in (0, 1))
    full_size = tuple(
        (spec.output_shape[2 + i] - 1) * stride[i] + (kernel_h, kernel_w)[i] for i in (0, 1)
    )
    extended = full_size != padded
    if extended:
        form = Apply("extend", form, Shape(padded))
    if any(padding):
        form = Apply("crop", form, pair(padding))
    if spec.out_channels > 1:
        if spec.groups > 1:
            g, c_out, groups = Symbol("g"), Symbol("C_out"), Symbol("G")
            form = SumOver(form, (k, g * c_out / groups, (g + 1) * c_out / groups - 1))
        else:
            form = SumOver(form, (k, 0, Symbol("C_out") - 1))
    a, r = Symbol("A"), Symbol("R")
    prose = [
        "Rotate the kernel by 180 degrees (flip it vertically, then horizontally) and slide it"
        " over ",
        Partial(Loss(), Whole("O")),
        " zero-padded on every side by one less than the kernel's size"
        + (" (its dilated size, D(K - 1) + 1)" if dilation != (1, 1) else "")
        + " (full convolution in the notes' sense, where convolution means correlation): ",
        Equals(
            Apply("full conv", a, r),
            Apply("corr", Apply("pad", a, pair((kernel_h - 1, kernel_w - 1))), r),
        ),
    ]
    if dilation != (1, 1):
        prose += [". The kernel is dilated first, as in the forward pass"]
    if stride != (1, 1):
        prose += [
            ". With stride ",
            pair(stride),
            ", ",
            Partial(Loss(), Whole("O")),
            " is first dilated (zeros between its entries)",
        ]
    if extended:
        prose += [
            ". The rows and columns at the end that no strided window reached get no gradient: ",
            Apply("extend", a, Shape(padded)),
            " appends zero rows and columns to ",
            a,
            " up to the padded input's size ",
            Shape(padded),
        ]
    if any(padding):
        prose += [". The padding is cropped off at the end, since it is not part of the input"]
    if spec.out_channels > 1:
        if spec.groups > 1:
            prose += [". Every output channel ", Symbol("k"), " of the input channel's group "]
            prose += [Symbol("g"), " reads it and adds its share"]
            prose += _group_sentence(ctx)
        else:
            prose += [". Every output channel reads the input channel and adds its share"]
    yield Paragraph((*prose, ":"))
    yield Display((Equation((Partial(Loss(), Whole("X", (n, channel_c))), form)),))
    for part in ctx.slices(ctx.shapes["X"]):
        yield Display(tuple(_input_slice_equations(ctx, part)))
    yield verdict(identity)


def _input_slice_equations(ctx: Context, part: tuple[int, int]) -> list[Equation]:
    """dL/dX for one sample and channel, every intermediate matrix shown and checked."""
    spec = ctx.spec
    stride, padding, dilation = spec.stride, spec.padding, spec.dilation
    tensors = ctx.derivation.tensors
    sample, channel = part
    out_per_group = spec.out_channels // spec.groups
    in_per_group = spec.in_channels // spec.groups
    group, weight_c = divmod(channel, in_per_group)
    readers = list(range(group * out_per_group, (group + 1) * out_per_group))
    _, _, height, width = spec.input_shape
    padded = _padded_size(ctx)
    gradient = ctx.derivation.grads["X"][part]
    result = ctx.grid(ctx.derivation.grads["X"], "grad:X", part)
    lhs = Partial(Loss(), Whole("X", part))
    equations = []
    crops = []
    shown = _some(readers)
    for out_k in readers:
        kernel_plane = ops.dilate(tensors.W[out_k, weight_c], dilation)
        rotated = ops.rot180(kernel_plane)
        spread = ops.dilate(_upstream(ctx, sample, out_k), stride)
        kh, kw = kernel_plane.shape
        framed = ops.pad(spread, (kh - 1, kw - 1))
        full = ops.correlate(framed, rotated)
        grown = ops.fit(full, padded)
        cropped = ops.crop(grown, padding, (height, width))
        crops.append(cropped)
        if out_k not in shown:
            continue
        weight_name = Whole("W", (out_k, weight_c))
        kernel_name: Basic = weight_name
        if dilation != (1, 1):
            kernel_name = Apply("dilate", weight_name, pair(dilation))
        equations.append(
            checked(
                (Apply("rot180", kernel_name), ops.rot180(kernel_plane)),
                (Apply("rot180", _plain_grid(ctx, kernel_plane)), ops.rot180(kernel_plane)),
                (_plain_grid(ctx, rotated), rotated),
            )
        )
        upstream_name = _name_upstream(sample, out_k, stride)
        if stride != (1, 1):
            equations.append(checked((upstream_name, spread), (_plain_grid(ctx, spread), spread)))

        def wrap(node: Basic, grows: bool = grown.shape != full.shape) -> Basic:
            # The same extension and cropping on every side, so each "=" compares like sizes.
            if grows:
                node = Apply("extend", node, Shape(padded))
            if any(padding):
                node = Apply("crop", node, pair(padding))
            return node

        chain = [
            (wrap(Apply("full conv", upstream_name, Apply("rot180", kernel_name))), cropped),
            (wrap(Apply("corr", _plain_grid(ctx, framed), _plain_grid(ctx, rotated))), cropped),
        ]
        if wrap(Symbol("A")) != Symbol("A"):
            chain.append((wrap(_plain_grid(ctx, full)), cropped))
        if len(readers) == 1:
            # The last matrix is the derived gradient itself.
            equations.append(checked((lhs, gradient), *chain, (result, gradient)))
            return equations
        chain.append((_plain_grid(ctx, cropped), cropped))
        equations.append(checked(*chain))
    total = ops.add_arrays(crops, crops[0].shape)
    shown_crops = [_plain_grid(ctx, crops[readers.index(k)]) for k in shown]
    equations.append(
        checked(
            (lhs, gradient),
            (_sum_or_one(shown_crops, len(shown) < len(readers)), total),
            (result, gradient),
        )
    )
    return equations


def _name_upstream(sample: int, out_k: int, stride: tuple[int, int]) -> Basic:
    name: Basic = Partial(Loss(), Whole("O", (sample, out_k)))
    return Apply("dilate", name, pair(stride)) if stride != (1, 1) else name


def bias_sum(ctx: Context, identity: Identity) -> Iterable:
    """The bias gradient as the sum of dL/dO over each output channel."""
    n, i, j = Symbol("n"), Symbol("i"), Symbol("j")
    k = Symbol("k")
    yield Heading(("The bias gradient is the sum of ", Partial(Loss(), Whole("O"))))
    body = Partial(Loss(), Element("O", (n, k, i, j)))
    limits = [(i, 0, Symbol("H_out") - 1), (j, 0, Symbol("W_out") - 1)]
    if ctx.spec.batch > 1:
        limits.insert(0, (n, 0, Symbol("N") - 1))
    yield Paragraph(
        ("Every output entry of a channel adds its bias once, so its gradient sums them:",)
    )
    general = Equation((Partial(Loss(), Element("B", (k,))), SumOver(body, *limits)))
    grads = ctx.derivation.grads["B"]
    equations = [general]
    for (index,) in np.ndindex(*grads.shape) if grads.size <= 8 else [(0,), (grads.size - 1,)]:
        equations.append(
            Equation(
                (
                    Partial(Loss(), Element("B", (index,))),
                    At(ctx.shown(display(grads[index])), "grad:B", (index,)),
                )
            )
        )
    yield Display(tuple(equations))
    yield verdict(identity)


TABLE = {
    "conv2d": KindNotes(
        title="Backpropagation through a 2-D convolution",
        description=_description,
        steps=(STANDARD_STEPS[0], general_step, *STANDARD_STEPS[1:]),
        shapes=_shapes,
        options=_options,
        pads_input=True,
        identities={
            "weight_correlation": weight_correlation,
            "input_full_convolution": input_full_convolution,
            "bias_sum": bias_sum,
        },
    ),
}

#: This kind's pages in the gallery (``docs/gallery/``), in the order of its index page.
GALLERY = (
    Example(
        "conv2d-3x3-k2x2",
        "The notes' example: a 3×3 input and a 2×2 kernel, stride 1",
        Conv2d(input_shape=(1, 1, 3, 3), kernel=(2, 2)),
        {"letters": "XFO"},
    ),
    Example(
        "conv2d-3x3-k2x2-s2",
        "The same at stride 2: rows and columns no window reaches",
        Conv2d(input_shape=(1, 1, 3, 3), kernel=(2, 2), stride=(2, 2)),
        {"letters": "xwo"},
    ),
    Example(
        "conv2d-3x3-k2x2-s2-p1",
        "Stride 2 with padding 1: dilation, then cropping",
        Conv2d(input_shape=(1, 1, 3, 3), kernel=(2, 2), stride=(2, 2), padding=(1, 1)),
    ),
    Example(
        "conv2d-2ch-3x3-k2x2",
        "Two input channels: the channel sum",
        Conv2d(input_shape=(1, 2, 3, 3), kernel=(2, 2)),
    ),
    Example(
        "conv2d-batch2-3x3-k2x2-mean",
        "A batch of two with the mean loss: the batch sum and 1/N",
        Conv2d(input_shape=(2, 1, 3, 3), kernel=(2, 2), reduction="mean", bias=False),
    ),
)
