"""How the notes print a 2-D convolution: its sentence, shapes and options, and its identities.

The identities are shown on the layer's own matrices: the kernel gradient as a correlation of
the input with the stride-dilated upstream gradient, the input gradient as a full convolution
with the rotated kernel (every intermediate matrix built by the core's operators), the bias
gradient as a sum. The steps are the printer's standard ones.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
from sympy import Basic, S, Symbol

from ... import identities as ops
from ...identities import Identity
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


def weight_correlation(ctx: Context, identity: Identity) -> Iterable:
    """The kernel gradient as a correlation of X with the stride-dilated dL/dO, on this layer."""
    spec = ctx.spec
    stride, padding, dilation = spec.stride, spec.padding, spec.dilation
    n, c, k = Symbol("n"), Symbol("c"), Symbol("k")
    yield Heading(
        (
            "The kernel gradient is a correlation of ",
            Whole("X"),
            " with the stride-dilated ",
            Partial(Loss(), Whole("O")),
        )
    )
    image = Whole("X", (n, c))
    upstream = Partial(Loss(), Whole("O", (n, k)))
    if any(padding):
        image = Apply("pad", image, pair(padding))
    if stride != (1, 1):
        upstream = Apply("dilate", upstream, pair(stride))
    form: Basic = Apply("corr", image, upstream)
    if dilation != (1, 1):
        form = Apply("every", form, pair(dilation))
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
        prose += ["; with kernel dilation only every ", pair(dilation), "-th response is kept"]
    if spec.batch > 1:
        prose += ["; the samples of the batch add up"]
    yield Paragraph((*prose, ":"))
    yield Display((Equation((Partial(Loss(), Whole("W", (k, c))), form)),))
    equations = []
    tensors = ctx.derivation.tensors
    for part in ctx.slices(ctx.shapes["W"]):
        out_k, weight_c = part
        channel = _channel_of(ctx, out_k, weight_c)
        samples = list(range(spec.batch))
        shown = _some(samples)
        concrete = []
        for sample in shown:
            image_grid: Basic = _plain_grid(ctx, ops.pad(tensors.X[sample, channel], padding))
            upstream_grid = _plain_grid(ctx, ops.dilate(_upstream(ctx, sample, out_k), stride))
            term: Basic = Apply("corr", image_grid, upstream_grid)
            if dilation != (1, 1):
                term = Apply("every", term, pair(dilation))
            concrete.append(term)
        result = ctx.grid(ctx.derivation.grads["W"], "grad:W", part)
        lhs = Partial(Loss(), Whole("W", part))
        equations.append(Equation((lhs, _sum_or_one(concrete, len(shown) < len(samples)), result)))
    yield Display(tuple(equations))
    yield verdict(identity)


def input_full_convolution(ctx: Context, identity: Identity) -> Iterable:
    """The input gradient as a full convolution with the rotated kernel, every matrix shown."""
    spec = ctx.spec
    stride, padding, dilation = spec.stride, spec.padding, spec.dilation
    n, c, k = Symbol("n"), Symbol("c"), Symbol("k")
    yield Heading(("The input gradient is a full convolution with the 180-degree-rotated kernel",))
    upstream: Basic = Partial(Loss(), Whole("O", (n, k)))
    if stride != (1, 1):
        upstream = Apply("dilate", upstream, pair(stride))
    kernel: Basic = Whole("W", (k, c))
    if dilation != (1, 1):
        kernel = Apply("dilate", kernel, pair(dilation))
    form: Basic = Apply("full conv", upstream, Apply("rot180", kernel))
    if any(padding):
        form = Apply("crop", form, pair(padding))
    if spec.out_channels > 1:
        form = SumOver(form, (k, 0, Symbol("C_out") - 1))
    a, r = Symbol("A"), Symbol("R")
    kernel_h, kernel_w = (dilation[i] * (spec.kernel[i] - 1) + 1 for i in (0, 1))
    prose = [
        "Rotate the kernel by 180 degrees (flip it vertically, then horizontally) and slide it"
        " over ",
        Partial(Loss(), Whole("O")),
        " zero-padded on every side by one less than the kernel size (full convolution in the"
        " notes' sense, where convolution means correlation): ",
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
            " is first dilated (zeros between its entries), and the rows and columns at the end"
            " that no strided window reached get no gradient: ",
            Apply("extend", Symbol("F"), Symbol("size")),
            " appends zero rows and columns up to the padded input's size",
        ]
    if any(padding):
        prose += [". The padding is cropped off at the end, since it is not part of the input"]
    if spec.out_channels > 1:
        prose += [". Every output channel that reads the input channel adds its share"]
    yield Paragraph((*prose, ":"))
    yield Display((Equation((Partial(Loss(), Whole("X", (n, c))), form)),))
    for part in ctx.slices(ctx.shapes["X"]):
        yield Display(tuple(_input_slice_equations(ctx, part)))
    yield verdict(identity)


def _input_slice_equations(ctx: Context, part: tuple[int, int]) -> list[Equation]:
    """dL/dX for one sample and channel, every intermediate matrix shown."""
    spec = ctx.spec
    stride, padding, dilation = spec.stride, spec.padding, spec.dilation
    tensors = ctx.derivation.tensors
    sample, channel = part
    out_per_group = spec.out_channels // spec.groups
    in_per_group = spec.in_channels // spec.groups
    group, weight_c = divmod(channel, in_per_group)
    readers = list(range(group * out_per_group, (group + 1) * out_per_group))
    _, _, height, width = spec.input_shape
    padded = (height + 2 * padding[0], width + 2 * padding[1])
    result = ctx.grid(ctx.derivation.grads["X"], "grad:X", part)
    lhs = Partial(Loss(), Whole("X", part))
    equations = []
    crops = []
    for out_k in _some(readers):
        weight_name = Whole("W", (out_k, weight_c))
        kernel_plane = ops.dilate(tensors.W[out_k, weight_c], dilation)
        rotated = ops.rot180(kernel_plane)
        kernel_name: Basic = weight_name
        if dilation != (1, 1):
            kernel_name = Apply("dilate", weight_name, pair(dilation))
        equations.append(
            Equation(
                (
                    Apply("rot180", kernel_name),
                    Apply("rot180", _plain_grid(ctx, kernel_plane)),
                    _plain_grid(ctx, rotated),
                )
            )
        )
        spread = ops.dilate(_upstream(ctx, sample, out_k), stride)
        upstream_name = _name_upstream(sample, out_k, stride)
        if stride != (1, 1):
            equations.append(Equation((upstream_name, _plain_grid(ctx, spread))))
        kh, kw = kernel_plane.shape
        framed = ops.pad(spread, (kh - 1, kw - 1))
        full = _Correlation(framed, rotated)
        extended = _Window(full, (0, 0), padded)
        cropped = _Window(extended, padding, (height, width))
        crops.append(cropped)
        chain: list[Basic] = [
            Apply("full conv", upstream_name, Apply("rot180", kernel_name)),
            Apply("corr", _plain_grid(ctx, framed), _plain_grid(ctx, rotated)),
            _plain_grid(ctx, full),
        ]
        if extended.shape != full.shape:
            chain += [Apply("extend", chain.pop(), Shape(padded)), _plain_grid(ctx, extended)]
        if any(padding):
            chain += [Apply("crop", chain.pop(), pair(padding)), _plain_grid(ctx, cropped)]
        if len(readers) == 1:
            chain[-1] = result  # the last matrix is the derived gradient itself
            equations.append(Equation((lhs, *chain)))
            return equations
        equations.append(Equation(tuple(chain)))
    total = _sum_or_one([_plain_grid(ctx, crop) for crop in crops], len(crops) < len(readers))
    equations.append(Equation((lhs, total, result)))
    return equations


class _Correlation:
    """``corr(image, kernel)``, each entry computed by the core's operator when it is shown.

    A large layer shows a few corners of each matrix: computing only those keeps its notes fast.
    """

    ndim = 2

    def __init__(self, image: np.ndarray, kernel: np.ndarray) -> None:
        self.image, self.kernel = image, kernel
        self.shape = (image.shape[0] - kernel.shape[0] + 1, image.shape[1] - kernel.shape[1] + 1)

    def __getitem__(self, position: tuple[int, int]) -> Basic:
        row, col = position
        kh, kw = self.kernel.shape
        return ops.correlate(self.image[row : row + kh, col : col + kw], self.kernel)[0, 0]


class _Window:
    """The ``shape`` window of ``source`` starting at ``offset``; zero outside ``source``.

    Extending with zeros (``offset`` 0, a larger shape) and cropping (a positive offset) alike.
    """

    ndim = 2

    def __init__(self, source, offset: tuple[int, int], shape: tuple[int, int]) -> None:
        self.source, self.offset, self.shape = source, offset, shape

    def __getitem__(self, position: tuple[int, int]) -> Basic:
        row, col = position[0] + self.offset[0], position[1] + self.offset[1]
        rows, cols = self.source.shape
        return self.source[row, col] if 0 <= row < rows and 0 <= col < cols else S.Zero


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
