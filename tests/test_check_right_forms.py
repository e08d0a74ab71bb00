"""The diagnoses' right forms are the layer's full identity, and the checker reads them as right.

Four diagnoses used to suggest a right form that is itself wrong for the layer (not rotated at
stride 2 dropped the dilation; padding not cropped dropped the dilation; not dilated with
padding dropped the crop). Every suggested form is now built from the layer's full identity,
proven against the exact gradient, and here also fed back to the checker as a claim.
"""

from __future__ import annotations

import pytest
from conv_grid import CONV_GRID

from symcnn.check import check_text
from symcnn.check.kinds import kind_check
from symcnn.check.report import diagnosis_messages
from symcnn.layers.conv2d.check_right_forms import right_forms
from symcnn.layers.conv2d.spec import Conv2d
from symcnn.layers.pool.spec import AvgPool2d, MaxPool2d, MinPool2d

SINGLE = [
    Conv2d(input_shape=(1, 1, h, w), kernel=k, stride=s, padding=p, dilation=d)
    for h, w, k in ((5, 5, (3, 3)), (6, 4, (2, 3)))
    for s in ((1, 1), (2, 2), (3, 2))
    for p in ((0, 0), (1, 1), (2, 1))
    for d in ((1, 1), (2, 2))
    if (h + 2 * p[0] - d[0] * (k[0] - 1) - 1) >= 0 and (w + 2 * p[1] - d[1] * (k[1] - 1) - 1) >= 0
]


def _filled(template: str) -> str:
    return template.format(X="X", W="W", dO="dL/dO")


@pytest.mark.parametrize("spec", SINGLE, ids=str)
def test_right_forms_read_back_as_correct(spec):
    forms = right_forms(spec)
    for tensor in ("X", "W"):
        report = check_text(f"dL/d{tensor} = {_filled(forms['right_' + tensor])}", spec)
        statuses = {r.status for r in report.records if r.tensor == tensor}
        assert statuses == {"correct"}, (tensor, forms)


@pytest.mark.parametrize("spec", CONV_GRID, ids=str)
def test_right_forms_are_proven_on_the_whole_grid(spec):
    forms = right_forms(spec)  # raises when a form does not equal the exact gradient
    assert set(forms) == {"right_X", "right_W"}


def test_not_rotated_at_stride_2_suggests_the_dilation():
    spec = Conv2d(input_shape=(1, 1, 5, 5), kernel=(2, 2), stride=(2, 2))
    report = check_text("dL/dX = extend(full_conv(dilate(dL/dO, 2), W), 5, 5)", spec)
    messages = " ".join(diagnosis_messages(report))
    assert "kernel not rotated" in messages
    assert "the right form is extend(full_conv(dilate(dL/dO, 2), rot180(W)), 5, 5)" in messages


def test_padding_not_cropped_suggests_dilation_and_crop():
    spec = Conv2d(input_shape=(1, 1, 5, 5), kernel=(3, 3), stride=(2, 2), padding=(1, 1))
    report = check_text("dL/dX = full_conv(dilate(dL/dO, 2), rot180(W))", spec)
    messages = " ".join(diagnosis_messages(report))
    assert "padding not cropped" in messages
    assert "the right form is crop(full_conv(dilate(dL/dO, 2), rot180(W)), 1)" in messages


# -- the pools: max_unpool, min_unpool, spread through the layer's own windows ---------------------

POOLS = [
    kind(input_shape=(1, 1, h, w), kernel=k, stride=s, padding=p, **options)
    for h, w, k, s, p in (
        (4, 4, (2, 2), (2, 2), (0, 0)),
        (5, 5, (3, 3), (2, 2), (1, 1)),
        (4, 5, (2, 3), (1, 2), (1, 1)),
    )
    for kind, choices in (
        (MaxPool2d, [{"ties": t} for t in ("first", "all", "split")]),
        (MinPool2d, [{"ties": t} for t in ("first", "all", "split")]),
        (AvgPool2d, [{"count_include_pad": c} for c in (True, False)]),
    )
    for options in choices
]


def _form_of(suggestion: str) -> str:
    """The operator form a pool's suggestion opens with (its words follow a comma)."""
    return suggestion.split(", ", 1)[0]


@pytest.mark.parametrize("spec", POOLS, ids=str)
def test_every_pool_suggestion_reads_back_as_correct(spec):
    """Each pattern's right form, as the report fills it in, is the layer's exact gradient."""
    kind = kind_check(spec)
    words = {"X": "X", "W": "W", "dO": "dL/dO", "S": "", "P": ""}
    fields = {**words, **kind.fields(spec)}
    fields = {name: text.format(**words) for name, text in fields.items()}
    suggestions = {pattern.forms["X"][1].format(**fields) for pattern in kind.patterns}
    assert len(suggestions) == 1  # one right form per layer, whatever the mistake
    (suggestion,) = suggestions
    report = check_text(f"dL/dX = {_form_of(suggestion)}", spec)
    assert {r.status for r in report.records} == {"correct"}, suggestion
    if isinstance(spec, AvgPool2d) and spec.padding != (0, 0) and not spec.count_include_pad:
        assert "real cells" in suggestion and "padding included" not in suggestion


@pytest.mark.parametrize(
    ("spec", "wrong", "key"),
    [
        (MaxPool2d(input_shape=(1, 1, 4, 4), kernel=(2, 2)), "min_unpool(dL/dO)", "opposite"),
        (AvgPool2d(input_shape=(1, 1, 4, 4), kernel=(2, 2)), "spread(dL/dO)*4", "not_divided"),
        (
            AvgPool2d(
                input_shape=(1, 1, 5, 5),
                kernel=(3, 3),
                stride=(2, 2),
                padding=(1, 1),
                count_include_pad=False,
            ),
            "spread(dL/dO)*9",
            "not_divided",
        ),
    ],
)
def test_a_pool_diagnosis_suggests_what_the_checker_then_finds_correct(spec, wrong, key):
    report = check_text(f"dL/dX = {wrong}", spec)
    assert any(key in d.pattern.key for d in report.diagnoses)
    (message,) = diagnosis_messages(report)
    suggestion = message.split("the right form is ", 1)[1]
    fixed = check_text(f"dL/dX = {_form_of(suggestion)}", spec)
    assert {r.status for r in fixed.records} == {"correct"}
    assert fixed.exit_status == 0
