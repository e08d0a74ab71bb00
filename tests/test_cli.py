"""The command line: derive's output, its options, and every refusal in one line with exit 2."""

import importlib
import json
import subprocess
import sys
from pathlib import Path

import pytest
import sympy

from symcnn.cli import build_parser, main

ROOT = Path(__file__).resolve().parents[1]
derive_module = importlib.import_module("symcnn.derive")  # the package re-exports the function


def run(capsys, *argv):
    """Run the CLI in-process: (exit status, stdout, stderr)."""
    try:
        status = main(list(argv))
    except SystemExit as exit_:  # argparse's own refusals and --help
        status = exit_.code
    out, err = capsys.readouterr()
    return status, out, err


def assert_refused(status, out, err, *fragments):
    """Exit 2, nothing on stdout, one line on stderr naming the command, no traceback."""
    assert status == 2, (status, err)
    assert out == ""
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("symcnn derive: error: ") or lines[0].startswith("symcnn: error: ")
    assert "Traceback" not in err
    for fragment in fragments:
        assert fragment in err, (fragment, err)


@pytest.fixture
def no_derivation(monkeypatch):
    """Make any derivation fail loudly: a refusal must come before the work."""

    def refuse(*args, **kwargs):
        raise AssertionError("derive() ran before the refusal")

    monkeypatch.setattr(derive_module, "derive", refuse)


# -- derive ------------------------------------------------------------------------------------


def test_derive_text_is_the_default_format(capsys):
    """The entries themselves are checked against the notes in test_derive.py."""
    status, out, err = run(capsys, "derive", "conv2d", "--input", "3x3", "--kernel", "2x2")
    assert status == 0 and err == ""
    assert out == run(capsys, "derive", "conv2d", "--input", "3x3", "--kernel", "2", "--format",
                      "text")[1]  # fmt: skip
    assert "∂L/∂X₃₃" in out and "∂L/∂B₁" in out


def test_derive_json_is_the_contract_object(capsys):
    status, out, _ = run(
        capsys, "derive", "conv2d", "--input", "2x2x4x4", "--out-channels", "2", "--kernel", "3",
        "--padding", "1", "--stride", "2", "--no-bias", "--reduction", "mean", "--format", "json",
    )  # fmt: skip
    assert status == 0
    data = json.loads(out)
    assert data["layer"] == {
        "type": "conv2d", "input_shape": [2, 2, 4, 4], "out_channels": 2, "kernel": [3, 3],
        "stride": [2, 2], "padding": [1, 1], "dilation": [1, 1], "groups": 1, "bias": False,
        "reduction": "mean",
    }  # fmt: skip
    assert data["output_shape"] == [2, 2, 2, 2]
    assert sorted(data["grads"]) == ["W", "X"]
    # mean divides by the batch size (2): every gradient term carries the factor 1/2
    assert all(
        term.as_coeff_Mul()[0] == sympy.Rational(1, 2)
        for text in _flat(data["grads"]["W"])
        for term in sympy.Add.make_args(sympy.sympify(text))
    )


def _flat(nested):
    if isinstance(nested, list):
        for item in nested:
            yield from _flat(item)
    else:
        yield nested


def test_derive_writes_a_file_and_refuses_to_overwrite_it(capsys, tmp_path):
    target = tmp_path / "conv.json"
    argv = ["derive", "conv2d", "--input", "3x3", "--kernel", "2", "--format", "json"]
    status, out, _ = run(capsys, *argv, "-o", str(target))
    assert status == 0 and out == ""
    first = target.read_text()
    assert json.loads(first)["output_shape"] == [1, 1, 2, 2]

    target.write_text("the user's own file\n")
    assert_refused(*run(capsys, *argv, "-o", str(target)), "exists; pass --force")
    assert target.read_text() == "the user's own file\n"

    status, _, _ = run(capsys, *argv, "-o", str(target), "--force")
    assert status == 0 and target.read_text() == first
    assert sorted(p.name for p in tmp_path.iterdir()) == ["conv.json"]  # no temporary left


def test_existing_output_is_refused_before_the_work(capsys, tmp_path, no_derivation):
    target = tmp_path / "out.txt"
    target.write_text("keep me")
    argv = ["derive", "conv2d", "--input", "3x3", "--kernel", "2", "-o", str(target)]
    assert_refused(*run(capsys, *argv), str(target), "--force")


def test_missing_output_folder_is_refused_before_the_work(capsys, tmp_path, no_derivation):
    """Regression: the folder was checked only after the derivation had run."""
    target = tmp_path / "missing" / "out.txt"
    argv = ["derive", "conv2d", "--input", "3x3", "--kernel", "2", "-o", str(target)]
    assert_refused(*run(capsys, *argv), "the folder", "does not exist")
    assert not target.parent.exists()


def test_output_to_a_folder_is_refused(capsys, tmp_path):
    """Regression: `-o DIR --force` ended in a traceback (IsADirectoryError)."""
    argv = ["derive", "conv2d", "--input", "3x3", "--kernel", "2", "-o", str(tmp_path)]
    assert_refused(*run(capsys, *argv, "--force"), "it is a folder")
    assert list(tmp_path.iterdir()) == []


def test_dash_writes_to_stdout(capsys):
    status, out, _ = run(capsys, "derive", "conv2d", "--input", "3x3", "--kernel", "2", "-o", "-")
    assert status == 0 and "∂L/∂W₁₁" in out


# -- refusals ------------------------------------------------------------------------------------

#: (options after `derive conv2d`, fragments the one-line message must contain)
REFUSALS = [
    (["--input", "0x3", "--kernel", "2"], ["input_shape=(0, 3)", ">= 1"]),
    (["--input", "3x3"], ["conv2d needs --kernel"]),
    (["--kernel", "2"], ["conv2d needs --input"]),
    (["--input", "3x3x3x3x3", "--kernel", "2"], ["input='3x3x3x3x3'", "NxN or NxNxN or NxNxNxN"]),
    (["--input", "3x3", "--kernel", "2x2x2"], ["kernel='2x2x2'", "N or NxN"]),
    (["--input", "²x3", "--kernel", "2"], ["input='²x3'"]),
    (["--input", "3x3", "--kernel", "4"], ["kernel=[4, 4]", "more than the padded input's 3"]),
    (["--input", "3x3", "--kernel", "2", "--stride", "0"], ["stride=(0, 0)", ">= 1"]),
    (["--input", "3x3", "--kernel", "2", "--stride", "-1"], ["stride='-1'"]),
    (["--input", "3x3", "--kernel", "2", "--stride", "1.5"], ["stride='1.5'"]),
    (["--input", "3x3", "--kernel", "2", "--dilation", "0"], ["dilation=(0, 0)"]),
    (["--input", "3x3", "--kernel", "2", "--dilation", "3"], ["dilated kernel spans 4"]),
    (["--input", "1x3x3x3", "--kernel", "1", "--groups", "2"], ["groups=2", "input channels (3)"]),
    (["--input", "3x3", "--kernel", "1", "--groups", "0"], ["groups=0", ">= 1"]),
    (["--input", "3x3", "--kernel", "1", "--out-channels", "0"], ["out_channels=0", ">= 1"]),
    (["--input", "3x3", "--kernel", "1", "--out-channels", "x"], ["out-channels='x'"]),
    (["--input", "3x3", "--kernel", "1", "--reduction", "avg"], ["invalid choice: 'avg'"]),
    (["--input", "3x3", "--kernel", "2", "--ties", "all"], ["--ties does not apply to conv2d"]),
    (["--input", "3x3", "--kernel", "2", "--no-count-include-pad"], ["does not apply to conv2d"]),
    (["--input", "3x3", "--kernel", "2", "--format", "docx"], ["invalid choice: 'docx'"]),
    (["--input", "3x3", "--kernel", "2", "--max-terms", "-1"], ["max-terms='-1'"]),
    (["--input", "3x3", "--kernel", "2", "--bogus"], ["unrecognized arguments: --bogus"]),
    (["--input", "3x3", "--kernel", "2", "--max-entries", "0"], ["max-entries='0'", ">= 1"]),
    (["--input", "3x3", "--kernel", "2", "--loss", "X"], ["loss='X'", "other than X, W, O, B"]),
    (["--input", "3x3", "--kernel", "2", "--loss", "LL"], ["loss='LL'", "a single letter"]),
    (["--input", "3x3", "--kernel", "2", "--format", "pdf"], ["pass -o FILE.pdf"]),
]


@pytest.mark.parametrize(("options", "fragments"), REFUSALS, ids=lambda v: " ".join(v))
def test_refusals_are_one_line_with_exit_2(capsys, no_derivation, options, fragments):
    assert_refused(*run(capsys, "derive", "conv2d", *options), *fragments)


def test_term_limit_refuses_before_any_work(capsys, monkeypatch):
    """The message gives the size the derivation would have and how to raise the limit."""

    def no_symbols(*args):
        raise AssertionError("symbols were built before the size check")

    monkeypatch.setattr(derive_module.Tensors, "for_layer", no_symbols)
    argv = ["derive", "conv2d", "--input", "3x3", "--kernel", "2", "--max-terms", "33"]
    assert_refused(
        *run(capsys, *argv), "would cost 34 terms (16 multiply terms", "limit of 33", "--max-terms"
    )


def test_term_limit_default_and_raised(capsys):
    # 1x1x1000x1001 with a 1x1 kernel: 1,001,000 terms, just past the default of 1,000,000
    argv = ["derive", "conv2d", "--input", "1000x1001", "--kernel", "1", "--format", "json"]
    assert_refused(*run(capsys, *argv), "1,001,000 multiply terms", "limit of 1,000,000")
    status, _, _ = run(capsys, "derive", "conv2d", "--input", "3x3", "--kernel", "2",
                       "--max-terms", "34")  # fmt: skip
    assert status == 0


def test_unknown_command_and_missing_command(capsys):
    assert_refused(*run(capsys, "bogus"), "invalid choice: 'bogus'")
    assert_refused(*run(capsys), "required: COMMAND")


# -- help ----------------------------------------------------------------------------------------


def test_help_shows_examples(capsys):
    status, out, _ = run(capsys, "derive", "--help")
    assert status == 0
    assert "examples:" in out
    assert "symcnn derive conv2d --input 3x3 --kernel 2x2" in out
    for flag in ("--input", "--kernel", "--stride", "--padding", "--dilation", "--groups",
                 "--out-channels", "--no-bias", "--reduction", "--format", "--max-terms",
                 "-o", "--force", "--count-include-pad", "--no-count-include-pad"):  # fmt: skip
        assert flag in out


def test_top_level_help_and_version(capsys):
    status, out, _ = run(capsys, "--help")
    assert status == 0 and "derive" in out
    status, out, _ = run(capsys, "--version")
    assert status == 0 and out.startswith("symcnn ")


def test_every_command_has_help_and_examples():
    parser = build_parser()
    commands = next(a for a in parser._actions if a.dest == "command").choices
    for name, sub in commands.items():
        assert sub.epilog and "examples:" in sub.epilog, name


# -- the real process ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("argv", "status", "fragment"),
    [
        (["derive", "conv2d", "--input", "3x3", "--kernel", "2x2"], 0, "∂L/∂B₁"),
        (["derive", "conv2d", "--input", "0x3", "--kernel", "2"], 2, "input_shape=(0, 3)"),
        (["derive", "conv2d", "--input", "3x3", "--kernel", "2", "--max-terms", "1"], 2, "16"),
    ],
)
def test_module_entry_point(argv, status, fragment):
    result = subprocess.run(
        [sys.executable, "-m", "symcnn", *argv], cwd=ROOT, capture_output=True, text=True
    )
    assert result.returncode == status
    assert fragment in (result.stdout if status == 0 else result.stderr)
    assert "Traceback" not in result.stderr


def test_a_figure_without_matplotlib_is_one_line_and_exit_2(monkeypatch, tmp_path, capsys):
    """The quickstart installs no extras: --format svg then names the extra, no traceback."""
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util,
        "find_spec",
        lambda name, *a: None if name == "matplotlib" else real(name, *a),
    )
    argv = ["derive", "conv2d", "--input", "3x3", "--kernel", "2", "--format", "svg"]
    assert main([*argv, "-o", str(tmp_path / "f.svg")]) == 2
    assert "pip install 'symcnn[figures]'" in capsys.readouterr().err
    assert not (tmp_path / "f.svg").exists()


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--kernel", "2", "--kernel", "3"], "--kernel is given twice: give it once"),
        (["--kernel", "2", "--no-bias", "--no-bias"], "--no-bias is given twice"),
        (["--kernel", "2", "--input", "-3x3"], "write --input=VALUE to give one"),
        (["--kernel", "9" * 5000], "kernel='99999"),
        (["--kernel", "2", "--out-channels", "9" * 5000], "of at most 12 digits"),
    ],
)
def test_option_mistakes_are_one_short_line(argv, message, capsys):
    """Issue 12, item 11: a repeated option is refused (argparse kept the last), a value that
    starts with '-' gets a way to pass it, and a huge value is neither converted nor echoed."""
    with pytest.raises(SystemExit) as exited:
        main(["derive", "conv2d", "--input", "3x3", *argv])
    assert exited.value.code == 2
    err = capsys.readouterr().err
    assert message in err and len(err) < 400 and err.count("\n") == 1


def test_a_100_kb_argument_is_not_echoed_whole(capsys):
    with pytest.raises(SystemExit) as exited:
        main(["derive", "conv2d", "--input", "3x" * 50_000, "--kernel", "2"])
    assert exited.value.code == 2
    err = capsys.readouterr().err
    assert "(100,000 characters)" in err and len(err) < 400
