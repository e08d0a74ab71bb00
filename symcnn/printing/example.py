"""A gallery page: the layer, its title and the notation its notes are printed in.

Each kind lists its own pages (``GALLERY`` in ``symcnn/layers/<kind>/notes.py``);
:mod:`symcnn.printing.gallery` joins and renders them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..derive import derive
from ..spec import Layer
from .context import Options
from .notes import Notes, notes


@dataclass(frozen=True)
class Example:
    """One gallery page: a file name, a heading, the layer and the notation it is printed in."""

    slug: str
    title: str
    spec: Layer
    notation: dict[str, Any] = field(default_factory=dict)

    def notes(self, output_format: str | None = None) -> Notes:
        """The page's notes; for ``output_format``, with what that format shows by default
        (``"latex"``: a small layer in full, as ``symcnn derive --format latex`` prints it)."""
        printed = notes(derive(self.spec), **self.notation)
        if output_format is None:
            return printed
        options = Options.default_for(self.spec, output_format)
        return Notes(printed.derivation, printed.notation, options)
