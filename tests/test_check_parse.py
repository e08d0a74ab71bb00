"""The notations people write, read into claims: LaTeX, plain text, Unicode, operators."""

import pytest
from sympy import Rational, Symbol

from symcnn.check import NotationError, check_text
from symcnn.check.parse import Derivative, Entry, FailedStatement, ParsedStatement, parse_statement
from symcnn.check.source import source_from_text, split_statements
from symcnn.layers.conv2d.spec import Conv2d

LAYER = Conv2d(input_shape=(1, 1, 3, 3), kernel=(2, 2))
# dL/dX_{12} (0-based (0, 1)) of a 3x3 input and a 2x2 kernel: g00*w01 + g01*w00.
RIGHT = {"g_0_0_0_0*w_0_0_0_1", "g_0_0_0_1*w_0_0_0_0"}


def claims(text, spec=LAYER, **options):
    report = check_text(text, spec, **options)
    return [r for r in report.records if r.offset is not None], report


def parse_one(text):
    (statement,) = split_statements(source_from_text(text))
    return parse_statement(statement)


@pytest.mark.parametrize(
    "text",
    [
        # LaTeX: \frac, \partial or \delta, *, \cdot or juxtaposition, optional wrappers
        r"\frac{\partial L}{\partial X_{12}} = \frac{\partial L}{\partial O_{11}} F_{12}"
        r" + \frac{\partial L}{\partial O_{12}} F_{11}",
        r"$\frac{\partial L}{\partial X_{12}} = \frac{\partial L}{\partial O_{11}} * F_{12}"
        r" + \frac{\partial L}{\partial O_{12}} \cdot F_{11}$",
        r"$$\frac{\delta L}{\delta X_{1,2}} = \frac{\delta L}{\delta O_{11}} \times F_{12}"
        r" + \frac{\delta L}{\delta O_{12}} F_{11}$$",
        r"\[ \dfrac{\partial L}{\partial X_{12}} = \left(\frac{\partial L}{\partial O_{11}}"
        r"\right) F_{12} + F_{11} \, \frac{\partial L}{\partial O_{12}} \]",
        r"\begin{align} \frac{dL}{dX_{12}} &= \frac{dL}{dO_{11}} F_{12} + \frac{dL}{dO_{12}}"
        r" F_{11} \end{align}",
        r"\frac{\mathrm{d}L}{\mathrm{d}X_{12}} = \mathbf{F}_{12}\frac{\partial L}{\partial O_{11}}"
        r" + F_{11}\frac{\partial L}{\partial O_{12}}",
        # plain text
        "dL/dX12 = dL/dO11*F12 + dL/dO12*F11",
        "dL/dX_12 = dL/dO_11 * F_12 + dL/dO_12 * F_11",
        "dL/dX[1,2] = (dL/dO[1,1])*F[1,2] + F[1,1]*(dL/dO[1,2])",
        "d L / d X12 = d L / d O11 * F12 + dL/dO12 * F11",
        "dX12 = dO11*F12 + dO12*F11",
        # Unicode
        "∂L/∂X₁₂ = ∂L/∂O₁₁·F₁₂ + ∂L/∂O₁₂·F₁₁",
        "δX₁₂ = ∂L/∂O₁₁ × F₁₂ + ∂L/∂O₁₂ ⋅ F₁₁",
        # the contract's notation (what symcnn derive --format text writes)
        "dL/dX\n  X[0,0,0,1] = g_0_0_0_0*w_0_0_0_1 + g_0_0_0_1*w_0_0_0_0",
    ],
)
def test_one_claim_in_every_notation(text):
    found, report = claims(text, letters="XFO" if "F" in text else None)
    (record,) = found
    assert (record.tensor, record.index) == ("X", (0, 0, 0, 1))
    assert record.status == "correct", (record, report.letters)
    assert {str(t) for t in record.expected.args} == RIGHT


def test_the_issue_examples_read():
    found, _ = claims("dE/dx12 = dE/do11*w12 + dE/do12*w11")
    assert [r.status for r in found] == ["correct"]
    found, _ = claims("∂L/∂x₁₂ = ∂L/∂o₁₁·w₁₂ + ∂L/∂o₁₂·w₁₁")
    assert [r.status for r in found] == ["correct"]


def test_commas_are_required_where_digits_are_ambiguous():
    spec = Conv2d(input_shape=(1, 1, 12, 12), kernel=(3, 3))
    found, _ = claims(
        "dL/dX_{10,3} = dL/dO_{8,1} W_{3,3} + dL/dO_{8,2} W_{3,2} + dL/dO_{8,3} W_{3,1}"
        " + dL/dO_{9,1} W_{2,3} + dL/dO_{9,2} W_{2,2} + dL/dO_{9,3} W_{2,1}"
        " + dL/dO_{10,1} W_{1,3} + dL/dO_{10,2} W_{1,2} + dL/dO_{10,3} W_{1,1}",
        spec,
    )
    (record,) = found
    assert record.index == (0, 0, 9, 2)
    assert record.status == "correct"
    found, _ = claims("dL/dX_{103} = 0", spec)
    assert found[0].status == "invalid"
    assert "3 digits for 2 indices" in found[0].message
    assert "X_{1,23}" in found[0].message


def test_indices_with_batch_and_channel_axes():
    spec = Conv2d(input_shape=(2, 3, 3, 3), out_channels=2, kernel=(2, 2), bias=False)
    found, _ = claims(
        "dL/dW_{2,3,1,1} = dL/dO_{1,2,1,1} X_{1,3,1,1} + dL/dO_{1,2,1,2} X_{1,3,1,2}"
        " + dL/dO_{1,2,2,1} X_{1,3,2,1} + dL/dO_{1,2,2,2} X_{1,3,2,2}"
        " + dL/dO_{2,2,1,1} X_{2,3,1,1} + dL/dO_{2,2,1,2} X_{2,3,1,2}"
        " + dL/dO_{2,2,2,1} X_{2,3,2,1} + dL/dO_{2,2,2,2} X_{2,3,2,2}",
        spec,
    )
    (record,) = found
    assert record.index == (1, 2, 0, 0)
    assert record.status == "correct"


def test_zero_based_indices():
    found, _ = claims("dL/dX01 = dL/dO00*W01 + dL/dO01*W00", zero_based=True)
    assert [(r.index, r.status) for r in found] == [((0, 0, 0, 1), "correct")]


def test_chains_check_every_member():
    text = (
        r"\frac{\partial L}{\partial X_{11}} = \frac{\partial L}{\partial O_{11}}"
        r" \frac{\partial O_{11}}{\partial X_{11}} = \frac{\partial L}{\partial O_{11}} W_{11}"
    )
    found, _ = claims(text)
    assert [r.status for r in found] == ["correct", "correct"]
    assert found[0].got == found[1].got == Symbol("g_0_0_0_0") * Symbol("w_0_0_0_0")


def test_local_partials_are_their_exact_values():
    found, _ = claims(
        "dL/dW12 = dL/dO11 * dO11/dW12 + dL/dO12 * dO12/dW12 + dL/dO21 * dO21/dW12"
        " + dL/dO22 * dO22/dW12 + dL/dO11 * dO11/dW11 * 0"
    )
    assert [r.status for r in found] == ["correct"]
    found, _ = claims("dL/dX11 = dL/dO12 * dO12/dX11")  # O12 does not read X11: zero
    assert found[0].got == 0


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("dL/dB = 2", 2),
        (r"\frac{\partial L}{\partial B_{1}} = \frac{3}{4}", Rational(3, 4)),
        ("dL/dB1 = 0.25 - 1/4 + 1.5", Rational(3, 2)),
        ("dL/dB1 = -(-2)", 2),
        ("dL/dB1 = 6/4", Rational(3, 2)),
    ],
)
def test_numbers_are_exact(text, value):
    found, _ = claims(text)
    assert found[0].got == value


def test_operator_claims_cover_every_entry():
    found, report = claims(
        "dL/dX = full_conv(dL/dO, rot180(W))\n"
        "dL/dW = conv(X, dL/dO)\n"
        r"\frac{\partial L}{\partial B} = \text{sum}\left(\frac{\partial L}{\partial O}\right)"
    )
    assert len(found) == 9 + 4 + 1
    assert {r.status for r in found} == {"correct"}
    assert report.summary["unchecked"] == 0
    assert {r.kind for r in found} == {"operator"}


@pytest.mark.parametrize(
    "rhs",
    [
        "full_conv(dL/dO, rot180(W))",
        "full_convolution(dL/dO, rot_180(W))",
        "transpose_conv(dL/dO, W)",
        r"\operatorname{full\_conv}\left(\frac{\partial L}{\partial O}, \text{rot}_{180}(W)\right)",
        "crop(full_conv(pad(dL/dO, 1), rot180(W)), 1)",
        "2*full_conv(dL/dO, rot180(W))/2",
        "full_conv(dL/dO, rot180(W)) + 0*X",
    ],
)
def test_operator_spellings(rhs):
    found, _ = claims(f"dL/dX = {rhs}")
    assert {r.status for r in found} == {"correct"}


def test_operators_with_stride_and_padding():
    spec = Conv2d(input_shape=(1, 1, 5, 5), kernel=(3, 3), stride=(2, 2), padding=(1, 1))
    found, _ = claims(
        "dL/dX = crop(full_conv(dilate(dL/dO, stride), rot180(W)), padding)\n"
        "dL/dX = crop(transpose_conv(dL/dO, W, 2), 1)\n"
        "dL/dW = conv(pad(X, P), dilate(dL/dO, S))",
        spec,
    )
    assert {r.status for r in found} == {"correct"}
    assert len(found) == 25 + 25 + 9


def test_matrices_and_the_star_of_lecture_notes():
    text = (
        r"\begin{bmatrix} \frac{\partial E}{\partial w_{11}} & \frac{\partial E}{\partial w_{12}}"
        r" \\ \frac{\partial E}{\partial w_{21}} & \frac{\partial E}{\partial w_{22}}"
        r" \end{bmatrix} = \begin{bmatrix} x_{11} & x_{12} & x_{13} \\ x_{21} & x_{22} & x_{23}"
        r" \\ x_{31} & x_{32} & x_{33} \end{bmatrix} * \begin{bmatrix}"
        r" \frac{\partial E}{\partial o_{11}} & \frac{\partial E}{\partial o_{12}} \\"
        r" \frac{\partial E}{\partial o_{21}} & \frac{\partial E}{\partial o_{22}} \end{bmatrix}"
    )
    found, _ = claims(f"$${text}$$")
    assert [r.status for r in found] == ["correct"] * 4
    assert {r.kind for r in found} == {"matrix"}


def test_mean_reduction_reads_dL_dO_as_the_scaled_upstream():
    """dL/dO = G / N under mean: a claim in dL/dO is right under either reduction."""
    mean = Conv2d(input_shape=(2, 1, 3, 3), kernel=(2, 2), reduction="mean")
    text = "dL/dX_{1,1,1} = dL/dO_{1,1,1} W11"
    found, _ = claims(text, mean)
    assert found[0].status == "correct"
    assert found[0].got == Symbol("g_0_0_0_0") * Symbol("w_0_0_0_0") / 2
    # Written in the contract's G, the 1/N has to be written out.
    found, _ = claims(
        "dL/dX\nX[0,0,0,0] = g_0_0_0_0*w_0_0_0_0/2\nX[1,0,0,0] = g_1_0_0_0*w_0_0_0_0", mean
    )
    assert [r.status for r in found] == ["correct", "wrong"]


def test_parsed_trees_keep_offsets():
    parsed = parse_one("dL/dX12 = dL/dO11*W12")
    assert isinstance(parsed, ParsedStatement)
    lhs, rhs = parsed.members
    assert lhs == Derivative(Entry("L", None, 1), lhs.denominator, 0)
    assert lhs.denominator.letter == "X" and lhs.denominator.index.groups == ("12",)
    assert rhs.factors[1].offset == 18


@pytest.mark.parametrize(
    ("text", "column", "message"),
    [
        ("dL/dX11 = dL/dO11 * W11^2", 24, "superscripts"),
        (r"dL/dX11 = \sqrt{W11}", 11, r"\sqrt"),
        ("dL/dX11 = dL/dO11 * foo", 21, "unknown name 'foo'"),
        ("dL/dX11 = 2 * (W11 > W12)", 16, "a condition where a number belongs"),
        ("dL/dX11 = dL/dO11 / (W11 - W11)", 22, "division by zero"),
        ("dL/dX11 = dL/dO11 * W11 / 0", 25, "division by zero"),
        ("dL/dX11 = conv W", 11, "needs its arguments"),
        (r"dL/dX11 = \frac{\partial L}{\partial 0_{11}} W_{11}", 29, "did you mean O"),
        ("dL/dX11 = dL/dO11 * W11 +", 26, "ends too early"),
        ("dL/dX11 = dL/dX12", 11, "gradient being derived"),
        ("dL/dX11 = O11", 11, "the output itself"),
        ("dL/dX11 = dL/dO31 W11", 16, "out of range"),
    ],
)
def test_errors_name_their_column(text, column, message):
    found, report = claims(text)
    (record,) = found
    assert record.status == "invalid"
    assert message in record.message
    assert report.source.position(record.offset) == (1, column)
    assert report.exit_status == 2


def test_statements_that_are_not_claims_are_ignored():
    text = (
        "The output is O11 = X11 W11 + X12 W12 + X21 W21 + X22 W22.\n"
        r"$$\frac{\partial f}{\partial x} = \frac{\partial f}{\partial q} * 1 = -4$$"
        "\n"
        "Output Width = [(W_in - W_k + 2P) // (S)] + 1\n"
        "dL/dX11 = dL/dO11*W11\n"
    )
    found, report = claims(text)
    assert [(report.line(r.offset), r.status) for r in found] == [(4, "correct")]


def test_a_file_with_no_claim_is_refused():
    with pytest.raises(NotationError, match="no gradient claims"):
        check_text("just prose, O = X * W, nothing to check", LAYER)


def test_failed_statements_keep_their_left_side():
    parsed = parse_one("dL/dX11 = @@")
    assert isinstance(parsed, FailedStatement)
    assert isinstance(parsed.lhs, Derivative)
    assert parse_one("q = @@").lhs == Entry("q", None, 0)  # the reader decides it is prose
    assert parse_one("no claim here = @@").lhs is None


def test_lecture_note_layouts_chains_shorthands_and_drawings():
    """What printed notes look like: aligned chains, δᵢⱼ for ∂L/∂Oᵢⱼ, drawn matrices."""
    latex = r"""
\begin{align*}
\frac{\partial L}{\partial X_{12}} &= \frac{\partial L}{\partial O_{11}} \cdot
  \frac{\partial O_{11}}{\partial X_{12}} + \frac{\partial L}{\partial O_{12}} \cdot
  \frac{\partial O_{12}}{\partial X_{12}} \\
&= \delta_{11} W_{12} + \delta_{12} W_{11} \\[0.8ex]
\frac{\partial L}{\partial X} &= \operatorname{full\ conv}\left(\frac{\partial L}{\partial O},
  \operatorname{rot180}\left(W\right)\right)
\end{align*}
"""
    found, report = claims(latex)
    assert [r.status for r in found] == ["correct"] * (2 + 9)
    assert {report.line(r.offset) for r in found} == {3, 6, 7}
    text = (
        "  ∂L/∂Wᵢ = Σ[k=1..M] ∂L/∂Oₖ·∂Oₖ/∂Wᵢ\n"
        "  ∂L/∂X₁₁ = ∂L/∂O₁₁·∂O₁₁/∂X₁₁ + ∂L/∂O₁₂·∂O₁₂/∂X₁₁\n"
        "          = δ₁₁·W₁₁\n"
        "  ∂L/∂X = full conv(∂L/∂O, rot180(W))\n"
        "\n"
        "  ∂L/∂X = ⎡δ₁₁·W₁₁  δ₁₁·W₁₂ + δ₁₂·W₁₁  δ₁₂·W₁₂⎤\n"
        "          ⎢...                                 ⎥\n"
        "          ⎣...                                 ⎦\n"
        "  ∂L/∂X = full conv(∂L/∂O, W)\n"
        "        = ⎡δ₁₁·W₂₂ ...⎤\n"
        "          ⎣...        ⎦\n"
    )
    found, report = claims(text)
    assert [r.status for r in found[:11]] == ["correct"] * (2 + 9)
    # The unrotated kernel of line 9 is still checked: its chain stops at the drawing.
    assert [r.status for r in found[11:]] == ["wrong"] * 9
    # With no dL/dW claimed, the two mistakes that leave the kernel unrotated in dL/dX agree.
    assert [d.pattern.key for d in report.diagnoses] == [
        "kernel_not_rotated",
        "correlation_for_convolution",
    ]
    # The drawn matrices are read back; their elided rows ("...", line 7) leave them abridged.
    assert [(report.line(s.offset), s.written) for s in report.skipped] == [
        (1, "∂L/∂W_{i}"),
        (7, "∂L/∂X"),
        (10, "∂L/∂X"),  # the drawn rows of a chain: its sides before them are still read
    ]
    assert "leaves terms out" in report.skipped[1].reason
    assert report.exit_status == 1


def test_abridged_sums_are_noted_not_checked():
    """Elided terms (..., ⋯, \\cdots) cannot be compared: noted, and the entry left unchecked."""
    found, report = claims("dL/dX11 = dL/dO11 * W11 + ...\ndL/dX12 = dL/dO11*W12 + dL/dO12*W11")
    assert [r.status for r in found] == ["correct"]
    (skipped,) = report.skipped
    assert report.source.position(skipped.offset) == (1, 27)
    assert "leaves terms out" in skipped.reason
    assert report.exit_status == 0
