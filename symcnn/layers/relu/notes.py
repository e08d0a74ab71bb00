"""How the notes print ReLU: the standard steps, with its sentence and its gradient's meaning.

ReLU has no window, no weights and no identities to verify: its notes are the setup, the
forward pass, the local derivatives (a step function), the chain rule and the result, every
value read from the derivation.
"""

from __future__ import annotations

from ...printing.context import Context
from ...printing.example import Example
from ...printing.kind import KindNotes
from ...printing.nodes import Whole
from ...printing.steps import chain_step, forward_step, local_step, results_step, setup_step
from .spec import ReLU


def _description(ctx: Context) -> tuple:
    return (
        "ReLU keeps each entry of the input ",
        Whole("X"),
        " that is positive and sets the others to 0, entry by entry; those form the output ",
        Whole("O"),
        ". Its derivative is 1 where the input is positive and 0 elsewhere, at 0 included"
        " (as PyTorch's), so the gradient passes exactly where the input was positive.",
    )


TABLE = {
    ReLU.type: KindNotes(
        title="Backpropagation through ReLU",
        description=_description,
        steps=(setup_step, forward_step, local_step, chain_step, results_step),
    )
}

#: ReLU's page in the gallery (``docs/gallery/``).
GALLERY = (
    Example(
        "relu-2x3",
        "ReLU on two samples of three features: the gradient passes where the input is positive",
        ReLU(input_shape=(2, 3)),
    ),
)
