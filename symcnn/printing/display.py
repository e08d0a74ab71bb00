"""How a :class:`~symcnn.derive.Derivation` shows in Jupyter: a summary and its gradients.

The gradients are ``sympy.Matrix`` objects in the notes' letters (the first sample and channel
of each tensor), printed by the notes' LaTeX printer. ``symcnn`` registers :func:`markdown` with
IPython when it is imported inside a running IPython (the core does not import the printers);
``symcnn.notes(d)`` shows the whole derivation.

>>> import symcnn
>>> d = symcnn.derive(symcnn.Conv2d(input_shape=(3, 3), kernel=2))
>>> matrices(d)["B"]
Matrix([[g_0_0_0_0 + g_0_0_0_1 + g_0_0_1_0 + g_0_0_1_1]])
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sympy import Matrix

from ..derive import Derivation
from .notes import notes

#: A gradient with more entries than this is summarized by its shape, not printed.
MAX_SHOWN = 64


def _plane(array: np.ndarray) -> np.ndarray:
    """The first sample and channel of an NCHW array; a row for a vector; as is otherwise."""
    while array.ndim > 2:
        array = array[0]
    return array.reshape(1, -1) if array.ndim == 1 else array


def matrices(derivation: Derivation) -> dict[str, Matrix]:
    """Each gradient's first sample and channel as a ``sympy.Matrix`` (contract symbols)."""
    return {name: Matrix(_plane(array).tolist()) for name, array in derivation.grads.items()}


def markdown(derivation: Derivation, letters: str = "XWO") -> str:
    """The summary and every gradient small enough to read, as Markdown with display math."""
    printed = notes(derivation, letters=letters)
    printer = printed.latex_printer()
    notation = printed.notation
    lines = [f"**{repr(derivation)[1:-1]}**", ""]
    for name, matrix in matrices(derivation).items():
        letter, loss = notation.name(name), notation.loss
        left = rf"\frac{{\partial {loss}}}{{\partial {letter}}}"
        if len(matrix) > MAX_SHOWN:
            rows, columns = matrix.shape
            lines.append(f"- ∂{loss}/∂{letter}: {rows}×{columns}, too large to show here")
            continue
        lines.append(f"$${left} = {printer.doprint(matrix)}$$")
    if any(array.size > _plane(array).size for array in derivation.grads.values()):
        lines.append("")
        lines.append("(the first sample and channel; `symcnn.notes(d)` shows every step)")
    return "\n".join(lines) + "\n"


def register(ipython: Any) -> None:
    """Show derivations as :func:`markdown` in this IPython session."""
    formatter = ipython.display_formatter.formatters["text/markdown"]
    formatter.for_type(Derivation, markdown)
