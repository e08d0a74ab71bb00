"""The seeds' derivations, transcribed: mistakes found at their lines; corrected, they pass.

The expected lines below were read off the transcriptions by hand (tests/data/check/*.tex),
not from the checker's output: they are where each seed's mistake stands.
"""

from pathlib import Path

import pytest

from symcnn.check import check_file
from symcnn.layers.conv2d.spec import Conv2d

DATA = Path(__file__).parent / "data" / "check"
LAYER = Conv2d(input_shape=(1, 1, 3, 3), kernel=(2, 2), bias=False)


def lines_of(report, status):
    return sorted({report.line(r.offset) for r in report.records if r.status == status})


def test_seed001_errors_are_reported_at_their_lines():
    report = check_file(DATA / "seed001_backprop.tex", LAYER)
    assert (report.letters.input, report.letters.kernel) == ("X", "F")
    assert (report.letters.output, report.letters.loss) == ("O", "L")
    # Line 50 claims dL/dX_{12} a second time, with the value of dL/dX_{13}.
    duplicate = [r for r in report.records if r.status == "wrong" and report.line(r.offset) == 50]
    assert [(r.tensor, r.index) for r in duplicate] == [("X", (0, 0, 0, 1))]
    assert {report.line(o) for o in duplicate[0].also_at} == {48, 65}
    position = report.records.index(duplicate[0])
    assert ("other_entry", "X", (0, 0, 0, 2)) in report.hints[position]
    # Line 52 writes Q for O: unreadable, at the Q, with the suggestion.
    (typo,) = [r for r in report.records if r.status == "invalid"]
    assert report.source.position(typo.offset) == (52, 67)
    assert "Q" in typo.message and "did you mean O" in typo.message
    assert (typo.tensor, typo.index) == ("X", (0, 0, 1, 0))
    # Line 65: full_conv(rot180(F), dL/dO), operands swapped: rot180 of dL/dX.
    assert lines_of(report, "wrong") == [50, 65]
    (diagnosis,) = report.diagnoses
    assert diagnosis.pattern.key == "input_kernel_swapped"
    assert {report.line(r.offset) for r in diagnosis.explained} == {65}
    assert len(diagnosis.explained) == 8  # the centre entry is its own rotation
    # The garbled df/dx line (10) is not about L: not a claim, not an error.
    assert 10 not in lines_of(report, "invalid") + lines_of(report, "wrong")
    # dL/dX_{13} is claimed only by the operator line; the general formula is noted.
    assert report.summary["unchecked"] == 0
    assert [report.line(s.offset) for s in report.skipped] == [20]
    assert report.exit_status == 2


def test_seed002_errors_are_reported_at_their_lines():
    report = check_file(DATA / "seed002_backprop.tex", LAYER)
    assert (report.letters.input, report.letters.kernel) == ("x", "w")
    assert (report.letters.output, report.letters.loss) == ("o", "E")
    # 23, 25: chain rule in a swapped order; 31-35: rows without their dE/do factors;
    # 45: "dE/do_{12} 1"; 49-59: the garbled dE/dx rows.
    assert lines_of(report, "wrong") == [23, 25, 31, 33, 35, 45, 49, 51, 53, 55, 57, 59]
    assert lines_of(report, "invalid") == []
    dw21 = next(r for r in report.records if r.status == "wrong" and report.line(r.offset) == 23)
    assert [str(t) for t in dw21.missing] == ["g_0_0_0_1*x_0_0_1_1"]
    assert [str(t) for t in dw21.extra] == ["g_0_0_1_0*x_0_0_2_0"]
    garbled = {
        report.line(report.records[position].offset)
        for position, hints in report.hints.items()
        if any(hint[0] == "not_linear" for hint in hints)
    }
    assert garbled == {31, 33, 35, 51, 53, 57, 59}
    # The matrix forms (39, 61-63), the delta shorthand (67) and the summary (73, 75) hold.
    assert {39, 63, 67, 73, 75} <= set(lines_of(report, "correct"))
    assert report.diagnoses == []
    assert report.exit_status == 1


@pytest.mark.parametrize("name", ["seed001_corrected.tex", "seed002_corrected.tex"])
def test_corrected_seeds_pass(name):
    report = check_file(DATA / name, LAYER)
    assert report.summary["wrong"] == report.summary["invalid"] == 0
    assert report.summary["correct"] >= 30
    assert report.exit_status == 0


def test_seed002_stride_two_is_not_the_stride_one_formula():
    """The seed waves stride 2 through ("shift 2 cells at a time") with the stride-1 formulas."""
    strided = Conv2d(input_shape=(1, 1, 4, 4), kernel=(2, 2), stride=(2, 2), bias=False)
    report = check_file(DATA / "seed002_stride2.txt", strided)
    assert [d.pattern.key for d in report.diagnoses] == ["stride_dilation_missing"]
    assert report.exit_status == 1
    fixed = check_file(DATA / "seed002_stride2_corrected.txt", strided)
    assert fixed.exit_status == 0
    assert fixed.summary["unchecked"] == 0


def test_for_the_seeds_own_size_stride_two_happens_to_hold():
    """3x3 input, 2x2 kernel, stride 2: one output entry, so dilation changes nothing."""
    strided = Conv2d(input_shape=(1, 1, 3, 3), kernel=(2, 2), stride=(2, 2), bias=False)
    report = check_file(DATA / "seed002_stride2.txt", strided)
    assert report.exit_status == 0
