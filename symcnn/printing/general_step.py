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
from ..indexform.algebra import Formula, Part, shifted
from .context import Context, pair
from .model import Display, Equation, Paragraph, Step
from .nodes import Element, Equals, Loss, Partial, Product, SumOver, Terms, Whole

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


def _part(part: Part, scaled: bool = False) -> Basic:
    factors = [_element(read.tensor, read.index, scaled) for read in part.reads]
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
