"""How the notes print sigmoid: the standard steps, with its sentence.

Sigmoid has no window, no weights and no identities to verify: its notes are the setup, the
forward pass, the local derivatives (``s (1 - s)``), the chain rule and the result.
"""

from __future__ import annotations

from ...printing.context import Context
from ...printing.kind import KindNotes
from ...printing.nodes import Whole
from ...printing.steps import chain_step, forward_step, local_step, results_step, setup_step
from .spec import Sigmoid


def _description(ctx: Context) -> tuple:
    return (
        "The sigmoid maps each entry of the input ",
        Whole("X"),
        " to 1 / (1 + exp(-x)), entry by entry; those form the output ",
        Whole("O"),
        ". Its derivative is s (1 - s) for the output s, so the gradient is the upstream"
        " gradient times s (1 - s).",
    )


TABLE = {
    Sigmoid.type: KindNotes(
        title="Backpropagation through a sigmoid",
        description=_description,
        steps=(setup_step, forward_step, local_step, chain_step, results_step),
    )
}
