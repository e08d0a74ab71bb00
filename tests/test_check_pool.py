"""Pooling claims: with the input's values, or with conditions; their mistakes named.

The right and wrong gradients here are computed by hand-written loops over the windows (which
entry is largest, who receives dL/dO), independent of the derivation and of the checker.
"""

from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

from symcnn.check import check_file, check_text
from symcnn.layers import table
from symcnn.layers.pool.spec import AvgPool2d, MaxPool2d, MinPool2d

DATA = Path(__file__).parent / "data" / "check"
# The 4x4 example of the pooling slides in seeds/001.
EXAMPLE = np.array([[4, 8, 3, 9], [16, 10, 0, 7], [6, 12, 13, 8], [67, 18, 3, 7]])
TIED = np.array([[5, 5, 1, 0], [2, 1, 1, 1], [3, 9, 4, 4], [9, 1, 4, 0]])  # ties in each window


def windows(size=4, kernel=2, stride=2):
    """Output (i, j) -> its cells, row-major, for a pool without padding."""
    out = (size - kernel) // stride + 1
    return {
        (i, j): [(i * stride + a, j * stride + b) for a in range(kernel) for b in range(kernel)]
        for i in range(out)
        for j in range(out)
    }


def routed(values, choose, size=4):
    """dL/dX as {cell: {output: share}}: ``choose(window_values, cells)`` -> {cell: share}."""
    grads = {(r, c): {} for r in range(size) for c in range(size)}
    for output, cells in windows(size).items():
        for cell, share in choose([values[cell] for cell in cells], cells).items():
            grads[cell][output] = grads[cell].get(output, 0) + share
    return grads


def first_of(extreme):
    def choose(numbers, cells):
        return {cells[numbers.index(extreme(numbers))]: 1}

    return choose


def every_tied(extreme):
    def choose(numbers, cells):
        best = extreme(numbers)
        return {cell: 1 for cell, n in zip(cells, numbers, strict=True) if n == best}

    return choose


def split_tied(extreme):
    def choose(numbers, cells):
        best = extreme(numbers)
        tied = [cell for cell, n in zip(cells, numbers, strict=True) if n == best]
        return {cell: Fraction(1, len(tied)) for cell in tied}

    return choose


def claims_text(values, grads):
    """The file a student writes: the input's values, then one claim per entry."""
    rows = r" \\ ".join(" & ".join(str(v) for v in row) for row in values)
    lines = [rf"$$X = \begin{{bmatrix}} {rows} \end{{bmatrix}}$$"]
    for (r, c), shares in grads.items():
        terms = [
            f"dL/dO{i + 1}{j + 1}" if share == 1 else f"{share}*dL/dO{i + 1}{j + 1}"
            for (i, j), share in sorted(shares.items())
        ]
        lines.append(f"dL/dX{r + 1}{c + 1} = {' + '.join(terms) or '0'}")
    return "\n".join(lines) + "\n"


MAX = MaxPool2d(input_shape=(1, 1, 4, 4), kernel=(2, 2))
MIN = MinPool2d(input_shape=(1, 1, 4, 4), kernel=(2, 2))


def test_the_seed_example_with_its_values_is_right():
    report = check_file(DATA / "maxpool_example.tex", MAX)
    assert report.exit_status == 0
    assert report.summary == {"correct": 16, "wrong": 0, "invalid": 0, "unchecked": 0}
    assert len(report.values) == 16


@pytest.mark.parametrize(
    ("spec", "values", "choose"),
    [
        (MAX, EXAMPLE, first_of(max)),
        (MIN, EXAMPLE, first_of(min)),
        (MAX, TIED, first_of(max)),
        (MaxPool2d(input_shape=(1, 1, 4, 4), kernel=(2, 2), ties="all"), TIED, every_tied(max)),
        (MaxPool2d(input_shape=(1, 1, 4, 4), kernel=(2, 2), ties="split"), TIED, split_tied(max)),
        (MinPool2d(input_shape=(1, 1, 4, 4), kernel=(2, 2), ties="all"), TIED, every_tied(min)),
    ],
)
def test_right_routings_pass(spec, values, choose):
    report = check_text(claims_text(values, routed(values, choose)), spec)
    assert report.exit_status == 0, report.records
    assert report.diagnoses == []


def every_entry(numbers, cells):
    return dict.fromkeys(cells, 1)


def top_left(numbers, cells):
    return {cells[0]: 1}


MISTAKES = [
    ("pool_every_entry", MAX, EXAMPLE, every_entry),
    ("pool_every_entry", MIN, TIED, every_entry),
    ("pool_first_entry", MAX, EXAMPLE, top_left),
    ("pool_opposite_extreme", MAX, EXAMPLE, first_of(min)),
    ("pool_opposite_extreme", MIN, EXAMPLE, first_of(max)),
    ("pool_ties_all", MAX, TIED, every_tied(max)),
    ("pool_ties_split", MAX, TIED, split_tied(max)),
    (
        "pool_ties_first",
        MaxPool2d(input_shape=(1, 1, 4, 4), kernel=(2, 2), ties="all"),
        TIED,
        first_of(max),
    ),
]


@pytest.mark.parametrize(("key", "spec", "values", "choose"), MISTAKES)
def test_a_wrong_routing_is_named(key, spec, values, choose):
    report = check_text(claims_text(values, routed(values, choose)), spec)
    assert report.summary["wrong"] > 0
    assert [d.pattern.key for d in report.diagnoses] == [key]


AVG = AvgPool2d(input_shape=(1, 1, 3, 3), kernel=(2, 2), stride=(2, 2), padding=(1, 1))


def avg_claims(divisor):
    """3x3 input, 2x2 windows, stride 2, padding 1: every cell is in exactly one window."""
    lines = []
    for r in range(3):
        for c in range(3):
            i, j = (r + 1) // 2, (c + 1) // 2
            real = (1 if i == 0 else 2) * (1 if j == 0 else 2)  # cells of the window in X
            share = divisor(real)
            term = f"dL/dO{i + 1}{j + 1}" + ("" if share == 1 else f"/{share}")
            lines.append(f"dL/dX{r + 1}{c + 1} = {term}")
    return "\n".join(lines) + "\n"


def test_average_pool_divisors():
    assert check_text(avg_claims(lambda real: 4), AVG).exit_status == 0
    excluded = AvgPool2d(
        input_shape=(1, 1, 3, 3), kernel=(2, 2), stride=(2, 2), padding=(1, 1),
        count_include_pad=False,
    )  # fmt: skip
    assert check_text(avg_claims(lambda real: real), excluded).exit_status == 0
    report = check_text(avg_claims(lambda real: real), AVG)
    assert [d.pattern.key for d in report.diagnoses] == ["avgpool_divisor"]
    report = check_text(avg_claims(lambda real: 1), AVG)
    assert [d.pattern.key for d in report.diagnoses] == ["avgpool_not_divided"]


ONE_WINDOW = MaxPool2d(input_shape=(1, 1, 2, 2), kernel=(2, 2))


@pytest.mark.parametrize(
    "text",
    [
        # Iverson brackets, ties to the first maximum in row-major order
        "dL/dX11 = dL/dO11 * 1[X11 >= X12, X11 >= X21, X11 >= X22]\n"
        "dL/dX12 = dL/dO11 * 1[X12 > X11, X12 >= X21, X12 >= X22]\n"
        "dL/dX21 = dL/dO11 * 1[X21 > X11, X21 > X12, X21 >= X22]\n"
        "dL/dX22 = dL/dO11 * 1[X22 > X11, X22 > X12, X22 > X21]\n",
        # LaTeX cases
        r"$$\frac{\partial L}{\partial X_{11}} = \frac{\partial L}{\partial O_{11}}"
        r" \begin{cases} 1 & \text{if } X_{11} = \max(X_{11}, X_{12}, X_{21}, X_{22}) \\"
        r" 0 & \text{otherwise} \end{cases}$$"
        "\n"
        r"$$\frac{\partial L}{\partial X_{12}} = \begin{cases} \frac{\partial L}{\partial O_{11}}"
        r" & \text{if } X_{12} > X_{11},\ X_{12} \geq X_{21},\ X_{12} \geq X_{22} \\"
        r" 0 & \text{otherwise} \end{cases}$$"
        "\n",
        # plain-text choices, as printed notes write them
        "∂L/∂X₂₁ = ∂L/∂O₁₁·{1 if X₂₁ > X₁₁ and X₂₁ > X₁₂ and X₂₁ ≥ X₂₂; 0 otherwise}\n"
        "∂L/∂X₂₂ = {∂L/∂O₁₁ if X₂₂ > max(X₁₁, X₁₂, X₂₁); 0 otherwise}\n",
        # SymPy's spelling (the contract's)
        "dL/dX\nX[0,0,0,0] = g_0_0_0_0*Piecewise((1, (x_0_0_0_0 >= x_0_0_0_1)"
        " & (x_0_0_0_0 >= x_0_0_1_0) & (x_0_0_0_0 >= x_0_0_1_1)), (0, True))\n",
    ],
)
def test_conditions_in_every_notation(text):
    report = check_text(text, ONE_WINDOW)
    found = [r for r in report.records if r.offset is not None]
    assert found and all(r.status == "correct" for r in found), found
    assert report.exit_status == 0


def test_a_wrong_condition_is_shown_where_it_fails():
    text = "dL/dX12 = dL/dO11 * 1[X12 >= X11, X12 >= X21, X12 >= X22]\n"  # ties: should be >
    report = check_text(text, ONE_WINDOW)
    (record,) = [r for r in report.records if r.offset is not None]
    assert record.status == "wrong"
    ((kind, point),) = [n for n in record.notes if not isinstance(n, str)]
    assert kind == "differs_at"
    x11, x12 = (v for s, v in sorted(point.items(), key=lambda i: i[0].name) if s.name in (
        "x_0_0_0_0", "x_0_0_0_1"))  # fmt: skip
    assert x11 == x12  # a tie between X11 and X12: the first one, X11, takes the gradient
    assert [d.pattern.key for d in report.diagnoses] == ["pool_ties_all"]


def test_an_unconditional_claim_is_wrong_without_values():
    """dL/dX11 = dL/dO11 holds only when X11 is the largest: without values it is wrong."""
    report = check_text("dL/dX11 = dL/dO11\n", ONE_WINDOW)
    assert report.summary["wrong"] == 1


def test_cases_without_otherwise_are_undefined_elsewhere():
    text = (
        r"$$\frac{\partial L}{\partial X_{22}} = \begin{cases} \frac{\partial L}{\partial O_{11}}"
    )
    text += r" & \text{if } X_{22} > \max(X_{11}, X_{12}, X_{21}) \end{cases}$$"
    report = check_text(text, ONE_WINDOW)
    assert report.summary["wrong"] == 1


def test_every_pooling_pattern_has_a_test():
    tested = {key for key, *_ in MISTAKES} | {"avgpool_divisor", "avgpool_not_divided"}
    pool_types = {MaxPool2d.type, MinPool2d.type, AvgPool2d.type}
    pools = [check for kind, check in table("check").items() if kind in pool_types]
    assert tested == {p.key for check in pools for p in check.patterns}
