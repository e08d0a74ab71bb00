"""Notes as Markdown whose math renders on GitHub and in MkDocs (``$$`` blocks, ``$`` inline).

The math is the LaTeX printer's; only the markup around it changes: ``##`` headings, displays
as ``$$\\begin{aligned} ... \\end{aligned}$$`` blocks on lines of their own, prose as plain
Markdown with inline ``$...$``.

GitHub runs Markdown over a ``$$`` block before MathJax sees it, so a backslash before
punctuation is an escape there: every ``\\\\`` (a new row) ends its line, which GitHub leaves
alone, and the printer writes no ``\\,``-style spacing.
"""

from __future__ import annotations

from .latex import LatexWriter
from .model import Elision

_MARKDOWN_SPECIAL = str.maketrans({"*": r"\*", "_": r"\_", "<": "&lt;", ">": "&gt;", "`": ""})


class MarkdownWriter(LatexWriter):
    """:class:`LatexWriter` with Markdown markup."""

    def text(self, text: str) -> str:
        return text.translate(_MARKDOWN_SPECIAL)

    def section(self, number: int, title: str) -> str:
        return f"## {number}. {title}"

    def subsection(self, text: str) -> str:
        return f"### {text}"

    def display(self, equations: list[list[str]], aligned: bool) -> str:
        environment = "aligned" if aligned else "gathered"
        lines = [line for equation in equations for line in equation]
        body = " \\\\\n".join(lines).replace(r" \\ ", " \\\\\n")
        return f"$$\n\\begin{{{environment}}}\n{body}\n\\end{{{environment}}}\n$$"

    def fitted(self, equations: list[list[str]], aligned: bool) -> str:
        return self.display(equations, aligned)  # a web page scrolls: nothing to scale

    def elision(self, elision: Elision) -> str:
        return (
            f"⋮ *{elision.shown} of {elision.total} {elision.what} shown"
            + (f": {elision.where}" if elision.where else "")
            + "; `symcnn derive --all-entries` lists every one.*"
        )
