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
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from fractions import Fraction

import numpy as np
from sympy import Add, Basic, Integer, Mul, Rational, S, Symbol, ilcm
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
        divisor = ilcm(1, *(t.as_coeff_Mul()[0].q for t in expr.args))
        if divisor != 1:
            # (h - p + 1)/2 in integers, a Fraction only when it does not divide
            return f"divide({python_source((expr * divisor).expand())}, {divisor})"
        return "(" + " + ".join(args) + ")"
    if expr.is_Mul:
        coefficient = expr.as_coeff_Mul()[0]
        if coefficient.is_Rational and coefficient.q != 1:
            return f"divide({python_source((expr * coefficient.q).expand())}, {coefficient.q})"
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


def _strict_divide(numerator: int, divisor: int) -> int:
    quotient, remainder = divmod(numerator, divisor)
    if remainder:
        raise NotTight(f"a term inside the bounds reads at the fraction {numerator}/{divisor}")
    return quotient


def _divide(numerator: int, divisor: int):
    quotient, remainder = divmod(numerator, divisor)
    return quotient if remainder == 0 else Fraction(numerator, divisor)


_NAMESPACE = {
    "floor": math.floor,
    "ceil": math.ceil,
    "Fraction": Fraction,
    "max": max,
    "min": min,
    "divide": _divide,
}


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

    def monomials(self, names: Mapping[str, np.ndarray], where: str) -> Callable:
        """``f(*values) -> sorted symbol names of the term``, reads checked inside their tensors.

        One generated function per part (the proof's inner loop): a read outside its tensor or
        at a fraction raises :class:`NotTight`.
        """
        lines = [f"def monomial({', '.join(v.name for v in self.scope)}):"]
        cells, checks = [], []
        for r, read in enumerate(self.part.reads):
            axes = []
            for a, axis in enumerate(read.index):
                source = python_source(axis)
                if source.startswith("divide("):  # a quotient: whole only where it divides
                    source = "strict_" + source
                lines.append(f"    r{r}_{a} = {source}")
                axes.append(f"r{r}_{a}")
            shape = names[read.tensor].shape
            checks += [f"0 <= {axis} < {size}" for axis, size in zip(axes, shape, strict=True)]
            cells.append(f"names_{read.tensor}[{', '.join(axes)}]")
        if checks:
            lines.append(f"    if not ({' and '.join(checks)}):")
            lines.append(f"        raise NotTight({where!r})")
        lines.append(f"    return tuple(sorted(({', '.join(cells)},)))")
        namespace = dict(_NAMESPACE, NotTight=NotTight, strict_divide=_strict_divide)
        namespace |= {f"names_{tensor}": array for tensor, array in names.items()}
        exec("\n".join(lines), namespace)
        return namespace["monomial"]

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
) -> dict[tuple[str, ...], Fraction]:
    """The entry ``formula.tensor[at]`` as ``{monomial: coefficient}`` in the contract symbols.

    A monomial is the sorted tuple of its symbols' names. ``arrays`` maps tensor names (``X``,
    ``W``, ``B``, ``G``) to their symbol arrays. Raises :class:`NotTight` when a term inside the
    bounds reads outside its tensor.
    """
    parts = compiled_parts or [CompiledPart(p, formula.variables) for p in formula.parts]
    total: dict[tuple[str, ...], Fraction] = {}
    for part in parts:
        for coefficient, cells in part.terms(at):
            names = []
            for tensor, index in cells:
                array = arrays[tensor]
                if not all(0 <= i < size for i, size in zip(index, array.shape, strict=True)):
                    raise NotTight(
                        f"{formula.tensor}{list(at)}: the term reading {tensor}{list(index)}"
                        f" is inside the bounds but outside {tensor}'s shape {list(array.shape)}"
                    )
                names.append(array[index].name)
            monomial = tuple(sorted(names))
            total[monomial] = total.get(monomial, 0) + coefficient
    return {m: c for m, c in total.items() if c != 0}


def monomials(expr: Basic) -> dict[tuple[str, ...], Fraction]:
    """An exact polynomial entry as ``{sorted symbol names: coefficient}``."""
    found: dict[tuple[str, ...], Fraction] = {}
    for term in expr.args if expr.is_Add else (expr,):
        coefficient, factors = term.as_coeff_mul()
        if not coefficient.is_Rational or not all(f.is_Symbol for f in factors):
            raise ValueError(f"{term} is not a monomial in the tensors' entries")
        key = tuple(sorted(f.name for f in factors))
        found[key] = found.get(key, 0) + Fraction(int(coefficient.p), int(coefficient.q))
    return {m: c for m, c in found.items() if c != 0}


def as_expression(found: dict[tuple[str, ...], Fraction]) -> Basic:
    """``{monomial: coefficient}`` back as a SymPy sum (for messages)."""
    total = Integer(0)
    for names, coefficient in found.items():
        value = Rational(coefficient.numerator, coefficient.denominator)
        total += value * Mul(*(Symbol(name) for name in names))
    return total


def symbol_names(arrays: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Each symbol array as an array of the symbols' names."""
    found = {}
    for tensor, array in arrays.items():
        if array is None:  # a layer without bias
            continue
        names = np.empty(array.shape, dtype=object)
        for index, symbol in np.ndenumerate(array):
            names[index] = symbol.name
        found[tensor] = names
    return found


def prove(formula: Formula, arrays: Mapping[str, np.ndarray], exact: np.ndarray) -> int:
    """Instantiate ``formula`` at every index of ``exact`` and compare; the entries compared.

    Raises ValueError (or :class:`NotTight`) naming the first index where the formula and the
    exact derivation differ, with both.
    """
    names = symbol_names(arrays)
    parts = []
    for part in formula.parts:
        compiled_part = CompiledPart(part, formula.variables)
        monomial = compiled_part.monomials(names, f"{formula.tensor}: a term outside a tensor")
        constant = part.coefficient.is_number
        coefficient = (
            Fraction(int(part.coefficient.p), int(part.coefficient.q)) if constant else None
        )
        parts.append((compiled_part, monomial, coefficient))
    for at in itertools.product(*(range(size) for size in exact.shape)):
        got: dict[tuple[str, ...], Fraction] = {}
        for compiled_part, monomial, coefficient in parts:
            for values in compiled_part._points(at, 0):
                if not all(condition(*values) for condition in compiled_part.conditions):
                    continue
                key = monomial(*values)
                value = (
                    coefficient
                    if coefficient is not None
                    else Fraction(compiled_part.coefficient(*values))
                )
                got[key] = got.get(key, 0) + value
        got = {m: c for m, c in got.items() if c != 0}
        if got != monomials(exact[at]):
            raise ValueError(
                f"the general formula of {formula.tensor} is wrong at {list(at)}:"
                f" expected {exact[at]}, the formula gives {as_expression(got)}"
            )
    return int(np.prod(exact.shape))


# -- formulas over values: the extreme of a window and the tie rule's share ------------------


def prove_extremes(
    formula: Formula,
    arrays: Mapping[str, np.ndarray],
    exact: np.ndarray,
    share_value: Callable,
    scale=1,
) -> int:
    """Instantiate a formula over values at every index of ``exact`` and compare exactly.

    A forward part that is the extreme of its read over its sums gives the set of cells the
    exact ``Max``/``Min`` takes. A gradient part's :class:`~.algebra.Share` is instantiated as
    ``share_value(rule, window_symbols, position)``: the tie rule's case distinction over the
    window's cells in row-major order, at the cell's position among them. The sum of the terms
    must be the exact entry, the same SymPy expression term by term.
    """
    compiled_parts = [CompiledPart(part, formula.variables) for part in formula.parts]
    # each share's window and cell, compiled once over its part's scope
    windows = {
        id(compiled_part): [
            (
                CompiledPart(Part(S.One, (share.window,), share.limits), compiled_part.scope),
                [compiled(axis, compiled_part.scope) for axis in share.cell.index],
                share,
            )
            for share in compiled_part.part.shares
        ]
        for compiled_part in compiled_parts
    }
    for at in itertools.product(*(range(size) for size in exact.shape)):
        terms = []
        extremes = []
        for compiled_part in compiled_parts:
            part = compiled_part.part
            for values in compiled_part._points(at, 0):
                if not all(condition(*values) for condition in compiled_part.conditions):
                    continue
                cells = []
                for tensor, axes in compiled_part.reads:
                    index = tuple(_integer(axis(*values), tensor) for axis in axes)
                    _inside(arrays[tensor], index, tensor, formula.tensor, at)
                    cells.append(arrays[tensor][index])
                if part.extreme is not None:
                    extremes.append(cells[0])
                    continue
                factor = Rational(Fraction(compiled_part.coefficient(*values)))
                for window, cell, share in windows[id(compiled_part)]:
                    factor *= _share_at(share, window, cell, values, arrays, share_value)
                terms.append(scale * factor * Mul(*cells))
        expected = exact[at]
        if extremes or any(p.part.extreme for p in compiled_parts):
            taken = set(expected.args) if expected.args else {expected}
            same = taken == set(extremes) and len(extremes) == len(taken)
        else:
            same = Counter(Add.make_args(Add(*terms))) == Counter(Add.make_args(expected))
        if not same:
            got = extremes or Add(*terms)
            raise ValueError(
                f"the general formula of {formula.tensor} is wrong at {list(at)}:"
                f" expected {expected}, the formula gives {got}"
            )
    return int(np.prod(exact.shape))


def _inside(array: np.ndarray, index: tuple, tensor: str, name: str, at) -> None:
    if not all(0 <= i < size for i, size in zip(index, array.shape, strict=True)):
        raise NotTight(
            f"{name}{list(at)}: the term reading {tensor}{list(index)} is inside the bounds but"
            f" outside {tensor}'s shape {list(array.shape)}"
        )


def _share_at(share, window: CompiledPart, cell_axes, values, arrays, share_value):
    """The tie rule's share of the share's cell in its window, at these index values."""
    cells = []
    for _, found in window.terms(values):
        tensor, index = found[0]
        _inside(arrays[tensor], index, tensor, "a window", index)
        cells.append(index)
    cell = tuple(_integer(axis(*values), share.cell.tensor) for axis in cell_axes)
    if cell not in cells:
        raise NotTight(f"the cell {list(cell)} is not in its window {cells}")
    array = arrays[share.window.tensor]
    return share_value(share.rule, [array[index] for index in cells], cells.index(cell))
