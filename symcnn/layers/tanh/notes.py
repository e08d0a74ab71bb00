"""How the notes print tanh: the standard steps, with its sentence.

Tanh has no window, no weights and no identities to verify: its notes are the setup, the
forward pass, the local derivatives (``1 - tanh**2``), the chain rule and the result.
"""

from __future__ import annotations

from ...printing.context import Context
from ...printing.kind import KindNotes
from ...printing.nodes import Whole
from ...printing.steps import chain_step, forward_step, local_step, results_step, setup_step
from .spec import Tanh


def _description(ctx: Context) -> tuple:
    return (
        "Tanh maps each entry of the input ",
        Whole("X"),
        " to its hyperbolic tangent, entry by entry; those form the output ",
        Whole("O"),
        ". Its derivative is 1 - tanh(x)^2, so the gradient is the upstream gradient times"
        " 1 - tanh(x)^2.",
    )


TABLE = {
    Tanh.type: KindNotes(
        title="Backpropagation through tanh",
        description=_description,
        steps=(setup_step, forward_step, local_step, chain_step, results_step),
    )
}
