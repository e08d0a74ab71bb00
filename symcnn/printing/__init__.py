"""Printers: derivations as lecture notes in text, LaTeX and Markdown (and PDF via pdflatex).

The pipeline: :func:`symcnn.printing.steps.build_steps` turns a derivation and its verified
identities into format-neutral steps; the printers (:mod:`.text`, :mod:`.latex`,
:mod:`.markdown`) write those steps; templates hold the document boilerplate.
"""

from .notes import Notes, notes
from .steps import Options

__all__ = ["Notes", "Options", "notes"]
