"""A formula at every index of its tensor, in the contract's symbols, and the proof by entries.

Instantiating reads every tensor strictly: a term inside the bounds and conditions whose read
falls outside its tensor raises :class:`NotTight`, so an instantiation that succeeds shows that
the bounds are no wider than the terms present. Comparing every instantiated entry with the
exact entry-wise derivation (the same monomials, the same exact coefficients) shows that they
are no narrower either, and that the formula is right.

Index expressions are compiled once to Python functions on integers (rationals as
:class:`fractions.Fraction`, so ``floor`` and ``ceiling`` stay exact).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Iterator, Mapping
from fractions import Fraction

import numpy as np
from sympy import Basic, Integer, Mul, Rational, Symbol
from sympy.logic.boolalg import BooleanFalse, BooleanTrue

from .algebra import Formula, Part


class NotTight(ValueError):
    """A term inside the bounds reads outside its tensor: the bounds are wider than the terms."""


def python_source(expr: Basic) -> str:
    """Python source for an index expression (integers, rationals, floor, ceiling, Max, Mod)."""
    if isinstance(expr, BooleanTrue):
        return "True"
    if isinstance(expr, BooleanFalse):
        return "False"
    if expr.is_Integer:
        return str(int(expr))
    if expr.is_Rational:
        return f"Fraction({expr.p}, {expr.q})"
    if expr.is_Symbol:
        return expr.name
    name = type(expr).__name__
    args = [python_source(a) for a in expr.args]
    if expr.is_Add:
        return "(" + " + ".join(args) + ")"
    if expr.is_Mul:
        return "(" + " * ".join(args) + ")"
    if expr.is_Pow:
        return f"(Fraction({args[0]}) ** {args[1]})"
    simple = {"floor": "floor", "ceiling": "ceil", "Max": "max", "Min": "min"}
    if name in simple:
        return f"{simple[name]}(" + ", ".join(args) + ")"
    if name == "Mod":
        return f"(({args[0]}) % ({args[1]}))"
    operators = {"Equality": "==", "Unequality": "!=", "LessThan": "<=", "GreaterThan": ">="}
    operators |= {"StrictLessThan": "<", "StrictGreaterThan": ">"}
    if name in operators:
        return f"({args[0]} {operators[name]} {args[1]})"
    if name == "And":
        return "(" + " and ".join(args) + ")"
    if name == "Or":
        return "(" + " or ".join(args) + ")"
    raise ValueError(f"{expr} is not an index expression")


_NAMESPACE = {"floor": math.floor, "ceil": math.ceil, "Fraction": Fraction, "max": max, "min": min}


def compiled(expr: Basic, variables: tuple[Symbol, ...]) -> Callable:
    """``expr`` as a Python function of ``variables`` (in that order)."""
    names = ", ".join(v.name for v in variables)
    return eval(f"lambda {names}: {python_source(expr)}", dict(_NAMESPACE))


class CompiledPart:
    """A part with every index expression compiled, over the free indices then its sums."""

    def __init__(self, part: Part, free: tuple[Symbol, ...]) -> None:
        self.part = part
        self.sums = [s.var for s in part.sums]
        scope: tuple[Symbol, ...] = free
        self.bounds = []
        for limit in part.sums:
            self.bounds.append((compiled(limit.low, scope), compiled(limit.high, scope)))
            scope = (*scope, limit.var)
        self.scope = scope
        self.coefficient = compiled(part.coefficient, scope)
        self.conditions = [compiled(c, scope) for c in part.conditions]
        self.reads = [
            (read.tensor, [compiled(axis, scope) for axis in read.index]) for read in part.reads
        ]

    def terms(self, at: tuple[int, ...]) -> Iterator[tuple[Fraction, tuple]]:
        """``(coefficient, ((tensor, index), ...))`` for every term present at ``at``."""
        for values in self._points(at, 0):
            if not all(condition(*values) for condition in self.conditions):
                continue
            cells = tuple(
                (tensor, tuple(_integer(axis(*values), tensor) for axis in axes))
                for tensor, axes in self.reads
            )
            yield Fraction(self.coefficient(*values)), cells

    def _points(self, values: tuple, depth: int) -> Iterator[tuple]:
        if depth == len(self.bounds):
            yield values
            return
        low, high = self.bounds[depth]
        for value in range(low(*values), high(*values) + 1):
            yield from self._points((*values, value), depth + 1)


def _integer(value, tensor: str) -> int:
    """An index value as an int; a fraction means a divisibility condition is missing."""
    if isinstance(value, Fraction):
        if value.denominator != 1:
            raise NotTight(f"a term inside the bounds reads {tensor} at the fraction {value}")
        return int(value)
    return value


def instantiate(
    formula: Formula,
    arrays: Mapping[str, np.ndarray],
    at: tuple[int, ...],
    compiled_parts: list[CompiledPart] | None = None,
) -> dict[Basic, Rational]:
    """The entry ``formula.tensor[at]`` as ``{monomial: coefficient}`` in the contract symbols.

    ``arrays`` maps tensor names (``X``, ``W``, ``B``, ``G``) to their symbol arrays. Raises
    :class:`NotTight` when a term inside the bounds reads outside its tensor.
    """
    parts = compiled_parts or [CompiledPart(p, formula.variables) for p in formula.parts]
    total: dict[Basic, Rational] = {}
    for part in parts:
        for coefficient, cells in part.terms(at):
            factors = []
            for tensor, index in cells:
                array = arrays[tensor]
                if not all(0 <= i < size for i, size in zip(index, array.shape, strict=True)):
                    raise NotTight(
                        f"{formula.tensor}{list(at)}: the term reading {tensor}{list(index)}"
                        f" is inside the bounds but outside {tensor}'s shape {list(array.shape)}"
                    )
                factors.append(array[index])
            monomial = Mul(*factors)
            value = Rational(coefficient.numerator, coefficient.denominator)
            total[monomial] = total.get(monomial, Integer(0)) + value
    return {m: c for m, c in total.items() if c != 0}


def monomials(expr: Basic) -> dict[Basic, Rational]:
    """An exact polynomial entry as ``{monomial: coefficient}``."""
    found = expr.as_coefficients_dict()
    return {m: c for m, c in found.items() if c != 0}


def prove(formula: Formula, arrays: Mapping[str, np.ndarray], exact: np.ndarray) -> int:
    """Instantiate ``formula`` at every index of ``exact`` and compare; the entries compared.

    Raises ValueError (or :class:`NotTight`) naming the first index where the formula and the
    exact derivation differ, with both.
    """
    parts = [CompiledPart(p, formula.variables) for p in formula.parts]
    for at in itertools.product(*(range(size) for size in exact.shape)):
        got = instantiate(formula, arrays, at, parts)
        expected = monomials(exact[at])
        if got != expected:
            given = sum((c * m for m, c in got.items()), Integer(0))
            raise ValueError(
                f"the general formula of {formula.tensor} is wrong at {list(at)}:"
                f" expected {exact[at]}, the formula gives {given}"
            )
    return int(np.prod(exact.shape))
