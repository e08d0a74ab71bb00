"""symcnn check-code on the command line: exit statuses, help, JSON, folder mode and its table."""

from __future__ import annotations

import csv
import io
import json
import shlex
import shutil
from pathlib import Path

import pytest

from symcnn.checkcode.report import safe_cell
from symcnn.cli import main

DATA = Path(__file__).parent / "data" / "checkcode"
EXAMPLES = Path(__file__).parents[1] / "examples"
POOL = ["maxpool2d", "--input", "1x1x4x4", "--kernel", "2"]


def test_help_says_the_file_is_executed(capsys):
    with pytest.raises(SystemExit):
        main(["check-code", "--help"])
    text = capsys.readouterr().out
    assert "EXECUTES FILE" in text and "Unlike 'check'" in text


def test_the_examples_run_as_the_docs_write_them(capsys):
    assert main(["check-code", str(EXAMPLES / "cs231n_layers.py")]) == 0
    assert "CORRECT: all 4 functions" in capsys.readouterr().out
    assert main(["check-code", str(EXAMPLES / "cs231n_layers_buggy.py")]) == 1
    out = capsys.readouterr().out
    assert "likely mistake: kernel rotated in the scatter form" in out
    assert "likely mistake: equality mask routing to every tied maximum" in out


def test_json_names_the_functions_entries_and_mistakes(capsys):
    status = main(["check-code", str(DATA / "overwritten.py"), "--format", "json"])
    data = json.loads(capsys.readouterr().out)
    assert status == data["exit_status"] == 1
    (wrong,) = [f for f in data["functions"] if f["status"] == "wrong"]
    assert wrong["name"] == "max_pool_backward_naive"
    assert wrong["mistakes"] == {"dx": ["windows_overwritten"]}
    first = wrong["differences"][0]
    assert first["output"] == "dx" and len(first["index"]) == 4
    assert first["expected"] != first["got"]


def test_an_unusable_file_exits_2(capsys):
    assert main(["check-code", str(DATA / "unusable" / "raises.py"), *POOL]) == 2
    assert "line 12: IndexError" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["missing.py"], "missing.py does not exist"),
        ([str(DATA / "plain.py"), "--time-limit", "0"], "--time-limit=0 is not valid"),
        ([str(DATA / "plain.py"), "--convention", "plain"], "needs a layer and --function"),
        (
            [
                str(DATA / "plain.py"),
                "conv2d",
                "--input",
                "5x5",
                "--kernel",
                "2",
                "--stride",
                "2x1",
            ],
            "cannot express stride 2x1",
        ),
        ([str(DATA / "plain.py"), "--summary-csv", "x.csv"], "need a folder of submissions"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(capsys, argv, message):
    assert main(["check-code", *argv]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1 and "Traceback" not in err


def test_not_a_python_file(tmp_path, capsys):
    notes = tmp_path / "notes.txt"
    notes.write_text("x")
    assert main(["check-code", str(notes)]) == 2
    assert "expected a Python file (.py)" in capsys.readouterr().err


def test_folder_mode_grade_table(tmp_path, capsys):
    folder = tmp_path / "submissions"
    folder.mkdir()
    shutil.copy(DATA / "correct.py", folder / "alice.py")
    shutil.copy(DATA / "equality_mask.py", folder / "bob.py")
    shutil.copy(DATA / "unusable" / "raises.py", folder / "=HYPERLINK(1).py")
    csv_path, md_path = tmp_path / "grades.csv", tmp_path / "grades.md"
    argv = ["check-code", str(folder), *POOL, "--summary-csv", str(csv_path)]
    assert main([*argv, "--summary-md", str(md_path), "--jobs", "2"]) == 1
    table = capsys.readouterr().out
    rows = list(csv.DictReader(io.StringIO(csv_path.read_text())))
    assert [r["file"] for r in rows] == ["'=HYPERLINK(1).py", "alice.py", "bob.py"]
    assert [r["verdict"] for r in rows] == ["unusable", "correct", "wrong"]
    assert "equality mask routing to every tied maximum" in rows[2]["first_problem"]
    assert not any(cell.startswith(("=", "+", "-", "@")) for r in rows for cell in r.values())
    assert md_path.read_text().startswith("| file | verdict |")
    assert "bob.py" in table
    # --jobs changes nothing but the time it takes; the outputs exist now, so --force
    assert main([*argv, "--force"]) == 1
    assert list(csv.DictReader(io.StringIO(csv_path.read_text()))) == rows


def test_folder_mode_never_overwrites_without_force(tmp_path, capsys):
    folder = tmp_path / "submissions"
    folder.mkdir()
    shutil.copy(DATA / "correct.py", folder / "alice.py")
    grades = tmp_path / "grades.csv"
    grades.write_text("keep me")
    assert main(["check-code", str(folder), *POOL, "--summary-csv", str(grades)]) == 2
    assert grades.read_text() == "keep me"


@pytest.mark.parametrize(
    ("value", "shown"),
    [("=1+1", "'=1+1"), ("+1", "'+1"), ("-1", "'-1"), ("@SUM", "'@SUM"), ("ok", "ok")],
)
def test_safe_cell(value, shown):
    assert safe_cell(value) == shown


def page_examples():
    """(command, expected lines) of every ``$ symcnn check-code`` line of docs/check-code.md."""
    from test_docs import CONSOLE_BLOCK

    page = (Path(__file__).parents[1] / "docs" / "check-code.md").read_text()
    found = []
    for block in CONSOLE_BLOCK.findall(page):
        lines = block.splitlines()
        if lines and lines[0].startswith("$ symcnn check-code"):
            found.append((lines[0][2:], lines[1:]))
    return found


def test_the_page_has_examples():
    assert len(page_examples()) == 2


@pytest.mark.parametrize(("command", "expected"), page_examples(), ids=lambda v: str(v)[:60])
def test_the_page_shows_what_the_command_prints(command, expected, capsys, monkeypatch):
    """The report on the page is the report the command prints, line by line."""
    from test_docs import matches

    monkeypatch.chdir(Path(__file__).parents[1])
    status = main(shlex.split(command)[1:])
    out = capsys.readouterr().out
    assert matches([line.rstrip() for line in out.splitlines()], expected)
    assert status == (1 if "buggy" in command else 0)


def test_nothing_is_written_beside_the_file(tmp_path, capsys):
    """Running FILE leaves its folder as it was: no __pycache__ beside a student's code."""
    source = Path(__file__).resolve().parents[1] / "examples" / "cs231n_layers.py"
    shutil.copy(source, tmp_path / "layers.py")
    main(["check-code", str(tmp_path / "layers.py")])
    capsys.readouterr()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["layers.py"]
