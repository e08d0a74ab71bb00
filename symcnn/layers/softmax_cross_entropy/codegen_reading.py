"""How the generator reads a loss (softmax cross-entropy, mean squared error): forms per cell
and per row, and the count its mean divides by.

A loss is one entry, L, a mean: ``L = (1/M) * sum(...)``, with M the batch (cross-entropy) or
the number of entries (MSE, as ``nn.MSELoss()``); its gradient entries carry the same 1/M. The
reading multiplies each derived expression by M (the kind's :attr:`LossReading.count`, the
hypothesis the proof then holds) and rewrites it over placeholders: ``X`` and ``T`` the
entry's own input and target cells, ``G`` the upstream dL/dL, and a kind's row placeholders
(cross-entropy's ``S``, the row's ``sum_c exp(X[n, c])``). The forward sum is cut into its
terms, each homed at the one cell it reads (``-T*X``) or the one row (``log(S)``). A symbol
that no placeholder names is refused, so the reading proves the loss is a mean of the same
cell and row forms, and that each gradient entry is one form over its own cell and row.
Rebuilding puts the forms at every cell and row of any shape; the proof of
:mod:`symcnn.codegen.structure` compares the two readings. The inverse substitution of a form
gives back the derived expression exactly, so equal readings are equal expressions.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np
from sympy import Add, Basic, Integer, Symbol, factor_terms, simplify

from ...codegen.bodies import KernelCode
from ...codegen.printer import INDENT
from ...codegen.terms import IndexMaps, StructureError
from ...spec import Layer
from ...tensors import Tensors, parse_symbol
from ..sigmoid.codegen import SmoothPrinter

Index = tuple[int, ...]

#: The placeholders of the cell an entry belongs to, and of the upstream gradient dL/dL.
CELL = {"X": Symbol("X"), "T": Symbol("T")}
G = Symbol("G")


@dataclass(frozen=True)
class LossReading:
    """What a loss kind tells the reading.

    ``count(spec)`` is the M its mean divides by and ``count_name`` its name in messages and
    in the module (``"batch"``, ``"x.size"``); ``rows(tensors, n)`` maps each row-level
    subexpression of sample ``n`` to its placeholder (empty when the loss has none).
    """

    count: Callable[[Layer], int]
    count_name: str
    rows: Callable[[Tensors, int], dict[Basic, Symbol]]


class LossForward(NamedTuple):
    """The loss read back: the forms homed at each row and at each cell (M times L)."""

    rows: tuple[tuple[int, Basic], ...]
    cells: tuple[tuple[Index, Basic], ...]


@dataclass(frozen=True)
class Forms:
    """The loss's rule: its row form, its cell form, its gradient form and its count."""

    row: Basic
    cell: Basic
    gradient: Basic
    count_name: str

    def describe(self) -> list[str]:
        """Docstring lines: the forms (X, T the cell's own input and target, G dL/dL)."""
        parts = [f"sum over rows of {self.row}"] if self.row != 0 else []
        parts += [f"sum over cells of {self.cell}"] if self.cell != 0 else []
        return [
            f"The loss is a mean over M = {self.count_name} (read at run time), T the target:",
            "",
            f"    L = ({' + '.join(parts)}) / M",
            f"    dL/dX = ({self.gradient}) / M",
        ]


def _placeholders(tensors: Tensors, index: Index, rows: dict[Basic, Symbol]) -> dict:
    names: dict[Basic, Basic] = dict(rows)
    names[tensors.X[index]] = CELL["X"]
    names[tensors.T[index]] = CELL["T"]
    names[tensors.G[0]] = G
    return names


def _form(expr: Basic, names: dict, where: str) -> Basic:
    """``expr`` over the placeholders; a StructureError for any symbol they do not name."""
    form = expr.xreplace(names)
    stray = sorted(str(s) for s in form.free_symbols if parse_symbol(s) is not None)
    if stray:
        raise StructureError(f"{where} reads {stray[0]}: it is not one form over its own cell")
    return form


def _cells_of(term: Basic) -> set[Index]:
    found = set()
    for symbol in term.free_symbols:
        parsed = parse_symbol(symbol)
        if parsed is not None and parsed[0] in ("X", "T"):
            found.add(parsed[1])
    return found


def make_reading(kind: LossReading):
    """The ``reduce``, ``read``, ``recover``, ``rebuild`` and ``entry`` of a loss kind."""

    def read(derivation) -> IndexMaps:
        spec, tensors = derivation.spec, derivation.tensors
        count = Integer(kind.count(spec))
        row_names = {n: kind.rows(tensors, n) for n in range(spec.batch)}
        rows: dict[int, list[Basic]] = {n: [] for n in range(spec.batch)}
        cells: dict[Index, list[Basic]] = {i: [] for i in np.ndindex(spec.input_shape)}
        for term in Add.make_args(count * derivation.output[0]):
            homes = _cells_of(term)
            samples = {index[0] for index in homes}
            if len(samples) != 1:
                raise StructureError(f"the loss term {term} does not read one sample")
            (n,) = samples
            if len(homes) == 1:
                (index,) = homes
                names = _placeholders(tensors, index, row_names[n])
                cells[index].append(_form(term, names, f"the loss term {term}"))
            else:
                rows[n].append(_form(term, dict(row_names[n]), f"the loss term {term}"))
        forward = LossForward(
            tuple((n, Add(*forms)) for n, forms in rows.items()),
            tuple((index, Add(*forms)) for index, forms in cells.items()),
        )
        grads = {}
        for index, expr in np.ndenumerate(derivation.grads["X"]):
            names = _placeholders(tensors, index, row_names[index[0]])
            grads[index] = _form(count * expr, names, f"dL/dX at {list(index)}")
        return IndexMaps(forward={(0,): forward}, grads={"X": grads})

    def recover(spec, maps: IndexMaps) -> tuple[tuple, Forms]:
        forward: LossForward = maps.forward[(0,)]
        row = _one("the loss's row terms", {form for _, form in forward.rows})
        cell = _one("the loss's cell terms", {form for _, form in forward.cells})
        gradient = _one("dL/dX", set(maps.grads["X"].values()))
        return (), Forms(row, cell, gradient, kind.count_name)

    def rebuild(spec, taps: tuple, rule: Forms) -> IndexMaps:
        forward = LossForward(
            tuple((n, rule.row) for n in range(spec.batch)),
            tuple((index, rule.cell) for index in np.ndindex(spec.input_shape)),
        )
        grads = {index: rule.gradient for index in np.ndindex(spec.input_shape)}
        return IndexMaps(forward={(0,): forward}, grads={"X": grads})

    return read, recover, rebuild


def _one(what: str, forms: set[Basic]) -> Basic:
    if len(forms) != 1:
        raise StructureError(f"{what}: the entries have {len(forms)} forms, not one")
    return forms.pop()


def batch_cut(spec: Layer) -> Layer:
    """The loss at 2 samples (at most): sample and cell indices are visible, and the count
    the mean divides by is read from the spec at any size."""
    return dataclasses.replace(spec, input_shape=(min(spec.batch, 2), *spec.input_shape[1:]))


def no_entry(reading: Any, tensors: Tensors) -> Basic:
    """A loss prints no unrolled code: its readings are forms, not entries."""
    raise StructureError("a loss has no unrolled entries")


# -- the kernels: the forms over whole arrays ------------------------------------------------------


class LossPrinter(SmoothPrinter):
    """The smooth printer with NumPy's ``log`` and ruff's spacing of a power of a sum."""

    def _print_log(self, expr: Basic) -> str:
        return f"np.log({self._print(expr.args[0])})"

    def _print_Pow(self, expr: Basic, rational: bool = False) -> str:
        if expr.exp.is_Integer and expr.exp > 1:
            return f"({self._print(expr.base)}) ** {self._print(expr.exp)}"
        return super()._print_Pow(expr, rational)


@dataclass(frozen=True)
class LossKernel:
    """How a loss kind's forms become statements: the arrays its placeholders are, and the
    statements that make them (cross-entropy's one-hot target and shifted row sums).

    ``rewrite`` turns a form into the form the kernel evaluates (cross-entropy's shift by the
    row maximum), and must prove the two equal: it returns the rewritten form.
    """

    arrays: dict[Symbol, str]
    #: True when ``target`` holds class indices (whose one-hot rows are T), else values.
    indices: bool = False
    setup: tuple[str, ...] = ()
    rewrite: Callable[[Basic], Basic] = lambda form: form
    #: What the header says about the rewrite (its lines; none without one).
    notes: tuple[str, ...] = ()


def loss_builder(kernel: LossKernel):
    """The ``elementwise`` builder of a loss: ``out[0] = sum(forms) / M``, ``grad_x = form / M``."""

    def build(structure, printer) -> KernelCode:
        printer = LossPrinter()
        rule: Forms = structure.rule

        def printed(form: Basic) -> str:
            rewritten = kernel.rewrite(form)
            grouped = factor_terms(rewritten)  # G*(a - b) rather than G*a - G*b: one pass
            if simplify(grouped - rewritten) != 0:
                raise StructureError(f"{grouped} is not {rewritten}")
            names = {symbol: Symbol(name) for symbol, name in kernel.arrays.items()}
            return printer.doprint(grouped.xreplace(names))

        setup = [f"{INDENT}{line}" for line in kernel.setup]
        parts = [f"np.sum({printed(form)})" for form in (rule.row, rule.cell) if form != 0]
        total = " + ".join(parts) if len(parts) == 1 else f"({' + '.join(parts)})"
        forward = [*setup, f"{INDENT}out[0] = {total} / {rule.count_name}"]
        gradient = f"{INDENT}grad_x[...] = {printed(rule.gradient)} / {rule.count_name}"
        return KernelCode(
            forward, [*setup, gradient], list(kernel.notes), context={"indices": kernel.indices}
        )

    return build
