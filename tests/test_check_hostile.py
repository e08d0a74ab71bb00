"""Hostile input: a clear error, never code run, bounded time."""

import builtins
import contextlib
import importlib
import json
import os
import time
from pathlib import Path

import pytest
import sympy
from hypothesis import given, settings
from hypothesis import strategies as st

from symcnn.check import NotationError, check_file, check_text
from symcnn.check import report as reports
from symcnn.check.source import MAX_BYTES, decode_source
from symcnn.cli import main
from symcnn.layers.conv2d.spec import Conv2d

LAYER = Conv2d(input_shape=(1, 1, 3, 3), kernel=(2, 2))
PACKAGE = Path(__file__).resolve().parents[1] / "symcnn" / "check"

NAMES = [f"X{i}{j}" for i in (1, 2, 3) for j in (1, 2, 3)] + ["W11", "W12", "W21", "W22"] * 2
PAYLOADS = [
    "__import__('os').system('touch {marker}')",
    "eval(\"__import__('os').system('touch {marker}')\")",
    'exec(\'open("{marker}", "w")\')',
    "(lambda: __import__('os'))().system('touch {marker}')",
    "{{{{ config.__class__.__init__.__globals__ }}}}",
    "$(touch {marker})",
    "`touch {marker}`",
    "import os; os.system('touch {marker}')",
    "Symbol('x').__class__.__mro__[1].__subclasses__()",
    "open('{marker}', 'w').write('x')",
]


@pytest.fixture
def no_evaluation(monkeypatch):
    """Any evaluation of text fails the test: eval, exec, sympify or parse_expr of a string."""

    def refuse(name, original):
        def guard(*args, **kwargs):
            if args and isinstance(args[0], str):
                raise AssertionError(f"{name} called on user text: {args[0][:40]!r}")
            return original(*args, **kwargs)

        return guard

    monkeypatch.setattr(builtins, "eval", refuse("eval", builtins.eval))
    monkeypatch.setattr(builtins, "exec", refuse("exec", builtins.exec))
    monkeypatch.setattr(sympy, "sympify", refuse("sympify", sympy.sympify))
    module = importlib.import_module("sympy.core.sympify")
    monkeypatch.setattr(module, "sympify", refuse("sympify", module.sympify))
    from sympy.parsing import sympy_parser

    monkeypatch.setattr(sympy_parser, "parse_expr", refuse("parse_expr", sympy_parser.parse_expr))


@pytest.mark.parametrize("payload", PAYLOADS)
def test_python_payloads_are_errors_and_never_run(payload, tmp_path, no_evaluation):
    marker = tmp_path / "pwned"
    text = payload.format(marker=marker)
    report = check_text(f"dL/dX11 = {text}\ndL/dX12 = dL/dO11*W12 + dL/dO12*W11", LAYER)
    statuses = [r.status for r in report.records if r.offset is not None]
    assert statuses == ["invalid", "correct"]
    assert report.exit_status == 2
    with pytest.raises(NotationError):  # a payload alone is no claim at all
        check_text(text, LAYER)
    assert not marker.exists()


def test_the_checker_never_evaluates_text():
    """No eval, exec, sympify or parse_expr anywhere in the checker's source."""
    for path in PACKAGE.glob("*.py"):
        source = path.read_text()
        for forbidden in ("eval(", "exec(", "sympify", "parse_expr", "sympy.parsing"):
            assert forbidden not in source, (path.name, forbidden)


@pytest.mark.parametrize("opener,closer", [("{", "}"), ("(", ")"), ("[", "]")])
def test_deep_nesting_is_refused_quickly(opener, closer):
    text = "dL/dX11 = " + opener * 100_000 + "W11" + closer * 100_000
    start = time.perf_counter()
    report = check_text(text, LAYER)
    assert time.perf_counter() - start < 5
    (record,) = [r for r in report.records if r.offset is not None]
    assert record.status == "invalid"
    assert "nested more than" in record.message


@pytest.mark.parametrize(
    ("rhs", "message"),
    [
        ("W_{" + "9" * 5000 + "}", "digits"),
        ("dL/dO_{123456789012345678901234567890} W11", "digits"),
        ("dL/dO_{1,999999} W11", "out of range"),
        ("W_1_99999999999999", "too large"),
        ("9" * 5000, "digits"),
        ("x₉₉₉₉₉₉₉₉₉₉₉", "too long"),
        ("sum(pad(W, 999999999))", "not a sensible amount"),
        ("sum(dilate(dilate(dilate(dL/dO, 64), 64), 64))", "would build"),
        ("(W11 + W12)" * 40, "multiplies out"),
        (
            "".join(
                f"({a} + {b} + {c})" for a, b, c in zip(NAMES, NAMES[1:], NAMES[2:], strict=False)
            ),
            "multiplies",
        ),
    ],
)
def test_enormous_numbers_and_sizes_are_refused(rhs, message):
    start = time.perf_counter()
    report = check_text(f"dL/dX11 = {rhs}", LAYER)
    assert time.perf_counter() - start < 5
    (record,) = [r for r in report.records if r.offset is not None]
    assert record.status == "invalid"
    assert message in record.message


@pytest.mark.parametrize(
    ("data", "message", "place"),
    [
        (b"", "empty", None),
        (b"  \n\t\n", "empty", None),
        (b"dL/dX11 = W11\n\x00\x01\x02", "NUL byte", (2, 1)),
        (b"dL/dX11 = W11\nab\xff\xfe", "not UTF-8", (2, 3)),
        ("dL/dX11 = W11\nα\x1b[31m".encode(), "control character", (2, 2)),
    ],
)
def test_files_that_are_not_text_are_refused(data, message, place):
    with pytest.raises(NotationError, match=message) as caught:
        decode_source(data, "f.txt")
    assert caught.value.place == place


def test_random_binary_is_refused_with_a_place(tmp_path, capsys):
    junk = tmp_path / "junk.bin"
    junk.write_bytes(bytes(range(256)) * 64 + os.urandom(4096))
    status = main(["check", str(junk), "conv2d", "--input", "3x3", "--kernel", "2x2"])
    assert status == 2
    error = capsys.readouterr().err
    assert error.startswith(f"symcnn check: error: {junk}:1:1: a NUL byte")
    assert error.count("\n") == 1


def test_files_of_many_megabytes_are_refused_before_reading(tmp_path):
    big = tmp_path / "big.tex"
    big.write_text("dL/dX11 = dL/dO11*W11\n" * 400_000)  # about 9 MB
    start = time.perf_counter()
    with pytest.raises(NotationError, match="more than the limit"):
        check_file(big, LAYER)
    assert time.perf_counter() - start < 1
    assert big.stat().st_size > 10 * MAX_BYTES


def test_a_file_at_the_limit_is_checked_in_bounded_time(tmp_path):
    line = "dL/dX12 = dL/dO11*W12 + dL/dO12*W11\n"
    path = tmp_path / "long.txt"
    path.write_text(line * (MAX_BYTES // len(line) // 4))  # a quarter of the limit
    start = time.perf_counter()
    report = check_file(path, LAYER)
    elapsed = time.perf_counter() - start
    assert report.summary["correct"] == MAX_BYTES // len(line) // 4
    assert elapsed < 20  # measured: about 1.5 s on one core of the CI machine


ALPHABET = st.sampled_from(
    [
        *"dLXWOFxwo0123456789_{}()[],=+-*/^$&\\ \n.",
        "\\frac",
        "\\partial",
        "\\delta",
        "∂",
        "₁",
        "₂",
        "conv(",
        "rot180(",
        "full_conv(",
        "\\begin{bmatrix}",
        "\\end{bmatrix}",
        "\\\\",
        "dL/dX",
        "dL/dO",
        "\\text{",
        "...",
        "__import__",
        "δ",
        "·",
        "×",
        "%",
        "1[",
        " if ",
        " otherwise",
        "≥",
        "\\geq",
        "\\begin{cases}",
        "\\end{cases}",
        "&",
        "max(",
        "Piecewise((",
        "True",
    ]
)


@settings(max_examples=150, deadline=None)
@given(st.lists(ALPHABET, max_size=300).map("".join))
def test_random_text_is_a_report_or_a_clear_error_in_bounded_time(text):
    start = time.perf_counter()
    try:
        report = check_text(text, LAYER)
    except NotationError as error:
        assert error.message
    else:
        assert report.exit_status in (0, 1, 2)
        for record in report.records:
            if record.status == "invalid":
                assert record.message and record.offset is not None
        assert reports.text(report).startswith("<text>:")  # every report renders
        json.dumps(reports.to_dict(report))
    assert time.perf_counter() - start < 3


@settings(max_examples=60, deadline=None)
@given(st.binary(max_size=2000))
def test_random_bytes_never_crash(data):
    try:
        source = decode_source(data, "random.bin")
    except NotationError:
        return
    with contextlib.suppress(NotationError):
        check_text(source.text, LAYER)
