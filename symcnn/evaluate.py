"""Evaluate exact expressions on exact numbers: the symbolic witness of every gradient.

:func:`evaluate` substitutes rationals for the symbols of an array of SymPy expressions and
returns the exact values. It walks each expression once with Python's ``fractions.Fraction``
(a table of node types, :data:`EVALUATORS`), so nothing is rebuilt through SymPy's constructors:
a ``Piecewise`` takes the first branch whose condition holds, ``Max``/``Min``, relationals and
``And``/``Or``/``Not`` evaluate as their Python counterparts. A node type outside the table falls
back to SymPy's ``xreplace``, which is exact too, only slower.

>>> from sympy import Max, Piecewise, symbols
>>> x, y, g = symbols("x y g")
>>> grad = np.array([g * Piecewise((1, x >= y), (0, True)), Max(x, y) / 3], dtype=object)
>>> evaluate(grad, {x: 2, y: 2, g: Rational(1, 2)})
array([1/2, 2/3], dtype=object)

:func:`bind` pairs an array of symbols with an array of numbers, e.g. a layer's input
``derivation.tensors.X`` with the values to feed the runtime.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from fractions import Fraction
from numbers import Rational as AnyRational
from typing import Any

import numpy as np
from sympy import (
    Add,
    And,
    Basic,
    Eq,
    Ge,
    Gt,
    Le,
    Lt,
    Max,
    Min,
    Mul,
    Ne,
    Not,
    Or,
    Piecewise,
    Pow,
    Rational,
    Symbol,
)
from sympy.logic.boolalg import BooleanFalse, BooleanTrue

Value = Fraction | bool
Values = Mapping[Symbol, Fraction | int]


def exact(value: Any, name: str = "value") -> Fraction:
    """``value`` as an exact ``Fraction``: ints, Fractions, SymPy rationals, finite floats.

    A float converts to the rational it stores exactly (``0.1`` is not 1/10).

    >>> exact(Rational(3, 4)), exact(0.5), exact(np.int64(2))
    (Fraction(3, 4), Fraction(1, 2), Fraction(2, 1))
    """
    if isinstance(value, bool):
        raise ValueError(f"{name}={value!r} is not valid: expected a number, not a bool")
    if isinstance(value, Rational):
        return Fraction(int(value.p), int(value.q))
    if isinstance(value, AnyRational):
        return Fraction(int(value.numerator), int(value.denominator))
    if isinstance(value, float | np.floating) and math.isfinite(value):
        return Fraction(float(value))
    raise ValueError(
        f"{name}={value!r} is not valid: expected an exact rational (int, fractions.Fraction,"
        " sympy.Rational) or a finite float"
    )


def bind(symbols: np.ndarray, numbers: Any) -> dict[Symbol, Fraction]:
    """Pair every symbol of an array with the number at the same index.

    >>> from symcnn.tensors import symbol_array
    >>> bind(symbol_array("x", (1, 2)), [[1, 2]])
    {x_0_0: Fraction(1, 1), x_0_1: Fraction(2, 1)}
    """
    values = np.asarray(numbers, dtype=object)
    if values.shape != symbols.shape:
        raise ValueError(
            f"the numbers have shape {values.shape}: expected {symbols.shape}, the symbols' shape"
        )
    return {s: exact(v, s.name) for s, v in zip(symbols.flat, values.flat, strict=True)}


def evaluate(exprs: Any, values: Mapping[Symbol, Any]) -> np.ndarray:
    """The exact value of every expression at the given symbol values.

    Parameters
    ----------
    exprs : numpy.ndarray or sequence of sympy.Basic
        Expressions, e.g. ``derivation.grads["X"]`` (an object array of any shape).
    values : mapping of sympy.Symbol to number
        A value for every free symbol: ints, ``fractions.Fraction``, SymPy rationals, or finite
        floats (taken as the exact rational they store).

    Returns
    -------
    numpy.ndarray
        An object array of the same shape holding SymPy ``Rational`` values (``Integer`` when
        whole), equal to what substituting and simplifying would give.

    Raises
    ------
    ValueError
        A value that is not an exact number, a symbol with no value (named), or an expression
        that has no finite value there (a division by zero, or a Piecewise without a branch).
    """
    array = np.asarray(exprs, dtype=object)
    bound = {symbol: exact(value, str(symbol)) for symbol, value in values.items()}
    out = np.empty(array.shape, dtype=object)
    for index, expr in np.ndenumerate(array):
        value = value_of(expr, bound)
        out[index] = Rational(value.numerator, value.denominator)
    return out


def value_of(expr: Basic, values: Values) -> Fraction | int:
    """The exact value of one expression; ``values`` holds Fractions or ints (faster)."""
    value = _value(expr, values)
    if isinstance(value, bool):
        raise ValueError(f"{expr} is a condition, not a number")
    return value


def _value(expr: Any, values: Values) -> Value:
    evaluator = EVALUATORS.get(type(expr))
    if evaluator is None:
        for cls in type(expr).__mro__[1:]:  # Integer, Half, One, ... are Rationals
            evaluator = EVALUATORS.get(cls)
            if evaluator is not None:
                break
        else:
            evaluator = _fallback
    return evaluator(expr, values)


def _symbol(expr: Symbol, values: Values) -> Fraction:
    try:
        return values[expr]
    except KeyError:
        raise ValueError(f"no value for the symbol {expr.name}") from None


def _number(expr: Rational, values: Values) -> Fraction:
    return Fraction(int(expr.p), int(expr.q))


def _add(expr: Add, values: Values) -> Fraction:
    return sum((_value(arg, values) for arg in expr.args), Fraction(0))


def _mul(expr: Mul, values: Values) -> Fraction:
    result = Fraction(1)
    for arg in expr.args:
        result *= _value(arg, values)
    return result


def _pow(expr: Pow, values: Values) -> Fraction:
    base, exponent = expr.args
    if not exponent.is_Integer:
        return _fallback(expr, values)
    base_value = Fraction(_value(base, values))  # an int base would give a float for 2**-1
    if base_value == 0 and exponent < 0:
        raise ValueError(f"{expr} divides by zero at these values")
    return base_value ** int(exponent)


def _piecewise(expr: Piecewise, values: Values) -> Fraction:
    for branch, condition in expr.args:
        if _value(condition, values):
            return _value(branch, values)
    raise ValueError(f"{expr} has no branch whose condition holds at these values")


def _all(args: Iterable[Basic], values: Values) -> bool:
    return all(_value(arg, values) for arg in args)


def _any(args: Iterable[Basic], values: Values) -> bool:
    return any(_value(arg, values) for arg in args)


def _comparison(compare: Callable[[Fraction, Fraction], bool]) -> Callable[..., bool]:
    def evaluate_relation(expr: Basic, values: Values) -> bool:
        return compare(_value(expr.lhs, values), _value(expr.rhs, values))

    return evaluate_relation


def _fallback(expr: Basic, values: Values) -> Value:
    """A node the table does not know: substitute through SymPy and read the number."""
    result = expr.xreplace({s: Rational(v.numerator, v.denominator) for s, v in values.items()})
    if result.is_Rational:
        return Fraction(int(result.p), int(result.q))
    if result in (True, False):
        return bool(result)
    missing = sorted(str(s) for s in result.free_symbols)
    if missing:
        raise ValueError(f"no value for the symbol {missing[0]}")
    raise ValueError(f"{expr} is not an exact rational at these values: {result}")


#: SymPy node type -> how to compute it exactly (subclasses find their nearest ancestor).
EVALUATORS: dict[type, Callable[[Any, Values], Value]] = {
    Symbol: _symbol,
    Rational: _number,
    Add: _add,
    Mul: _mul,
    Pow: _pow,
    Max: lambda expr, values: max(_value(arg, values) for arg in expr.args),
    Min: lambda expr, values: min(_value(arg, values) for arg in expr.args),
    Piecewise: _piecewise,
    And: lambda expr, values: _all(expr.args, values),
    Or: lambda expr, values: _any(expr.args, values),
    Not: lambda expr, values: not _value(expr.args[0], values),
    BooleanTrue: lambda expr, values: True,
    BooleanFalse: lambda expr, values: False,
    Eq: _comparison(lambda a, b: a == b),
    Ne: _comparison(lambda a, b: a != b),
    Gt: _comparison(lambda a, b: a > b),
    Ge: _comparison(lambda a, b: a >= b),
    Lt: _comparison(lambda a, b: a < b),
    Le: _comparison(lambda a, b: a <= b),
}
