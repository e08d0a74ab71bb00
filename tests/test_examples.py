"""examples/: every sample submission gets the verdict examples/README.md gives it.

The files were written by hand from the mistakes the checker names; a test here fails when
the checker stops finding one, or starts finding one in the correct submission.
"""

from pathlib import Path

import pytest

from symcnn import Conv2d, MaxPool2d
from symcnn.check import check_file

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
CLASS = Conv2d(input_shape=(1, 1, 3, 3), kernel=(2, 2))

CASES = [
    # (file, layer, options, exit status, diagnosed mistakes)
    ("submissions/correct.tex", CLASS, {}, 0, []),
    ("submissions/kernel-not-rotated.txt", CLASS, {}, 1, ["kernel_not_rotated"]),
    ("submissions/input-kernel-swapped.md", CLASS, {}, 1, ["input_kernel_swapped"]),
    ("submissions/zero-based.txt", CLASS, {}, 2, ["indices_shifted"]),
    ("submissions/zero-based.txt", CLASS, {"zero_based": True}, 0, []),
    (
        "stride2.txt",
        Conv2d(input_shape=(1, 1, 4, 4), kernel=(2, 2), stride=(2, 2)),
        {},
        1,
        ["stride_dilation_missing"],
    ),
    (
        "general-stride2.txt",
        Conv2d(input_shape=(1, 1, 5, 5), kernel=(3, 3), stride=(2, 2)),
        {},
        1,
        ["stride_dilation_missing"],
    ),
    ("general-correct.tex", CLASS, {}, 0, []),
    (
        "maxpool.tex",
        MaxPool2d(input_shape=(1, 1, 4, 4), kernel=(2, 2)),
        {},
        1,
        ["pool_every_entry"],
    ),
]


@pytest.mark.parametrize(("name", "spec", "options", "status", "mistakes"), CASES)
def test_example_submission_verdict(name, spec, options, status, mistakes):
    report = check_file(EXAMPLES / name, spec, **options)
    assert report.exit_status == status
    assert [diagnosis.pattern.key for diagnosis in report.diagnoses] == mistakes
    if status == 0:  # a correct submission claims every entry, and each one rightly
        assert report.summary["wrong"] == report.summary["invalid"] == 0
        assert report.summary["unchecked"] == 0


def test_every_submission_in_the_class_folder_is_a_case():
    cased = {Path(name).name for name, *_ in CASES if name.startswith("submissions/")}
    assert {path.name for path in (EXAMPLES / "submissions").iterdir()} == cased


def test_examples_readme_names_every_file():
    readme = (EXAMPLES / "README.md").read_text()
    for name, *_ in CASES:
        assert f"`{name}`" in readme
