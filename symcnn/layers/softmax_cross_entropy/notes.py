"""How the notes print softmax cross-entropy: the standard steps, with its sentence."""

from __future__ import annotations

from ...printing.context import Context
from ...printing.kind import KindNotes
from ...printing.nodes import Whole
from ...printing.steps import chain_step, forward_step, local_step, results_step, setup_step
from .spec import SoftmaxCrossEntropy


def _description(ctx: Context) -> tuple:
    return (
        "Softmax cross-entropy turns each row of the logits ",
        Whole("X"),
        " into probabilities (the softmax) and scores the one-hot target T against them,"
        " averaged over the batch (PyTorch's default); the output O is the loss. Its gradient"
        " is (softmax(X) - T) / N.",
    )


TABLE = {
    SoftmaxCrossEntropy.type: KindNotes(
        title="Backpropagation through softmax cross-entropy",
        description=_description,
        steps=(setup_step, forward_step, local_step, chain_step, results_step),
    )
}
