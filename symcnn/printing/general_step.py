"""The "general formula" step: each gradient at the level of indices, before the worked entries.

The formulas are :func:`symcnn.indexform.general`'s: derived from the kind's forward formula
with the layer's numbers substituted, the bounds tightened to exactly the terms present, and
every one proven against every entry of the exact derivation. They are printed 1-based, as the
rest of the notes count.
"""

from __future__ import annotations

import re

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
from ..indexform.algebra import Formula, Part, shifted
from .context import Context, pair
from .model import Display, Equation, Paragraph, Step
from .nodes import Element, Equals, Loss, Partial, Product, SumOver, Terms

#: The notes count from 1: the formulas are shifted to that base before printing.
BASE = 1


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
        return _compact(f"({_sum_text((expanded * divisor).expand())})/{divisor}")
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
    """An index or bound already counted from 1, printed as its text.

    The printers shift a concrete index and a sum's limits by the reader's base; these are
    already in the notes' count (the formula's variables are 1-based), so adding a base leaves
    them as they are, under ``--zero-based`` too.
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


def _element(tensor: str, index: tuple) -> Basic:
    index = tuple(_index(e) for e in index)
    if tensor == "G":
        return Partial(Loss(), Element("O", index))
    return Element(tensor, index)


def _part(part: Part) -> Basic:
    factors = [_element(read.tensor, read.index) for read in part.reads]
    if part.coefficient.is_number and part.coefficient != 1:
        factors.insert(0, part.coefficient)
    elif not part.coefficient.is_number:  # an average's divisor per window
        factors.insert(0, Symbol(f"1/({_text(1 / part.coefficient)})"))
    body = Product(*factors) if len(factors) > 1 else factors[0]
    if part.conditions:
        body = Piecewise((body, And(*map(_condition, part.conditions))), (0, true))
    if part.sums:
        limits = [(s.var, _limit(s.low), _limit(s.high)) for s in part.sums]
        body = SumOver(body, *limits)
    return body


def _equation(formula: Formula) -> Equation:
    lhs: Basic = _element(formula.tensor, formula.variables)
    if formula.tensor != "O":
        lhs = Partial(Loss(), lhs)
    parts = [_part(part) for part in formula.parts]
    rhs = parts[0] if len(parts) == 1 else Terms(*parts) if parts else S.Zero
    return Equation((lhs, rhs))


def general_step(ctx: Context) -> Step:
    """The general formulas of the forward pass and of every gradient, tight and proven."""
    if not general_derivation.available(ctx.spec):
        reason = general_derivation.refusal(ctx.spec)
        limit = general_derivation.PROVEN_UP_TO
        note = (
            f"The general formulas are not available for {ctx.spec.type} {reason} yet; the"
            " entries below are exact."
            if reason
            else f"This layer has {ctx.spec.multiply_terms} multiply terms: the general formulas"
            f" are derived and proven against every entry only up to {limit}, so they are left"
            " out here; a smaller layer with the same options shows them."
        )
        return Step("general", "General formula", (Paragraph((note,)),))
    found = general(ctx.derivation)
    formulas = [found.forward, *(found.grads[name] for name in ctx.parameters)]
    based = [shifted(formula, BASE) for formula in formulas]
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
        ". Indices count from 1. Every sum runs over exactly the terms that are present: a"
        " term whose index would fall on the padding or outside a tensor is not in its range.",
    ]
    if any(part.conditions for formula in formulas for part in formula.parts):
        intro += [
            " A case distinction keeps a term only where its condition holds (",
            Symbol("S | e"),
            ": the stride S divides e, so that the output index is a whole number); elsewhere"
            " the term is zero.",
        ]
    blocks = [Paragraph(tuple(intro)), Display(tuple(_equation(f) for f in based))]
    counts = ", ".join(f"{found.proven[f.tensor]} of {_what(f.tensor)}" for f in formulas)
    blocks.append(
        Paragraph(
            (
                "Each formula was instantiated at every index of its tensor and compared with"
                f" the exact entry-wise derivation: all agree ({counts}), and no term inside"
                " the bounds reads outside its tensor.",
            )
        )
    )
    return Step("general", "General formula", tuple(blocks))


def _what(tensor: str) -> str:
    return "the outputs" if tensor == "O" else f"the {tensor} gradient's entries"
