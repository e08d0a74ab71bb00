"""Notes as readable Unicode text for a terminal: ∂L/∂X₁₂, matrices drawn with brackets.

:class:`TextPrinter` is SymPy's ``StrPrinter`` taught the notes' notation (the reader's letters,
Unicode subscripts, unevaluated partials); matrices and anything holding one are laid out as
boxes of lines. :func:`render` writes whole notes.

>>> from sympy import Symbol
>>> from symcnn.notation import Notation
>>> printer = TextPrinter(Notation(), {"X": (1, 1, 3, 3), "O": (1, 1, 2, 2)})
>>> printer.doprint(Symbol("g_0_0_1_0") * Symbol("x_0_0_1_2"))
'∂L/∂O₂₁·X₂₃'
"""

from __future__ import annotations

import textwrap
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sympy import Basic, Symbol
from sympy.core.relational import Relational
from sympy.printing.str import StrPrinter

from ..notation import Notation
from ..tensors import parse_symbol
from . import layout
from .model import Display, Elision, Equation, Heading, Paragraph, Step
from .nodes import Apply, At, Grid, Node, Product, Terms, walk

_SUBSCRIPTS = str.maketrans(
    "0123456789,+-=()aehijklmnoprstuvx", "₀₁₂₃₄₅₆₇₈₉,₊₋₌₍₎ₐₑₕᵢⱼₖₗₘₙₒₚᵣₛₜᵤᵥₓ"
)
_SUPERSCRIPTS = str.maketrans("0123456789,()cnk", "⁰¹²³⁴⁵⁶⁷⁸⁹,⁽⁾ᶜⁿᵏ")
_RELATIONS = {">=": "≥", "<=": "≤", ">": ">", "<": "<", "==": "=", "!=": "≠"}

#: Columns of a terminal line the notes aim for.
WIDTH = 100


def subscript(text: str) -> str:
    """``'12'`` -> ``'₁₂'``; text with a character that has no subscript form -> ``'_12'``-style."""
    converted = text.translate(_SUBSCRIPTS)
    if any(ch.isascii() and ch != "," for ch in converted):
        return "_" + (text if len(text) == 1 else "{" + text + "}")
    return converted


def superscript(text: str) -> str:
    converted = text.translate(_SUPERSCRIPTS)
    if any(ch.isascii() and ch != "," for ch in converted):
        return "^" + text
    return converted


class TextPrinter(StrPrinter):
    """One-line Unicode for the notes' math, in the reader's notation.

    Parameters
    ----------
    notation : Notation
        Letters, loss letter and index base.
    shapes : dict of str to tuple of int
        Shape of each tensor (``X``, ``W``, ``B``, ``O``), for the subscripts.
    upstream : str
        ``"partial"`` prints the upstream gradient ``g_...`` as ∂L/∂O; ``"letter"`` as G (when
        the loss is a mean, the upstream gradient is not ∂L/∂O itself).
    """

    printmethod = "_symcnn_text"

    def __init__(self, notation: Notation, shapes: dict, upstream: str = "partial") -> None:
        super().__init__()
        self.notation = notation
        self.shapes = shapes
        self.upstream = upstream
        self._piecewise_depth = 0  # inside a case distinction, inner ones print as 1[...]

    # -- names --------------------------------------------------------------------------------

    def letter(self, tensor: str) -> str:
        if tensor in ("G", "T"):  # the upstream gradient; a loss's target
            return tensor
        return self.notation.name(tensor)

    def entry_name(self, tensor: str, index: Sequence) -> str:
        shape = self.shapes["O" if tensor == "G" else tensor]
        return self.letter(tensor) + subscript(self.index_text(index, shape))

    def index_text(self, index: Sequence, shape: tuple[int, ...]) -> str:
        """The subscript of a concrete index (the notation's), or of a generic one (``ij``)."""
        if all(isinstance(i, int) or getattr(i, "is_Integer", False) for i in index):
            return self.notation.subscript(tuple(int(i) for i in index), shape)
        axes = self.notation.shown_axes(shape) if len(index) == len(shape) else range(len(index))
        names = [self._print(index[axis]) for axis in axes]
        return ("," if any(len(name) > 1 for name in names) else "").join(names)

    def _print_Symbol(self, expr: Symbol) -> str:
        parsed = parse_symbol(expr)
        if parsed is None:
            return expr.name
        tensor, index = parsed
        if tensor == "G":
            if self.upstream == "partial":
                return f"∂{self.notation.loss}/∂{self.entry_name('O', index)}"
            if self.upstream == "delta":
                return "δ" + self.entry_name("O", index)[len(self.letter("O")) :]
            return self.entry_name("G", index)
        return self.entry_name(tensor, index)

    def _print_Loss(self, expr: Basic) -> str:
        return self.notation.loss

    def _print_Element(self, expr: Basic) -> str:
        return self.entry_name(expr.tensor, expr.index)

    def whole_part(self, tensor: str, part: Sequence) -> str:
        """The channel/sample label of a slice, 1-based unless zero-based: ``'(1,2)'`` or ``''``."""
        shape = self.shapes.get("O" if tensor == "G" else tensor, ())
        base = 0 if self.notation.zero_based else 1
        shown = []
        for axis, value in enumerate(part):
            if axis < len(shape) - 2 and shape[axis] > 1:
                shown.append(str(int(value) + base) if value.is_Integer else self._print(value))
        return "(" + ",".join(shown) + ")" if shown else ""

    def _print_Whole(self, expr: Basic) -> str:
        label = self.whole_part(expr.tensor, expr.part)
        return self.letter(expr.tensor) + (superscript(label) if label else "")

    def _print_Partial(self, expr: Basic) -> str:
        return f"∂{self._print(expr.args[0])}/∂{self._print(expr.args[1])}"

    # -- arrangements ---------------------------------------------------------------------------

    def _print_At(self, expr: Basic) -> str:
        return self._print(expr.value)

    def _print_Terms(self, expr: Basic) -> str:
        return " + ".join(self._print(term) for term in expr.args) if expr.args else "0"

    def _print_Product(self, expr: Basic) -> str:
        parts = []
        for factor in expr.args:
            if factor.is_Rational and factor != 1:
                parts.append(f"({factor})" if factor.q != 1 else str(factor))
            elif isinstance(factor, Terms) or factor.is_Add:
                parts.append(f"({self._print(factor)})")
            elif factor.is_Pow and factor.exp == -1:
                base = self._print(factor.base)
                # 1/(1 + e), not 1/1 + e: a compound denominator keeps its parentheses.
                parts.append(f"1/{base}" if factor.base.is_Atom else f"1/({base})")
            else:
                parts.append(self._print(factor))
        return "·".join(parts)

    def _print_Mul(self, expr: Basic) -> str:
        numerator, denominator = expr.as_numer_denom()
        if denominator != 1 and not denominator.is_Number:
            # g·C_in/G, not C_in·1/G·g: a symbolic fraction reads as one.
            top = self._print(numerator)
            top = f"({top})" if numerator.is_Add else top
            bottom = self._print(denominator)
            return (
                f"{top}/({bottom})"
                if denominator.is_Add or denominator.is_Mul
                else f"{top}/{bottom}"
            )
        return self._print_Product(Product(*expr.as_ordered_factors()))

    def _print_Add(self, expr: Basic, order=None) -> str:
        terms = self._as_ordered_terms(expr, order=None)
        return " + ".join(self._print(t) for t in terms).replace("+ -", "− ")

    def _print_SumOver(self, expr: Basic) -> str:
        base = 0 if self.notation.zero_based else 1
        signs = "".join(
            f"Σ[{self._print(var)}={self._print(low + base)}..{self._print(high + base)}] "
            for var, low, high in expr.limits
        )
        return signs + self._print(expr.body)

    def _print_ExtremeOver(self, expr: Basic) -> str:
        base = 0 if self.notation.zero_based else 1
        ranges = ", ".join(
            f"{self._print(var)}={self._print(low + base)}..{self._print(high + base)}"
            for var, low, high in expr.limits
        )
        return f"{expr.kind}[{ranges}] {self._print(expr.body)}"

    def _print_Dots(self, expr: Basic) -> str:
        return {"h": "⋯", "v": "⋮", "d": "⋱"}[expr.kind]

    def _print_Omitted(self, expr: Basic) -> str:
        return "⋯" if expr.brief else f"⋯ ({expr.count} more terms) ⋯"

    def _print_Apply(self, expr: Basic) -> str:
        return f"{expr.name}(" + ", ".join(self._print(a) for a in expr.arguments) + ")"

    def _print_Equals(self, expr: Basic) -> str:
        return " = ".join(self._print(side) for side in expr.args)

    def _print_Shape(self, expr: Basic) -> str:
        return "×".join(str(d) for d in expr.dims)

    def _print_Verdict(self, expr: Basic) -> str:
        return "✓" if expr.holds else "✗"

    def _print_OutputSize(self, expr: Basic) -> str:
        size, kernel, padding, stride, dilation = (self._print(p) for p in expr.parts)
        if expr.parts[4] == 1:
            inner = f"{size} − {kernel} + 2·{padding}"
        else:
            inner = f"{size} + 2·{padding} − {dilation}·({kernel} − 1) − 1"
        left, right = ("⌈", "⌉") if expr.ceil else ("⌊", "⌋")
        return f"{left}({inner})/{stride}{right} + 1"

    def _print_Grid(self, expr: Basic) -> str:
        return "[" + "; ".join(", ".join(map(self._print, row)) for row in expr.rows) + "]"

    # -- SymPy's own classes ----------------------------------------------------------------------

    def _print_Max(self, expr: Basic) -> str:
        return "max(" + ", ".join(self._print(a) for a in expr.args) + ")"

    def _print_Min(self, expr: Basic) -> str:
        return "min(" + ", ".join(self._print(a) for a in expr.args) + ")"

    def _print_Relational(self, expr: Basic) -> str:
        op = _RELATIONS.get(expr.rel_op, expr.rel_op)
        return f"{self._print(expr.lhs)} {op} {self._print(expr.rhs)}"

    def _print_And(self, expr: Basic) -> str:
        return " and ".join(self._print(a) for a in oriented(expr))

    def _print_Or(self, expr: Basic) -> str:
        return " or ".join(f"({self._print(a)})" for a in expr.args)

    def _print_Piecewise(self, expr: Basic) -> str:
        if self._piecewise_depth and is_indicator(expr):
            return f"1[{self._print(expr.args[0].cond)}]"
        self._piecewise_depth += 1
        try:
            return self._cases(expr)
        finally:
            self._piecewise_depth -= 1

    def _cases(self, expr: Basic) -> str:
        pieces = []
        for value, condition in expr.args:
            if condition == True:  # noqa: E712 (SymPy's true)
                pieces.append(f"{self._print(value)} otherwise")
            else:
                pieces.append(f"{self._print(value)} if {self._print(condition)}")
        return "{" + "; ".join(pieces) + "}"

    def _print_Rational(self, expr: Basic) -> str:
        return f"{expr.p}/{expr.q}" if expr.q != 1 else str(expr.p)


def is_indicator(expr: Basic) -> bool:
    """``Piecewise((1, cond), (0, True))``: the indicator of ``cond``, written 1[cond]."""
    args = expr.args
    return len(args) == 2 and args[0].expr == 1 and args[1].expr == 0 and args[1].cond == True  # noqa: E712


def oriented(conjunction: Basic) -> list[Basic]:
    """The comparisons of an ``And``, each turned to put their common symbol on the left.

    ``X₁₁ < X₁₂ and X₁₂ ≥ X₂₁`` reads as ``X₁₂ > X₁₁ and X₁₂ ≥ X₂₁``: the conditions of a
    local gradient are about one entry, so it leads every comparison.
    """
    args = list(conjunction.args)
    if not all(isinstance(a, Relational) for a in args):
        return args
    common = set.intersection(*({a.lhs, a.rhs} for a in args))
    if len(common) != 1:
        return args
    (subject,) = common
    return [a.reversed if a.rhs == subject and a.lhs != subject else a for a in args]


# -- boxes: math that spans lines ---------------------------------------------------------------


@dataclass(frozen=True)
class Box:
    """Lines of text with a baseline (the line an equals sign sits on)."""

    lines: tuple[str, ...]
    baseline: int = 0

    @property
    def width(self) -> int:
        return max((len(line) for line in self.lines), default=0)

    @classmethod
    def of(cls, text: str) -> Box:
        return cls((text,), 0)


def hcat(boxes: Iterable[Box]) -> Box:
    """Boxes side by side, their baselines on one line."""
    boxes = list(boxes)
    above = max(box.baseline for box in boxes)
    below = max(len(box.lines) - box.baseline for box in boxes)
    lines = [""] * (above + below)
    for box in boxes:
        top = above - box.baseline
        width = box.width
        for row in range(above + below):
            inside = 0 <= row - top < len(box.lines)
            lines[row] += (box.lines[row - top] if inside else "").ljust(width)
    return Box(tuple(line.rstrip() for line in lines), above)


def _has_grid(node: Basic) -> bool:
    return isinstance(node, Node) and any(isinstance(n, Grid) for n in walk(node))


class TextLayout:
    """Boxes for math holding matrices, one-line text for the rest.

    A matrix wider than ``width`` writes ∂L/∂Oᵢⱼ as δᵢⱼ and says so (``delta_used``).
    """

    def __init__(self, printer: TextPrinter, width: int = WIDTH) -> None:
        self.printer = printer
        self.width = width
        self.delta_used = False
        self._delta = TextPrinter(printer.notation, printer.shapes, "delta")

    def box(self, node: Basic) -> Box:
        if not _has_grid(node):
            return Box.of(self.printer.doprint(node))
        if isinstance(node, At):
            return self.box(node.value)
        if isinstance(node, Grid):
            return self.grid(node)
        if isinstance(node, Apply):
            parts = [Box.of(node.name + "(")]
            for position, argument in enumerate(node.arguments):
                if position:
                    parts.append(Box.of(", "))
                parts.append(self.box(argument))
            return hcat([*parts, Box.of(")")])
        if isinstance(node, Terms | Product):
            separator = " + " if isinstance(node, Terms) else "·"
            parts = []
            for position, argument in enumerate(node.args):
                if position:
                    parts.append(Box.of(separator))
                parts.append(self.box(argument))
            return hcat(parts)
        return Box.of(self.printer.doprint(node))

    def grid(self, grid: Grid) -> Box:
        rows = self._grid_rows(grid, self.printer)
        if len(rows[0]) + 2 > self.width - 10 and self.printer.upstream == "partial":
            rows = self._grid_rows(grid, self._delta)
            self.delta_used = True
        if len(rows) == 1:
            return Box.of(f"[{rows[0]}]")
        lines = []
        for position, row in enumerate(rows):
            left, right = (
                ("⎡", "⎤")
                if position == 0
                else ("⎣", "⎦")
                if position == len(rows) - 1
                else ("⎢", "⎥")
            )
            lines.append(f"{left}{row}{right}")
        return Box(tuple(lines), (len(lines) - 1) // 2)

    @staticmethod
    def _grid_rows(grid: Grid, printer: TextPrinter) -> list[str]:
        cells = [[printer.doprint(entry) for entry in row] for row in grid.rows]
        widths = [max(len(row[c]) for row in cells) for c in range(len(cells[0]))]
        return ["  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) for row in cells]

    def width(self, node: Basic) -> int:
        return self.box(node).width


# -- whole notes ----------------------------------------------------------------------------------


def equation_lines(layout_: TextLayout, equation: Equation, width: int = WIDTH) -> list[str]:
    """An equation as lines: sides joined by ' = ' while they fit, long sums broken."""
    lhs = layout_.box(equation.lhs)
    margin = " " * lhs.width
    lines: list[str] = []
    current, fresh = lhs, False  # fresh: a continuation line with nothing on it yet
    for side in equation.rhs:
        box = layout_.box(side)
        joined = hcat([current, Box.of(" = "), box])
        if joined.width <= width:
            current, fresh = joined, False
            continue
        parts = layout.sum_parts(side)
        if not fresh and (parts is None or current.width + 3 > width // 2):
            lines.extend(current.lines)  # start the side on a line of its own
            current, fresh = Box.of(margin), True
            joined = hcat([current, Box.of(" = "), box])
            if joined.width <= width or parts is None or len(box.lines) > 1:
                current, fresh = joined, False
                continue
        if parts is None or len(box.lines) > 1:
            current, fresh = joined, False
            continue
        start = current.width + 3
        coefficient, terms = parts
        texts = [layout_.printer.doprint(term) for term in terms]
        chunks = layout.chunk_widths([len(t) for t in texts], width - start, width - start - 2)
        for number, chunk in enumerate(chunks):
            text = " + ".join(texts[i] for i in chunk)
            if coefficient is not None:
                opening = f"{layout_.printer.doprint(coefficient)}·(" if number == 0 else ""
                text = opening + text + (")" if number == len(chunks) - 1 else "")
            if number == 0:
                lines.extend(hcat([current, Box.of(" = "), Box.of(text)]).lines)
            else:
                lines.append(" " * start + "+ " + text)
        current, fresh = Box.of(margin), True
    if not fresh:
        lines.extend(current.lines)
    return lines


def _prose(printer: TextPrinter, parts: Sequence, width: int = WIDTH) -> str:
    text = "".join(part if isinstance(part, str) else printer.doprint(part) for part in parts)
    return textwrap.fill(text, width=width, break_long_words=False, break_on_hyphens=False)


def _elision(elision: Elision) -> str:
    return (
        f"  ⋮  ({elision.shown} of {elision.total} {elision.what} shown"
        + (f": {elision.where}" if elision.where else "")
        + "; `symcnn derive --all-entries` lists every one)"
    )


def render_steps(steps: Sequence[Step], printer: TextPrinter, width: int = WIDTH) -> str:
    """The body of the notes: numbered sections, prose, equations."""
    layout_ = TextLayout(printer, width)
    out: list[str] = []
    for number, step in enumerate(steps, 1):
        title = f"{number}. {step.title}"
        out += [title, "=" * len(title), ""]
        for block in step.blocks:
            if isinstance(block, Heading):
                heading = _prose(printer, block.parts, width)
                out += [heading, "-" * len(heading), ""]
            elif isinstance(block, Paragraph):
                out += [_prose(printer, block.parts, width), ""]
            elif isinstance(block, Display):
                out += _display(layout_, block, width)
    return "\n".join(out).rstrip() + "\n"


def _display(layout_: TextLayout, block: Display, width: int) -> list[str]:
    lines: list[str] = []
    if block.packed:
        groups: dict = {}
        for equation in block.equations:
            groups.setdefault(equation.group, []).append(equation)
        for equations in groups.values():
            boxes = [_equation_box(layout_, eq) for eq in equations]
            for line in layout.pack(boxes, lambda box: box.width, width - 2):
                parts: list[Box] = [Box.of("  ")]
                for position in line:
                    if len(parts) > 1:
                        parts.append(Box.of(",   "))
                    parts.append(boxes[position])
                joined = hcat(parts)
                lines.extend(joined.lines)
                if len(joined.lines) > 1:
                    lines.append("")
    else:
        for equation in block.equations:
            lines += ["  " + line for line in equation_lines(layout_, equation, width - 2)]
            if any(len(layout_.box(side).lines) > 1 for side in equation.sides):
                lines.append("")
    if layout_.delta_used:
        lines.append(
            _DELTA_NOTE.format(loss=layout_.printer.notation.loss, o=layout_.printer.letter("O"))
        )
        lines.append("")
        layout_.delta_used = False
    if block.elision is not None:
        lines.append(_elision(block.elision))
    return [*lines, ""]


_DELTA_NOTE = "  (in the wide matrices above δᵢⱼ stands for ∂{loss}/∂{o}ᵢⱼ)"


def _equation_box(layout_: TextLayout, equation: Equation) -> Box:
    parts: list[Box] = []
    for side in equation.sides:
        if parts:
            parts.append(Box.of(" = "))
        parts.append(layout_.box(side))
    return hcat(parts)
