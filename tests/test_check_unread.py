"""The checker never passes what it did not read: every claim line gets a verdict or a reason.

The instructor's cases: words in front of a claim, a claim under a Markdown heading underline,
prose after a claim, 7-digit and negative indices; the headline says how much was answered;
``--require-all``.
"""

from __future__ import annotations

import pytest

from symcnn.check import check_text
from symcnn.cli import main
from symcnn.layers.conv2d.spec import Conv2d

LAYER = Conv2d(input_shape=(1, 1, 3, 3), kernel=(2, 2))
ARGS = ["conv2d", "--input", "3x3", "--kernel", "2x2"]

RIGHT_W12 = "dL/dO11*X12 + dL/dO12*X13 + dL/dO21*X22 + dL/dO22*X23"


def _answered(report) -> list:
    return [r for r in report.records if r.status != "unchecked"]


def _statuses(text: str) -> dict[int, str]:
    report = check_text(text, LAYER)
    return {report.line(r.offset): r.status for r in _answered(report)}


@pytest.mark.parametrize(
    "front",
    ["Therefore ", "so ", "Hence ", "Answer: ", "(b) ", "b) ", "2. "],
)
def test_words_in_front_of_a_claim_are_read(front):
    report = check_text(f"{front}dL/dW12 = {RIGHT_W12}", LAYER)
    assert [r.status for r in _answered(report)] == ["correct"]
    wrong = check_text(f"{front}dL/dW12 = 0", LAYER)
    assert [r.status for r in _answered(wrong)] == ["wrong"]
    assert wrong.exit_status == 1


def test_latex_text_in_front_of_a_claim_is_read():
    report = check_text(r"$\text{Hence } \frac{\partial L}{\partial W_{12}} = 0$", LAYER)
    assert [r.status for r in _answered(report)] == ["wrong"]


def test_claim_under_a_markdown_underline_is_read():
    for rule in ("-------", "======="):
        text = f"Gradients\n{rule}\ndL/dW12 = 0\n"
        assert _statuses(text) == {3: "wrong"}


def test_prose_after_a_claim_is_left_out():
    text = f"dL/dW12 = {RIGHT_W12}, written out with the rotated kernel\n"
    report = check_text(text, LAYER)
    assert [r.status for r in _answered(report)] == ["correct"]
    assert report.exit_status == 0


@pytest.mark.parametrize(
    ("claim", "why"),
    [("dL/dX1000000 = 0", "7 digits"), ("dL/dX-1 = 0", "negative index")],
)
def test_unreadable_indices_are_reported_not_dropped(tmp_path, capsys, claim, why):
    path = tmp_path / "answer.txt"
    path.write_text(f"dL/dW12 = {RIGHT_W12}\n{claim}\n")
    status = main(["check", str(path), *ARGS])
    out, _ = capsys.readouterr()
    assert status == 2
    assert f"answer.txt:2:1: {claim}: not read" in out
    assert why in out


def test_a_claim_that_reads_as_nothing_is_not_silent():
    # "Thus, dL/dW12 ..." with an unreadable right side: no verdict, so it is reported.
    report = check_text("Thus dL/dW12 = dL/dO11 ?? X12\n", LAYER)
    assert report.exit_status == 2


def test_headline_says_how_much_was_answered(tmp_path, capsys):
    path = tmp_path / "two.txt"
    path.write_text(f"dL/dW12 = {RIGHT_W12}\ndL/dB1 = dL/dO11 + dL/dO12 + dL/dO21 + dL/dO22\n")
    assert main(["check", str(path), *ARGS]) == 0
    out, _ = capsys.readouterr()
    headline = out.splitlines()[2]
    assert headline.startswith("CORRECT BUT INCOMPLETE: all 2 claims correct;")
    assert "only 2 of 14 entries answered" in headline
    assert not headline.startswith("CORRECT:")


def test_require_all_exits_1_when_entries_are_missing(tmp_path, capsys):
    path = tmp_path / "one.txt"
    path.write_text(f"dL/dW12 = {RIGHT_W12}\n")
    assert main(["check", str(path), *ARGS]) == 0
    assert main(["check", str(path), *ARGS, "--require-all"]) == 1
    _, err = capsys.readouterr()
    assert "13 entries not answered (--require-all)" in err


def test_require_all_passes_a_complete_file(tmp_path, capsys):
    complete = tmp_path / "complete.txt"
    assert main(["derive", *ARGS, "--format", "text", "-o", str(complete)]) == 0
    capsys.readouterr()
    assert main(["check", str(complete), *ARGS, "--require-all"]) == 0
    out, _ = capsys.readouterr()
    assert "every one of the 14 entries answered" in out


def test_a_comparison_mask_with_explanation_is_read():
    from symcnn.layers.pool.spec import MaxPool2d

    pool = MaxPool2d(input_shape=(1, 1, 2, 2), kernel=(2, 2), ties="all")
    text = "dL/dX11 = dL/dO11 * (X11 >= max(X11, X12, X21, X22)), the mask of the maximal cell\n"
    assert [r.status for r in _answered(check_text(text, pool))] == ["correct"]
    wrong = "dL/dX12 = dL/dO11 * (X11 >= max(X11, X12, X21, X22))\n"
    assert [r.status for r in _answered(check_text(wrong, pool))] == ["wrong"]


def test_delta_shorthand_with_three_indices_on_one_channel():
    right = check_text("δX111 = δO111*W111\n", LAYER)
    assert [r.status for r in _answered(right)] == ["correct"]
    # a leading 2 names a sample or channel this layer does not have: not read, and said so
    other = check_text("δX211 = 0\n", LAYER)
    assert other.exit_status == 2


def test_transpose_conv_claim_is_read():
    report = check_text("dL/dX = transpose_conv(dL/dO, W)\n", LAYER)
    assert {r.status for r in _answered(report)} == {"correct"}


@pytest.mark.parametrize(
    "prose",
    [
        "transposed convolution of dL/dO with W",
        "the transposed convolution of dL/dO with W",
        "The transposed convolution of \\partial L/\\partial O with W",
        "transposed conv(dL/dO, W)",
        "transpose conv(dL/dO, W)",
    ],
)
def test_a_transposed_convolution_in_words_is_read(prose):
    """Seed 000's operator as students write it in words: read, every entry compared."""
    report = check_text(f"dL/dX = {prose}", LAYER)
    assert [r.status for r in _answered(report)] == ["correct"] * 9
    flipped = check_text(f"dL/dX = {prose.replace('W', 'rot180(W)', 1)}", LAYER)
    assert [r.status for r in _answered(flipped)].count("wrong") >= 1
    assert flipped.exit_status == 1


def test_prose_that_is_not_the_operator_form_is_reported_not_silenced(tmp_path, capsys):
    path = tmp_path / "answer.txt"
    path.write_text("dL/dX = transposed convolution of dL/dO and W\n", encoding="utf-8")
    assert main(["check", str(path), *ARGS]) == 2
    assert f"{path}:1:" in capsys.readouterr().out
