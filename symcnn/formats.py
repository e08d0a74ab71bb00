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
    return Notes(derivation, _notation(args), _options(args))


def check_arguments(args: argparse.Namespace) -> None:
    """Refuse the format's own options before the derivation runs, not after it."""
    if args.format == "json":
        return
    _notation(args)
    _options(args)
    if args.format == "pdf":
        _pdf_target(args)
    if args.format == "png":
        _png_target(args)


def _png_target(args: argparse.Namespace) -> None:
    output = getattr(args, "output", None)
    if output is None or output == "-":
        raise ValueError("--format png writes a binary file: pass -o FILE.png")


def _notation(args: argparse.Namespace) -> Notation:
    return Notation.from_letters(
        getattr(args, "letters", None) or "XWO",
        loss=getattr(args, "loss", None),
        zero_based=bool(getattr(args, "zero_based", False)),
    )


def _options(args: argparse.Namespace) -> Options:
    if getattr(args, "all_entries", False):
        return Options.everything()
    limit = getattr(args, "max_entries", None)
    return Options() if limit is None else Options(max_entries=limit)


def _pdf_target(args: argparse.Namespace) -> None:
    output = getattr(args, "output", None)
    if output is None or output == "-":
        raise ValueError("--format pdf writes a binary file: pass -o FILE.pdf")


def _pdf(derivation: Derivation, args: argparse.Namespace) -> bytes:
    _pdf_target(args)
    return notes_for(derivation, args).pdf()


def _figure(format: str) -> Renderer:
    """A figure of the derivation (``symcnn.printing.figure``); PNG is binary, so it needs -o."""

    def render(derivation: Derivation, args: argparse.Namespace) -> str | bytes:
        from .printing import figure

        if format == "png":
            _png_target(args)
        return figure.render(derivation, format)

    return render


FORMATS: dict[str, Renderer] = {
    "json": lambda derivation, args: jsonio.dumps(derivation),
    "text": lambda derivation, args: notes_for(derivation, args).text(),
    "latex": lambda derivation, args: notes_for(derivation, args).latex(),
    "markdown": lambda derivation, args: notes_for(derivation, args).markdown(),
    "pdf": _pdf,
    "png": _figure("png"),
    "svg": _figure("svg"),
}
