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
['setup', 'forward', 'local', 'chain', 'results', 'identities']
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import cached_property, lru_cache

import numpy as np
from sympy import Basic, Integer, Mul, Piecewise, S, Symbol

from .. import identities as core_identities
from ..derive import Derivation
from ..tensors import parse_symbol
from .model import Display, Elision, Equation, Heading, Paragraph, Step
from .nodes import (
    Apply,
    At,
    Dots,
    Entry,
    Equals,
    Grid,
    Loss,
    Omitted,
    OutputSize,
    Partial,
    Product,
    Shape,
    SumOver,
    Terms,
    Whole,
)
from .selection import axis_positions, grid_positions, representatives

#: Written-out chain rules list every output entry, zero terms included, up to this many outputs.
WRITE_OUT_ALL_UP_TO = 4


@dataclass(frozen=True)
class Options:
    """How much a large layer shows.

    ``max_entries`` caps each listing of equations, ``matrix_side`` the rows and columns of
    each matrix, ``max_terms`` the terms of a displayed sum and ``max_cell_terms`` those of a
    sum inside a matrix (a longer sum shows its first four and last two terms); ``None`` shows
    everything.
    """

    max_entries: int | None = 32
    matrix_side: int | None = 6
    max_terms: int | None = 32
    max_cell_terms: int | None = 4

    def __post_init__(self) -> None:
        for name in ("max_entries", "matrix_side", "max_terms", "max_cell_terms"):
            value = getattr(self, name)
            if value is not None and (not isinstance(value, int) or value < 1):
                raise ValueError(f"{name}={value!r} is not valid: expected an integer >= 1 or None")

    @classmethod
    def everything(cls) -> Options:
        """Show every entry and every row, however many."""
        return cls(None, None, None, None)

    @property
    def slices(self) -> int | None:
        """How many channel/sample slices a matrix display shows."""
        return None if self.max_entries is None else max(1, self.max_entries // 8)


# -- reading the derivation ---------------------------------------------------------------------


def lookup(
    derivation: Derivation,
    source: str,
    index: tuple[int, ...],
    example: dict[Symbol, Basic] | None = None,
) -> Basic:
    """The derivation's value that an :class:`At` node names.

    ``output`` (forward entries), ``grad:T`` (gradients), ``tensor:T`` (the symbols of X, W, B
    and G) or ``partial:T`` (the local gradient ``dO[index[:4]]/dT[index[4:]]``, 0 when the
    output does not depend on that entry); ``example-output`` and ``example-grad:T`` are the
    same evaluated at the worked example's input values ``example``.
    """
    kind, _, tensor = source.partition(":")
    if kind.startswith("example-"):
        if example is None:
            raise ValueError(f"source={source!r} needs the example's input values")
        plain = kind.removeprefix("example-") + (f":{tensor}" if tensor else "")
        return lookup(derivation, plain, index).xreplace(example)
    if kind == "output":
        return derivation.output[index]
    if kind == "grad":
        return derivation.grads[tensor][index]
    if kind == "tensor":
        return getattr(derivation.tensors, tensor)[index]
    if kind == "partial":
        output_rank = len(derivation.spec.output_shape)
        entry = _entries(derivation)[index[:output_rank]]
        symbol = getattr(derivation.tensors, tensor)[index[output_rank:]]
        return dict(entry.partials).get(symbol, S.Zero)
    raise ValueError(f"source={source!r} is not valid: expected output, grad:, tensor: or partial:")


def _entries(derivation: Derivation) -> dict:
    return {entry.index: entry for entry in derivation.entries}


#: The order factors are written in: dL/dO first, then the input, the kernel, the bias.
_RANK = {"G": 0, "X": 1, "W": 2, "B": 3}


@lru_cache(maxsize=1 << 16)
def _factor_key(factor: Basic) -> tuple:
    parsed = parse_symbol(factor) if isinstance(factor, Symbol) else None
    if parsed is None:
        return (9, (str(factor),))
    tensor, index = parsed
    return (_RANK[tensor], index)


def _term_key(term: Basic) -> tuple:
    factors = term.args if isinstance(term, Product) else (term,)
    return tuple(_factor_key(f) for f in factors if not f.is_Number)


def display(expr: Basic) -> Basic:
    """``expr`` arranged for reading; the same value (``to_sympy(display(e)) == e``).

    Terms are ordered by the output position (dL/dO), then the input entry, the bias last;
    factors as ``∂L/∂O · X · W``; a coefficient shared by every term is taken out.

    >>> from sympy import symbols
    >>> b, w, x = symbols("b_0 w_0_0_0_0 x_0_0_0_0")
    >>> display(b + w * x)
    Terms(Product(x_0_0_0_0, w_0_0_0_0), b_0)
    """
    if not expr.is_Add:
        return _display_term(expr)
    terms = sorted((_display_term(t) for t in expr.args), key=_term_key)
    coefficients = {t.args[0] for t in terms if isinstance(t, Product) and t.args[0].is_Rational}
    shared = len(coefficients) == 1 and all(
        isinstance(t, Product) and t.args[0].is_Rational for t in terms
    )
    if shared:
        (coefficient,) = coefficients
        rest = [t.args[1] if len(t.args) == 2 else Product(*t.args[1:]) for t in terms]
        return Product(coefficient, Terms(*rest))
    return Terms(*terms)


def abridge(node: Basic, cap: int | None, *, brief: bool = False) -> Basic:
    """A displayed sum of more than ``cap`` terms cut to its first four and last two.

    ``brief`` (inside a matrix) keeps only the first and the last term.

    >>> from sympy import symbols
    >>> abridge(Terms(*symbols("a:9")), 6)
    Terms(a0, a1, a2, a3, Omitted(3, counted), a7, a8)
    """
    if isinstance(node, At):
        return At(abridge(node.value, cap, brief=brief), node.source, node.index)
    if isinstance(node, Product) and len(node.args) == 2 and isinstance(node.args[1], Terms):
        return Product(node.args[0], abridge(node.args[1], cap, brief=brief))
    if cap is None or not isinstance(node, Terms):
        return node
    if len(node.args) <= (max(cap, 3) if brief else max(cap, 6)):
        return node
    terms = node.args
    if brief:
        return Terms(terms[0], Omitted(len(terms) - 2, brief=True), terms[-1])
    return Terms(*terms[:4], Omitted(len(terms) - 6), *terms[-2:])


def _display_term(term: Basic) -> Basic:
    if not term.is_Mul:
        return term
    coefficient, factors = term.as_coeff_mul()
    ordered = sorted(factors, key=_factor_key)
    if coefficient == 1:
        return ordered[0] if len(ordered) == 1 else Product(*ordered)
    return Product(coefficient, *ordered)


# -- the context every step reads ---------------------------------------------------------------


@dataclass
class Context:
    """A derivation with the indexes the step builders need, built once."""

    derivation: Derivation
    identities: list[core_identities.Identity]
    options: Options
    example: dict[Symbol, Basic] | None = None

    @property
    def spec(self):
        return self.derivation.spec

    @property
    def scale(self) -> Basic:
        return self.derivation.upstream_scale

    @cached_property
    def shapes(self) -> dict[str, tuple[int, ...]]:
        tensors = self.derivation.tensors
        shapes = {"O": self.spec.output_shape, "G": self.spec.output_shape}
        for name in ("X", "W", "B"):
            array = getattr(tensors, name)
            if array is not None:
                shapes[name] = array.shape
        return shapes

    @cached_property
    def contributions(self) -> dict[Symbol, list[tuple[tuple[int, ...], Basic]]]:
        """Parameter symbol -> (output index, local partial) for every output it feeds."""
        result: dict[Symbol, list[tuple[tuple[int, ...], Basic]]] = {}
        for entry in self.derivation.entries:
            for symbol, partial in entry.partials:
                result.setdefault(symbol, []).append((entry.index, partial))
        return result

    @property
    def parameters(self) -> list[str]:
        """Gradient tensors in the order the notes treat them: kernel, bias, input."""
        return [name for name in ("W", "B", "X") if name in self.derivation.grads]

    def grid(self, array: np.ndarray, source: str | None, part: tuple[int, ...]) -> Grid:
        """A 2-D slice ``array[part]`` as a matrix, large ones elided, entries traced."""
        side = self.options.matrix_side
        plane = array[part] if part else array
        if plane.ndim == 1:
            plane = plane.reshape(1, -1)
        cap = self.options.max_cell_terms
        cells: dict[tuple[int, int], Basic] = {}

        def cell(r: int, c: int) -> Basic:
            if (r, c) not in cells:
                cells[r, c] = abridge(display(plane[r, c]), cap, brief=True)
            return cells[r, c]

        rows = grid_positions(plane.shape[0], side)
        cols = grid_positions(plane.shape[1], side)
        heavy = any(
            isinstance(cell(r, c), Terms) and any(isinstance(t, Omitted) for t in cell(r, c).args)
            for r in rows
            for c in cols
            if r is not None and c is not None
        )
        if heavy and side is not None and side > 4:
            # Cells that are long sums: fewer columns, so the matrix still fits a page.
            rows = grid_positions(plane.shape[0], 4)
            cols = grid_positions(plane.shape[1], 4)
        out = []
        for r in rows:
            row = []
            for c in cols:
                if r is None:
                    row.append(Dots("d" if c is None else "v"))
                elif c is None:
                    row.append(Dots("h"))
                else:
                    index = (*part, r, c) if array.ndim > 1 else (c,)
                    row.append(cell(r, c) if source is None else At(cell(r, c), source, index))
            out.append(row)
        return Grid(out)

    def shown(self, node: Basic) -> Basic:
        """A displayed sum, abridged when it has more terms than a listing shows."""
        return abridge(node, self.options.max_terms)

    def slices(self, shape: tuple[int, ...]) -> list[tuple[int, ...]]:
        """Leading (batch, channel) indices of the matrices to show for a 4-D tensor."""
        if len(shape) < 3:
            return [()]
        import itertools

        return list(itertools.product(*axis_positions(shape[:-2], self.options.slices)))


def _elision(shown: int, total: int, what: str) -> Elision | None:
    return Elision(shown, total, what) if shown < total else None


# -- the steps ----------------------------------------------------------------------------------

#: Per layer type: the sentence that says what the layer computes.
DESCRIPTIONS: dict[str, Callable[[Context], tuple]] = {
    "conv2d": lambda ctx: (
        "A 2-D convolution (a cross-correlation, as every CNN framework computes it) slides the"
        " kernel ",
        Whole("W"),
        " over the input ",
        Whole("X"),
        ", multiplies entry by entry and sums" + (", then adds the bias " if ctx.spec.bias else ""),
        *((Whole("B"),) if ctx.spec.bias else ()),
        "; the sums form the output ",
        Whole("O"),
        ".",
    ),
    "maxpool2d": lambda ctx: (
        "Max pooling slides a window over the input ",
        Whole("X"),
        " and keeps the largest entry under it, channel by channel; those form the output ",
        Whole("O"),
        ".",
    ),
    "minpool2d": lambda ctx: (
        "Min pooling slides a window over the input ",
        Whole("X"),
        " and keeps the smallest entry under it, channel by channel; those form the output ",
        Whole("O"),
        ".",
    ),
    "avgpool2d": lambda ctx: (
        "Average pooling slides a window over the input ",
        Whole("X"),
        " and takes the mean of the entries under it, channel by channel; those form the output ",
        Whole("O"),
        ".",
    ),
}


def setup_step(ctx: Context) -> Step:
    """Shapes, options, the output-size formula with the numbers put in, and the matrices."""
    spec = ctx.spec
    blocks: list = [Paragraph(DESCRIPTIONS[spec.type](ctx))]
    shapes = [
        "Shapes (batch × channels × height × width): ",
        Whole("X"),
        ": ",
        Shape(ctx.shapes["X"]),
    ]
    if "W" in ctx.shapes:
        shapes += [", ", Whole("W"), ": ", Shape(ctx.shapes["W"])]
        shapes += [" (output channels × input channels", " per group" if spec.groups > 1 else ""]
        shapes += [" × height × width)"]
    if "B" in ctx.shapes:
        shapes += [", ", Whole("B"), ": ", Shape(ctx.shapes["B"])]
    shapes += [", ", Whole("O"), ": ", Shape(spec.output_shape), "."]
    blocks.append(Paragraph(tuple(shapes)))
    blocks.append(Paragraph(tuple(_option_parts(ctx))))
    blocks.append(Paragraph(("The output size along each axis:",)))
    blocks.append(Display(tuple(_output_size_equations(ctx))))
    blocks.append(Paragraph(tuple(_matrix_intro(ctx))))
    blocks.append(Display(tuple(_setup_matrices(ctx)), packed=True))
    return Step("setup", "Setup", tuple(blocks))


def _option_parts(ctx: Context) -> Iterable:
    spec = ctx.spec
    (sh, sw), (ph, pw) = spec.stride, spec.padding
    yield "Stride "
    yield Equals(Symbol("S"), sh) if sh == sw else Shape(spec.stride)
    yield ", zero padding "
    yield Equals(Symbol("P"), ph) if ph == pw else Shape(spec.padding)
    dilation = getattr(spec, "dilation", (1, 1))
    if dilation != (1, 1):
        yield ", dilation "
        yield Equals(Symbol("D"), dilation[0]) if dilation[0] == dilation[1] else Shape(dilation)
    if getattr(spec, "groups", 1) > 1:
        yield f", {spec.groups} groups (each output channel sees only its group's input channels)"
    if hasattr(spec, "ties"):
        yield f", ties: {spec.ties} ({_TIE_WORDS[spec.ties]})"
    if hasattr(spec, "count_include_pad") and any(spec.padding):
        yield ", padded cells " + ("count" if spec.count_include_pad else "do not count")
        yield " in the window size"
    yield "."
    if spec.reduction == "mean":
        yield " The loss averages over the batch of "
        yield Equals(Symbol("N"), spec.batch)
        yield ", so with upstream gradient "
        yield Whole("G")
        yield ", "
        yield Equals(Partial(Loss(), Whole("O")), Product(S.One / Symbol("N"), Whole("G")))
        yield "."
    else:
        yield " The upstream gradient "
        yield Partial(Loss(), Whole("O"))
        yield " comes from the layers above."


_TIE_WORDS = {
    "first": "the first extreme entry in row-major order takes the gradient, as PyTorch",
    "all": "every tied entry takes the whole gradient, as an equality mask does",
    "split": "tied entries share the gradient equally",
}


def _output_size_equations(ctx: Context) -> Iterable[Equation]:
    spec = ctx.spec
    _, _, height, width = spec.input_shape
    dilation = getattr(spec, "dilation", (1, 1))
    _, _, out_h, out_w = spec.output_shape
    axes = (("H", height, 0, out_h), ("W", width, 1, out_w))
    for letter, size, axis, result in axes:
        d = dilation[axis]
        symbols = OutputSize(
            Symbol(f"{letter}_in"),
            Symbol(f"K_{letter}"),
            Symbol(f"P_{letter}"),
            Symbol(f"S_{letter}"),
            Symbol(f"D_{letter}") if d != 1 else 1,
        )
        numbers = OutputSize(size, spec.kernel[axis], spec.padding[axis], spec.stride[axis], d)
        yield Equation((Symbol(f"{letter}_out"), symbols, numbers, Integer(result)))


def _matrix_intro(ctx: Context) -> Iterable:
    if ctx.spec.input_shape[:2] != (1, 1):
        yield "One matrix per sample and channel ("
        yield Whole("X", (Symbol("n"), Symbol("c")))
        yield " is channel c of sample n):"
    else:
        yield "As matrices:"


def _setup_matrices(ctx: Context) -> Iterable[Equation]:
    tensors = ctx.derivation.tensors
    padding = ctx.spec.padding
    for part in ctx.slices(ctx.shapes["X"]):
        yield Equation((Whole("X", part), ctx.grid(tensors.X, "tensor:X", part)))
        if any(padding) and ctx.spec.type == "conv2d":  # pools: padded cells never take part
            padded = core_identities.pad(tensors.X[part], padding)
            yield Equation(
                (Apply("pad", Whole("X", part), _pair(padding)), ctx.grid(padded, None, ()))
            )
    if "W" in ctx.shapes:
        for part in ctx.slices(ctx.shapes["W"]):
            yield Equation((Whole("W", part), ctx.grid(tensors.W, "tensor:W", part)))
    if "B" in ctx.shapes:
        yield Equation((Whole("B"), ctx.grid(tensors.B, "tensor:B", ())))
    outputs = np.empty(ctx.spec.output_shape, dtype=object)
    for index in np.ndindex(*ctx.spec.output_shape):
        outputs[index] = Entry("O", index)
    for part in ctx.slices(ctx.spec.output_shape):
        yield Equation((Whole("O", part), ctx.grid(outputs, None, part)))


def _pair(values: tuple[int, int]) -> Basic:
    return Integer(values[0]) if values[0] == values[1] else Shape(values)


def forward_step(ctx: Context) -> Step:
    """The forward equation of every output entry (or of representative ones)."""
    shape = ctx.spec.output_shape
    shown = representatives(shape, ctx.options.max_entries)
    equations = tuple(
        Equation(
            (
                Entry("O", index),
                At(ctx.shown(display(ctx.derivation.output[index])), "output", index),
            )
        )
        for index in shown
    )
    total = int(np.prod(shape))
    blocks = [
        Paragraph(("Each output entry, written out:",)),
        Display(equations, elision=_elision(len(shown), total, "output entries")),
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
    entries = _entries(ctx.derivation)
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
                lhs = Partial(Entry("O", out_index), Entry(name, index))
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
                elision=_elision(len(shown), total, "output entries"),
            )
        )
    return Step("local", "Local gradients", tuple(blocks))


def chain_step(ctx: Context) -> Step:
    """The chain rule for every gradient entry: written out, then substituted and simplified."""
    output_shape = ctx.spec.output_shape
    outputs = int(np.prod(output_shape))
    i, k, m = Symbol("i"), Symbol("k"), Symbol("M")
    blocks: list = [
        Paragraph(
            (
                "The loss depends on the parameters and the input only through the ",
                Equals(m, outputs),
                " output entries, so for every entry of each tensor",
            )
        )
    ]
    general = []
    for name in ctx.parameters:
        generic = Partial(Entry("O", (k,)), Entry(name, (i,)))
        body = Product(Partial(Loss(), Entry("O", (k,))), generic)
        general.append(Equation((Partial(Loss(), Entry(name, (i,))), SumOver(body, (k, 0, m - 1)))))
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
        blocks.append(Display(equations, elision=_elision(len(shown), array.size, "entries")))
    return Step("chain", "Chain rule", tuple(blocks))


def _chain_equation(ctx: Context, name: str, index: tuple[int, ...]) -> Equation:
    symbol = getattr(ctx.derivation.tensors, name)[index]
    feeds = ctx.contributions.get(symbol, [])
    if int(np.prod(ctx.spec.output_shape)) <= WRITE_OUT_ALL_UP_TO:
        written_over = list(np.ndindex(*ctx.spec.output_shape))
    else:
        written_over = [out for out, _ in feeds]
    written = [
        Product(Partial(Loss(), Entry("O", out)), Partial(Entry("O", out), Entry(name, index)))
        for out in written_over
    ]
    upstream = ctx.derivation.tensors.G
    substituted_terms = [_substituted(ctx.scale, upstream[out], partial) for out, partial in feeds]
    if len(substituted_terms) == 1:
        substituted: Basic = substituted_terms[0]
    else:
        substituted = Terms(*substituted_terms) if substituted_terms else S.Zero
    simplified = display(ctx.derivation.grads[name][index])
    sides: list[Basic] = [Partial(Loss(), Entry(name, index))]
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
    rest = sorted((f for f in factors if not f.is_Number), key=_factor_key)
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
    from .identity_steps import identity_blocks

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


def tie_example(derivation: Derivation) -> dict[Symbol, Basic]:
    """Small whole numbers for the input, with a tie for the extreme in the first window.

    Every sample and channel gets its own pattern; in window (1, 1) the first two real cells
    (row-major) are both set to the window's extreme, so the tie rule decides who gets the
    gradient.
    """
    spec = derivation.spec
    tensors = derivation.tensors
    n_batch, channels, height, width = spec.input_shape
    values = np.empty(spec.input_shape, dtype=object)
    for n, c, h, w in np.ndindex(*spec.input_shape):
        values[n, c, h, w] = ((h * width + w) * 5 + c * 3 + n * 7) % 9 + 1
    pick = max if spec.type == "maxpool2d" else min
    rows = range(max(0, -spec.padding[0]), min(height, spec.kernel[0] - spec.padding[0]))
    cols = range(max(0, -spec.padding[1]), min(width, spec.kernel[1] - spec.padding[1]))
    cells = [(r, c) for r in rows for c in cols]
    for n, c in np.ndindex(n_batch, channels):
        extreme = pick(values[n, c, r, q] for r, q in cells)
        for r, q in cells[:2]:
            values[n, c, r, q] = extreme
    return {tensors.X[index]: Integer(values[index]) for index in np.ndindex(*spec.input_shape)}


def example_step(ctx: Context) -> Step:
    """The tie rule at work: the notes' gradients evaluated on numbers with a tie."""
    derivation, example = ctx.derivation, ctx.example or {}
    tensors = derivation.tensors
    entry = _entries(derivation)[(0, 0, 0, 0)]
    members = [symbol for symbol, _ in entry.partials]  # the first window, row-major
    extreme = entry.expr.xreplace(example)
    tied = [m for m in members if example[m] == extreme]
    word = "maximum" if ctx.spec.type == "maxpool2d" else "minimum"
    blocks: list = [
        Paragraph(
            (
                "Numbers make the tie rule concrete. In the input below the first window has a"
                f" tie for its {word}: ",
                Equals(*(Entry("X", _index_of(tensors.X, m)) for m in tied), example[tied[0]]),
                ". Evaluating the derived expressions at these values:",
            )
        )
    ]
    values = np.vectorize(lambda x: example[x], otypes=[object])(tensors.X)
    outputs = np.vectorize(lambda e: e.xreplace(example), otypes=[object])(derivation.output)
    grads = np.vectorize(lambda e: e.xreplace(example), otypes=[object])(derivation.grads["X"])
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
    shares = [(m, grads[_index_of(tensors.X, m)].coeff(upstream)) for m in members]
    winners = [(m, share) for m, share in shares if share != 0]
    receives = [Entry("X", _index_of(tensors.X, m)) for m, _ in winners]
    rule = {
        "first": "the first of the tied entries in row-major order takes all of it",
        "all": "every tied entry takes all of it",
        "split": "the tied entries share it equally",
    }[ctx.spec.ties]
    parts: list = [
        f"With ties={ctx.spec.ties}, {rule}: ",
        Partial(Loss(), Entry("O", (0, 0, 0, 0))),
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


def _index_of(array: np.ndarray, symbol: Symbol) -> tuple[int, ...]:
    """The index of a contract symbol (its name spells it)."""
    return parse_symbol(symbol)[1]


_CONV_STEPS = (setup_step, forward_step, local_step, chain_step, results_step, identities_step)
_EXTREME_STEPS = (setup_step, forward_step, local_step, chain_step, example_step, identities_step)

#: Layer type -> the steps of its notes, in order.
STEPS: dict[str, tuple[Callable[[Context], Step], ...]] = {
    "conv2d": _CONV_STEPS,
    "maxpool2d": _EXTREME_STEPS,
    "minpool2d": _EXTREME_STEPS,
    "avgpool2d": _CONV_STEPS,
}


def build_steps(
    derivation: Derivation,
    identities: list[core_identities.Identity] | None = None,
    options: Options | None = None,
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
    """
    if identities is None:
        identities = core_identities.verify(derivation)
    ctx = Context(derivation, identities, options or Options())
    if derivation.spec.type in ("maxpool2d", "minpool2d"):
        ctx.example = tie_example(derivation)
    builders = STEPS.get(derivation.spec.type)
    if builders is None:
        raise ValueError(
            f"layer type {derivation.spec.type!r} has no printed notes yet: expected one of "
            + ", ".join(sorted(STEPS))
        )
    return tuple(build(ctx) for build in builders)
