"""How the notes print flatten: the standard steps, with its sentence."""

from __future__ import annotations

from ...printing.context import Context
from ...printing.kind import KindNotes
from ...printing.nodes import Whole
from ...printing.steps import chain_step, forward_step, local_step, results_step, setup_step
from .spec import Flatten


def _description(ctx: Context) -> tuple:
    return (
        "Flatten lays every sample of the input ",
        Whole("X"),
        " out as one row, in row-major order, giving the output ",
        Whole("O"),
        ". Each output entry is one input entry, so the gradient is dL/dO reshaped back (an"
        " unflatten).",
    )


TABLE = {
    Flatten.type: KindNotes(
        title="Backpropagation through flatten",
        description=_description,
        steps=(setup_step, forward_step, local_step, chain_step, results_step),
    )
}
