"""Output formats of ``symcnn derive``: format name -> function rendering a derivation.

Each renderer takes the derivation and the parsed command-line arguments (for the notation
options of the printers) and returns text, or bytes for binary formats.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable

from . import jsonio
from .derive import Derivation
from .notation import Notation
from .printing import Notes, Options

Renderer = Callable[[Derivation, argparse.Namespace], "str | bytes"]


def notes_for(derivation: Derivation, args: argparse.Namespace) -> Notes:
    """The notes of a derivation in the notation the command line asked for."""
    notation = Notation.from_letters(
        getattr(args, "letters", None) or "XWO",
        loss=getattr(args, "loss", None),
        zero_based=bool(getattr(args, "zero_based", False)),
    )
    if getattr(args, "all_entries", False):
        options = Options.everything()
    else:
        limit = getattr(args, "max_entries", None)
        options = Options() if limit is None else Options(max_entries=limit)
    return Notes(derivation, notation, options)


def _pdf(derivation: Derivation, args: argparse.Namespace) -> bytes:
    output = getattr(args, "output", None)
    if output is None or output == "-":
        raise ValueError("--format pdf writes a binary file: pass -o FILE.pdf")
    return notes_for(derivation, args).pdf()


FORMATS: dict[str, Renderer] = {
    "json": lambda derivation, args: jsonio.dumps(derivation),
    "text": lambda derivation, args: notes_for(derivation, args).text(),
    "latex": lambda derivation, args: notes_for(derivation, args).latex(),
    "markdown": lambda derivation, args: notes_for(derivation, args).markdown(),
    "pdf": _pdf,
}
