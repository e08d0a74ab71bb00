r"""Notes as LaTeX: SymPy's ``LatexPrinter`` taught the notes' notation, and the notes' body.

:class:`NotesLatexPrinter` prints the contract's symbols in the reader's notation
(``x_0_0_1_2`` as ``X_{23}``, ``g_0_0_0_0`` as ``\frac{\partial L}{\partial O_{11}}``) and the
notation nodes of :mod:`symcnn.printing.nodes`. :class:`LatexWriter` lays the steps out as
sections, prose and ``align*`` displays; the document around them is a template
(``templates/notes.tex.j2``), filled by :mod:`symcnn.printing.document`.

>>> from sympy import Symbol
>>> from symcnn.notation import Notation
>>> printer = NotesLatexPrinter(Notation(), {"X": (1, 1, 3, 3), "O": (1, 1, 2, 2)})
>>> printer.doprint(Symbol("g_0_0_1_0") * Symbol("x_0_0_1_2"))
'\\frac{\\partial L}{\\partial O_{21}} X_{23}'
"""

from __future__ import annotations

from collections.abc import Sequence

from sympy import Add, And, Basic, Piecewise, Pow, Symbol
from sympy.printing.latex import LatexPrinter

from ..notation import Notation
from ..tensors import parse_symbol
from . import layout
from .model import Display, Elision, Equation, Heading, Paragraph, Step
from .nodes import (
    Apply,
    At,
    Dots,
    Element,
    Equals,
    Grid,
    Loss,
    Omitted,
    Partial,
    Product,
    Shape,
    SumOver,
    Terms,
    Verdict,
    Whole,
)
from .text import TextPrinter, is_indicator, oriented

#: Width of one displayed line on the page, in italic letters (see LatexWidth).
WIDTH = 74
#: Matrices wider than this write δ_ij for ∂L/∂O_ij (and the notes say so).
GRID_WIDTH = 55
#: The text width (170 mm at 11 pt) in the estimate's units, which run wide: a piece wider than this
#: alone cannot fit, however the lines are broken (WIDTH keeps a margin for breaking them).
PAGE_WIDTH = 100
#: Comparisons on one row of a case's condition (a 3x3 window's eight take two rows).
COMPARISONS_PER_ROW = 4

_OPERATORS = {"full conv": r"full\ conv"}
_ESCAPES = {
    "\\": r"\textbackslash{}",
    "&": r"\&",
    "%": r"\%",
    "$": r"\$",
    "#": r"\#",
    "_": r"\_",
    "{": r"\{",
    "}": r"\}",
    "~": r"\textasciitilde{}",
    "^": r"\textasciicircum{}",
    "×": r"$\times$",
    "∂": r"$\partial$",
    "→": r"$\to$",
}


def escape(text: str) -> str:
    """Plain prose for LaTeX: special characters escaped, a few Unicode signs as math."""
    text = "".join(_ESCAPES.get(ch, ch) for ch in text)
    return text.replace("`", "")


class NotesLatexPrinter(LatexPrinter):
    """LaTeX for the notes' math, in the reader's notation.

    Parameters
    ----------
    notation : Notation
        Letters, loss letter and index base.
    shapes : dict of str to tuple of int
        Shape of each tensor (``X``, ``W``, ``B``, ``O``), for the subscripts.
    upstream : str
        ``"partial"`` prints ``g_...`` as ``\\partial L/\\partial O``; ``"letter"`` as ``G``.
    """

    printmethod = "_symcnn_latex"

    def __init__(self, notation: Notation, shapes: dict, upstream: str = "partial") -> None:
        super().__init__()
        self.notation = notation
        self.shapes = shapes
        self.upstream = upstream
        self._names = TextPrinter(notation, shapes, upstream)
        self.slashed = False  # ∂L/∂O written on one line: inside matrices and prose
        self.delta_used = False  # a matrix too wide for ∂L/∂O_ij wrote δ_ij instead
        self._piecewise_depth = 0  # inside a case distinction, inner ones print as 1[...]

    def inline(self, node: Basic) -> str:
        """``node`` as inline math: partial derivatives slashed, not stacked."""
        before, self.slashed = self.slashed, True
        try:
            return self.doprint(node)
        finally:
            self.slashed = before

    def _partial(self, top: str, bottom: str) -> str:
        if self.slashed:
            return rf"\partial {top}/\partial {bottom}"
        return rf"\frac{{\partial {top}}}{{\partial {bottom}}}"

    # -- names --------------------------------------------------------------------------------

    def entry_name(self, tensor: str, index: Sequence) -> str:
        shape = self.shapes["O" if tensor == "G" else tensor]
        return f"{self._names.letter(tensor)}_{{{self._names.index_text(index, shape)}}}"

    def _print_Symbol(self, expr: Symbol, style: str = "plain") -> str:
        parsed = parse_symbol(expr)
        if parsed is None:
            base, _, sub = expr.name.partition("_")
            if len(sub) > 1 and sub.isalpha() and sub.islower():
                return rf"{base}_{{\mathrm{{{sub}}}}}"  # H_in: a word, not a product i·n
            return super()._print_Symbol(expr, style)
        tensor, index = parsed
        if tensor == "G":
            if self.upstream == "partial":
                return self._partial(self.notation.loss, self.entry_name("O", index))
            if self.upstream == "delta":
                return r"\delta_{" + self._names.index_text(index, self.shapes["O"]) + "}"
            return self.entry_name("G", index)
        return self.entry_name(tensor, index)

    def _print_Loss(self, expr: Basic) -> str:
        return self.notation.loss

    def _print_Element(self, expr: Element) -> str:
        return self.entry_name(expr.tensor, expr.index)

    def _print_Whole(self, expr: Basic) -> str:
        label = self._names.whole_part(expr.tensor, expr.part)
        letter = self._names.letter(expr.tensor)
        return f"{letter}^{{{label}}}" if label else letter

    def _print_Partial(self, expr: Partial) -> str:
        top, bottom = (self._print(arg) for arg in expr.args)
        return self._partial(top, bottom)

    # -- arrangements ---------------------------------------------------------------------------

    def _print_At(self, expr: Basic) -> str:
        return self._print(expr.value)

    def _print_Terms(self, expr: Terms) -> str:
        return " + ".join(self._print(term) for term in expr.args) if expr.args else "0"

    def _is_partial(self, node: Basic) -> bool:
        if isinstance(node, Partial):
            return True
        parsed = parse_symbol(node) if isinstance(node, Symbol) else None
        return parsed is not None and parsed[0] == "G" and self.upstream == "partial"

    def _print_Product(self, expr: Basic) -> str:
        parts: list[str] = []
        previous = None
        for factor in expr.args:
            if factor.is_Rational and factor != 1:
                text = self._print(factor)
            elif isinstance(factor, Terms) or factor.is_Add:
                text = rf"\left({self._print(factor)}\right)"
            elif factor.is_Pow and factor.exp == -1:
                text = rf"\frac{{1}}{{{self._print(factor.base)}}}"
            else:
                text = self._print(factor)
            if previous is not None:
                # Stacked fractions side by side need a dot; slashed ones need it everywhere.
                left, right = self._is_partial(previous), self._is_partial(factor)
                dot = (left or right) if self.slashed else (left and right)
                text = (r" \cdot " if dot else " ") + text
            parts.append(text)
            previous = factor
        return "".join(parts)

    def _print_SumOver(self, expr: Basic) -> str:
        base = 0 if self.notation.zero_based else 1
        signs = " ".join(
            rf"\sum_{{{self._print(var)}={self._print(low + base)}}}^{{{self._print(high + base)}}}"
            for var, low, high in expr.limits
        )
        return f"{signs} {self._print(expr.body)}"

    def _print_ExtremeOver(self, expr: Basic) -> str:
        base = 0 if self.notation.zero_based else 1
        ranges = r",\ ".join(
            rf"{self._print(low + base)} \le {self._print(var)} \le {self._print(high + base)}"
            for var, low, high in expr.limits
        )
        return rf"\{expr.kind}_{{{ranges}}} {self._print(expr.body)}"

    def _print_Dots(self, expr: Basic) -> str:
        return {"h": r"\cdots", "v": r"\vdots", "d": r"\ddots"}[expr.kind]

    def _print_Omitted(self, expr: Basic) -> str:
        if expr.brief:
            return r"\cdots"
        return rf"\cdots\ (\text{{{expr.count} more terms}})\ \cdots"

    def _print_Grid(self, expr: Basic) -> str:
        before = self.upstream
        delta, small, _ = LatexWidth(self).grid_style(expr)
        if delta:
            self.upstream, self.delta_used = "delta", True
        size = r"\scriptstyle " if small else ""
        try:
            rows = [" & ".join(size + self.inline(entry) for entry in row) for row in expr.rows]
        finally:
            self.upstream = before
        return r"\begin{bmatrix} " + r" \\ ".join(rows) + r" \end{bmatrix}"

    def _print_Apply(self, expr: Basic) -> str:
        name = _OPERATORS.get(expr.name, expr.name)
        arguments = ", ".join(self._print(a) for a in expr.arguments)
        return rf"\operatorname{{{name}}}\left({arguments}\right)"

    def _print_Equals(self, expr: Basic) -> str:
        return " = ".join(self._print(side) for side in expr.args)

    def _print_Shape(self, expr: Basic) -> str:
        return r" \times ".join(str(d) for d in expr.dims)

    def _print_Verdict(self, expr: Basic) -> str:
        return r"\checkmark" if expr.holds else r"\times"

    def _print_OutputSize(self, expr: Basic) -> str:
        size, kernel, padding, stride, dilation = (self._print(p) for p in expr.parts)
        numeric = expr.parts[0].is_Integer
        times = r" \cdot " if numeric else " "
        if expr.parts[4] == 1:
            inner = f"{size} - {kernel} + 2{times}{padding}"
        else:
            inner = f"{size} + 2{times}{padding} - {dilation}{times}({kernel} - 1) - 1"
        left, right = (r"\lceil", r"\rceil") if expr.ceil else (r"\lfloor", r"\rfloor")
        return rf"\left{left} \frac{{{inner}}}{{{stride}}} \right{right} + 1"

    def _print_Piecewise(self, expr: Basic) -> str:
        if self._piecewise_depth and is_indicator(expr):
            return rf"\mathbf{{1}}[{self._print(expr.args[0].cond)}]"
        self._piecewise_depth += 1
        try:
            rows = []
            for value, condition in expr.args:
                if condition == True:  # noqa: E712 (SymPy's true)
                    rows.append(rf"{self._print(value)} & \text{{otherwise}}")
                    continue
                # A long list of comparisons goes on over rows of its own (no value in front),
                # a few per row: a 3x3 window's eight would run past the margin on one.
                first, *more = self._condition_rows(condition)
                rows.append(rf"{self._print(value)} & \text{{if }} {first}")
                rows.extend(rf"& \quad {row}" for row in more)
            return r"\begin{cases} " + r" \\ ".join(rows) + r" \end{cases}"
        finally:
            self._piecewise_depth -= 1

    def _condition_rows(self, condition: Basic) -> list[str]:
        """A case's condition, as rows of at most :data:`COMPARISONS_PER_ROW` comparisons."""
        chunks = condition_chunks(condition)
        if len(chunks) == 1:
            return [self._print(condition)]
        # Each row but the last ends in a comma: the list goes on below.
        return [
            r",\ ".join(self._print(part) for part in chunk) + ("," if number < len(chunks) else "")
            for number, chunk in enumerate(chunks, 1)
        ]

    def _print_And(self, expr: Basic) -> str:
        return r",\ ".join(self._print(a) for a in oriented(expr))


def condition_chunks(condition: Basic) -> list[list[Basic]]:
    """The comparisons of a case's condition, row by row (one row unless it is long)."""
    if not isinstance(condition, And) or len(condition.args) <= COMPARISONS_PER_ROW:
        return [[condition]]
    parts = oriented(condition)
    count = -(-len(parts) // COMPARISONS_PER_ROW)  # rows needed; then spread evenly
    size = -(-len(parts) // count)
    return [parts[start : start + size] for start in range(0, len(parts), size)]


class LatexWidth:
    """Estimated printed width of math, in units of an italic letter (about 5.5 pt at 11 pt).

    Close enough to break lines before the margin: stacked fractions count their wider row,
    subscripts count less than letters.
    """

    def __init__(self, printer: NotesLatexPrinter) -> None:
        self.printer = printer
        self.names = printer._names
        self.delta = False

    def grid_style(self, node: Grid) -> tuple[bool, bool, float]:
        """How a matrix prints: with δ_ij for ∂L/∂O_ij, in script size, and its width.

        A matrix wider than :data:`GRID_WIDTH` writes δ; one still too wide for the line shrinks
        its entries to script size (about 70%).
        """
        width = self.grid(node)
        delta = width > GRID_WIDTH and self.printer.upstream == "partial" and not self.delta
        if delta:
            self.delta = True
            try:
                width = self.grid(node)
            finally:
                self.delta = False
        small = width > WIDTH - 8
        return delta, small, 0.7 * width if small else width

    def grid(self, node: Grid) -> float:
        columns = zip(*node.rows, strict=True)
        widths = [max(self(entry, True) for entry in column) for column in columns]
        return sum(widths) + 1.6 * (len(widths) - 1) + 2

    def name(self, letter: str, sub: str) -> float:
        return len(letter) + 0.8 * len(sub)

    def entry(self, tensor: str, index: Sequence) -> float:
        text = self.names.entry_name(tensor, index)
        letter = self.names.letter(tensor)
        return self.name(letter, text[len(letter) :])

    def is_fraction(self, node: Basic) -> bool:
        """Printed as ∂·/∂· (so products put a dot beside it)."""
        if isinstance(node, Partial):
            return True
        parsed = parse_symbol(node) if isinstance(node, Symbol) else None
        upstream = self.printer.upstream == "partial" and not self.delta
        return parsed is not None and parsed[0] == "G" and upstream

    def partial(self, top: float, bottom: float, slashed: bool) -> float:
        return top + bottom + 4.5 if slashed else max(top, bottom) + 2.5

    def __call__(self, node: Basic, slashed: bool = False) -> float:
        measure = self.__call__
        if isinstance(node, At):
            return measure(node.value, slashed)
        if isinstance(node, Symbol):
            parsed = parse_symbol(node)
            if parsed is None:
                base, _, sub = node.name.partition("_")
                return self.name(base, sub)
            tensor, index = parsed
            if tensor == "G" and self.printer.upstream == "partial" and not self.delta:
                return self.partial(1, 1 + self.entry("O", index), slashed)
            if tensor == "G":
                return self.entry("O", index)
            return self.entry(tensor, index)
        if isinstance(node, Element):
            return self.entry(node.tensor, node.index)
        if isinstance(node, Partial):
            top, bottom = (measure(arg, slashed) + 1 for arg in node.args)
            return self.partial(top, bottom, slashed)
        if isinstance(node, Product):
            gap = 2.0 if any(self.is_fraction(f) for f in node.args) else 0.4  # \cdot or not
            return sum(measure(f, slashed) for f in node.args) + gap * (len(node.args) - 1)
        if isinstance(node, Terms | Equals):
            return sum(measure(t, slashed) for t in node.args) + 2.5 * (len(node.args) - 1)
        if isinstance(node, SumOver):
            return 2.5 * len(node.limits) + measure(node.body, slashed)
        if isinstance(node, Grid):
            return self.grid_style(node)[2]
        if isinstance(node, Apply):
            arguments = sum(measure(a, slashed) for a in node.arguments)
            return 0.9 * len(node.name) + 2 + arguments + 1.2 * (len(node.arguments) - 1)
        if isinstance(node, Shape):
            return 3 * len(node.args)
        if isinstance(node, Add):
            return sum(measure(a, slashed) for a in node.args) + 2.5 * (len(node.args) - 1)
        if isinstance(node, Pow) and node.exp == -1:  # \frac{1}{base}: the wider row
            return measure(node.base, slashed) + 1
        if isinstance(node, Piecewise) and is_indicator(node):  # 1[condition] (or its cases)
            return measure(node.args[0].cond, slashed) + 3
        if isinstance(node, Piecewise):  # cases: its widest row (long conditions over rows)
            rows = []
            for value, condition in node.args:
                if condition == True:  # noqa: E712 (SymPy's true)
                    rows.append(measure(value, slashed) + 8)
                    continue
                chunks = condition_chunks(condition)
                widest = max(sum(measure(c, slashed) + 1.5 for c in chunk) for chunk in chunks)
                rows.append(measure(value, slashed) + 4 + widest)
            return max(rows) + 2
        if isinstance(node, Omitted):
            return 2 if node.brief else 16
        if isinstance(node, Dots | Verdict | Loss | Whole):
            return 2
        text = self.names.doprint(node)
        return 0.8 * len(text)


# -- the body of the notes ------------------------------------------------------------------------


class LatexWriter:
    """Steps as LaTeX: sections, prose with inline math, ``align*`` and ``gather*`` displays.

    :class:`symcnn.printing.markdown.MarkdownWriter` reuses the math layout and changes the
    markup around it.
    """

    def __init__(self, printer: NotesLatexPrinter, width: int = WIDTH) -> None:
        self.printer = printer
        self.measure = LatexWidth(printer)
        self.width = width

    def math(self, node: Basic) -> str:
        return self.printer.doprint(node)

    # -- markup (overridden for Markdown) -------------------------------------------------------

    def text(self, text: str) -> str:
        return escape(text)

    def inline(self, node: Basic) -> str:
        return f"${self.printer.inline(node)}$"

    def section(self, number: int, title: str) -> str:
        return rf"\section{{{self.text(title)}}}"

    def subsection(self, text: str) -> str:
        return rf"\subsection*{{{text}}}"

    def display(self, equations: list[list[str]], aligned: bool) -> str:
        if any("bmatrix" in line for lines in equations for line in lines):
            # A matrix equation is one box, scaled down to the text width only when wider
            # (FIT_MACROS): no matrix runs past the margin. Listings without matrices stay
            # align*, which may break across pages.
            return self.fitted(equations, aligned)
        environment = "align*" if aligned else "gather*"
        return f"\\begin{{{environment}}}\n{join_lines(equations)}\n\\end{{{environment}}}"

    def elision(self, elision: Elision) -> str:
        # \sloppy: the unbreakable command name must not push the line past the margin.
        return (
            rf"{{\sloppy\noindent$\vdots$\quad\emph{{{elision.shown} of {elision.total}"
            f" {elision.what}"
            + (" shown: " + elision.where + ";" if elision.where else " shown;")
            + r" \texttt{symcnn derive --all-entries} lists every one.}\par}"
        )

    def delta_note(self) -> str:
        o = self.printer._names.letter("O")
        loss = self.printer.notation.loss
        return (
            rf"In the wider matrices above, $\delta_{{ij}}$ stands for"
            rf" $\partial {loss}/\partial {o}_{{ij}}$."
        )

    # -- layout -----------------------------------------------------------------------------------

    def prose(self, parts: Sequence) -> str:
        return "".join(self.text(p) if isinstance(p, str) else self.inline(p) for p in parts)

    def render(self, steps: Sequence[Step]) -> str:
        out: list[str] = []
        for number, step in enumerate(steps, 1):
            out.append(self.section(number, step.title))
            for block in step.blocks:
                if isinstance(block, Heading):
                    out.append(self.subsection(self.prose(block.parts)))
                elif isinstance(block, Paragraph):
                    out.append(self.prose(block.parts))
                elif isinstance(block, Display):
                    self.printer.delta_used = False
                    out.append(self.render_display(block))
                    if self.printer.delta_used:
                        out.append(self.delta_note())
                    if block.elision is not None:
                        out.append(self.elision(block.elision))
        return "\n\n".join(out) + "\n"

    def render_display(self, block: Display) -> str:
        if block.packed:
            return self.display([[line] for line in self.packed_lines(block.equations)], False)
        equations = [self.equation_lines(eq) for eq in block.equations]
        if any(self.too_wide(eq) for eq in block.equations):
            # A piece no line break can split (a case's long value): each equation is fitted
            # to the width like a matrix, rather than run past the margin.
            return self.fitted(equations, aligned=True)
        return self.display(equations, aligned=True)

    def too_wide(self, equation: Equation) -> bool:
        """True when a side, or a term of a sum, is wider than the line on its own."""
        room = PAGE_WIDTH - self.measure(equation.lhs) - 3
        for side in equation.rhs:
            parts = layout.sum_parts(side)
            terms = [side] if parts is None else parts[1]
            if any(self.measure(term) > room for term in terms):
                return True
        return False

    def fitted(self, equations: list[list[str]], aligned: bool) -> str:
        """Each equation one box, scaled down to the text width only when wider (FIT_MACROS)."""
        inner = "aligned" if aligned else "gathered"
        return "\n".join(
            f"\\[\\symcnnfit{{\\begin{{{inner}}}\n{join_lines([lines])}\n\\end{{{inner}}}}}\\]"
            for lines in equations
        )

    def packed_lines(self, equations: Sequence[Equation]) -> list[str]:
        groups: dict = {}
        for equation in equations:
            groups.setdefault(equation.group, []).append(equation)
        lines = []
        for members in groups.values():
            texts = [" = ".join(self.math(side) for side in eq.sides) for eq in members]
            widths = [sum(self.measure(side) + 3 for side in eq.sides) for eq in members]
            for line in layout.pack(widths, lambda width: width, self.width):
                lines.append(r",\qquad ".join(texts[i] for i in line))
        return lines

    def equation_lines(self, equation: Equation) -> list[str]:
        """``lhs &= side`` lines: sides share a line while they fit, long sums are broken."""
        lhs_width = self.measure(equation.lhs)
        lines: list[str] = []
        current, used = self.math(equation.lhs) + " &= ", lhs_width + 3
        first_side = True
        for side in equation.rhs:
            width = self.measure(side)
            if not first_side:
                if used + 3 + width <= self.width:
                    current += " = " + self.math(side)
                    used += 3 + width
                    continue
                lines.append(current)
                current, used = "&= ", lhs_width + 3
            first_side = False
            parts = layout.sum_parts(side)
            if used + width <= self.width or parts is None:
                current += self.math(side)
                used += width
                continue
            coefficient, terms = parts
            widths = [self.measure(term) for term in terms]
            chunks = layout.chunk_widths(widths, self.width - used, self.width - lhs_width - 8)
            for number, chunk in enumerate(chunks):
                text = " + ".join(self.math(terms[i]) for i in chunk)
                if coefficient is not None:
                    opening = self.math(coefficient) + r" \Bigl(" if number == 0 else ""
                    text = opening + text + (r" \Bigr)" if number == len(chunks) - 1 else "")
                if number == 0:
                    current += text
                else:
                    lines.append(current)
                    current = r"&\qquad + " + text
            used = self.width  # a broken sum ends its line
        lines.append(current)
        return lines


#: ``\\symcnnfit{math}``: the math in display style, scaled to the line width only when it is
#: wider (needs graphicx). Defined in the document body, so that a notebook's LaTeX export,
#: which embeds the body, has it too.
FIT_MACROS = (
    "\\ifdefined\\symcnnbox\\else\\newsavebox{\\symcnnbox}\\fi\n"
    "\\providecommand{\\symcnnfit}[1]{\\sbox{\\symcnnbox}{$\\displaystyle #1$}%\n"
    "  \\ifdim\\wd\\symcnnbox>\\linewidth\\resizebox{\\linewidth}{!}{\\usebox{\\symcnnbox}}%\n"
    "  \\else\\usebox{\\symcnnbox}\\fi}\n"
)


def join_lines(equations: list[list[str]]) -> str:
    """Display lines: continuation lines of one equation close together, equations apart."""
    return " \\\\[0.8ex]\n".join(" \\\\\n".join(lines) for lines in equations)
