"""Output formats of ``symcnn derive``: format name -> function rendering a derivation.

Each renderer takes the derivation and the parsed command-line arguments (for the notation
options of the printers) and returns text, or bytes for binary formats.
"""

from __future__ import annotations

import argparse
import importlib.util
import re
from collections.abc import Callable
from pathlib import Path, PurePath

from . import jsonio
from .derive import Derivation
from .files import check_output_path, write_output
from .notation import Notation
from .printing import Notes, Options

Renderer = Callable[[Derivation, argparse.Namespace], "str | bytes"]


def notes_for(derivation: Derivation, args: argparse.Namespace) -> Notes:
    """The notes of a derivation in the notation the command line asked for.

    Without --max-entries or --all-entries, what the format shows by default
    (:meth:`Options.default_for`: a small layer in full on paper).
    """
    chose = getattr(args, "max_entries", None) is not None or getattr(args, "all_entries", False)
    options = (
        _options(args)
        if chose
        else Options.default_for(derivation.spec, getattr(args, "format", None))
    )
    return Notes(derivation, _notation(args), options)


#: File extension -> the format ``-o FILE`` means when ``--format`` is not given.
EXTENSIONS = {
    ".txt": "text",
    ".text": "text",
    ".tex": "latex",
    ".latex": "latex",
    ".md": "markdown",
    ".markdown": "markdown",
    ".json": "json",
    ".pdf": "pdf",
}


def format_of_output(output: str | None) -> str:
    """The format an output file's extension asks for: text for stdout or no extension.

    Raises
    ------
    ValueError
        For an extension that names no format (``-o notes.docx``): plain text in such a file
        would be a surprise, so the user is asked for ``--format``.
    """
    if output is None or output == "-":
        return "text"
    suffix = PurePath(output).suffix.lower()
    if not suffix:
        return "text"
    name = EXTENSIONS.get(suffix, suffix[1:] if suffix[1:] in FORMATS else None)
    if name is None:
        known = ", ".join(sorted(set(EXTENSIONS) | {f".{n}" for n in FORMATS}))
        raise ValueError(
            f"-o {output}: the extension {suffix!r} names no format; pass --format"
            f" ({', '.join(sorted(FORMATS))}) or use one of {known}"
        )
    return name


def check_arguments(args: argparse.Namespace) -> None:
    """Refuse the format's own options before the derivation runs, not after it.

    Without ``--format`` the format is the output file's extension (:func:`format_of_output`).
    """
    if getattr(args, "format", None) is None:
        args.format = format_of_output(getattr(args, "output", None))
    if getattr(args, "figure", False):
        _figure_target(args)
    if args.format == "json":
        return
    _notation(args)
    _options(args)
    if args.format == "pdf":
        _pdf_target(args)
    if args.format == "png":
        _png_target(args)
    if args.format in ("png", "svg") and importlib.util.find_spec("matplotlib") is None:
        raise ValueError(
            f"--format {args.format} draws with matplotlib, which is not installed:"
            " pip install 'symcnn[figures]' (or matplotlib)"
        )


#: The characters a figure's file name may hold: \includegraphics reads it as LaTeX.
_FIGURE_NAME = re.compile(r"[A-Za-z0-9_-]+")


def figure_path(output: str) -> Path:
    """The figure a handout includes: ``FILE-figure.png`` beside ``-o FILE.tex``."""
    path = Path(output)
    return path.with_name(f"{path.stem}-figure.png")


def _figure_target(args: argparse.Namespace) -> None:
    """``--figure`` needs a LaTeX file to sit beside, a name LaTeX can include, matplotlib,
    and a free place for the figure (or ``--force``)."""
    output = getattr(args, "output", None)
    if args.format != "latex" or output is None or output == "-":
        raise ValueError(
            "--figure draws beside a LaTeX handout: pass --format latex and -o FILE.tex"
        )
    stem = Path(output).stem
    if not _FIGURE_NAME.fullmatch(stem):
        raise ValueError(
            f"--figure: {stem!r} cannot name a file LaTeX includes; name -o FILE.tex with"
            " letters, digits, '_' and '-' only"
        )
    if importlib.util.find_spec("matplotlib") is None:
        raise ValueError(
            "--figure draws with matplotlib, which is not installed:"
            " pip install 'symcnn[figures]' (or matplotlib)"
        )
    check_output_path(str(figure_path(output)), force=bool(getattr(args, "force", False)))


def _latex(derivation: Derivation, args: argparse.Namespace) -> str:
    """The LaTeX handout; with ``--figure`` its figure is written beside it and included."""
    notes = notes_for(derivation, args)
    if not getattr(args, "figure", False):
        return notes.latex()
    from .printing import figure

    target = figure_path(args.output)
    write_output(figure.render(derivation, "png"), str(target), force=bool(args.force))
    return notes.latex(figure=target.name)


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
    "latex": _latex,
    "markdown": lambda derivation, args: notes_for(derivation, args).markdown(),
    "pdf": _pdf,
    "png": _figure("png"),
    "svg": _figure("svg"),
}
