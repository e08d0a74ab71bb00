"""The "general formula" step: each gradient at the level of indices, before the worked entries.

The formulas are :func:`symcnn.indexform.general`'s: derived from the kind's forward formula
with the layer's numbers substituted, the bounds tightened to exactly the terms present, and
every one proven against every entry of the exact derivation. They are printed 1-based, as the
rest of the notes count.
"""

from __future__ import annotations

import re
from contextvars import ContextVar

from sympy import (
    And,
    Basic,
    Eq,
    Max,
    Min,
    Mod,
    Piecewise,
    S,
    Symbol,
    ceiling,
    floor,
    ilcm,
    sstr,
    sympify,
    true,
)

from ..indexform import derivation as general_derivation
from ..indexform import general
from ..indexform.algebra import Formula, Part, Share, index_symbol, shifted
from .context import Context, pair
from .model import Display, Equation, Paragraph, Step
from .nodes import Element, Equals, ExtremeOver, Loss, Partial, Product, SumOver, Terms, Whole

#: The notes count from 1 (from 0 under --zero-based): the formulas are shifted to that base
#: before printing.
BASE = 1
#: Whether the layer has one bias (one output channel), while its equations are built.
_ONE_BIAS: ContextVar[bool] = ContextVar("one_bias", default=False)


def _text(expr: Basic) -> str:
    """An index expression as compact ASCII that reads the same in text and in LaTeX.

    ``2i+p-3``, ``(h-p+3)/2``, ``max(1,4-2i)``, ``ceil((4-p)/2)``: the printers' own ``Mul``
    spelling is meant for tensor entries, not for index arithmetic. An integer added to a floor
    or a max goes inside it (SymPy keeps it outside).
    """
    expr = sympify(expr)
    constant, rest = expr.as_coeff_Add() if expr.is_Add else (S.Zero, expr)
    if isinstance(rest, (Max, Min)):
        name = "max" if isinstance(rest, Max) else "min"
        return f"{name}(" + ",".join(_text(arg + constant) for arg in rest.args) + ")"
    if isinstance(rest, (floor, ceiling)):
        name = "floor" if isinstance(rest, floor) else "ceil"
        return f"{name}(" + _text(rest.args[0] + constant) + ")"
    if expr.is_Mul and any(factor.is_Add for factor in expr.args):
        return "".join(
            f"({_text(factor)})" if factor.is_Add else _text(factor) for factor in expr.args
        )
    if expr.is_Add and expr.atoms(Max, Min):
        return _compact(_sum_text(expr))
    expanded = expr.expand()
    denominators = [c.q for c in expanded.as_coefficients_dict().values() if c.is_Rational]
    divisor = ilcm(1, *denominators)
    if divisor != 1 and not expanded.atoms(Max, Min, floor, ceiling):
        # (h-p+3)/2 rather than h/2-p/2+3/2
        numerator = (expanded * divisor).expand()
        if not numerator.is_Add:
            return _compact(f"{_sum_text(numerator)}/{divisor}")
        return _compact(f"({_sum_text(numerator)})/{divisor}")
    return _compact(_sum_text(expanded))


def _sum_text(expr: Basic) -> str:
    """A sum with its positive terms first and its constant last: ``w-q+1``, not ``-q+w+1``."""
    if not expr.is_Add:
        return sstr(expr)
    terms = sorted(expr.args, key=lambda t: (t.could_extract_minus_sign(), t.is_number))
    text = sstr(terms[0])
    for term in terms[1:]:
        text += f" - {sstr(-term)}" if term.could_extract_minus_sign() else f" + {sstr(term)}"
    return text


def _compact(text: str) -> str:
    text = re.sub(r"(\d)\*(?=[a-z(])", r"\1", text)
    text = text.replace(" ", "").replace("*", "").replace("ceiling(", "ceil(")
    return text.replace("Max(", "max(").replace("Min(", "min(")


class Counted(Symbol):
    """An index or bound already in the reader's count, printed as its text.

    The printers shift a concrete index and a sum's limits by the reader's base; these are
    already in the notes' count (the formula was shifted to it), so adding a base leaves them
    as they are.
    """

    def __add__(self, other):
        if isinstance(other, int) or getattr(other, "is_Integer", False):
            return self
        return super().__add__(other)

    __radd__ = __add__


def _index(expr: Basic) -> Basic:
    """One index or bound, as a symbol named by its text (a number too: it is 1-based)."""
    expr = sympify(expr)
    return Counted(str(int(expr)) if expr.is_Integer else _text(expr))


def _condition(condition: Basic) -> Basic:
    """``Mod(e, S) = 0`` as ``S | e``; any other condition as written."""
    if isinstance(condition, Eq) and isinstance(condition.lhs, Mod) and condition.rhs == 0:
        value, divisor = condition.lhs.args
        return Symbol(f"{divisor} | {_text(value)}")
    if isinstance(condition, Eq) and isinstance(condition.rhs, Mod) and condition.lhs == 0:
        value, divisor = condition.rhs.args
        return Symbol(f"{divisor} | {_text(value)}")
    return Symbol(_text(condition))


def _limit(bound: Basic) -> Basic:
    """A sum's bound for :class:`SumOver`, 1-based like the formula it bounds."""
    return _index(bound)


def _element(tensor: str, index: tuple, scaled: bool = False) -> Basic:
    if tensor == "B" and _ONE_BIAS.get():
        # One output channel: its index is hidden from O, so from the one bias too.
        return Whole("B")
    index = tuple(_index(e) for e in index)
    if tensor == "G" and not scaled:
        return Partial(Loss(), Element("O", index))
    # Under the mean reduction the formula's coefficient already holds 1/N: its upstream factor
    # is G (dL/dO = G/N), as the worked entries write it, not dL/dO.
    return Element(tensor, index)


class Starred(Counted):
    """An index expression holding a window's winning tap ``p*``: ``p^{\\ast}`` in LaTeX."""

    def _symcnn_latex(self, printer) -> str:
        return self.name.replace("*", r"^{\ast}")


#: A tap's name in the index text while it is printed as the winner (``p*``).
_STAR = "_winner"


def _winner_condition(share: Share) -> list[Basic]:
    """``h = 2i+p*-3``: the cell is the window's read at the winning taps (``first``)."""
    stars = {v: index_symbol(v.name + _STAR) for v in share.bound}
    conditions = []
    for cell, window in zip(share.cell.index, share.window.index, strict=True):
        if cell == window:
            continue  # the batch and channel axes: the window's own
        text = _text(sympify(window).xreplace(stars)).replace(_STAR, "*")
        conditions.append(Starred(f"{_text(cell)} = {text}"))
    return conditions


def _share_factor(share: Share, output: tuple) -> tuple[list[Basic], list[Basic]]:
    """The share as ``(factors, conditions)`` of the printed term."""
    if share.rule.ties == "first":
        return [], _winner_condition(share)
    cell = Element(share.cell.tensor, tuple(_index(e) for e in share.cell.index))
    extreme = Element("O", tuple(_index(e) for e in output))
    condition = Eq(cell, extreme, evaluate=False)
    if share.rule.ties == "all":
        return [], [condition]
    return [Symbol(f"(1/t_{{{_letters(output)}}})")], [condition]


def _letters(output: tuple) -> str:
    """The spatial output index as written in a subscript: ``ij``."""
    return "".join(_text(e) for e in output[2:])


def _part(part: Part, scaled: bool = False) -> Basic:
    if part.extreme is not None:
        (read,) = part.reads
        limits = [(s.var, _limit(s.low), _limit(s.high)) for s in part.sums]
        return ExtremeOver(_element(read.tensor, read.index), part.extreme.extreme, *limits)
    factors = [_element(read.tensor, read.index, scaled) for read in part.reads]
    share_conditions: list[Basic] = []
    for share in part.shares:
        output = next(r.index for r in part.reads if r.tensor == "G")
        extra, conditions = _share_factor(share, output)
        factors += extra
        share_conditions += conditions
    if part.coefficient.is_number and part.coefficient != 1:
        factors.insert(0, part.coefficient)
    elif not part.coefficient.is_number:  # an average's divisor per window
        factors.insert(0, Symbol(f"1/({_text(1 / part.coefficient)})"))
    body = Product(*factors) if len(factors) > 1 else factors[0]
    if part.conditions or share_conditions:
        conditions = [*map(_condition, part.conditions), *share_conditions]
        body = Piecewise((body, And(*conditions)), (0, true))
    if part.sums:
        limits = [(s.var, _limit(s.low), _limit(s.high)) for s in part.sums]
        body = SumOver(body, *limits)
    return body


def _equation(formula: Formula, scaled: bool = False) -> Equation:
    lhs: Basic = _element(formula.tensor, formula.variables)
    if formula.tensor != "O":
        lhs = Partial(Loss(), lhs)
    parts = [_part(part, scaled) for part in formula.parts]
    rhs = parts[0] if len(parts) == 1 else Terms(*parts) if parts else S.Zero
    return Equation((lhs, rhs))


def general_step(ctx: Context) -> Step:
    """The general formulas of the forward pass and of every gradient, tight and proven."""
    note = general_derivation.unavailable(ctx.spec)
    if note is not None:
        return Step("general", "General formula", (Paragraph((note,)),))
    found = general(ctx.derivation)
    formulas = [found.forward, *(found.grads[name] for name in ctx.parameters)]
    base = 0 if ctx.zero_based else BASE
    based = [shifted(formula, base) for formula in formulas]
    window = ctx.spec.window
    numbers: list = []
    if window is not None:
        for letter, value in zip(
            "SPD", (window.stride, window.padding, window.dilation), strict=True
        ):
            numbers += [", " if numbers else "", Equals(Symbol(letter), pair(value))]
    intro = [
        "The same results as formulas over indices, with this layer's numbers put in",
        *((" (", *numbers, ")") if numbers else ()),
        f". Indices count from {base}. Every sum runs over exactly the terms that are present: a"
        " term whose index would fall on the padding or outside a tensor is not in its range.",
    ]
    if any(part.conditions for formula in formulas for part in formula.parts):
        intro += [
            " A case distinction keeps a term only where its condition holds (",
            Symbol("S | e"),
            ": the stride S divides e, so that the output index is a whole number); elsewhere"
            " the term is zero.",
        ]
    scaled = ctx.derivation.upstream_scale != 1
    bias = ctx.derivation.grads.get("B")
    token = _ONE_BIAS.set(bias is not None and bias.size == 1)
    try:
        equations = tuple(_equation(f, scaled) for f in based)
    finally:
        _ONE_BIAS.reset(token)
    blocks = [Paragraph(tuple(intro)), Display(equations)]
    shares = [(p, s) for f in based for p in f.parts for s in p.shares]
    if shares:
        blocks.append(Paragraph(_share_words(*shares[0], scaled)))
    counts = ", ".join(f"{found.proven[f.tensor]} of {_what(f.tensor)}" for f in formulas)
    how = (
        " (the tie rule's share instantiated as its case distinction over the window's cells,"
        " and compared symbolically)"
        if shares
        else ""
    )
    blocks.append(
        Paragraph(
            (
                "Each formula was instantiated at every index of its tensor and compared with"
                f" the exact entry-wise derivation{how}: all agree ({counts}), and no term inside"
                " the bounds reads outside its tensor.",
            )
        )
    )
    return Step("general", "General formula", tuple(blocks))


def _share_words(part: Part, share: Share, scaled: bool) -> tuple:
    """What the share in the gradient means: the winner, the count of ties, or the mask."""
    output = next(r.index for r in part.reads if r.tensor == "G")
    extreme = Element("O", tuple(_index(e) for e in output))
    window = Element(share.window.tensor, tuple(_index(e) for e in share.window.index))
    taps = ", ".join(
        f"{limit.var} = {_text(limit.low)} .. {_text(limit.high)}" for limit in share.limits
    )
    label = ", ".join(_text(e) for e in output[2:])
    where = f"window ({label}), its taps {taps} (the cells inside the input)"
    largest = "largest" if share.rule.extreme == "max" else "smallest"
    upstream = Partial(Loss(), extreme)
    if scaled:  # under the mean the window's term is (1/N)·G, as the formula writes it
        upstream = Product(part.coefficient, Element("G", output))
    if share.rule.ties == "first":
        stars = ", ".join(f"{v}*" for v in share.bound)
        return (
            "The tie rule is a condition on values: ",
            Starred(f"({stars})"),
            f" is the winning tap of {where}: the first in row-major order at which ",
            window,
            f" is {largest}, so that only that cell receives ",
            upstream,
            " (ties=first, as PyTorch).",
        )
    if share.rule.ties == "split":
        return (
            "The tie rule is a condition on values: ",
            Symbol(f"t_{{{_letters(output)}}}"),
            f" is the number of taps of {where} at which ",
            window,
            " = ",
            extreme,
            ", its tied cells, which share ",
            upstream,
            " equally (ties=split).",
        )
    return (
        f"The tie rule is a condition on values: every cell of {where} equal to its extreme ",
        extreme,
        " receives the whole ",
        upstream,
        " (ties=all). With a tie this is not a gradient: the weights of t tied cells add up to"
        " t, not 1.",
    )


def _what(tensor: str) -> str:
    return "the outputs" if tensor == "O" else f"the {tensor} gradient's entries"
