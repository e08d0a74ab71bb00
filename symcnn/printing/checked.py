"""Displayed equations that are evaluated before they are printed.

Every ``=`` of an operator chain the notes print (``∂L/∂X = crop(full conv(...)) = ... = M``)
is a claim about this layer. :func:`checked` takes each side with its value (an array built by
the core's operators, or a scalar), compares the shapes and every entry exactly, and only then
returns the :class:`Equation`, marked ``checked``. A side that differs raises
:class:`FalseStatement`: a false statement is a bug in the notes, never a page.
"""

from __future__ import annotations

import itertools

import numpy as np
from sympy import Basic, S, expand

from .model import Equation


class FalseStatement(AssertionError):
    """A displayed equation whose sides differ for this layer (a bug in the notes)."""


def _as_array(value) -> np.ndarray:
    if isinstance(value, np.ndarray):
        return value if value.ndim >= 1 else value.reshape(1)
    return np.array([value], dtype=object)


def same_value(left, right) -> bool:
    """Whether two values (arrays of SymPy expressions, or expressions) are exactly equal."""
    a, b = _as_array(left), _as_array(right)
    if a.shape != b.shape:
        return False
    for x, y in zip(a.flat, b.flat, strict=True):
        x, y = S(x), S(y)
        if x != y and expand(x - y) != 0:
            return False
    return True


def checked(*sides: tuple[Basic, object], group=None) -> Equation:
    """``sides[0] = sides[1] = ...``, each ``(node, value)``, proven equal before it is built.

    Raises
    ------
    FalseStatement
        When two neighbouring sides differ in shape or in any entry.
    """
    if len(sides) < 2:
        raise ValueError(f"an equation needs two sides or more, got {len(sides)}")
    for (left_node, left), (right_node, right) in itertools.pairwise(sides):
        if not same_value(left, right):
            shapes = (_as_array(left).shape, _as_array(right).shape)
            raise FalseStatement(
                f"the notes would print {left_node} = {right_node}, which does not hold"
                f" (shapes {shapes[0]} and {shapes[1]})"
            )
    return Equation(tuple(node for node, _ in sides), group=group, checked=True)
