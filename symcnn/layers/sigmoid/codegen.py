"""How the generator reads and writes sigmoid: ReLU's elementwise reading, a smooth printer.

The reading is ReLU's (:mod:`symcnn.layers.relu.codegen`): every derived entry is rewritten
over the placeholders of its own cells, which proves the layer elementwise, and the one form
of each map is printed once over whole arrays. :class:`SmoothPrinter` adds what a smooth
activation's form needs: ``np.exp``, ``np.tanh`` and a reciprocal as a division.
"""

from __future__ import annotations

from sympy import Basic

from ...codegen.bodies import KernelCode
from ...codegen.kinds import KindCodegen, Legend
from ...codegen.printer import INDENT, KernelPrinter
from ...codegen.structure import Reading, Structure
from ..relu.codegen import (
    ELEMENTWISE,
    ElementwisePrinter,
    _whole_arrays,
    entry,
    read,
    rebuild,
    recover,
    reduce,
)
from .spec import Sigmoid


class SmoothPrinter(ElementwisePrinter):
    """The elementwise printer with NumPy's ``exp`` and ``tanh`` and ``1 / d`` for ``d**-1``."""

    def _print_exp(self, expr: Basic) -> str:
        return f"np.exp({self._print(expr.args[0])})"

    def _print_tanh(self, expr: Basic) -> str:
        return f"np.tanh({self._print(expr.args[0])})"

    def _print_Pow(self, expr: Basic, rational: bool = False) -> str:
        if expr.exp == -1:
            return f"1 / ({self._print(expr.base)})"
        return f"({self._print(expr.base)})**{self._print(expr.exp)}"


def smooth(structure: Structure, printer: KernelPrinter) -> KernelCode:
    """``out[...] = <form of O>`` and ``grad_x[...] = <form of dL/dX>`` over whole arrays."""
    printer = SmoothPrinter()
    forward = [f"{INDENT}out[...] = {printer.doprint(_whole_arrays(structure.rule['O']))}"]
    backward = [f"{INDENT}grad_x[...] = {printer.doprint(_whole_arrays(structure.rule['X']))}"]
    return KernelCode(forward, backward)


def legend(spec) -> Legend:
    """How an elementwise module's docstring names its symbols."""
    return Legend("", "x_... input, g_... dL/dO (one index per axis)", "none")


def kind_codegen() -> KindCodegen:
    """The generator's entry of a smooth elementwise activation (sigmoid, tanh)."""
    return KindCodegen(
        reading=Reading(reduce, read, recover, rebuild, entry),
        strategies={"elementwise": smooth},
        template="pool.py.jinja",
        legend=legend,
        forward_arguments=("x",),
        backward_arguments=("x", "grad_out"),
        own_strategies=(ELEMENTWISE,),
    )


TABLE = {Sigmoid.type: kind_codegen()}
