"""The contract's JSON form of a derivation, and a fast exact printer for its strings.

Every string is an exact SymPy expression that ``sympy.sympify`` reads back into the same
expression. SymPy's own ``str`` sorts the terms of every sum again before printing, which costs
more than the derivation itself for a real layer, so sums of monomials (the whole of a
convolution) are printed here in their canonical order; anything else (``Max``, ``Piecewise``)
goes through SymPy's printer.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np
from sympy import Basic, Mul, Rational, Symbol, sstr

from . import indexform
from .derive import Derivation
from .indexform.derivation import as_sympy, available


def expression_text(expr: Basic) -> str:
    """An exact string for ``expr`` that ``sympy.sympify`` reads back to the same expression.

    >>> from sympy import symbols, Rational
    >>> g, x = symbols("g_0_0_0_0 x_0_0_0_0")
    >>> expression_text(Rational(1, 2) * g * x + x)
    'x_0_0_0_0 + g_0_0_0_0*x_0_0_0_0/2'
    """
    terms = expr.args if expr.is_Add else (expr,)
    parts = []
    for term in terms:
        text = _monomial_text(term)
        if text is None:
            return sstr(expr)
        parts.append(text)
    joined = " + ".join(parts)
    return joined.replace("+ -", "- ")


def _monomial_text(term: Basic) -> str | None:
    """``c*s1*s2`` as ``s1*s2/q`` or ``p*s1*s2/q``; None for anything else."""
    if type(term) is Symbol:
        return term.name
    if isinstance(term, Rational):
        return str(term)
    if type(term) is not Mul:
        return None
    coefficient, symbols = Rational(1), []
    for factor in term.args:
        if isinstance(factor, Rational):
            coefficient = factor
        elif type(factor) is Symbol:
            symbols.append(factor.name)
        else:
            return None
    body = "*".join(symbols)
    if coefficient.p == -1:
        body = "-" + body
    elif coefficient.p != 1:
        body = f"{coefficient.p}*{body}"
    return body if coefficient.q == 1 else f"{body}/{coefficient.q}"


def nested(array: np.ndarray) -> list:
    """An object array of expressions as nested lists of strings, shaped like the array."""
    texts = np.empty(array.shape, dtype=object)
    for index, expr in np.ndenumerate(array):
        texts[index] = expression_text(expr)
    return texts.tolist()


def to_dict(derivation: Derivation) -> dict[str, Any]:
    """The contract's JSON object: layer, output shape, forward entries and gradients.

    A layer whose kind has general formulas also carries ``general``: per gradient, the
    index-level formula (proven against every entry) and its free indices with their ranges;
    not above :data:`symcnn.indexform.derivation.PROVEN_UP_TO` multiply terms.
    """
    found = {
        "layer": derivation.spec.to_dict(),
        "output_shape": list(derivation.spec.output_shape),
        "forward": nested(derivation.output),
        "grads": {name: nested(grad) for name, grad in derivation.grads.items()},
    }
    if available(derivation.spec):
        found["general"] = general_dict(derivation)
    return found


def general_dict(derivation: Derivation) -> dict[str, Any]:
    """``{tensor: {"formula": str, "indices": [[name, low, high], ...]}}``, 0-based.

    Each formula is ``sympy.sympify``-readable: reads are undefined functions named by the
    tensor (``G(n, k, i, j)*X(n, c, 2*i + p - 1, ...)``, ``G`` for dL/dO), sums are ``Sum``
    (innermost limit first), conditions ``Piecewise`` (a divisibility ``Eq(Mod(e, S), 0)``);
    the free indices run over the given inclusive ranges.
    """
    found = indexform.general(derivation)
    return {
        name: {
            "formula": sstr(as_sympy(formula)),
            "indices": [[lim.var.name, int(lim.low), int(lim.high)] for lim in formula.free],
        }
        for name, formula in found.grads.items()
    }


def dumps(derivation: Derivation) -> str:
    """The derivation as a JSON document (compact: a real layer has many long strings)."""
    return json.dumps(to_dict(derivation), separators=(",", ":")) + "\n"
