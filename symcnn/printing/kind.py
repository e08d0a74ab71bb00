"""What a layer kind gives the printer: :class:`KindNotes`, one per layer type.

Each kind's folder fills these in, in ``symcnn/layers/<kind>/notes.py``, as ``TABLE = {type:
KindNotes(...)}``; the printer finds a layer's entry with :func:`kind_notes` and asks no other
question about the layer. The steps are the kind's own: a kind composes the shared builders of
:mod:`.steps` (``STANDARD_STEPS``) with its own, so a layer whose notes read differently (an
elementwise activation with no window, say) brings its own step builders and nothing here
changes.

>>> from symcnn import Conv2d
>>> kind_notes(Conv2d(input_shape=(1, 1, 3, 3), kernel=(2, 2))).title
'Backpropagation through a 2-D convolution'
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from sympy import Basic, Symbol

from .. import layers

if TYPE_CHECKING:
    from ..derive import Derivation
    from ..identities import Identity
    from ..spec import Layer
    from .context import Context
    from .model import Step

#: A builder of prose: the parts of a paragraph (strings and nodes) for this layer.
Prose = Callable[["Context"], Iterable]


def no_prose(ctx: Context) -> tuple:
    """Nothing to add (the default of every optional piece of prose)."""
    return ()


@dataclass(frozen=True)
class KindNotes:
    """How one layer type's lecture notes read.

    Attributes
    ----------
    title : str
        The notes' title (``Backpropagation through max pooling``).
    description : callable
        ``description(ctx)``: the parts of the opening sentence, saying what the layer computes.
    steps : tuple of callable
        ``step(ctx) -> Step`` for each step of the notes, in order (the setup and the operator
        identities among them, when the kind has them).
    shapes : callable
        The parts naming the shapes of the layer's own tensors (the kernel and bias of a
        convolution), each beginning with ``", "``; nothing by default.
    options : callable
        The parts naming the kind's own options after stride, padding and dilation (groups,
        the tie rule), each beginning with ``", "``; nothing by default.
    pads_input : bool
        The setup shows the zero-padded input: padded cells take part in the forward pass
        (a convolution's do; a pool's never win or count as data).
    example : callable, optional
        ``example(derivation)``: input values for a worked example (the extreme pools' tie),
        read by :attr:`symcnn.printing.notes.Notes.example` and the steps; None for no example.
    identities : mapping
        Identity key (as in :data:`symcnn.identities.IDENTITIES`) -> ``view(ctx, identity)``
        yielding the blocks that show it on this layer's matrices. A verified identity without
        a view is still listed, with its statement and verdict.
    """

    title: str
    description: Prose
    steps: tuple[Callable[[Context], Step], ...]
    shapes: Prose = no_prose
    options: Prose = no_prose
    pads_input: bool = False
    example: Callable[[Derivation], dict[Symbol, Basic]] | None = None
    identities: Mapping[str, Callable[[Context, Identity], Iterable]] = field(default_factory=dict)


def kind_notes(spec: Layer) -> KindNotes:
    """The printed notes of ``spec``'s layer type (ValueError when its kind has none)."""
    return layers.entry("notes", spec.type, "printed notes")
