"""``symcnn check`` as a command: exit status, JSON per the contract, folders, round trips."""

import csv
import json
from pathlib import Path

import pytest
from sympy import Symbol, sympify

from symcnn.cli import main
from symcnn.formats import FORMATS
from symcnn.layers.conv2d.spec import Conv2d

DATA = Path(__file__).parent / "data" / "check"
LAYER = ["conv2d", "--input", "3x3", "--kernel", "2x2"]
RIGHT = "dL/dX12 = dL/dO11*W12 + dL/dO12*W11\n"
WRONG = "dL/dX13 = dL/dO12*W11\n"


def run(capsys, *args):
    status = main(["check", *map(str, args)])
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_exit_status_follows_the_contract(tmp_path, capsys):
    assert run(capsys, write(tmp_path, "a.txt", RIGHT), *LAYER)[0] == 0
    assert run(capsys, write(tmp_path, "b.txt", RIGHT + WRONG), *LAYER)[0] == 1
    status, out, err = run(capsys, write(tmp_path, "c.txt", RIGHT + "dL/dX11 = W11 ^ 2\n"), *LAYER)
    assert status == 2
    assert err == (
        f"symcnn check: error: {tmp_path / 'c.txt'}:2:15: dL/dX11: superscripts are not read:"
        " write indices as subscripts\n"
    )
    assert "UNREADABLE" in out  # the report is still written for what could be read


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "1:1: the file is empty"),
        ("nothing to see\n", "1:1: no gradient claims found"),
    ],
)
def test_unusable_files_name_their_place(tmp_path, capsys, text, message):
    path = write(tmp_path, "s.tex", text)
    status, out, err = run(capsys, path, *LAYER)
    assert (status, out) == (2, "")
    assert err.startswith(f"symcnn check: error: {path}:{message}")


def test_usage_mistakes_are_one_line(tmp_path, capsys):
    status, _, err = run(capsys, tmp_path / "missing.tex", *LAYER)
    assert status == 2 and "does not exist" in err
    path = write(tmp_path, "a.txt", RIGHT)
    status, _, err = run(capsys, path, *LAYER, "--letters", "XX")
    assert status == 2 and "letters='XX' is not valid" in err
    status, _, err = run(capsys, path, *LAYER, "--summary-csv", tmp_path / "g.csv")
    assert status == 2 and "need a folder" in err


def test_json_is_the_contract_object(tmp_path, capsys):
    path = write(tmp_path, "b.txt", "\n" + RIGHT + WRONG)
    status, out, _ = run(capsys, path, *LAYER, "--format", "json")
    assert status == 1
    document = json.loads(out)
    assert set(document) >= {"claims", "diagnosis", "summary"}
    assert document["summary"]["correct"] == 1 and document["summary"]["wrong"] == 1
    assert document["summary"]["unchecked"] == 12
    wrong = next(c for c in document["claims"] if c["status"] == "wrong")
    assert {k: wrong[k] for k in ("tensor", "index", "line")} == {
        "tensor": "X",
        "index": [0, 0, 0, 2],
        "line": 3,
    }
    g01, w00, w01 = Symbol("g_0_0_0_1"), Symbol("w_0_0_0_0"), Symbol("w_0_0_0_1")
    assert sympify(wrong["expected"]) == g01 * w01
    assert sympify(wrong["got"]) == g01 * w00
    assert [sympify(t) for t in wrong["missing_terms"]] == [g01 * w01]
    assert [sympify(t) for t in wrong["extra_terms"]] == [g01 * w00]
    assert isinstance(document["diagnosis"], list)
    unchecked = [c for c in document["claims"] if c["status"] == "unchecked"]
    assert len(unchecked) == 12 and all(c["line"] is None for c in unchecked)


def test_text_lists_wrong_entries_first_side_by_side(tmp_path, capsys):
    path = write(tmp_path, "b.txt", RIGHT + WRONG)
    _, out, _ = run(capsys, path, *LAYER)
    assert out.index("WRONG") < out.index("CORRECT") < out.index("UNCHECKED")
    # Pinned golden, reviewed by hand: expected and given side by side, in the file's letters.
    table = out[out.index("WRONG (1)") : out.index("CORRECT")]
    assert table == (
        "WRONG (1)\n"
        "  line  entry    expected     given\n"
        "  2     dL/dX13  dL/dO12*W12  dL/dO12*W11\n"
        "                 missing dL/dO12*W12; extra dL/dO12*W11\n"
        "\n"
    )


def test_output_file_is_not_overwritten_without_force(tmp_path, capsys):
    path = write(tmp_path, "a.txt", RIGHT)
    report = write(tmp_path, "report.txt", "keep me")
    status, _, err = run(capsys, path, *LAYER, "-o", report)
    assert status == 2 and "--force" in err
    assert report.read_text() == "keep me"
    assert run(capsys, path, *LAYER, "-o", report, "--force")[0] == 0
    assert "CORRECT" in report.read_text()


def test_a_folder_gives_a_grade_table(tmp_path, capsys):
    folder = tmp_path / "submissions"
    folder.mkdir()
    write(folder, "alice.tex", (DATA / "seed001_corrected.tex").read_text())
    write(folder, "bob.tex", (DATA / "seed001_backprop.tex").read_text())
    write(folder, "carol.txt", RIGHT)
    (folder / "dave.pdf").write_bytes(b"%PDF-1.4\x00\x01binary")
    write(folder, ".hidden", "ignored")
    grades_csv, grades_md = tmp_path / "grades.csv", tmp_path / "grades.md"
    args = [folder, *LAYER, "--no-bias", "--summary-csv", grades_csv, "--summary-md", grades_md]
    status, out, _ = run(capsys, *args)
    assert status == 1
    rows = list(csv.DictReader(grades_csv.open()))
    assert [row["file"] for row in rows] == ["alice.tex", "bob.tex", "carol.txt", "dave.pdf"]
    verdicts = {row["file"]: row["verdict"] for row in rows}
    assert verdicts == {
        "alice.tex": "correct",
        "bob.tex": "unusable",
        "carol.txt": "incomplete",
        "dave.pdf": "unusable",
    }
    alice = rows[0]
    assert (alice["score"], alice["wrong"], alice["unchecked"]) == ("1.00", "0", "0")
    bob = rows[1]
    assert bob["diagnosis"] == "input and kernel swapped"
    assert "52:67" in bob["first_problem"] and "Q" in bob["first_problem"]
    assert "NUL byte" in rows[3]["first_problem"]
    assert float(rows[2]["score"]) == pytest.approx(1 / 13, abs=0.005)
    markdown = grades_md.read_text().splitlines()
    assert markdown[0].startswith("| file | verdict |")
    assert len(markdown) == 2 + 4
    assert "alice.tex" in out and "dave.pdf" in out
    # The tables exist now: a second run refuses to overwrite them.
    status, _, err = run(capsys, *args)
    assert status == 2 and "--force" in err
    assert run(capsys, *args, "--force")[0] == 1


def test_a_folder_of_correct_submissions_exits_zero(tmp_path, capsys):
    folder = tmp_path / "ok"
    folder.mkdir()
    write(folder, "one.tex", (DATA / "seed002_corrected.tex").read_text())
    status, out, _ = run(capsys, folder, *LAYER, "--no-bias", "--format", "json")
    assert status == 0
    document = json.loads(out)
    assert document["summary"][0]["verdict"] == "correct"
    assert document["submissions"][0]["summary"]["wrong"] == 0


ROUND_TRIP_SPECS = [
    ["conv2d", "--input", "3x3", "--kernel", "2x2"],
    ["conv2d", "--input", "4x4", "--kernel", "3x3", "--stride", "2", "--padding", "1"],
    [
        "conv2d",
        "--input",
        "2x2x4x4",
        "--out-channels",
        "2",
        "--kernel",
        "2x2",
        "--reduction",
        "mean",
    ],
    ["conv2d", "--input", "1x4x5x5", "--out-channels", "2", "--kernel", "2x2", "--groups", "2"],
    ["conv2d", "--input", "6x6", "--kernel", "2x2", "--dilation", "2", "--no-bias"],
    ["maxpool2d", "--input", "4x4", "--kernel", "2x2"],
    ["maxpool2d", "--input", "3x3", "--kernel", "2x2", "--stride", "1", "--ties", "split"],
    ["minpool2d", "--input", "4x4", "--kernel", "2x2", "--ties", "all"],
    ["avgpool2d", "--input", "3x3", "--kernel", "2x2", "--padding", "1", "--no-count-include-pad"],
]
PRINTED = sorted(name for name in FORMATS if name in ("text", "latex", "markdown"))


def test_every_printed_format_is_round_tripped():
    assert PRINTED == ["latex", "markdown", "text"]


@pytest.mark.parametrize("fmt", PRINTED)
@pytest.mark.parametrize("options", ROUND_TRIP_SPECS, ids=lambda o: "-".join(o[0:1] + o[2::2]))
def test_derive_output_fed_back_to_check_passes(tmp_path, capsys, fmt, options):
    printed = tmp_path / f"derivation.{fmt}"
    assert main(["derive", *options, "--format", fmt, "-o", str(printed)]) == 0
    capsys.readouterr()  # derive reports the file it wrote; the check below starts afresh
    status, out, err = run(capsys, printed, *options, "--format", "json")
    assert (status, err) == (0, "")
    summary = json.loads(out)["summary"]
    assert summary["wrong"] == summary["invalid"] == 0
    assert summary["correct"] > 0
    # Every entry of the layer is claimed somewhere (large layers: with --all-entries).
    printed.unlink()
    main(["derive", *options, "--all-entries", "--format", fmt, "-o", str(printed), "--quiet"])
    status, out, err = run(capsys, printed, *options, "--format", "json")
    assert (status, err) == (0, "")
    assert json.loads(out)["summary"]["unchecked"] == 0


def _spec(options):
    from symcnn.cli import build_parser
    from symcnn.options import layer_spec

    args = build_parser().parse_args(["derive", *options])
    return layer_spec(args)


def test_a_derivation_with_one_entry_changed_fails_the_round_trip(tmp_path, capsys):
    printed = tmp_path / "derivation.txt"
    main(["derive", *LAYER, "-o", str(printed)])
    capsys.readouterr()
    right = "= ∂L/∂O₁₁·W₂₂ + ∂L/∂O₁₂·W₂₁ + ∂L/∂O₂₁·W₁₂ + ∂L/∂O₂₂·W₁₁"  # dL/dX22, evaluated
    text = printed.read_text().replace(right, right.replace("O₁₁·W₂₂", "O₁₁·W₂₁"), 1)
    assert text != printed.read_text()
    printed.write_text(text)
    status, out, _ = run(capsys, printed, *LAYER, "--format", "json")
    assert status == 1
    (wrong,) = [c for c in json.loads(out)["claims"] if c["status"] == "wrong"]
    assert wrong["index"] == [0, 0, 1, 1]


def test_the_spec_helper_matches_the_cli():
    assert _spec(["conv2d", "--input", "3x3", "--kernel", "2x2"]) == Conv2d(
        input_shape=(1, 1, 3, 3), kernel=(2, 2)
    )
