"""What every strategy builds kernel bodies from: the result type and the shared statements.

A body is a list of source lines at function indentation; :class:`KernelCode` holds the two of a
module. The helpers here unpack tensors into named rows or scalars and assign printed entries,
breaking long statements the way ``ruff format`` does (through :mod:`symcnn.codegen.printer`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from sympy import Add

from .printer import INDENT, KernelPrinter, statement, unpack


@dataclass(frozen=True)
class KernelCode:
    """The printed bodies of ``forward`` and ``backward`` and what the header says about them."""

    forward: list[str]
    backward: list[str]
    notes: list[str] = field(default_factory=list)
    #: True when the bodies hold the derived batch size itself (a ``mean`` scale printed as a
    #: number), so that the module must refuse any other batch; the builders here read the
    #: batch at run time (``batch``, set by the template) instead.
    fixed_batch: bool = False
    #: Names the kind's own template reads besides the shared ones (a loss's target kind).
    context: dict[str, object] = field(default_factory=dict)


def split_lines(text: str) -> list[str]:
    """A printed (possibly wrapped) statement as its lines."""
    return text.split("\n")


def flatten(parts: list[str]) -> list[str]:
    """Statements, some spanning several lines, as one list of lines."""
    return [line for part in parts for line in part.split("\n")]


def _row_names(shape: tuple[int, ...], prefix: str) -> list[str]:
    """Variable names of the rows of a tensor (sample index dropped), in memory order."""
    return [prefix + "".join(f"_{i}" for i in index) for index in np.ndindex(shape[1:])]


def _scalar_names(shape: tuple[int, ...], prefix: str) -> list[str]:
    return [prefix + "".join(f"_{i}" for i in index) for index in np.ndindex(shape)]


def unpack_rows(name: str, shape: tuple[int, ...], prefix: str) -> str:
    """Unpack a batch tensor into one row per entry of a sample (``batch`` is read at run time).

    A module derived for a batch of one unpacks one sample into Python scalars (``tolist``):
    arithmetic on them costs a tenth of a NumPy call on a one-element array, which dominates a
    tiny layer; run on a larger batch, the same statements work on rows.
    """
    per_sample = math.prod(shape[1:])
    rows = f"{name}.reshape(batch, {per_sample}).T"
    if shape[0] == 1:
        scalars = f"{name}.reshape({per_sample}).tolist()"
        return unpack(INDENT, _row_names(shape, prefix), f"{scalars} if batch == 1 else {rows}")
    return unpack(INDENT, _row_names(shape, prefix), rows)


def unpack_scalars(name: str, shape: tuple[int, ...], prefix: str) -> str:
    """Unpack a parameter tensor into Python scalars (exact for rationals)."""
    return unpack(
        INDENT, _scalar_names(shape, prefix), f"{name}.reshape({math.prod(shape)}).tolist()"
    )


def entry_target(name: str, index: tuple[int, ...], batch_axis: bool) -> str:
    """``name[:, i, j, k]`` (every sample of one entry) or ``name[i, j, k]``."""
    return f"{name}[{', '.join([':'] * batch_axis + [str(i) for i in index])}]"


def assign_entries(
    printer: KernelPrinter, name: str, array: np.ndarray, *, rows: bool, grouped: bool = True
) -> list[str]:
    """One statement per entry: ``name[:, index] = expr`` (rows) or ``name[index] = expr``.

    ``grouped`` prints a sum with its terms grouped by coefficient (``(a + b) / 4``); otherwise
    term by term as derived (``a / 4 + b / 4``), which ``ruff format`` breaks like any sum.
    """
    lines = []
    for index, expr in np.ndenumerate(array):
        target = entry_target(name, index[1:] if rows else index, rows)
        if expr == 0:
            lines.append(f"{INDENT}{target} = 0")
        elif grouped:
            lines += split_lines(sum_statement(printer, target, expr))
        else:
            terms = [printer.doprint(term) for term in Add.make_args(expr)]
            lines += split_lines(statement(INDENT, target, "=", terms, " + "))
    return lines


def sum_statement(printer: KernelPrinter, target: str, expr, indent: str = INDENT) -> str:
    """``target = expr``, wrapped at its top-level ``+`` like ruff when it is too long."""
    text = printer.doprint(expr)
    operands = text.split(" + ") if " + " in text and "(" not in text else [text]
    return statement(indent, target, "=", operands, " + ")
