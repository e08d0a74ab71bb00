"""The gallery in docs/gallery/ is what the catalog renders, and every LaTeX file compiles.

Compiling needs pdflatex. In CI (the CI variable set; `.ci/run` installs TeX Live) a missing
pdflatex fails these tests; on a developer's machine they are skipped with the reason.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from symcnn.printing import gallery
from symcnn.printing.pdf import compile_pdf, pdflatex


def require_pdflatex() -> None:
    if pdflatex() is not None:
        return
    message = "pdflatex is not installed (apt-get install texlive-latex-base ...; see .ci/run)"
    if os.environ.get("CI"):
        pytest.fail("CI must compile the LaTeX: " + message)
    pytest.skip("LaTeX not compiled: " + message)


@pytest.fixture(scope="module")
def rendered() -> dict[str, str]:
    return gallery.render_gallery()


def test_the_gallery_has_not_drifted(rendered):
    problems = gallery.drift(gallery.GALLERY, rendered)
    assert not problems, "run `python -m symcnn.printing.gallery`:\n" + "\n".join(problems)


def test_check_reports_drift(tmp_path, rendered, capsys):
    for name, text in rendered.items():
        (tmp_path / name).write_text(text, encoding="utf-8")
        if name.endswith(".tex"):
            (tmp_path / name).with_suffix(".pdf").write_bytes(b"%PDF")
            (tmp_path / name).with_suffix(".svg").write_text("<svg/>")
    assert gallery.main(["--check", "--folder", str(tmp_path)]) == 0
    page = tmp_path / "conv2d-3x3-k2x2.md"
    page.write_text(page.read_text() + "edited\n")
    (tmp_path / "conv2d-3x3-k2x2-s2.pdf").unlink()
    (tmp_path / "relu-2x3.svg").unlink()
    assert gallery.main(["--check", "--folder", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert "conv2d-3x3-k2x2.md: differs" in err and "conv2d-3x3-k2x2-s2.pdf: missing" in err
    assert "relu-2x3.svg: missing" in err


def test_every_gallery_page_shows_its_figure(rendered):
    for name in rendered:
        if name.endswith(".tex"):
            figure = Path(name).with_suffix(".svg").name
            assert f"]({figure})" in rendered[Path(name).with_suffix(".md").name]
            assert (gallery.GALLERY / figure).read_text().startswith("<?xml")


def test_the_catalog_covers_the_issue():
    specs = [example.spec for example in gallery.CATALOG]
    convs = [s for s in specs if s.type == "conv2d"]
    assert any(
        s.input_shape[2:] == (3, 3) and s.kernel == (2, 2) and s.stride == (1, 1) for s in convs
    )
    assert any(s.stride == (2, 2) and s.padding == (0, 0) for s in convs)
    assert any(s.stride == (2, 2) and s.padding == (1, 1) for s in convs)
    assert any(s.input_shape[1] == 2 for s in convs)


@pytest.mark.slow
@pytest.mark.parametrize("name", [e.slug + ".tex" for e in gallery.CATALOG])
def test_every_gallery_document_compiles(name, rendered):
    require_pdflatex()
    pdf = compile_pdf(rendered[name])
    assert pdf.startswith(b"%PDF") and len(pdf) > 10_000


def test_compiling_twice_gives_the_same_bytes(rendered):
    require_pdflatex()
    source = rendered["conv2d-3x3-k2x2.tex"]
    assert compile_pdf(source) == compile_pdf(source)


def test_a_broken_document_reports_pdflatex_error():
    require_pdflatex()
    with pytest.raises(ValueError, match="pdflatex failed: ! Undefined control sequence"):
        compile_pdf("\\documentclass{article}\\begin{document}\\nosuchmacro\\end{document}\n")
