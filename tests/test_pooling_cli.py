"""``symcnn derive maxpool2d|minpool2d|avgpool2d`` end to end: text, JSON, --ties, errors."""

from __future__ import annotations

import json
import subprocess
import sys
from fractions import Fraction

import numpy as np
import pytest
from sympy import Rational, sympify

from symcnn.cli import main
from symcnn.derive import derive
from symcnn.evaluate import bind, evaluate
from symcnn.jsonio import expression_text
from symcnn.layers import layer_from_dict
from symcnn.tensors import symbol_array

NOTES_EXAMPLE = ["derive", "maxpool2d", "--input", "4x4", "--kernel", "2x2", "--stride", "2"]


def run(capsys, *argv):
    """Run the command line; return (exit status, stdout, stderr)."""
    status = main(list(argv))
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def derive_json(capsys, *argv):
    status, out, err = run(capsys, *argv, "--format", "json")
    assert status == 0, err
    return json.loads(out)


def read_back(nested):
    """A JSON nested list of expression strings as an object array of SymPy expressions."""
    strings = np.array(nested, dtype=object)
    return np.vectorize(sympify, otypes=[object])(strings)


def test_the_notes_4x4_example_shows_the_max_unpool_routing(capsys):
    # The contract's strings: JSON (the text format prints the notes in the reader's notation).
    status, out, err = run(capsys, *NOTES_EXAMPLE, "--format", "json")
    assert status == 0 and err == ""
    assert "Max(x_0_0_0_0, x_0_0_0_1, x_0_0_1_0, x_0_0_1_1)" in out
    # Each cell receives its own window's upstream value when it is that window's first maximum
    # (PyTorch's tie rule). Pinned golden, reviewed by hand: x_0_0_1_1, the last cell of the first
    # window, must beat the three before it strictly.
    assert (
        "g_0_0_0_0*Piecewise((1, (x_0_0_0_0 < x_0_0_1_1) & (x_0_0_0_1 < x_0_0_1_1)"
        " & (x_0_0_1_0 < x_0_0_1_1)), (0, True))"
    ) in out
    d = derive(layer_from_dict({"type": "maxpool2d", "input_shape": [4, 4], "kernel": [2, 2]}))
    for expr in d.grads["X"].flat:  # all 16 routed entries are printed
        assert expression_text(expr) in out


@pytest.mark.parametrize(
    ("ties", "expected"),
    [
        # 4-way tie in every window; upstream [[1, 2], [3, 4]]
        ("first", [[1, 0, 2, 0], [0, 0, 0, 0], [3, 0, 4, 0], [0, 0, 0, 0]]),
        ("all", [[1, 1, 2, 2], [1, 1, 2, 2], [3, 3, 4, 4], [3, 3, 4, 4]]),
        ("split", [[Fraction(k, 4)] * 2 + [Fraction(k + 1, 4)] * 2 for k in (1, 1, 3, 3)]),
    ],
)
def test_ties_changes_the_routing_of_a_tied_input_as_described(capsys, ties, expected):
    document = derive_json(capsys, *NOTES_EXAMPLE, "--ties", ties)
    assert document["layer"]["ties"] == ties
    grad = read_back(document["grads"]["X"])
    values = bind(symbol_array("x", (1, 1, 4, 4)), np.full((1, 1, 4, 4), 7))
    values |= bind(symbol_array("g", (1, 1, 2, 2)), [[[[1, 2], [3, 4]]]])
    assert evaluate(grad, values)[0, 0].tolist() == expected


@pytest.mark.parametrize("layer", ["maxpool2d", "minpool2d"])
def test_ties_on_a_two_way_tie(capsys, layer):
    # one 2x2 window whose extreme is held by its top row: a 2-way tie
    cells = [[5, 5], [1, 1]] if layer == "maxpool2d" else [[1, 1], [5, 5]]
    tied = [(0, 0), (0, 1)]
    shares = {"first": [6, 0], "all": [6, 6], "split": [3, 3]}
    for ties, expected in shares.items():
        document = derive_json(
            capsys, "derive", layer, "--input", "2x2", "--kernel", "2", "--ties", ties
        )
        grad = read_back(document["grads"]["X"])
        values = bind(symbol_array("x", (1, 1, 2, 2)), [[cells]])
        values |= bind(symbol_array("g", (1, 1, 1, 1)), [[[[6]]]])
        result = evaluate(grad, values)[0, 0]
        assert [result[cell] for cell in tied] == expected
        assert sum(result.flat) == (12 if ties == "all" else 6)


POOL_COMMANDS = [
    *(
        [
            "derive",
            layer,
            "--input",
            "4x5",
            "--kernel",
            "3",
            "--stride",
            "1x2",
            "--padding",
            "1",
            "--ties",
            ties,
        ]
        for layer in ("maxpool2d", "minpool2d")
        for ties in ("first", "all", "split")
    ),
    [
        "derive",
        "maxpool2d",
        "--input",
        "2x1x3x3",
        "--kernel",
        "2",
        "--stride",
        "1",
        "--reduction",
        "mean",
    ],
    ["derive", "avgpool2d", "--input", "3x3", "--kernel", "2", "--stride", "1", "--padding", "1"],
    [
        "derive",
        "avgpool2d",
        "--input",
        "5x5",
        "--kernel",
        "3x2",
        "--stride",
        "2",
        "--padding",
        "1",
        "--no-count-include-pad",
    ],
]


@pytest.mark.parametrize("argv", POOL_COMMANDS, ids=" ".join)
def test_every_pool_json_reads_back_through_sympify(capsys, argv):
    document = derive_json(capsys, *argv)
    spec = layer_from_dict(document["layer"])
    d = derive(spec)
    assert document["output_shape"] == list(spec.output_shape)
    assert sorted(document["grads"]) == ["X"]  # pools have no weight and no bias
    for array, nested in ((d.output, document["forward"]), (d.grads["X"], document["grads"]["X"])):
        read = read_back(nested)
        assert read.shape == array.shape
        assert all(a == b for a, b in zip(read.flat, array.flat, strict=True))


def test_count_include_pad_flags_reach_the_layer(capsys):
    base = ["derive", "avgpool2d", "--input", "3x3", "--kernel", "2", "--padding", "1"]
    included = derive_json(capsys, *base, "--count-include-pad")
    excluded = derive_json(capsys, *base, "--no-count-include-pad")
    default = derive_json(capsys, *base)
    assert included["layer"]["count_include_pad"] is True
    assert excluded["layer"]["count_include_pad"] is False
    assert default == included  # PyTorch's default
    # the corner window holds one real cell: a quarter of it, or all of it
    assert sympify(included["forward"][0][0][0][0]) == sympify("x_0_0_0_0") * Rational(1, 4)
    assert sympify(excluded["forward"][0][0][0][0]) == sympify("x_0_0_0_0")


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (
            ["derive", "avgpool2d", "--input", "4x4", "--kernel", "2", "--ties", "all"],
            "--ties does not apply to avgpool2d",
        ),
        (
            ["derive", "maxpool2d", "--input", "4x4", "--kernel", "2", "--count-include-pad"],
            "--count-include-pad does not apply to maxpool2d",
        ),
        (
            ["derive", "minpool2d", "--input", "4x4", "--kernel", "2", "--padding", "2"],
            "padding=[2, 2] is not valid: at most half the kernel along the height (1)",
        ),
        (
            ["derive", "maxpool2d", "--input", "3x3", "--kernel", "4"],
            "kernel=[4, 4] is not valid for input_shape=[1, 1, 3, 3]",
        ),
        (["derive", "maxpool2d", "--input", "4x4"], "maxpool2d needs --kernel"),
    ],
)
def test_bad_pool_options_end_in_one_line_and_status_2(capsys, argv, message):
    status, out, err = run(capsys, *argv)
    assert status == 2 and out == ""
    assert err.count("\n") == 1 and err.startswith("symcnn derive: error: ")
    assert message in err


def test_an_unknown_tie_rule_is_refused_by_the_parser(capsys):
    with pytest.raises(SystemExit) as exit_:
        main([*NOTES_EXAMPLE, "--ties", "last"])
    assert exit_.value.code == 2
    assert "invalid choice: 'last'" in capsys.readouterr().err


def test_writes_a_file_and_refuses_to_overwrite_it(capsys, tmp_path):
    target = tmp_path / "pool.json"
    assert run(capsys, *NOTES_EXAMPLE, "--format", "json", "-o", str(target))[0] == 0
    first = target.read_text()
    status, _, err = run(
        capsys, *NOTES_EXAMPLE, "--ties", "all", "--format", "json", "-o", str(target)
    )
    assert status == 2 and "exists; pass --force" in err
    assert target.read_text() == first
    assert (
        run(
            capsys,
            *NOTES_EXAMPLE,
            "--ties",
            "all",
            "--format",
            "json",
            "-o",
            str(target),
            "--force",
        )[0]
        == 0
    )
    assert json.loads(target.read_text())["layer"]["ties"] == "all"


def test_the_installed_command_runs_the_notes_example():
    result = subprocess.run(
        [sys.executable, "-m", "symcnn", *NOTES_EXAMPLE, "--format", "text"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert "O₂₂ = max(X₃₃, X₃₄, X₄₃, X₄₄)" in result.stdout
