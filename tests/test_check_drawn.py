"""Matrices drawn over several lines (⎡ ⎢ ⎣) are read back entry by entry, or reported as not read.

A drawn claim used to be listed as "not checked" while the file exited 0 or 1 as if it had been
read: now every entry of a drawing is compared, and a drawing that cannot be read is a claim not
read (exit 2) at its own FILE:LINE with the reason.
"""

from __future__ import annotations

import pytest

from symcnn.check import check_text
from symcnn.check.drawn import read_drawn_block
from symcnn.cli import main
from symcnn.layers.conv2d.spec import Conv2d

LAYER = Conv2d(input_shape=(1, 1, 3, 3), kernel=(2, 2))
W11 = "dL/dO11*X11 + dL/dO12*X12 + dL/dO21*X21 + dL/dO22*X22"
W12 = "dL/dO11*X12 + dL/dO12*X13 + dL/dO21*X22 + dL/dO22*X23"
W21 = "dL/dO11*X21 + dL/dO12*X22 + dL/dO21*X31 + dL/dO22*X32"
W22 = "dL/dO11*X22 + dL/dO12*X23 + dL/dO21*X32 + dL/dO22*X33"


def _drawn(lhs: str, rows: list[list[str]], middle: int = 0) -> str:
    """A matrix drawn as the text notes draw it, ``lhs = `` on row ``middle``."""
    widths = [max(len(row[j]) for row in rows) for j in range(len(rows[0]))]
    lines = []
    for number, row in enumerate(rows):
        left, right = ("⎡", "⎤") if number == 0 else ("⎣", "⎦")
        if 0 < number < len(rows) - 1:
            left, right = "⎢", "⎥"
        cells = "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True))
        label = f"{lhs} = " if number == middle else " " * len(f"{lhs} = ")
        lines.append(f"{label}{left}{cells}{right}")
    return "\n".join(lines) + "\n"


def _statuses(report) -> list[str]:
    return [r.status for r in report.records if r.status != "unchecked"]


def test_a_drawn_gradient_is_read_entry_by_entry():
    report = check_text(_drawn("dL/dW", [[W11, W12], [W21, W22]]), LAYER)
    assert _statuses(report) == ["correct"] * 4
    assert not report.skipped
    assert report.exit_status == 0


def test_a_wrong_entry_of_a_drawing_is_wrong_at_its_own_line():
    text = _drawn("dL/dW", [[W11, W12], [W21, "dL/dO11*X22"]])
    report = check_text(text, LAYER)
    assert sorted(_statuses(report)) == ["correct"] * 3 + ["wrong"]
    (wrong,) = [r for r in report.records if r.status == "wrong"]
    assert report.source.position(wrong.offset)[0] == 2  # the second drawn row
    assert report.exit_status == 1


def test_a_three_row_drawing_with_its_label_on_the_middle_row():
    layer = Conv2d(input_shape=(1, 1, 3, 3), kernel=(1, 1))
    rows = [[f"dL/dO{i}{j}*W11" for j in (1, 2, 3)] for i in (1, 2, 3)]
    report = check_text(_drawn("dL/dX", rows, middle=1), layer)
    assert _statuses(report) == ["correct"] * 9
    rows[2][2] = "0"
    assert check_text(_drawn("dL/dX", rows, middle=1), layer).exit_status == 1


def test_a_drawing_right_under_another_claim_stays_its_own_claim():
    text = "dL/dB1 = dL/dO11 + dL/dO12 + dL/dO21 + dL/dO22\n" + _drawn(
        "dL/dW", [[W11, W12], [W21, W22]]
    )
    report = check_text(text, LAYER)
    assert _statuses(report) == ["correct"] * 5
    assert report.exit_status == 0


def test_a_drawing_that_does_not_line_up_is_not_read_and_the_file_does_not_pass(tmp_path, capsys):
    drawn = _drawn("dL/dW", [[W11, W12], [W21, W22]]).splitlines()
    drawn[1] = drawn[1][2:]  # the second row's brackets two columns left of the first's
    path = tmp_path / "answer.txt"
    path.write_text("\n".join(drawn) + "\n", encoding="utf-8")
    status = main(["check", str(path), "conv2d", "--input", "3x3", "--kernel", "2x2"])
    out = capsys.readouterr().out
    assert status == 2
    assert f"{path}:1:9: ∂L/∂W: a matrix drawn over several lines" in out
    assert "do not line up" in out


def test_side_by_side_drawings_are_separate_equations():
    """``X = ⎡...⎤,   ∂L/∂X = ⎡...⎤``: a worked example's values and its claim."""
    from symcnn.layers.pool.spec import MaxPool2d

    layer = MaxPool2d(input_shape=(1, 1, 2, 2), kernel=(2, 2))
    text = "    ⎡1  3⎤            ⎡0  dL/dO11⎤\nX = ⎣2  0⎦,   dL/dX = ⎣0  0      ⎦\n"
    report = check_text(text, layer)
    assert _statuses(report) == ["correct"] * 4
    wrong = text.replace("0  dL/dO11", "dL/dO11  0")
    assert check_text(wrong, layer).exit_status == 1


def test_every_character_keeps_its_place():
    text = "        ⎡a   b⎤\ndL/dW = ⎣c   dd⎦\n"
    lines, end = read_drawn_block(text, 0)
    assert end == len(text)
    ((line, offsets),) = lines
    matrix = ["\\begin{bmatrix}", "a", "&", "b", "\\\\", "c", "&", "dd", "\\end{bmatrix}"]
    assert line.split() == ["dL/dW", "=", *matrix]
    body = line.index("{bmatrix}") + len("{bmatrix}")
    for entry in ("a", "b", "c", "dd"):
        at = line.index(f" {entry} ", body) + 1
        start = offsets[at]
        assert text[start : start + len(entry)] == entry
        assert list(offsets[at : at + len(entry)]) == list(range(start, start + len(entry)))
    assert text[offsets[0] : offsets[0] + 5] == "dL/dW"


@pytest.mark.parametrize(
    "options",
    [
        ["conv2d", "--input", "1x2x3x3", "--out-channels", "2", "--kernel", "2x2"],
        ["conv2d", "--input", "1x4x5x5", "--out-channels", "2", "--kernel", "2x2", "--groups", "2"],
    ],
)
def test_channel_slices_of_the_text_notes_are_read(tmp_path, capsys, options):
    """``∂L/∂W⁽¹,²⁾ = ⎡...`` and ``corr(X⁽¹⁾, ...)``: each channel's matrix is compared."""
    printed = tmp_path / "notes.txt"
    assert main(["derive", *options, "--format", "text", "-o", str(printed)]) == 0
    capsys.readouterr()
    assert main(["check", str(printed), *options, "--format", "json"]) == 0
    out = capsys.readouterr().out
    assert "drawn over several lines" not in out
    if "--groups" in options:
        return
    # A channel's slice named one channel off is refused, not silently compared elsewhere.
    text = printed.read_text(encoding="utf-8").replace("∂L/∂W⁽¹,¹⁾ =", "∂L/∂W⁽⁹,¹⁾ =", 1)
    printed.write_text(text, encoding="utf-8")
    assert main(["check", str(printed), *options]) == 2
    assert "9 is out of range for axis 0" in capsys.readouterr().out


@pytest.mark.parametrize("joiner", [" ", "\n         "])
def test_nested_lists_on_one_line_or_several_are_read(joiner):
    """``dL/dW = [[a, b],`` / ``[c, d]]``, as NumPy prints: every entry compared."""
    text = f"dL/dW = [[{W11}, {W12}],{joiner}[{W21}, {W22}]]\n"
    report = check_text(text, LAYER)
    assert _statuses(report) == ["correct"] * 4
    lines = {report.line(r.offset) for r in report.records if r.status == "correct"}
    assert lines == ({1} if joiner == " " else {1, 2})
    wrong = check_text(text.replace(W22, "dL/dO22*X33"), LAYER)
    assert sorted(_statuses(wrong)) == ["correct"] * 3 + ["wrong"]
    ragged = check_text(text.replace(f", {W22}", ""), LAYER)
    assert ragged.exit_status == 2
    assert any("different lengths" in r.message for r in ragged.records if r.status == "invalid")


def test_a_latex_matrix_over_several_lines_is_read():
    cells = [[W11, W12], [W21, W22]]
    rows = " \\\\\n".join(" & ".join(row) for row in cells)
    lhs = "\\frac{\\partial L}{\\partial W}"
    text = f"\\[\n{lhs} = \\begin{{bmatrix}}\n{rows}\n\\end{{bmatrix}}\n\\]\n"
    report = check_text(text, LAYER)
    assert _statuses(report) == ["correct"] * 4
    assert check_text(text.replace(W22, "0"), LAYER).exit_status == 1
