"""How the notes print the mean squared error: the standard steps, with its sentence."""

from __future__ import annotations

from ...printing.context import Context
from ...printing.kind import KindNotes
from ...printing.nodes import Whole
from ...printing.steps import chain_step, forward_step, local_step, results_step, setup_step
from .spec import MSE


def _description(ctx: Context) -> tuple:
    return (
        "The mean squared error compares the predictions ",
        Whole("X"),
        " with the target T entry by entry and averages the squared differences over all M"
        " entries (nn.MSELoss()); the output O is the loss. Its gradient is 2 (X - T) / M.",
    )


TABLE = {
    MSE.type: KindNotes(
        title="Backpropagation through the mean squared error",
        description=_description,
        steps=(setup_step, forward_step, local_step, chain_step, results_step),
    )
}
