"""How the notes print linear: the standard steps, with its sentence (no identities stated)."""

from __future__ import annotations

from ...printing.context import Context
from ...printing.kind import KindNotes
from ...printing.nodes import Whole
from ...printing.steps import chain_step, forward_step, local_step, results_step, setup_step
from .spec import Linear


def _description(ctx: Context) -> tuple:
    return (
        "A linear layer multiplies each sample of the input ",
        Whole("X"),
        " by the transposed weight ",
        Whole("W"),
        " and adds the bias, giving the output ",
        Whole("O"),
        " = X W^T + B. Its gradients are dL/dX = dL/dO W, dL/dW = (dL/dO)^T X and dL/dB the"
        " sum of dL/dO over the batch.",
    )


TABLE = {
    Linear.type: KindNotes(
        title="Backpropagation through a linear layer",
        description=_description,
        steps=(setup_step, forward_step, local_step, chain_step, results_step),
    )
}
