"""General-formula claims: read in people's notations, instantiated at every entry, diagnosed.

The correct formulas are the ones ``symcnn derive`` prints (text, LaTeX and Markdown notes) for
a grid of layers; the wrong ones are the mistakes people make, each written by hand here, and
each must fail with the diagnosis that names it.
"""

from __future__ import annotations

import numpy as np
import pytest

import symcnn
from symcnn.check import check_text
from symcnn.check.general_claims import MAX_POINTS, looks_general
from symcnn.check.report import text as render
from symcnn.layers.conv2d.spec import Conv2d
from symcnn.layers.pool.spec import AvgPool2d

GRID = [
    Conv2d(input_shape=(1, 1, 3, 3), kernel=(2, 2)),
    Conv2d(input_shape=(1, 1, 5, 5), kernel=(3, 3), stride=(2, 2), padding=(1, 1)),
    Conv2d(input_shape=(1, 1, 5, 4), kernel=(2, 3), stride=(2, 1), padding=(0, 1), bias=False),
    Conv2d(input_shape=(1, 1, 5, 5), kernel=(2, 2), dilation=(2, 2)),
    Conv2d(input_shape=(2, 2, 4, 4), out_channels=2, kernel=(2, 2), reduction="mean"),
    Conv2d(input_shape=(1, 4, 4, 4), out_channels=2, kernel=(2, 2), groups=2),
    AvgPool2d(input_shape=(1, 1, 4, 4), kernel=(2, 2)),
    AvgPool2d(
        input_shape=(1, 1, 5, 5), kernel=(3, 3), stride=(2, 2), padding=(1, 1),
        count_include_pad=False,
    ),
]  # fmt: skip


def general_records(report):
    return [record for record in report.records if record.kind == "general"]


@pytest.mark.parametrize("fmt", ["text", "latex", "markdown"])
@pytest.mark.parametrize("spec", GRID, ids=lambda spec: spec.describe())
def test_the_printed_general_formulas_pass_and_cover_every_entry(spec, fmt):
    derivation = symcnn.derive(spec)
    notes = symcnn.notes(derivation)
    printed = {"text": notes.text, "latex": notes.latex, "markdown": notes.markdown}[fmt]()
    report = check_text(printed, spec)
    found = general_records(report)
    assert found, "the notes' general formulas were not read as claims"
    wrong = [(r.tensor, r.index, str(r.got)) for r in found if r.status != "correct"]
    assert wrong == []
    every = {
        (name, index) for name, grad in derivation.grads.items() for index in np.ndindex(grad.shape)
    }
    assert {(r.tensor, r.index) for r in found} == every
    assert report.exit_status == 0


# -- wrong formulas and their diagnoses ---------------------------------------------------------

SMALL = Conv2d(input_shape=(1, 1, 3, 3), kernel=(2, 2))
STRIDED = Conv2d(input_shape=(1, 1, 5, 5), kernel=(3, 3), stride=(2, 2))
PADDED = Conv2d(input_shape=(1, 1, 4, 4), kernel=(3, 3), padding=(1, 1))
# With P = 1 a 1-based formula that forgets the padding *is* the right formula counted from 0,
# and the checker says so (indices shifted); with P = 2 only the padding explains it.
PADDED2 = Conv2d(input_shape=(1, 1, 4, 4), kernel=(3, 3), padding=(2, 2))
POOL = AvgPool2d(input_shape=(1, 1, 4, 4), kernel=(2, 2))

#: The padding-aware input gradient, in LaTeX (P is the layer's padding).
PADDED_X = (
    r"\frac{\partial L}{\partial X_{h,w}} = \sum_{p,q}"
    r" \frac{\partial L}{\partial O_{h-p+1+P,w-q+1+P}} W_{p,q}"
)
#: The same without the padding: the gradient of the padded input, read from its corner.
UNPADDED_X = (
    r"\frac{\partial L}{\partial X_{h,w}} = \sum_{p,q}"
    r" \frac{\partial L}{\partial O_{h-p+1,w-q+1}} W_{p,q}"
)

RIGHT = [
    (SMALL, r"dL/dW_{m,n} = sum_{i=1}^{2} sum_{j=1}^{2} dL/dO_{i,j} * X_{i+m-1,j+n-1}"),
    (
        SMALL,
        r"\frac{\partial L}{\partial W_{m,n}} = \sum_{i=1}^{2} \sum_{j=1}^{2}"
        r" \frac{\partial L}{\partial O_{i,j}} X_{i+m-1, j+n-1}",
    ),
    (SMALL, "∂L/∂X_{h,w} = Σ_{p,q} ∂L/∂O_{h-p+1,w-q+1} · W_{p,q}"),
    (SMALL, r"dL/dB = \sum_{i,j=1}^{2} dL/dO_{ij}"),
    (STRIDED, "dL/dW_{p,q} = Σ_{i=1}^{2} Σ_{j=1}^{2} dL/dO_{i,j} X_{2(i-1)+p,S(j-1)+q}"),
    (
        STRIDED,
        r"dL/dX_{h,w} = Σ_{p=1}^{3} Σ_{q=1}^{3} [2 | h-p] [S \mid w-q]"
        " dL/dO_{(h-p)/2+1,(w-q)/S+1} W_{p,q}",
    ),
    (PADDED, PADDED_X),
    (
        PADDED,
        r"\frac{\partial L}{\partial X_{hw}} = \sum_{p=1}^{3}\sum_{q=1}^{3}"
        r" \mathbb{1}[1 \le h-p+2 \le 4] \frac{\partial L}{\partial O_{h-p+2,w-q+2}} W_{pq}",
    ),
    (POOL, r"dL/dX_{h,w} = \frac{1}{4} dL/dO_{\lceil h/2 \rceil, \lceil w/2 \rceil}"),
    (
        POOL,
        "dL/dX_{h,w} = Σ_{i,j} {dL/dO_{i,j}/4 if 2i-1 <= h <= 2i and 2j-1 <= w <= 2j; 0 otherwise}",
    ),
]


@pytest.mark.parametrize(("spec", "claim"), RIGHT)
def test_general_formulas_in_the_notations_people_write_pass(spec, claim):
    report = check_text(claim, spec)
    found = general_records(report)
    tensor = found[0].tensor
    assert len(found) == symcnn.derive(spec).grads[tensor].size
    assert {r.status for r in found} == {"correct"}


WRONG = [
    # the kernel left unrotated in dL/dX
    (
        SMALL,
        "dL/dX_{h,w} = sum_{p=1}^{2} sum_{q=1}^{2} dL/dO_{h+p-2,w+q-2} * W_{p,q}",
        "kernel_not_rotated",
    ),
    # the stride ignored: X read at i+p-1, dL/dO not dilated
    (
        STRIDED,
        "dL/dW_{p,q} = Σ_{i=1}^{2} Σ_{j=1}^{2} dL/dO_{i,j} X_{i+p-1,j+q-1}",
        "stride_dilation_missing",
    ),
    (
        STRIDED,
        "dL/dX_{h,w} = Σ_{p=1}^{3} Σ_{q=1}^{3} dL/dO_{h-p+1,w-q+1} W_{p,q}",
        "stride_dilation_missing",
    ),
    # the padding ignored
    (PADDED2, UNPADDED_X, "padding_not_cropped"),
    (PADDED, UNPADDED_X, "indices_shifted"),
    # off by one: a 0-based formula read as 1-based
    (SMALL, "dL/dW_{m,n} = Σ_{i=0}^{1} Σ_{j=0}^{1} dL/dO_{i,j} * X_{i+m,j+n}", "indices_shifted"),
    # the average's divisor left out
    (POOL, r"dL/dX_{h,w} = dL/dO_{\lceil h/2 \rceil, \lceil w/2 \rceil}", "avgpool_not_divided"),
]


@pytest.mark.parametrize(("spec", "claim", "key"), WRONG)
def test_each_typical_wrong_formula_fails_with_its_diagnosis(spec, claim, key):
    report = check_text(claim, spec)
    found = general_records(report)
    assert any(r.status == "wrong" for r in found)
    assert key in [d.pattern.key for d in report.diagnoses]
    assert report.exit_status == 1


def test_the_report_gives_the_first_failing_index_with_expected_and_given():
    report = check_text(WRONG[0][1], SMALL)
    first = next(r for r in report.records if r.status == "wrong")
    assert first.index == (0, 0, 0, 0)  # X11: the first entry in the tensor's order
    exact = symcnn.derive(SMALL).grads["X"][0, 0, 0, 0]
    assert first.expected == exact and first.got != exact
    text = render(report)
    assert "dL/dX11" in text.split("WRONG (")[1].splitlines()[2]


def test_zero_based_formulas_with_the_zero_based_option():
    claim = "dL/dW_{m,n} = Σ_{i=0}^{1} Σ_{j=0}^{1} dL/dO_{i,j} * X_{i+m,j+n}"
    report = check_text(claim, SMALL, zero_based=True)
    assert {r.status for r in general_records(report)} == {"correct"}


def test_channels_and_batch_take_one_free_index_per_axis():
    spec = Conv2d(input_shape=(2, 2, 3, 3), out_channels=2, kernel=(2, 2), bias=False)
    claim = "dL/dW_{k,c,p,q} = Σ_{n=1}^{2} Σ_{i,j} dL/dO_{n,k,i,j} X_{n,c,i+p-1,j+q-1}"
    report = check_text(claim, spec)
    found = general_records(report)
    assert len(found) == 16 and {r.status for r in found} == {"correct"}
    short = check_text("dL/dW_{p,q} = Σ_{i,j} dL/dO_{i,j} X_{i+p-1,j+q-1}", spec)
    (invalid,) = [r for r in short.records if r.status == "invalid"]
    assert "W with 2 indices" in invalid.message and "takes 4" in invalid.message


@pytest.mark.parametrize(
    ("claim", "words"),
    [
        ("dL/dW_{m,n} = Σ_{i=1}^{2} dL/dO_{i,j} X_{i+m-1,j+n-1}", "j is not an index"),
        ("dL/dW_{m,n} = Σ_{i=1}^{2} Σ_{j=1}^{2} dL/dO_{i,j} X_{i+m-1}", "X with 1 index"),
        ("dL/dW_{m,n} = Σ_{i=1}^{2} Σ_{j=1}^{2} dL/dO_{i,j} Q_{i,j}", "Q with an index"),
        ("dL/dW_{m,n} = Σ_{i=1}^{999999999} dL/dO_{1,1}", f"{MAX_POINTS:,} terms"),
        ("dL/dW_{m,n} = Σ_{i=1}^{2} Σ_{j=1}^{2} dL/dO_{i,j} / X_{i,j}", "division by a tensor"),
    ],
)
def test_a_general_claim_that_cannot_be_used_is_unreadable_not_passed(claim, words):
    report = check_text(claim, SMALL)
    (invalid,) = [r for r in report.records if r.status == "invalid"]
    assert words in invalid.message
    assert report.exit_status == 2


@pytest.mark.parametrize(
    "claim",
    [
        r"\frac{\partial L}{\partial W_i} = \sum_{k=1}^{M} \frac{\partial L}{\partial O_k}"
        r" \frac{\partial O_k}{\partial W_i}",
        "dL/dW_{m,n} = Σ_{i=1}^{N} dL/dO_{i,1} X_{i,1}",
        "dL/dW_{m,n} = Σ_{i=1}^{2} dL/dO_{i,1} X_{i,1} + ...",
        "dL/dW_{m,n} = Σ_{i=1}^{2} [X_{i,1} >= X_{i,2}] dL/dO_{i,1}",
    ],
)
def test_jacobians_symbolic_sizes_and_abridged_sums_are_listed_as_not_checked(claim):
    report = check_text(claim + "\ndL/dX_{11} = dL/dO_{11} W_{11}", SMALL)
    assert len(report.skipped) == 1 and report.skipped[0].reason.startswith("a general formula")
    assert [r.status for r in report.records if r.offset is not None] == ["correct"]


def test_the_forward_formula_is_no_gradient_claim():
    text = "O_{ij} = Σ_{p,q} X_{i+p-1,j+q-1} W_{pq} + B\ndL/dB = Σ_{i,j} dL/dO_{ij}"
    report = check_text(text, SMALL)
    assert [(r.tensor, r.status) for r in report.records if r.offset is not None] == [
        ("B", "correct")
    ]


def test_what_looks_like_a_general_formula():
    assert looks_general(r"\frac{\partial L}{\partial W_{m,n}} = \sum_{i} x")
    assert looks_general("∂L/∂Wₘₙ = 0")
    assert looks_general("dL/dX_{12} = Σ_{i=1}^{2} dL/dO_{1i} W_{1i}")
    assert not looks_general("dL/dX_{12} = dL/dO_{11} W_{12}")
    assert not looks_general("dE/dx12 = dE/do11*w12")


@pytest.mark.parametrize(
    ("claim", "words"),
    [
        ("dL/dW_{m,n} = " + "(Σ_{i,j} X_{i,j})" * 8, "terms"),
        ("dL/dW_{m,n} = " + "(" * 5000 + "1" + ")" * 5000, "nested too deeply"),
        ("dL/dW_{m,n} = Σ_{i=1}^{1000} Σ_{j=1}^{1000} dL/dO_{1,1}", f"{MAX_POINTS:,} terms"),
    ],
)
def test_hostile_general_claims_are_refused_in_bounded_time(claim, words):
    report = check_text(claim, SMALL)
    (invalid,) = [r for r in report.records if r.status == "invalid"]
    assert words in invalid.message


def test_one_entry_with_a_sum_and_an_index_named_like_a_tensor_letter():
    report = check_text("dL/dX_{22} = Σ_{p,q} dL/dO_{3-p,3-q} W_{pq}", SMALL)
    assert [(r.index, r.status) for r in report.records if r.offset is not None] == [
        ((0, 0, 1, 1), "correct")
    ]
    # w is the kernel's letter and the column index: inside a subscript it is the index
    claim = "dL/dx_{h,w} = Σ_{p,q} dL/do_{h-p+1,w-q+1} w_{p,q}"
    report = check_text(claim, SMALL, letters="xwo")
    found = general_records(report)
    assert len(found) == 9 and {r.status for r in found} == {"correct"}


@pytest.mark.parametrize("ties", ["first", "split", "all"])
def test_an_extreme_pool_general_formula_is_not_checked_never_passed(ties: str) -> None:
    """Max pooling's general formula holds a condition on values: reported as not checked."""
    from symcnn import MaxPool2d, derive, notes
    from symcnn.check.source import NotationError

    spec = MaxPool2d(input_shape=(1, 1, 4, 4), kernel=(2, 2), ties=ties)
    printed = notes(derive(spec))
    for text in (printed.text(), printed.latex(), printed.markdown()):
        report = check_text(text, spec)
        assert not [r for r in report.records if r.kind == "general"]
        assert {r.status for r in report.records} == {"correct"}
        reasons = [s.reason for s in report.skipped if "which cell wins" in s.reason]
        assert len(reasons) == 1  # the printed dL/dX formula, and only it
    # a hand-written one, wrong or right, is not checked either: never a pass
    wrong = (
        r"$$\frac{\partial L}{\partial X_{h,w}} = \sum_{i=1}^{2} \sum_{j=1}^{2}"
        r" \frac{\partial L}{\partial O_{i,j}}$$"
    )
    with pytest.raises(NotationError, match=r"no gradient claims found.*which cell wins"):
        check_text(wrong, spec)
