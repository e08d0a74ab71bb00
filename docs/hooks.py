"""MkDocs hooks: the CLI reference page is filled in from the commands' own ``--help``.

A page holding the line ``<!-- symcnn-help -->`` gets, in its place, ``symcnn --help`` and then
``symcnn COMMAND --help`` for every command, each in a text block, so the reference is
always the parser's. Loaded by ``mkdocs.yml`` (``hooks:``); ``tests/test_docs.py`` calls
:func:`help_markdown` too.
"""

from __future__ import annotations

import contextlib
import io
import os

MARKER = "<!-- symcnn-help -->"


def _help(argv: list[str]) -> str:
    from symcnn.cli import build_parser

    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.suppress(SystemExit):
        build_parser().parse_args([*argv, "--help"])
    return out.getvalue()


def help_markdown() -> str:
    """``symcnn --help`` and each command's, as Markdown sections."""
    from symcnn.cli import COMMANDS

    # argparse wraps help to the terminal; a fixed width keeps the page the same everywhere.
    os.environ["COLUMNS"] = "100"
    sections = ["## symcnn\n\n```text\n" + _help([]) + "```\n"]
    for command in COMMANDS:
        sections.append(f"## symcnn {command.name}\n\n```text\n" + _help([command.name]) + "```\n")
    return "\n".join(sections)


def on_page_markdown(markdown: str, page, config, files) -> str:  # MkDocs calls it so
    """Put the commands' help where a page asks for it."""
    if MARKER not in markdown:
        return markdown
    return markdown.replace(MARKER, help_markdown())
