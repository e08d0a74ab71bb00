"""Letters: given by flags or inferred from how the file uses them."""

import pytest

from symcnn.check import NotationError, check_text
from symcnn.check.resolve import Letters, parse_letters
from symcnn.layers.conv2d.spec import Conv2d

LAYER = Conv2d(input_shape=(1, 1, 3, 3), kernel=(2, 2))


def letters_of(text, **options):
    report = check_text(text, LAYER, **options)
    letters = report.letters
    return (letters.input, letters.kernel, letters.output, letters.loss), report


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("dL/dX12 = dL/dO11*F12 + dL/dO12*F11", ("X", "F", "O", "L")),
        ("dE/dx12 = dE/do11*w12 + dE/do12*w11", ("x", "w", "o", "E")),
        ("dL/dA12 = dL/dZ11*K12 + dL/dZ12*K11", ("A", "K", "Z", "L")),
        ("dJ/dX12 = dJ/dY11*W12 + dJ/dY12*W11", ("X", "W", "Y", "J")),
        ("dL/dW11 = dL/dO11*X11 + dL/dO12*X12 + dL/dO21*X21 + dL/dO22*X22", ("X", "W", "O", "L")),
        ("dL/dB = dL/dO11 + dL/dO12 + dL/dO21 + dL/dO22", ("X", "W", "O", "L")),
    ],
)
def test_letters_are_inferred(text, expected):
    found, report = letters_of(text)
    assert found == expected
    assert report.exit_status == 0


def test_a_typo_does_not_outvote_the_file():
    text = "dL/dX11 = dL/dO11*F11\ndL/dX21 = dL/dQ11*F21 + dL/dO21*F11\ndL/dX31 = dL/dO21*F21\n"
    found, report = letters_of(text)
    assert found == ("X", "F", "O", "L")
    invalid = [r for r in report.records if r.status == "invalid"]
    assert [report.line(r.offset) for r in invalid] == [2]
    assert "did you mean O?" in invalid[0].message


def test_flags_name_letters_the_file_cannot():
    text = "dL/dP12 = dL/dR11*Q12 + dL/dR12*Q11"
    with pytest.raises(NotationError, match="pass --letters"):
        check_text(text, LAYER)
    found, report = letters_of(text, letters="PQR")
    assert found == ("P", "Q", "R", "L")
    assert report.exit_status == 0
    found, _ = letters_of("dC/dP12 = dC/dR11*Q12 + dC/dR12*Q11", letters="PQR", loss="C")
    assert found == ("P", "Q", "R", "C")


def test_flags_win_over_inference():
    """With the letters swapped by flag, the same claim reads as a different gradient."""
    text = "dL/dX12 = dL/dO11*W12 + dL/dO12*W11"
    _, report = letters_of(text, letters="WXO")
    (record,) = [r for r in report.records if r.offset is not None]
    assert (record.tensor, record.index) == ("W", (0, 0, 0, 1))  # X names the kernel now
    assert record.status == "wrong"


@pytest.mark.parametrize(
    ("text", "has_kernel", "message"),
    [
        ("XF", True, "expected IKO or IKOB"),
        ("XXO", True, "distinct"),
        ("X1O", True, "expected IKO"),
        ("XFO", False, "expected IO"),
    ],
)
def test_bad_letter_flags_are_refused(text, has_kernel, message):
    with pytest.raises(ValueError, match=message):
        parse_letters(text, has_kernel)


def test_letter_flags_read_into_roles():
    assert parse_letters("xwo", True) == Letters("x", "o", "E", "w", "b")
    assert parse_letters("AKZC", True, loss="J") == Letters("A", "Z", "J", "K", "C")
    assert parse_letters("XO", False) == Letters("X", "O", "L")
    with pytest.raises(ValueError, match="loss"):
        parse_letters("XFO", True, loss="X")


def test_a_loss_gradient_by_a_letter_of_no_tensor_is_noted_not_dropped():
    text = "dL/dX11 = dL/dO11*W11\ndL/dY11 = 0\n"
    _, report = letters_of(text)
    assert [(report.line(s.offset), s.reason[:22]) for s in report.skipped] == [
        (2, "Y is not a letter of t")
    ]


def test_the_bias_takes_a_sum():
    _, report = letters_of(
        r"\frac{\partial L}{\partial b} = \text{sum}\left(\frac{\partial L}{\partial O}\right)"
    )
    (record,) = [r for r in report.records if r.offset is not None]
    assert (record.tensor, record.index, record.status) == ("B", (0,), "correct")
