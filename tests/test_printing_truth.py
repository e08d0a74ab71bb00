"""Every displayed equation of the notes holds: the instructor's cases and a covering grid.

An operator chain (``∂L/∂X = crop(full conv(...)) = crop(corr(...)) = ... = M``) is built by
:func:`symcnn.printing.checked.checked`, which evaluates each side and compares shapes and
entries exactly before the equation exists; these tests hold every matrix equation of the
identity views to it, and pin the statements that were false as written.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from conv_grid import CONV_GRID
from sympy import Symbol

import symcnn
from symcnn.layers.conv2d.spec import Conv2d
from symcnn.layers.pool.spec import AvgPool2d, MaxPool2d, MinPool2d
from symcnn.printing.checked import FalseStatement, checked
from symcnn.printing.gallery import CATALOG
from symcnn.printing.model import Display
from symcnn.printing.nodes import Grid, walk
from symcnn.printing.selection import describe, representatives


def _identity_equations(notes) -> list:
    if "identities" not in notes.keys():  # noqa: SIM118 (Notes is not a mapping)
        return []
    step = notes["identities"]
    return [eq for block in step.blocks if isinstance(block, Display) for eq in block.equations]


def _matrix_equations_are_checked(notes) -> int:
    """Every identity equation that shows a matrix was evaluated on both sides; how many."""
    count = 0
    for equation in _identity_equations(notes):
        has_matrix = any(isinstance(node, Grid) for side in equation.sides for node in walk(side))
        if has_matrix:
            assert equation.checked, f"unchecked matrix equation: {equation.sides[0]}"
            count += 1
    return count


def _text(spec: object, **kw) -> str:
    """The text notes with runs of whitespace made one space (prose is wrapped at 100)."""
    return " ".join(symcnn.notes(symcnn.derive(spec), **kw).text().split())


def test_checked_refuses_a_false_equation():
    a = np.array([[Symbol("a")]], dtype=object)
    with pytest.raises(FalseStatement):
        checked((Symbol("L"), a), (Symbol("R"), np.zeros((2, 2), dtype=object)))
    with pytest.raises(FalseStatement):
        checked((Symbol("L"), a), (Symbol("R"), a + 1))
    assert checked((Symbol("L"), a), (Symbol("R"), a * 1)).checked


@pytest.mark.parametrize("example", CATALOG, ids=lambda e: e.slug)
def test_every_gallery_page_checks_its_matrix_equations(example):
    _matrix_equations_are_checked(example.notes())


@pytest.mark.parametrize("spec", CONV_GRID, ids=str)
def test_conv_grid_checks_every_matrix_equation(spec):
    notes = symcnn.notes(symcnn.derive(spec))
    if any(identity.holds for identity in notes.identities):
        assert _matrix_equations_are_checked(notes) > 0


POOL_GRID = [
    cls(input_shape=(1, 1, 5, 4), kernel=(2, 3), stride=(s, s), padding=(p, p), **extra)
    for cls, extra in (
        (MaxPool2d, {"ties": "first"}),
        (MinPool2d, {"ties": "all"}),
        (MaxPool2d, {"ties": "split"}),
        (AvgPool2d, {}),
    )
    for s, p in itertools.product((1, 2, 3), (0, 1))
]


@pytest.mark.parametrize("spec", POOL_GRID, ids=str)
def test_pool_grid_checks_every_matrix_equation(spec):
    assert _matrix_equations_are_checked(symcnn.notes(symcnn.derive(spec))) > 0


def test_input_chain_crops_in_the_first_step():
    # 5x5, 3x3, stride 2, padding 1: the 5x5 gradient was set equal to a 7x7 full convolution.
    text = _text(Conv2d(input_shape=(1, 1, 5, 5), kernel=(3, 3), stride=(2, 2), padding=(1, 1)))
    assert "∂L/∂X = full conv(" not in text
    assert "∂L/∂X = crop(full conv(dilate(∂L/∂O, 2), rot180(W)), 1)" in text
    assert "= crop(corr(" in text


def test_weight_correlation_keeps_the_top_left_block():
    # 6x6, 3x3, stride 2, padding 1: corr(pad(X,1), dilate(dL/dO,2)) is 4x4 against a 3x3 dL/dW.
    spec = Conv2d(input_shape=(1, 1, 6, 6), kernel=(3, 3), stride=(2, 2), padding=(1, 1))
    text = _text(spec)
    assert "∂L/∂W = block(corr(pad(X, 1), dilate(∂L/∂O, 2)), 3×3)" in text
    assert "∂L/∂W = corr(" not in text


def test_groups_sum_over_the_group_and_index_the_weight_channel():
    spec = Conv2d(input_shape=(1, 4, 3, 3), out_channels=4, groups=2, kernel=(2, 2))
    text = _text(spec)
    assert "Σ[k=C_out·g/G + 1..C_out·(g + 1)/G]" in text
    assert "Σ[k=1..C_out]" not in text
    assert "rot180(W^(k,c'))" in text
    assert "c = C_in·g/G + c'" in text


def test_dilation_pads_by_the_dilated_kernel_and_heading_says_no_stride():
    text = _text(Conv2d(input_shape=(1, 1, 5, 5), kernel=(2, 2), dilation=(2, 2)))
    assert "full conv(A, R) = corr(pad(A, 2), R)" in text
    assert "its dilated size" in text
    assert "stride-dilated" not in text
    assert "every 2nd response" in text and "2-th" not in text


def test_extend_is_defined_with_the_letter_it_uses():
    # 4x4, 2x2, stride 3: the strided windows leave the last row and column unread.
    text = _text(Conv2d(input_shape=(1, 1, 4, 4), kernel=(2, 2), stride=(3, 3)))
    assert "extend(F, size)" not in text
    assert "extend(A, 4×4) appends zero rows and columns to A" in text


def test_ties_all_is_said_not_to_be_a_gradient():
    text = _text(MaxPool2d(input_shape=(1, 1, 4, 4), kernel=(2, 2), ties="all"))
    assert "the one the forward pass kept" not in text
    assert "every one of its maximal cells" in text
    assert "ties=all is not a gradient" in text
    first = _text(MaxPool2d(input_shape=(1, 1, 4, 4), kernel=(2, 2)))
    assert "ties=first is a gradient" in first


def test_abridged_listing_says_which_positions_it_shows():
    spec = Conv2d(input_shape=(1, 1, 4, 4), kernel=(2, 2), stride=(2, 2), padding=(1, 1))
    text = _text(spec)
    assert "first, second, middle and last" not in text
    shown = representatives((1, 1, 3, 3), 6)
    assert describe((1, 1, 3, 3), shown) == "the first and last rows, every column"
    assert "shown: the first and last rows, every column" in text


def test_describe_names_second_and_middle():
    shown = representatives((1, 1, 9, 9), 16)
    assert describe((1, 1, 9, 9), shown) == (
        "the first, second, middle and last rows, the first, second, middle and last columns"
    )


def test_chain_rule_index_is_not_the_channel_letter():
    text = _text(Conv2d(input_shape=(1, 1, 3, 3), kernel=(2, 2)))
    assert "Σ[m=1..M] ∂L/∂Oₘ" in text


def test_output_format_follows_the_extension(tmp_path, capsys):
    from symcnn.cli import main

    args = ["derive", "conv2d", "--input", "3x3", "--kernel", "2"]
    assert main([*args, "-o", str(tmp_path / "notes.tex")]) == 0
    assert (tmp_path / "notes.tex").read_text().startswith("%")
    assert main([*args, "-o", str(tmp_path / "notes.md")]) == 0
    assert main([*args, "-o", str(tmp_path / "notes.json")]) == 0
    assert (tmp_path / "notes.json").read_text().startswith("{")
    assert main([*args, "-o", str(tmp_path / "guess.docx")]) == 2
    assert "names no format" in capsys.readouterr().err
    assert not (tmp_path / "guess.docx").exists()


def test_pdf_extension_writes_a_pdf(tmp_path):
    from symcnn.cli import main

    target = tmp_path / "guess.pdf"
    assert main(["derive", "conv2d", "--input", "3x3", "--kernel", "2", "-o", str(target)]) == 0
    assert target.read_bytes().startswith(b"%PDF")


@pytest.mark.parametrize(
    "spec",
    [
        Conv2d(input_shape=(1, 2, 4, 4), out_channels=2, kernel=(2, 2)),
        Conv2d(input_shape=(1, 1, 5, 5), kernel=(3, 3), stride=(2, 2), padding=(1, 1)),
        Conv2d(input_shape=(1, 1, 6, 6), kernel=(3, 3), stride=(2, 2), padding=(1, 1)),
        # Long condition listings: a 3x3 window's eight comparisons overflowed by 108 pt.
        MaxPool2d(input_shape=(1, 1, 6, 6), kernel=(3, 3), stride=(2, 2), padding=(1, 1)),
        MinPool2d(input_shape=(1, 1, 5, 5), kernel=(3, 3), stride=(1, 1), ties="split"),
        MaxPool2d(input_shape=(1, 1, 4, 4), kernel=(4, 4), ties="all"),
        AvgPool2d(input_shape=(1, 1, 6, 6), kernel=(3, 3), stride=(2, 2), padding=(1, 1)),
    ],
    ids=str,
)
def test_no_line_runs_past_the_margin(spec, tmp_path):
    # These overflowed by 438, 102 and 173 pt (matrices; now fitted to the width), 108 pt (a
    # max-pool condition; now over rows) and 4 pt (the elision note; now \sloppy).
    assert _overfull(symcnn.notes(symcnn.derive(spec)).latex(), tmp_path) == []


@pytest.mark.parametrize("example", CATALOG, ids=lambda e: e.slug)
def test_no_gallery_page_runs_past_the_margin(example, tmp_path):
    assert _overfull(example.notes("latex").latex(), tmp_path) == []


def _overfull(latex: str, folder) -> list[float]:
    """The overfull boxes of the compiled page wider than 1 pt (under that, invisible)."""
    import re
    import subprocess

    from test_printing_gallery import require_pdflatex

    require_pdflatex()
    tex = folder / "notes.tex"
    tex.write_text(latex)
    subprocess.run(
        ["pdflatex", "-interaction=nonstopmode", "-halt-on-error", tex.name],
        cwd=folder,
        capture_output=True,
        check=True,
        timeout=120,
    )
    log = (folder / "notes.log").read_text(errors="replace")
    # Displays ("detected at line") and prose ("in paragraph") alike.
    widths = [float(w) for w in re.findall(r"Overfull \\hbox \(([0-9.]+)pt too wide\)", log)]
    return [w for w in widths if w > 1]


def test_notes_say_which_axes_three_subscripts_name():
    channels = _text(Conv2d(input_shape=(1, 2, 3, 3), kernel=(2, 2)))
    assert "Subscripts list an entry's (channel, row, column) for X" in channels
    samples = _text(Conv2d(input_shape=(2, 1, 3, 3), kernel=(2, 2)))
    assert "Subscripts list an entry's (sample, row, column) for X" in samples
    assert "Subscripts" not in _text(Conv2d(input_shape=(1, 1, 3, 3), kernel=(2, 2)))


@pytest.mark.parametrize("fmt", ["latex", "markdown"])
def test_conditions_broken_over_rows_are_read_back_by_the_checker(fmt):
    """A 3x3 window's eight comparisons go over two rows of the cases; the checker joins them."""
    from symcnn.check import check_text

    spec = MaxPool2d(input_shape=(1, 1, 4, 4), kernel=(3, 3), stride=(1, 1), ties="split")
    notes = symcnn.notes(symcnn.derive(spec))
    printed = notes.latex() if fmt == "latex" else notes.markdown()
    import re

    continued = re.compile(r"(\\\\\s*& \\quad )(X_\{)")  # a continued row of conditions
    assert continued.search(printed)
    report = check_text(printed, spec)
    assert report.exit_status == 0
    assert {r.status for r in report.records} == {"correct"}
    # A continued row is part of the claim: a comparison that never holds added there (X11 >
    # X11) makes the claims that carry it wrong.
    broken = continued.sub(lambda m: m.group(1) + r"X_{11} > X_{11},\ " + m.group(2), printed)
    assert "wrong" in {r.status for r in check_text(broken, spec).records}


def test_small_layers_are_printed_in_full_on_paper(tmp_path, capsys):
    """4x4 to 6x6 layers: LaTeX and PDF list every entry (O22, the one window wholly inside a
    4x4 stride-2 padding-1 input, was left out); a screen format and --max-entries still cut."""
    from symcnn.cli import main

    layer = ["maxpool2d", "--input", "4x4", "--kernel", "2", "--stride", "2", "--padding", "1"]

    def printed(*options: str) -> str:
        target = tmp_path / f"notes-{len(list(tmp_path.iterdir()))}"
        assert main(["derive", *layer, *options, "-o", str(target)]) == 0
        capsys.readouterr()
        return target.read_text(encoding="utf-8")

    latex = printed("--format", "latex")
    assert r"\frac{\partial O_{22}}{\partial X_{22}}" in latex
    assert "entries shown" not in latex
    cut = printed("--format", "latex", "--max-entries", "4")
    assert r"\frac{\partial O_{22}}{\partial X_{22}}" not in cut and "entries shown" in cut
    assert "entries shown" in printed("--format", "text")  # a screen keeps the short default
    big = ["conv2d", "--input", "7x7", "--kernel", "3"]
    target = tmp_path / "big.tex"
    assert main(["derive", *big, "--format", "latex", "-o", str(target)]) == 0
    assert "entries shown" in target.read_text(encoding="utf-8")  # past 6x6: abridged


@pytest.mark.parametrize(
    "spec",
    [
        MaxPool2d(input_shape=(1, 1, 6, 6), kernel=(3, 3), stride=(2, 2), padding=(1, 1)),
        Conv2d(input_shape=(1, 1, 6, 6), kernel=(3, 3), stride=(2, 2), padding=(1, 1)),
        Conv2d(input_shape=(1, 2, 4, 4), out_channels=2, kernel=(2, 2)),
    ],
    ids=str,
)
def test_pages_printed_in_full_fit_the_margin(spec, tmp_path):
    """What a LaTeX or PDF of a small layer now holds by default: every entry, none too wide."""
    assert _overfull(symcnn.notes(symcnn.derive(spec), all_entries=True).latex(), tmp_path) == []
