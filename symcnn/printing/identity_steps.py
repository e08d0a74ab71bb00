"""The operator identities, shown on this layer's own matrices.

Each identity the core verified (:func:`symcnn.identities.verify`) is shown three ways: its name,
its operator form on whole tensors, and the same form with this layer's matrices put in, every
intermediate (the 180-degree rotation, the dilation by the stride, the zero padding, the
cropping) built by the core's own operators from the derivation's tensors. The last matrix of
each chain is the derived gradient itself, and the verdict is the core's.

The views are the layer kind's (``KindNotes.identities``, keyed like
:data:`symcnn.identities.IDENTITIES`, in ``symcnn/layers/<kind>/notes.py``); an identity
without a view is still listed, with its statement and verdict.
"""

from __future__ import annotations

from ..identities import Identity
from .context import Context
from .kind import kind_notes
from .model import Heading, Paragraph
from .nodes import Verdict


def identity_blocks(ctx: Context, identity: Identity) -> list:
    """The heading, forms and verdict of one verified identity."""
    view = kind_notes(ctx.spec).identities.get(identity.key)
    if view is None:
        return [
            Heading((identity.key.replace("_", " "),)),
            Paragraph((identity.statement + ".",)),
            verdict(identity),
        ]
    return list(view(ctx, identity))


def verdict(identity: Identity) -> Paragraph:
    """The core's verdict on an identity, as the closing line of its view."""
    if identity.holds:
        words = " Verified for this layer: every entry of the operator form equals the derived"
        return Paragraph((Verdict(True), words + " gradient."))
    return Paragraph(
        (Verdict(False), " Not verified: the operator form differs from the gradient.")
    )
