"""How the generator reads and writes ReLU: one exact form, applied to every entry at once.

An elementwise layer has no taps. Its reading (:func:`read`) rewrites each derived entry over
placeholders that stand for "this entry of X" and "this entry of G" (``X``, ``G``); a symbol of
any other entry is refused, so the reading proves that the layer is elementwise. Recovering
finds the one form shared by every entry of each map (:func:`recover`), and the proof rebuilds
every entry from that form alone. The ``elementwise`` strategy prints the form once with the
NumPy printer, over whole arrays: ``np.maximum(x, 0)`` and ``np.where(x > 0, grad_out, 0)``.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
from sympy import Basic, Symbol, piecewise_fold

from ...codegen.bodies import KernelCode
from ...codegen.kinds import CatalogModule, KindCodegen, Legend, Strategy
from ...codegen.printer import INDENT, KernelPrinter
from ...codegen.structure import Reading, Structure
from ...codegen.terms import IndexMaps, StructureError
from ...tensors import Tensors, parse_symbol
from .spec import ReLU

#: The placeholders of a form: the entry's own input cell and its own upstream gradient.
PLACEHOLDERS = {"X": Symbol("X"), "G": Symbol("G")}
#: The kernel's array names for the placeholders.
ARRAYS = {"X": "x", "G": "grad_out"}


class Cell(NamedTuple):
    """One entry read as the form shared by every entry, and the entry it was read at."""

    index: tuple[int, ...]
    form: Basic


def _form(expr: Basic, index: tuple[int, ...]) -> Basic:
    """``expr`` over the placeholders; a StructureError for a symbol of another entry."""
    names = {}
    for symbol in expr.free_symbols:
        parsed = parse_symbol(symbol)
        if parsed is None or parsed[0] not in PLACEHOLDERS or parsed[1] != index:
            raise StructureError(
                f"entry {list(index)} reads {symbol}: the layer is not elementwise"
            )
        names[symbol] = PLACEHOLDERS[parsed[0]]
    return expr.xreplace(names)


def read(derivation) -> IndexMaps:
    """Every forward and gradient entry as its form over the placeholders."""

    def cells(array) -> dict[tuple[int, ...], Cell]:
        return {index: Cell(index, _form(expr, index)) for index, expr in np.ndenumerate(array)}

    return IndexMaps(
        forward=cells(derivation.output),
        grads={name: cells(grad) for name, grad in derivation.grads.items()},
    )


@dataclass(frozen=True)
class Forms:
    """The one form of each map: ``"O"`` the forward pass, ``"X"`` its gradient."""

    by_map: tuple[tuple[str, Basic], ...]

    def __getitem__(self, name: str) -> Basic:
        return dict(self.by_map)[name]

    def describe(self) -> list[str]:
        """Docstring lines: the form every entry has (X, G: the entry's own cells)."""
        lines = ["Every entry has one form, X and G its own input cell and dL/dO:", ""]
        for name, form in self.by_map:
            label = "O" if name == "O" else f"dL/d{name}"
            lines.append(f"    {label} = {form}")
        return lines


def recover(spec: ReLU, maps: IndexMaps) -> tuple[tuple, Forms]:
    """No taps; the rule is the one form of each map (a StructureError when entries differ)."""

    def only_form(what: str, cells: dict[tuple[int, ...], Cell]) -> Basic:
        forms = {cell.form for cell in cells.values()}
        if len(forms) != 1:
            raise StructureError(f"{what}: the entries have {len(forms)} forms, not one")
        return forms.pop()

    forms = [("O", only_form("the forward pass", maps.forward))]
    forms += [(name, only_form(f"dL/d{name}", cells)) for name, cells in maps.grads.items()]
    return (), Forms(tuple(forms))


def rebuild(spec: ReLU, taps: tuple, rule: Forms) -> IndexMaps:
    """Every entry of a layer of any shape from the forms alone."""
    indices = list(np.ndindex(spec.output_shape))
    maps = {name: {i: Cell(i, form) for i in indices} for name, form in rule.by_map}
    forward = maps.pop("O")
    return IndexMaps(forward=forward, grads=maps)


def entry(cell: Cell, tensors: Tensors) -> Basic:
    """A rebuilt cell as SymPy over the layer's own symbols."""
    return cell.form.xreplace(
        {PLACEHOLDERS["X"]: tensors.X[cell.index], PLACEHOLDERS["G"]: tensors.G[cell.index]}
    )


def reduce(spec: ReLU) -> ReLU:
    """Two entries along each axis after the batch show every pattern an elementwise layer has.

    With ``reduction="mean"`` the batch stays whole: the derived form holds ``1/N`` itself, so
    the module prints the scale the derivation has, not one put in by hand. With ``"sum"`` two
    samples show it all, so a batch of 10**9 costs what a batch of 2 does.
    """
    batch, *rest = spec.input_shape
    if spec.reduction == "sum":
        batch = min(batch, 2)  # no 1/N to keep: two samples show every pattern
    return dataclasses.replace(spec, input_shape=(batch, *(min(size, 2) for size in rest)))


class ElementwisePrinter(KernelPrinter):
    """The kernel printer with a two-argument ``Max`` as ``np.maximum`` over whole arrays."""

    def _print_Max(self, expr: Basic) -> str:
        if len(expr.args) != 2:
            return super()._print_Max(expr)
        numbers = [arg for arg in expr.args if arg.is_Number]
        others = [arg for arg in expr.args if not arg.is_Number]
        return f"np.maximum({', '.join(self._print(arg) for arg in others + numbers)})"


def _whole_arrays(form: Basic) -> Basic:
    """The form over the kernel's array names; a product with a Piecewise folded into it
    (``G*Piecewise((1, X > 0), (0, True))`` is ``Piecewise((G, X > 0), (0, True))``), so that
    it prints as one selection."""
    names = {PLACEHOLDERS[tensor]: Symbol(array) for tensor, array in ARRAYS.items()}
    return piecewise_fold(form).xreplace(names)


def elementwise(structure: Structure, printer: KernelPrinter) -> KernelCode:
    """``out[...] = <form of O>`` and ``grad_x[...] = <form of dL/dX>`` over whole arrays."""
    printer = ElementwisePrinter()
    rule: Forms = structure.rule
    forward = [f"{INDENT}out[...] = {printer.doprint(_whole_arrays(rule['O']))}"]
    backward = [f"{INDENT}grad_x[...] = {printer.doprint(_whole_arrays(rule['X']))}"]
    # A mean's 1/N is in the derived form, printed as a number: that module keeps its batch.
    return KernelCode(forward, backward, fixed_batch=structure.spec.reduction == "mean")


def legend(spec: ReLU) -> Legend:
    """How a ReLU module's docstring names its symbols."""
    return Legend("", "x_... input, g_... dL/dO (one index per axis)", "none")


ELEMENTWISE = Strategy(
    "elementwise", "one NumPy expression per pass, over whole arrays", lambda s: None
)

TABLE = {
    ReLU.type: KindCodegen(
        reading=Reading(reduce, read, recover, rebuild, entry),
        strategies={"elementwise": elementwise},
        template="pool.py.jinja",
        legend=legend,
        forward_arguments=("x",),
        backward_arguments=("x", "grad_out"),
        own_strategies=(ELEMENTWISE,),
    )
}

#: ReLU's module in the catalog of ``generated/``.
CATALOG = (
    CatalogModule(
        ReLU(input_shape=(64, 6, 24, 24)),
        "elementwise",
        ("float32", "float64"),
        why="the ReLU after LeNet-5's C1 at batch 64",
    ),
)
