"""How the generator reads and writes flatten: a row-major reshape, proven entry by entry.

Flatten has no taps: each output entry is one input entry. Its reading is the polynomial one
(every entry one term); :func:`reshape_maps` builds every term of a flatten of any shape from
the row-major order alone (output ``(n, j)`` copies input ``(n, *unravel(j))``, and dL/dX at
that cell is dL/dO at ``(n, j)`` times dL/dO's scale), and the proof of
:mod:`symcnn.codegen.structure` compares the two. The ``reshape`` strategy writes each pass as
NumPy's (row-major, C-order) ``reshape``, which is that order.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from fractions import Fraction

import numpy as np

from ...codegen.bodies import KernelCode
from ...codegen.kinds import CatalogModule, KindCodegen, Legend, Strategy
from ...codegen.printer import INDENT, KernelPrinter
from ...codegen.structure import Reading, Structure
from ...codegen.terms import ONE, IndexMaps, Term, empty_maps, expression, sort_entries
from .spec import Flatten


@dataclass(frozen=True)
class Order:
    """Flatten's rule: the entries keep their row-major (C) order."""

    def describe(self) -> list[str]:
        """Docstring lines: the order every entry was rebuilt from (G is dL/dO)."""
        return [
            "Every entry is placed in row-major (C) order (s: 1, or 1/N for reduction mean):",
            "",
            "    O[n, j] = X[n, unravel(j)]",
            "    dL/dX[n, unravel(j)] = s G[n, j]",
        ]


def reduce(spec: Flatten) -> Flatten:
    """At most 2 samples and 2 entries along every other axis: each axis's place in the order
    is visible (a column-major order differs already at 2 x 2)."""
    return dataclasses.replace(spec, input_shape=tuple(min(size, 2) for size in spec.input_shape))


def read(derivation) -> IndexMaps:
    """Every derived entry as its terms (one each)."""
    return sort_entries(IndexMaps.of(derivation))


def recover(spec: Flatten, maps: IndexMaps) -> tuple[tuple, Order]:
    """No taps; the rule is the row-major order, which the proof holds against every entry."""
    return (), Order()


def reshape_maps(spec: Flatten, taps: tuple = (), rule: Order | None = None) -> IndexMaps:
    """Every term of ``spec`` from the row-major order alone."""
    scale = Fraction(1, spec.batch) if spec.reduction == "mean" else ONE
    maps = empty_maps(spec, {"X": spec.input_shape})
    rest = spec.input_shape[1:]
    for n, j in np.ndindex(spec.output_shape):
        cell = (n, *(int(i) for i in np.unravel_index(j, rest)))
        maps.forward[(n, j)].append(Term(ONE, (("X", cell),)))
        maps.grads["X"][cell].append(Term(scale, (("G", (n, j)),)))
    return maps


def reshape(structure: Structure, printer: KernelPrinter) -> KernelCode:
    """``out = x.reshape(...)`` and ``grad_x = grad_out.reshape(...)``, both row-major."""
    backward = [f"{INDENT}grad_x[...] = grad_out.reshape(grad_x.shape)"]
    if structure.spec.reduction == "mean":
        backward = [
            f"{INDENT}grad_out = grad_out / batch  # dL/dO = G / N",
            *backward,
        ]
    return KernelCode([f"{INDENT}out[...] = x.reshape(out.shape)"], backward)


def legend(spec: Flatten) -> Legend:
    """How a flatten module's docstring names its symbols."""
    return Legend("", "x_... input, g_n_j dL/dO", "none")


RESHAPE = Strategy("reshape", "NumPy's row-major reshape, each way", lambda s: None)

TABLE = {
    Flatten.type: KindCodegen(
        reading=Reading(reduce, read, recover, reshape_maps, expression),
        strategies={"reshape": reshape},
        template="pool.py.jinja",
        legend=legend,
        forward_arguments=("x",),
        backward_arguments=("x", "grad_out"),
        own_strategies=(RESHAPE,),
    )
}

#: flatten's modules in the catalog of ``generated/``.
CATALOG = (
    CatalogModule(
        Flatten(input_shape=(64, 16, 4, 4)),
        "reshape",
        ("float32", "float64"),
        why="LeNet-5's S4 output on 28x28 digits, flattened for F5, at batch 64",
    ),
)
