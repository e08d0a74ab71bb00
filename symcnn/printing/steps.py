"""Turn a derivation into the steps of lecture notes, independent of any output format.

The steps follow the notes people write by hand: the setup (shapes, the output-size formula
with the numbers put in, the matrices), the forward equation of every output entry, the local
gradients, the chain rule written out and then simplified, the results as matrices, and the
operator identities the core has verified for this layer (:mod:`symcnn.printing.identity_steps`).

Every value shown comes from the derivation: expressions are only reordered for reading
(:func:`display`) and each is wrapped in :class:`~symcnn.printing.nodes.At` naming the array and
index it came from, so that :func:`lookup` (and a test) can hold it against the derivation.

>>> from symcnn import Conv2d, derive
>>> steps = build_steps(derive(Conv2d(input_shape=(1, 1, 3, 3), kernel=(2, 2))))
>>> [step.key for step in steps]
['setup', 'general', 'forward', 'local', 'chain', 'results', 'identities']
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
from sympy import Basic, Integer, Mul, Piecewise, S, Symbol

from .. import identities as core_identities
from .. import progress
from ..derive import Derivation
from ..spec import Window
from .context import (
    Context,
    Options,
    abridge,
    display,
    elision,
    entries_by_index,
    factor_key,
    lookup,
    pair,
)
from .identity_steps import identity_blocks
from .kind import kind_notes
from .model import Display, Equation, Heading, Paragraph, Step
from .nodes import (
    Apply,
    At,
    Element,
    Equals,
    Loss,
    OutputSize,
    Partial,
    Product,
    Shape,
    SumOver,
    Terms,
    Whole,
)
from .selection import describe, representatives

#: The shared step builders, and the context's names that the printers and tests import from here.
__all__ = [
    "STANDARD_STEPS",
    "Context",
    "Options",
    "abridge",
    "build_steps",
    "chain_step",
    "display",
    "forward_step",
    "identities_step",
    "local_step",
    "lookup",
    "results_step",
    "setup_step",
]

#: Written-out chain rules list every output entry, zero terms included, up to this many outputs.
WRITE_OUT_ALL_UP_TO = 4


# -- the steps ----------------------------------------------------------------------------------


#: The axes of a tensor by its rank, batch first, as the setup names them.
AXES = {
    4: "batch × channels × height × width",
    3: "batch × channels × length",
    2: "batch × features",
}


def setup_step(ctx: Context) -> Step:
    """Shapes, options, the output-size formula with the numbers put in, and the matrices."""
    spec = ctx.spec
    blocks: list = [Paragraph(tuple(kind_notes(ctx.spec).description(ctx)))]
    shapes = [
        f"Shapes ({AXES.get(len(ctx.shapes['X']), 'one index per axis')}): ",
        Whole("X"),
        ": ",
        Shape(ctx.shapes["X"]),
        *kind_notes(ctx.spec).shapes(ctx),
        ", ",
        Whole("O"),
        ": ",
        Shape(spec.output_shape),
        ".",
    ]
    blocks.append(Paragraph(tuple(shapes)))
    subscripts = _subscript_parts(ctx)
    if subscripts:
        blocks.append(Paragraph(subscripts))
    blocks.append(Paragraph(tuple(_option_parts(ctx))))
    if spec.window is not None:
        blocks.append(Paragraph(("The output size along each axis:",)))
        blocks.append(Display(tuple(_output_size_equations(ctx))))
        if spec.window.ceil_mode:
            blocks.append(Paragraph((_CEIL_MODE,)))
    blocks.append(Paragraph(tuple(_matrix_intro(ctx))))
    blocks.append(Display(tuple(_setup_matrices(ctx)), packed=True))
    return Step("setup", "Setup", tuple(blocks))


#: What each axis of a 4-D tensor is, for the sentence on subscripts.
_AXIS_WORDS = {
    "X": ("sample", "channel", "row", "column"),
    "O": ("sample", "channel", "row", "column"),
    "W": ("output channel", "input channel", "row", "column"),
}


def _subscript_parts(ctx: Context) -> tuple:
    """Which axes a subscript lists, per tensor, when one of them shows more than row, column.

    Axes of size 1 are not written, so three indices mean (channel, row, column) on one layer
    and (sample, row, column) on another: the notes say which.
    """
    described = []
    for name, words in _AXIS_WORDS.items():
        shape = ctx.shapes.get(name)
        if shape is None or len(shape) != 4:
            continue
        shown = [words[axis] for axis in range(2) if shape[axis] > 1] + ["row", "column"]
        described.append((name, shown))
    if all(len(shown) == 2 for _, shown in described):
        return ()
    parts: list = ["Subscripts list an entry's "]
    for number, (name, shown) in enumerate(described):
        if number:
            parts.append("; " if number < len(described) - 1 else " and ")
        parts += [f"({', '.join(shown)}) for ", Whole(name)]
    parts.append(" (axes of size 1 are left out).")
    return tuple(parts)


def _option_parts(ctx: Context) -> Iterable:
    window = ctx.spec.window
    head = [
        *(_window_parts(window) if window is not None else ()),
        *kind_notes(ctx.spec).options(ctx),
    ]
    tail = list(_reduction_parts(ctx))
    if head:
        yield from head
        yield "."
    else:  # nothing to say about options: the sentence on the upstream gradient opens
        tail[0] = tail[0].lstrip()
    yield from tail


def _window_parts(window: Window) -> Iterable:
    (sh, sw), (ph, pw) = window.stride, window.padding
    yield "Stride "
    yield Equals(Symbol("S"), sh) if sh == sw else Shape(window.stride)
    yield ", zero padding "
    yield Equals(Symbol("P"), ph) if ph == pw else Shape(window.padding)
    dilation = window.dilation
    if dilation != (1, 1):
        yield ", dilation "
        yield Equals(Symbol("D"), dilation[0]) if dilation[0] == dilation[1] else Shape(dilation)


def _reduction_parts(ctx: Context) -> Iterable:
    if ctx.spec.reduction == "mean":
        yield " The loss averages over the batch of "
        yield Equals(Symbol("N"), ctx.spec.batch)
        yield ", so with upstream gradient "
        yield Whole("G")
        yield ", "
        yield Equals(Partial(Loss(), Whole("O")), Product(S.One / Symbol("N"), Whole("G")))
        yield "."
    else:
        yield " The upstream gradient "
        yield Partial(Loss(), Whole("O"))
        yield " comes from the layers above."


_CEIL_MODE = (
    "Ceil mode rounds the count up, so a last window that overhangs the end of the input is"
    " kept; one that would start on the right padding is not (PyTorch's rule), and an axis"
    " where rounding up would give one is shown without the formula."
)


def _output_size_equations(ctx: Context) -> Iterable[Equation]:
    spec, window = ctx.spec, ctx.spec.window
    _, _, height, width = spec.input_shape
    _, _, out_h, out_w = spec.output_shape
    axes = (("H", height, 0, out_h), ("W", width, 1, out_w))
    ceil = window.ceil_mode
    for letter, size, axis, result in axes:
        d = window.dilation[axis]
        symbols = OutputSize(
            Symbol(f"{letter}_in"),
            Symbol(f"K_{letter}"),
            Symbol(f"P_{letter}"),
            Symbol(f"S_{letter}"),
            Symbol(f"D_{letter}") if d != 1 else 1,
            ceil,
        )
        numbers = OutputSize(
            size, window.kernel[axis], window.padding[axis], window.stride[axis], d, ceil
        )
        span = d * (window.kernel[axis] - 1) + 1
        reach = size + 2 * window.padding[axis] - span
        rounded = (-(-reach // window.stride[axis]) if ceil else reach // window.stride[axis]) + 1
        if rounded != result:  # ceil mode dropped a window that would start on the padding
            yield Equation((Symbol(f"{letter}_out"), Integer(result)))
            continue
        yield Equation((Symbol(f"{letter}_out"), symbols, numbers, Integer(result)))


def _matrix_intro(ctx: Context) -> Iterable:
    rank = len(ctx.spec.input_shape)
    if rank == 2:
        yield "As matrices (a row per sample):"
    elif rank > 2 and ctx.spec.input_shape[:2] != (1, 1):
        yield "One matrix per sample and channel ("
        yield Whole("X", (Symbol("n"), Symbol("c")))
        yield " is channel c of sample n):"
    else:
        yield "As matrices:"


def _setup_matrices(ctx: Context) -> Iterable[Equation]:
    tensors = ctx.derivation.tensors
    padding = ctx.spec.window.padding if kind_notes(ctx.spec).pads_input else (0, 0)
    for part in ctx.slices(ctx.shapes["X"]):
        yield Equation((Whole("X", part), ctx.grid(tensors.X, "tensor:X", part)))
        if any(padding):
            padded = core_identities.pad(tensors.X[part], padding)
            yield Equation(
                (Apply("pad", Whole("X", part), pair(padding)), ctx.grid(padded, None, ()))
            )
    if "W" in ctx.shapes:
        for part in ctx.slices(ctx.shapes["W"]):
            yield Equation((Whole("W", part), ctx.grid(tensors.W, "tensor:W", part)))
    if "B" in ctx.shapes:
        yield Equation((Whole("B"), ctx.grid(tensors.B, "tensor:B", ())))
    outputs = np.empty(ctx.spec.output_shape, dtype=object)
    for index in np.ndindex(*ctx.spec.output_shape):
        outputs[index] = Element("O", index)
    for part in ctx.slices(ctx.spec.output_shape):
        yield Equation((Whole("O", part), ctx.grid(outputs, None, part)))


def forward_step(ctx: Context) -> Step:
    """The forward equation of every output entry (or of representative ones)."""
    shape = ctx.spec.output_shape
    shown = representatives(shape, ctx.options.max_entries)
    equations = tuple(
        Equation(
            (
                Element("O", index),
                At(ctx.shown(display(ctx.derivation.output[index])), "output", index),
            )
        )
        for index in shown
    )
    total = int(np.prod(shape))
    blocks = [
        Paragraph(("Each output entry, written out:",)),
        Display(
            equations,
            elision=elision(len(shown), total, "output entries", describe(shape, shown)),
        ),
    ]
    return Step("forward", "Forward pass", tuple(blocks))


def local_step(ctx: Context) -> Step:
    """The local gradients dO/dW, dO/dB and dO/dX of the output entries."""
    tensors = ctx.derivation.tensors
    blocks: list = [
        Paragraph(
            (
                "Differentiating each output entry with respect to each entry it depends on;"
                " every local gradient not listed is zero.",
            )
        )
    ]
    entries = entries_by_index(ctx.derivation)
    shape = ctx.spec.output_shape
    total = int(np.prod(shape))
    for name in ctx.parameters:
        array = getattr(tensors, name)
        position = {symbol: index for index, symbol in np.ndenumerate(array)}
        widest = max(
            (
                sum(1 for s, _ in entry.partials if s in position)
                for entry in ctx.derivation.entries
            ),
            default=1,
        )
        budget = (
            None
            if ctx.options.max_entries is None
            else max(1, ctx.options.max_entries // max(1, widest))
        )
        shown = representatives(shape, budget)
        equations = []
        for out_index in shown:
            for symbol, partial in entries[out_index].partials:
                if symbol not in position:
                    continue
                index = position[symbol]
                lhs = Partial(Element("O", out_index), Element(name, index))
                value = At(display(partial), f"partial:{name}", (*out_index, *index))
                # One local gradient per output (the bias): all of them share lines.
                group = out_index if widest > 1 else None
                equations.append(((out_index, index), Equation((lhs, value), group=group)))
        equations.sort(key=lambda pair: pair[0])
        blocks.append(Paragraph(("With respect to ", Whole(name), ":")))
        compact = not any(eq.rhs[0].value.has(Piecewise) for _, eq in equations)
        blocks.append(
            Display(
                tuple(eq for _, eq in equations),
                packed=compact,
                elision=elision(len(shown), total, "output entries", describe(shape, shown)),
            )
        )
    return Step("local", "Local gradients", tuple(blocks))


def chain_step(ctx: Context) -> Step:
    """The chain rule for every gradient entry: written out, then substituted and simplified."""
    output_shape = ctx.spec.output_shape
    outputs = int(np.prod(output_shape))
    i, k, m = Symbol("i"), Symbol("m"), Symbol("M")
    has_parameters = len(ctx.derivation.grads) > 1
    blocks: list = [
        Paragraph(
            (
                "The loss depends on "
                + ("the parameters and the input" if has_parameters else "the input")
                + " only through the ",
                Equals(m, outputs),
                " output entries, so for every entry of "
                + ("each tensor" if has_parameters else "the input"),
            )
        )
    ]
    general = []
    for name in ctx.parameters:
        generic = Partial(Element("O", (k,)), Element(name, (i,)))
        body = Product(Partial(Loss(), Element("O", (k,))), generic)
        gradient = Partial(Loss(), Element(name, (i,)))
        general.append(Equation((gradient, SumOver(body, (k, 0, m - 1)))))
    blocks.append(Display(tuple(general)))
    if outputs > WRITE_OUT_ALL_UP_TO:
        written = (
            "Each line below first writes the sum over the outputs whose window covers the entry"
            " (for every other output the local gradient is zero), then substitutes the local"
            " gradients."
        )
    else:
        written = (
            "Each line below first writes the sum out over all the outputs, then substitutes"
            " the local gradients and drops the zero terms."
        )
    blocks.append(Paragraph((written,)))
    for name in ctx.parameters:
        array = getattr(ctx.derivation.tensors, name)
        shown = representatives(array.shape, ctx.options.max_entries)
        equations = tuple(_chain_equation(ctx, name, index) for index in shown)
        blocks.append(Heading(("Gradient with respect to ", Whole(name))))
        where = describe(array.shape, shown)
        blocks.append(Display(equations, elision=elision(len(shown), array.size, "entries", where)))
    return Step("chain", "Chain rule", tuple(blocks))


def _chain_equation(ctx: Context, name: str, index: tuple[int, ...]) -> Equation:
    symbol = getattr(ctx.derivation.tensors, name)[index]
    feeds = ctx.contributions.get(symbol, [])
    if int(np.prod(ctx.spec.output_shape)) <= WRITE_OUT_ALL_UP_TO:
        written_over = list(np.ndindex(*ctx.spec.output_shape))
    else:
        written_over = [out for out, _ in feeds]
    entry = Element(name, index)
    written = [
        Product(Partial(Loss(), Element("O", out)), Partial(Element("O", out), entry))
        for out in written_over
    ]
    upstream = ctx.derivation.tensors.G
    substituted_terms = [_substituted(ctx.scale, upstream[out], partial) for out, partial in feeds]
    if len(substituted_terms) == 1:
        substituted: Basic = substituted_terms[0]
    else:
        substituted = Terms(*substituted_terms) if substituted_terms else S.Zero
    simplified = display(ctx.derivation.grads[name][index])
    sides: list[Basic] = [Partial(Loss(), Element(name, index))]
    if written:
        sides.append(ctx.shown(Terms(*written)) if len(written) > 1 else written[0])
    sides.append(At(ctx.shown(substituted), f"grad:{name}", index))
    if simplified != substituted:
        sides.append(At(ctx.shown(simplified), f"grad:{name}", index))
    return Equation(tuple(sides))


def _substituted(scale: Basic, upstream: Symbol, partial: Basic) -> Basic:
    """``scale · upstream · partial`` displayed, without building the SymPy product."""
    if partial.is_Add or partial.is_Piecewise or not (partial.is_Mul or partial.is_Atom):
        factors = [upstream, partial]
    else:
        factors = [upstream, *Mul.make_args(partial)]
    numbers = [f for f in factors if f.is_Number]
    coefficient = scale
    for number in numbers:
        coefficient *= number
    rest = sorted((f for f in factors if not f.is_Number), key=factor_key)
    if coefficient == 1:
        return rest[0] if len(rest) == 1 else Product(*rest)
    return Product(coefficient, *rest)


def results_step(ctx: Context) -> Step:
    """The gradients collected into matrices, one per sample and channel."""
    blocks: list = [Paragraph(("Collecting the entries:",))]
    grads = ctx.derivation.grads
    equations = []
    for name in ctx.parameters:
        array = grads[name]
        for part in ctx.slices(array.shape):
            equations.append(
                Equation(
                    (Partial(Loss(), Whole(name, part)), ctx.grid(array, f"grad:{name}", part))
                )
            )
    blocks.append(Display(tuple(equations)))
    return Step("results", "Results as matrices", tuple(blocks))


def identities_step(ctx: Context) -> Step:
    """The operator identities the core verified for this layer, each marked as such."""
    blocks: list = [
        Paragraph(
            (
                "The gradients above are the familiar operator forms. symcnn builds each form"
                " from the named operators and checks it entry by entry against the derived"
                " gradients; each is marked as verified for this layer.",
            )
        )
    ]
    for identity in ctx.identities:
        blocks.extend(identity_blocks(ctx, identity))
    return Step("identities", "Operator identities", tuple(blocks))


#: The steps most kinds print, in order; a kind's notes may swap or add its own.
STANDARD_STEPS = (setup_step, forward_step, local_step, chain_step, results_step, identities_step)


def build_steps(
    derivation: Derivation,
    identities: list[core_identities.Identity] | None = None,
    options: Options | None = None,
    zero_based: bool = False,
) -> tuple[Step, ...]:
    """The steps of the notes for ``derivation``.

    Parameters
    ----------
    derivation : Derivation
        The derived layer.
    identities : list of Identity, optional
        The result of :func:`symcnn.identities.verify` (computed here when not given).
    options : Options, optional
        How much a large layer shows (representative entries by default).
    zero_based : bool
        The reader counts from 0: the general formulas are written in that count (the
        printers shift concrete indices themselves; a formula's index arithmetic cannot be).
    """
    if identities is None:
        identities = core_identities.verify(derivation)
    kind = kind_notes(derivation.spec)
    ctx = Context(derivation, identities, options or Options(), zero_based=zero_based)
    if kind.example is not None:
        ctx.example = kind.example(derivation)
    steps = progress.bar(kind.steps, total=len(kind.steps), desc="notes", unit="step")
    return tuple(build(ctx) for build in steps)
