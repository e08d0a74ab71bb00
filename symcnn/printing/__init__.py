"""Printers: derivations as lecture notes in text, LaTeX and Markdown (and PDF via pdflatex).

The pipeline: :func:`symcnn.printing.steps.build_steps` turns a derivation and its verified
identities into format-neutral steps; the printers (:mod:`.text`, :mod:`.latex`,
:mod:`.markdown`) write those steps; templates hold the document boilerplate. What is particular
to a layer kind (its title, its sentences, its steps, how its identities are shown) is the
kind's :class:`~symcnn.printing.kind.KindNotes`, in ``symcnn/layers/<kind>/notes.py``.
"""

from .notes import Notes, notes
from .steps import Options

__all__ = ["Notes", "Options", "notes"]
