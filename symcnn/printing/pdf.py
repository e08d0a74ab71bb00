"""Compile a LaTeX document with pdflatex in a temporary folder.

The output is reproducible: ``SOURCE_DATE_EPOCH`` fixes every date pdflatex would write, and the
template drops the random trailer ID, so the same document gives the same bytes.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

#: What to install when pdflatex is missing (the packages CI installs, `.ci/run`).
INSTALL_HINT = (
    "pdflatex is not installed: install TeX Live (Debian/Ubuntu: apt-get install"
    " texlive-latex-base texlive-latex-recommended texlive-latex-extra"
    " texlive-fonts-recommended; macOS: MacTeX; Windows: MiKTeX), or write --format latex"
    " and compile it elsewhere"
)

#: Seconds one pdflatex run may take before it is stopped.
TIMEOUT = 120


def pdflatex() -> str | None:
    """The path of pdflatex, or None."""
    return shutil.which("pdflatex")


def compile_pdf(source: str, *, runs: int = 1) -> bytes:
    """The PDF that pdflatex makes of ``source``.

    Raises ``ValueError`` when pdflatex is missing (naming what to install) or when it fails
    (with the first error of its log).
    """
    program = pdflatex()
    if program is None:
        raise ValueError(INSTALL_HINT)
    environment = dict(os.environ, SOURCE_DATE_EPOCH="0", FORCE_SOURCE_DATE="1")
    with tempfile.TemporaryDirectory(prefix="symcnn-pdf-") as folder:
        tex = Path(folder) / "notes.tex"
        tex.write_text(source, encoding="utf-8")
        for _ in range(runs):
            try:
                result = subprocess.run(
                    [program, "-interaction=nonstopmode", "-halt-on-error", "notes.tex"],
                    cwd=folder,
                    env=environment,
                    stdin=subprocess.DEVNULL,
                    capture_output=True,
                    timeout=TIMEOUT,
                )
            except subprocess.TimeoutExpired:
                raise ValueError(f"pdflatex took more than {TIMEOUT} s and was stopped") from None
            if result.returncode != 0:
                raise ValueError("pdflatex failed: " + first_error(tex.with_suffix(".log")))
        return tex.with_suffix(".pdf").read_bytes()


def first_error(log: Path) -> str:
    """The first ``!`` error line of a pdflatex log and the line after it."""
    if not log.exists():
        return "no log was written"
    lines = log.read_text(encoding="utf-8", errors="replace").splitlines()
    for position, line in enumerate(lines):
        if line.startswith("!"):
            return " ".join(part.strip() for part in lines[position : position + 2])
    return "see the log (no error line found)"
