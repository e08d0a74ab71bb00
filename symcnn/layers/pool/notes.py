"""How the notes print the pools: their sentences and options, the tie example, the identities.

Max and min pooling route each window's gradient to its extreme cell, so their notes evaluate
the derivation on numbers with a tie (:func:`tie_example`, :func:`example_step`) and show the
tie rule at work; average pooling spreads the gradient evenly and prints the standard steps.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

import numpy as np
from sympy import Basic, Integer, Symbol

from ...derive import Derivation
from ...identities import Identity
from ...pooling import real_window_cells
from ...printing.checked import checked
from ...printing.context import Context, entries_by_index, index_of
from ...printing.example import Example
from ...printing.general_step import general_step
from ...printing.identity_steps import verdict
from ...printing.kind import KindNotes
from ...printing.model import Display, Equation, Heading, Paragraph, Step
from ...printing.nodes import Apply, Element, Equals, Loss, Partial, Shape, Whole
from ...printing.steps import (
    STANDARD_STEPS,
    chain_step,
    forward_step,
    identities_step,
    local_step,
    setup_step,
)
from .spec import AvgPool2d, MaxPool2d, MinPool2d


@dataclass(frozen=True)
class TieWords:
    """How the notes say what a tie rule does: in the setup's options, and in the example."""

    option: str
    example: str


#: Tie rule (``ties=``) -> its words; the notes' only description of the rules.
TIE_WORDS = {
    "first": TieWords(
        option="the first extreme entry in row-major order takes the gradient, as PyTorch",
        example="the first of the tied entries in row-major order takes all of it",
    ),
    "all": TieWords(
        option="every tied entry takes the whole gradient, as an equality mask does",
        example="every tied entry takes all of it",
    ),
    "split": TieWords(
        option="tied entries share the gradient equally",
        example="the tied entries share it equally",
    ),
}


@dataclass(frozen=True)
class Extreme:
    """What max or min pooling keeps, in the words and the function the notes use."""

    short: str  # max, in "max-unpool"
    noun: str  # maximum
    adjective: str  # maximal
    largest: str  # largest, in "keeps the largest entry"
    pick: Callable


MAX = Extreme("max", "maximum", "maximal", "largest", max)
MIN = Extreme("min", "minimum", "minimal", "smallest", min)


def _extreme_description(extreme: Extreme) -> Callable[[Context], tuple]:
    def description(ctx: Context) -> tuple:
        under = "under it" if ctx.spec.dilation == (1, 1) else "on its taps (dilation D apart)"
        return (
            f"{extreme.short.capitalize()} pooling slides a window over the input ",
            Whole("X"),
            f" and keeps the {extreme.largest} entry {under}, channel by channel; those form the"
            " output ",
            Whole("O"),
            ".",
        )

    return description


def _average_description(ctx: Context) -> tuple:
    return (
        "Average pooling slides a window over the input ",
        Whole("X"),
        " and takes the mean of the entries under it, channel by channel; those form the output ",
        Whole("O"),
        ".",
    )


def _tie_option(ctx: Context) -> Iterable:
    yield f", ties: {ctx.spec.ties} ({TIE_WORDS[ctx.spec.ties].option})"


def _count_option(ctx: Context) -> Iterable:
    if any(ctx.spec.padding):
        yield ", padded cells " + ("count" if ctx.spec.count_include_pad else "do not count")
        yield " in the window size"


def tie_example(derivation: Derivation, pool: Extreme) -> dict[Symbol, Basic]:
    """Small whole numbers for the input, with a tie for the extreme in the first window.

    Every sample and channel gets its own pattern; in window (1, 1) the first two real cells
    (row-major) are both set to the window's extreme, so the tie rule decides who gets the
    gradient.
    """
    spec = derivation.spec
    tensors = derivation.tensors
    n_batch, channels, _, width = spec.input_shape
    values = np.empty(spec.input_shape, dtype=object)
    for n, c, h, w in np.ndindex(*spec.input_shape):
        values[n, c, h, w] = ((h * width + w) * 5 + c * 3 + n * 7) % 9 + 1
    pick = pool.pick
    cells = real_window_cells(spec, 0, 0)
    for n, c in np.ndindex(n_batch, channels):
        extreme = pick(values[n, c, r, q] for r, q in cells)
        for r, q in cells[:2]:
            values[n, c, r, q] = extreme
    return {tensors.X[index]: Integer(values[index]) for index in np.ndindex(*spec.input_shape)}


def example_step(ctx: Context, pool: Extreme) -> Step:
    """The tie rule at work: the notes' gradients evaluated on numbers with a tie."""
    derivation, example = ctx.derivation, ctx.example or {}
    tensors = derivation.tensors
    entry = entries_by_index(derivation)[(0, 0, 0, 0)]
    members = [symbol for symbol, _ in entry.partials]  # the first window, row-major
    extreme = entry.expr.xreplace(example)
    tied = [m for m in members if example[m] == extreme]
    blocks: list = [
        Paragraph(
            (
                "Numbers make the tie rule concrete. In the input below the first window has a"
                f" tie for its {pool.noun}: ",
                Equals(*(Element("X", index_of(m)) for m in tied), example[tied[0]]),
                ". Evaluating the derived expressions at these values:",
            )
        )
    ]
    values = np.vectorize(lambda x: example[x], otypes=[object])(tensors.X)
    outputs = _at_example(ctx, derivation.output, example)
    grads = _at_example(ctx, derivation.grads["X"], example)
    equations = []
    for part in ctx.slices(ctx.shapes["X"]):
        grid = ctx.grid(grads, "example-grad:X", part)
        equations += [
            Equation((Whole("X", part), ctx.grid(values, None, part)), group=part),
            Equation((Whole("O", part), ctx.grid(outputs, "example-output", part)), group=part),
            Equation((Partial(Loss(), Whole("X", part)), grid), group=part),
        ]
    blocks.append(Display(tuple(equations), packed=True))
    upstream = tensors.G[0, 0, 0, 0]
    shares = [(m, grads[index_of(m)].coeff(upstream)) for m in members]
    winners = [(m, share) for m, share in shares if share != 0]
    receives = [Element("X", index_of(m)) for m, _ in winners]
    rule = TIE_WORDS[ctx.spec.ties].example
    parts: list = [
        f"With ties={ctx.spec.ties}, {rule}: ",
        Partial(Loss(), Element("O", (0, 0, 0, 0))),
    ]
    parts += [" goes to "]
    for position, (name, (_, share)) in enumerate(zip(receives, winners, strict=True)):
        if position:
            parts.append(" and ")
        parts.append(name)
        if share != 1:
            parts += [" (times ", share, ")"]
    parts.append(".")
    blocks.append(Paragraph(tuple(parts)))
    return Step("example", "A worked example with a tie", tuple(blocks))


def _routing_words(ctx: Context, extreme: Extreme) -> list:
    """Where each window sends its dL/dO under the tie rule, and whether that is a gradient."""
    word = extreme.adjective
    upstream = Partial(Loss(), Element("O", (Symbol("m"),)))
    ties = ctx.spec.ties
    if ties == "first":
        where = [
            f" back to its {word} cell, the one the forward pass kept (when cells tie, the first"
            " of them in row-major order, as PyTorch)"
        ]
    elif ties == "split":
        where = [f" back to its {word} cells in equal shares (all of it when there is no tie)"]
    else:
        where = [
            f" back to every one of its {word} cells, whole: a window with three tied cells sends"
            " it three times"
        ]
    words = ["Each window sends its ", upstream, *where]
    words += [
        "; every other cell of the window gets nothing, padded cells never win, and where"
        " windows overlap the shares add up. "
    ]
    if ties == "all":
        words += [
            "ties=all is not a gradient: where t cells tie, the weights it gives them add up to t,"
            " so it multiplies the window's total by t; it is the mask ",
            f"x == {extreme.short}(window)",
            " that students write. ties=first and ties=split are gradients (subgradients at a"
            " tie): their weights add up to 1, a convex combination of the tied cells' one-sided"
            " derivatives",
        ]
    else:
        words += [
            f"ties={ties} is a gradient (a subgradient at a tie): the weights it gives the tied"
            " cells add up to 1, a convex combination of their one-sided derivatives; ties=all"
            " (the mask ",
            f"x == {extreme.short}(window)",
            ") would add up to the number of tied cells and is not one",
        ]
    words += [":"]
    return words


def _at_example(ctx: Context, array: np.ndarray, example: dict) -> np.ndarray:
    """``array`` evaluated at the example, in the slices the notes show (and the first) only.

    The other entries stay None: evaluating all of them cost nine tenths of printing a pool
    with many channels, for matrices that are never shown.
    """
    out = np.full(array.shape, None, dtype=object)
    evaluate = np.vectorize(lambda e: e.xreplace(example), otypes=[object])
    for part in {(0, 0), *ctx.slices(array.shape)}:
        out[part] = evaluate(array[part])
    return out


def unpool_routing(ctx: Context, identity: Identity, extreme: Extreme) -> Iterable:
    """The input gradient as the max- or min-unpool routing, at the worked example's input."""
    kind = extreme.short
    yield Heading(
        (f"The input gradient is the {kind}-unpool routing of ", Partial(Loss(), Whole("O")))
    )
    yield Paragraph(tuple(_routing_words(ctx, extreme)))
    form = Apply(f"{kind}-unpool", Partial(Loss(), Whole("O")))
    yield Display((Equation((Partial(Loss(), Whole("X")), form)),))
    if ctx.example is not None:
        yield Paragraph(("At the worked example's input the routing gives:",))
        evaluated = _at_example(ctx, identity.form, ctx.example)
        derived = _at_example(ctx, ctx.derivation.grads["X"], ctx.example)
        equations = [
            checked(
                (Apply(f"{kind}-unpool", Partial(Loss(), Whole("O", part))), evaluated[part]),
                (ctx.grid(evaluated, "example-grad:X", part), derived[part]),
            )
            for part in ctx.slices(ctx.shapes["X"])
        ]
        yield Display(tuple(equations))
    yield verdict(identity)


def even_spreading(ctx: Context, identity: Identity) -> Iterable:
    """The input gradient of average pooling as each window's share spread over its cells."""
    spec = ctx.spec
    yield Heading(("The input gradient spreads each ", Partial(Loss(), Whole("O")), " evenly"))
    divisor = "its whole window (padding included)" if spec.count_include_pad else "its real cells"
    rows, cols = spec.divisor_factors()
    overhangs = set(rows) != {spec.kernel[0]} or set(cols) != {spec.kernel[1]}
    if spec.count_include_pad and overhangs:
        divisor = (
            "its window on the padded input (ceil mode: the last windows overhang the end,"
            " and what lies past the padding does not count)"
        )
    yield Paragraph(
        (
            "Each window divides its ",
            Partial(Loss(), Element("O", (Symbol("k"),))),
            f" by the size of {divisor} and gives every cell that share; where windows overlap"
            " the shares add up:",
        )
    )
    form = Apply("spread", Partial(Loss(), Whole("O")), Shape(spec.kernel))
    equations = [Equation((Partial(Loss(), Whole("X")), form))]
    for part in ctx.slices(ctx.shapes["X"]):
        lhs = Apply("spread", Partial(Loss(), Whole("O", part)), Shape(spec.kernel))
        grid = ctx.grid(identity.form, "grad:X", part)
        equations.append(
            checked((lhs, identity.form[part]), (grid, ctx.derivation.grads["X"][part]))
        )
    yield Display(tuple(equations))
    yield verdict(identity)


def _extreme_notes(extreme: Extreme) -> KindNotes:
    def example(derivation: Derivation) -> dict[Symbol, Basic]:
        return tie_example(derivation, extreme)

    def example_of(ctx: Context) -> Step:
        return example_step(ctx, extreme)

    def routing(ctx: Context, identity: Identity) -> Iterable:
        return unpool_routing(ctx, identity, extreme)

    return KindNotes(
        title=f"Backpropagation through {extreme.short} pooling",
        description=_extreme_description(extreme),
        # The worked example with a tie takes the place of the results as matrices.
        steps=(
            setup_step,
            general_step,
            forward_step,
            local_step,
            chain_step,
            example_of,
            identities_step,
        ),
        options=_tie_option,
        example=example,
        identities={f"{extreme.short}_unpool_routing": routing},
    )


TABLE = {
    "maxpool2d": _extreme_notes(MAX),
    "minpool2d": _extreme_notes(MIN),
    "avgpool2d": KindNotes(
        title="Backpropagation through average pooling",
        description=_average_description,
        steps=(STANDARD_STEPS[0], general_step, *STANDARD_STEPS[1:]),
        options=_count_option,
        identities={"even_spreading": even_spreading},
    ),
}

#: This kind's pages in the gallery (``docs/gallery/``), in the order of its index page.
GALLERY = (
    Example(
        "maxpool2d-4x4-k2x2-first",
        "Max pooling with a tie, ties=first (PyTorch's rule)",
        MaxPool2d(input_shape=(1, 1, 4, 4), kernel=(2, 2), ties="first"),
    ),
    Example(
        "maxpool2d-4x4-k2x2-split",
        "Max pooling with a tie, ties=split (tied entries share)",
        MaxPool2d(input_shape=(1, 1, 4, 4), kernel=(2, 2), ties="split"),
    ),
    Example(
        "minpool2d-4x4-k2x2-all",
        "Min pooling with a tie, ties=all (the equality mask)",
        MinPool2d(input_shape=(1, 1, 4, 4), kernel=(2, 2), ties="all"),
    ),
    Example(
        "avgpool2d-3x3-k2x2-s1",
        "Average pooling with overlapping windows: even spreading adds up",
        AvgPool2d(input_shape=(1, 1, 3, 3), kernel=(2, 2), stride=(1, 1)),
    ),
)
