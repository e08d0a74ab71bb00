"""Hostile and careless input: nothing the user types runs, nothing is clobbered, nothing hangs.

One regression test (or a few) per item of the reliability and security pass; each failed before
its fix.
"""

import dataclasses
import importlib.util
import os
import shlex
import stat
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from symcnn import cli
from symcnn.cli import main
from symcnn.codegen import generate as generate_module
from symcnn.codegen.catalog import entries
from symcnn.codegen.generate import CATALOG_MARKER, generate, random_arrays
from symcnn.codegen.naming import module_filename
from symcnn.codegen.structure import codegen_of
from symcnn.layers import layer_from_dict
from symcnn.layers.conv2d.spec import Conv2d

GENERATED = Path(__file__).parent.parent / "generated"
CONV = ["conv2d", "--input", "3x3", "--kernel", "2"]


def run(capsys, *args):
    status = main([*map(str, args)])
    captured = capsys.readouterr()
    return status, captured.out, captured.err


# -- 1. user text never becomes code ------------------------------------------------------------


def test_a_folder_name_with_a_line_break_is_refused_and_nothing_runs(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    folder = 'out\nimport os;os.system("touch pwned")\n#'
    status, _, err = run(capsys, "generate", *CONV, "--strategy", "unrolled", "-o", folder)
    assert status == 2
    assert err.count("\n") == 1 and "-o 'out\\nimport os" in err and "control character" in err
    assert sorted(os.listdir(tmp_path)) == []  # no folder, no module, no pwned
    with pytest.raises(ValueError, match=r"directory=.*control character '\\r'"):
        generate(Conv2d(input_shape=(1, 1, 3, 3), kernel=(2, 2)), directory="a\rb")


def test_the_header_quotes_the_folder_and_timing_never_runs_the_users_text(monkeypatch):
    folder = "my kernels/$(touch pwned) 'x'"
    executed = []
    real_load = generate_module.load
    monkeypatch.setattr(generate_module, "load", lambda m: executed.append(m.text) or real_load(m))
    spec = Conv2d(input_shape=(1, 1, 3, 3), kernel=(2, 2))
    module = generate(spec, strategy="auto", directory=folder)
    assert executed and not any("pwned" in text for text in executed)
    header = [line for line in module.text.splitlines() if line.startswith("#")]
    command = " ".join(line.lstrip("#").strip().removesuffix("\\") for line in header[1:3])
    assert shlex.split(command)[-2:] == ["-o", folder]  # one word, as the shell reads it back
    compile(module.text, module.filename, "exec")


# -- 2. only regular files are written, and they keep their mode ------------------------------


def test_force_never_replaces_a_fifo_or_what_a_link_names(tmp_path, capsys):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    link = tmp_path / "link"
    link.symlink_to(fifo)
    for target in (fifo, link):
        status, _, err = run(capsys, "derive", *CONV, "-o", target, "--force")
        assert status == 2 and "named pipe (FIFO)" in err and "regular files only" in err
        assert stat.S_ISFIFO(target.stat().st_mode)
    status, _, err = run(capsys, "derive", *CONV, "-o", "/dev/null", "--force")
    assert status == 2 and "character device" in err
    assert stat.S_ISCHR(os.stat("/dev/null").st_mode)


def test_force_keeps_the_mode_and_writes_through_a_link(tmp_path, capsys):
    private = tmp_path / "private.txt"
    private.write_text("old")
    private.chmod(0o600)
    link = tmp_path / "link.txt"
    link.symlink_to(private)
    status, _, err = run(capsys, "derive", *CONV, "-o", link)
    assert status == 2 and "--force to replace it" in err
    assert run(capsys, "derive", *CONV, "-o", link, "--force")[0] == 0
    assert link.is_symlink() and "Backpropagation" in private.read_text()
    assert stat.S_IMODE(private.stat().st_mode) == 0o600


def test_the_help_says_what_force_replaces(capsys):
    for command in ("derive", "generate", "check"):
        with pytest.raises(SystemExit):
            main([command, "--help"])
        assert "regular file" in capsys.readouterr().out


# -- 3. the catalog: decide before writing, remove only its own modules -----------------------


def test_catalog_refuses_before_writing_and_force_works(tmp_path, capsys):
    first = sorted(module_filename(entry.spec, dtype) for entry, dtype in entries())[0]
    (tmp_path / first).write_text("# my own notes\n")
    status, _, err = run(capsys, "generate", "--catalog", "-o", tmp_path)
    assert status == 2 and "nothing was written" in err and err.count("\n") == 1
    assert os.listdir(tmp_path) == [first]  # not one module written
    # A module the user generated one by one, and a catalog module the catalog no longer lists.
    assert (
        run(
            capsys,
            "generate",
            "conv2d",
            "--input",
            "5x5",
            "--kernel",
            "2",
            "--strategy",
            "unrolled",
            "-o",
            tmp_path,
        )[0]
        == 0
    )
    own = tmp_path / "conv2d_1x1x5x5_k2x2_float64.py"
    dropped = tmp_path / "conv2d_9x9_k2x2_float64.py"
    dropped.write_text((GENERATED / first).read_text())
    assert CATALOG_MARKER in dropped.read_text() and CATALOG_MARKER not in own.read_text()
    assert run(capsys, "generate", "--catalog", "-o", tmp_path, "--force")[0] == 0
    assert (tmp_path / first).read_text() == (GENERATED / first).read_text()
    assert own.exists() and not dropped.exists()


def test_catalog_refuses_a_folder_in_place_of_a_module(tmp_path, capsys):
    name = "relu_64x6x24x24_float64.py"
    (tmp_path / name).mkdir()
    status, _, err = run(capsys, "generate", "--catalog", "-o", tmp_path, "--force")
    assert status == 2 and f"{tmp_path / name}: it is a folder" in err
    assert os.listdir(tmp_path) == [name]


def test_an_empty_output_folder_is_refused(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)  # before the fix, '' meant generated/ in the working folder
    status, _, err = run(capsys, "generate", *CONV, "-o", "")
    assert status == 2 and "-o '' names no folder" in err


# -- 5. out= must not alias an input ----------------------------------------------------------


def _load(path: Path):
    loader = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(loader)
    loader.loader.exec_module(module)
    return module


def _over(buffer: np.ndarray, shape) -> np.ndarray:
    return buffer[: int(np.prod(shape))].reshape(shape)


@pytest.mark.parametrize("path", sorted(GENERATED.glob("*.py")), ids=lambda p: p.stem)
def test_every_generated_module_refuses_an_out_that_overlaps_an_input(path):
    kernels = _load(path)
    spec = layer_from_dict(kernels.SPEC)
    kind = codegen_of(spec)
    arrays = random_arrays(spec, str(kernels.DTYPE), seed=0)
    shared = np.zeros(max(array.size for array in arrays.values()), dtype=kernels.DTYPE)
    # forward(x, ..., out=x): the output over the input
    x = _over(shared, spec.input_shape)
    x[...] = arrays["x"]
    forward = [dict(arrays, x=x).get(name) for name in kind.forward_arguments]
    with pytest.raises(ValueError, match="out shares memory with x"):
        kernels.forward(*forward, out=_over(shared, spec.output_shape))
    # backward(..., grad_out, out=grad_out): the input gradient over the upstream gradient
    grad_out = _over(shared, spec.output_shape)
    grad_out[...] = arrays["grad_out"]
    backward = [dict(arrays, grad_out=grad_out).get(name) for name in kind.backward_arguments]
    grad_x = _over(shared, spec.input_shape)
    if "w" in arrays:
        grad_b = np.empty_like(arrays["b"]) if "b" in arrays else None
        out = (grad_x, np.empty_like(arrays["w"]), grad_b)
    else:
        out = grad_x
    with pytest.raises(ValueError, match="grad_x shares memory with grad_out"):
        kernels.backward(*backward, out=out)


def test_disjoint_views_of_one_buffer_are_accepted():
    kernels = _load(GENERATED / "maxpool2d_1x1x4x4_k2x2_float64.py")
    buffer = np.zeros((4, 8))
    x = buffer[:, :4].reshape(1, 1, 4, 4)  # columns 0-3 of every row
    x[...] = np.arange(16.0).reshape(1, 1, 4, 4)
    out = buffer[1, 4:].reshape(1, 1, 2, 2)  # within x's bounds, on none of its cells
    assert np.may_share_memory(x, out) and not np.shares_memory(x, out)
    assert kernels.forward(x, out=out) is out
    assert np.array_equal(out, [[[[5.0, 7.0], [13.0, 15.0]]]])


# -- 7 and 8. no tracebacks, no hangs ---------------------------------------------------------


def test_a_fifo_given_to_check_is_refused_without_blocking(tmp_path):
    fifo = tmp_path / "answer.txt"
    os.mkfifo(fifo)
    result = subprocess.run(
        [sys.executable, "-m", "symcnn", "check", str(fifo), *CONV],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2
    assert result.stderr == (
        f"symcnn check: error: {fifo}:1:1: cannot read the file: it is not a regular file;"
        " give a text file\n"
    )


def test_a_device_is_refused_before_reading_it():
    from symcnn.check.source import NotationError, read_source

    with pytest.raises(NotationError, match="not a regular file"):
        read_source("/dev/zero", max_bytes=10**12)


def test_a_file_that_cannot_be_read_gets_its_own_row_in_a_grade_table(tmp_path, capsys):
    (tmp_path / "a.txt").write_text("dL/dX12 = dL/dO11*W12 + dL/dO12*W11\n")
    os.mkfifo(tmp_path / "b.txt")
    (tmp_path / "c.txt").symlink_to(tmp_path / "missing")
    status, out, err = run(capsys, "check", tmp_path, *CONV)
    assert status == 1 and err == ""
    assert "a.txt" in out and "b.txt" in out and "c.txt" in out
    assert "not a regular file" in out and "cannot read the file" in out


def test_a_path_component_too_long_for_the_system_is_one_line(tmp_path, capsys):
    long = tmp_path / ("a" * 300)
    for argv in (["check", long, *CONV], ["derive", *CONV, "-o", long]):
        status, _, err = run(capsys, *argv)
        assert status == 2 and err.count("\n") == 1 and "File name too long" in err


@pytest.mark.parametrize(
    ("error", "status", "words"),
    [(KeyboardInterrupt, 130, "interrupted"), (MemoryError, 2, "out of memory")],
)
def test_ctrl_c_and_memory_errors_are_one_line(monkeypatch, capsys, error, status, words):
    def interrupted(args):
        raise error

    derive = next(c for c in cli.COMMANDS if c.name == "derive")
    monkeypatch.setattr(cli, "COMMANDS", [dataclasses.replace(derive, run=interrupted)])
    got, out, err = run(capsys, "derive", *CONV)
    assert got == status and out == "" and err.count("\n") == 1 and words in err


# -- 4. check: bounded work per file and per claim ---------------------------------------------


def test_joining_continued_lines_is_linear_in_the_file(monkeypatch):
    from symcnn.check import source as sources

    built = []
    real = sources.Statement

    def counting(text, *args, **kwargs):
        built.append(len(text))
        return real(text, *args, **kwargs)

    monkeypatch.setattr(sources, "Statement", counting)
    text = "dL/dX11 = (\n" * 2000  # every line continues the one before (a bracket is open)
    statements = sources.split_statements(sources.source_from_text(text))
    assert len(statements) == 1 and statements[0].text.count("(") == 2000
    # Rebuilding the joined text at every join built ~12 million characters here.
    assert sum(built) < 10 * len(text)


def test_a_claim_past_the_term_limit_is_refused_at_its_place_and_the_flag_raises_it(
    tmp_path, capsys
):
    claim = tmp_path / "a.txt"
    claim.write_text("dL/dX11 = (dL/dO11 + W11 + W12 + W21) * (W11 + W12 + W21 + W22)\n")
    status, _, err = run(capsys, "check", claim, *CONV, "--max-claim-terms", "15")
    assert status == 2
    assert err == (
        f"symcnn check: error: {claim}:1:12: dL/dX11: the right side multiplies out to more than"
        " 15 terms, the limit per claim (raise it with --max-claim-terms)\n"
    )
    assert run(capsys, "check", claim, *CONV, "--max-claim-terms", "16")[0] == 1  # read: wrong


# -- 10. the Python API: ValueError naming the parameter, the value and what is valid ----------


def _api_cases():
    import symcnn
    from symcnn.check import check_file, check_text

    spec = Conv2d(input_shape=(1, 1, 3, 3), kernel=(2, 2))
    derivation = symcnn.derive(spec)
    return [
        (lambda: symcnn.derive(spec, term_limit="10"), "term_limit='10'"),
        (lambda: symcnn.derive(spec, term_limit=float("nan")), "term_limit=nan"),
        (lambda: symcnn.derive(spec, term_limit=True), "term_limit=True"),
        (lambda: symcnn.notes(derivation, loss=5), "loss=5"),
        (lambda: symcnn.notes(derivation, zero_based="no"), "zero_based='no'"),
        (lambda: symcnn.layer_from_dict(None), "data=None"),
        (lambda: check_text(5, spec), "text=5"),
        (lambda: check_text("dL/dX11 = 0", spec, zero_based="no"), "zero_based='no'"),
        (lambda: check_text("dL/dX11 = 0", spec, loss=5), "loss=5"),
        (lambda: check_file("/nonexistent", spec), "/nonexistent:1:1: cannot read the file"),
        (lambda: check_file(5, spec), "path=5"),
        (lambda: generate(None), "spec=None"),
        (lambda: generate(spec, directory=5), "directory=5"),
    ]


@pytest.mark.parametrize("case", range(13))
def test_the_public_api_raises_value_error_naming_the_parameter(case):
    call, named = _api_cases()[case]
    with pytest.raises(ValueError) as raised:
        call()
    assert type(raised.value).__name__ in ("ValueError", "NotationError")
    assert str(raised.value).startswith(named) and "\n" not in str(raised.value)
    assert "expected" in str(raised.value) or "cannot read" in str(raised.value)


# -- 9. grade tables: no formulas, no control characters ----------------------------------------


def test_grade_tables_neutralise_formulas_and_control_characters(tmp_path, capsys):
    import csv

    folder = tmp_path / "submissions"
    folder.mkdir()
    formula = '=HYPERLINK("x","y")'
    escape = "a\x1b[31mred\nnext.txt"
    for name in (formula, escape):
        (folder / name).write_text("dL/dX12 = dL/dO11*W12 + dL/dO12*W11\n")
    table, markdown = tmp_path / "grades.csv", tmp_path / "grades.md"
    status, out, _ = run(
        capsys, "check", folder, *CONV, "--summary-csv", table, "--summary-md", markdown
    )
    assert status == 0
    for text in (out, table.read_text(), markdown.read_text()):
        assert "\x1b" not in text and "a\\x1b[31mred\\nnext.txt" in text
    cells = [row["file"] for row in csv.DictReader(table.open())]
    assert sorted(cells) == sorted(["'" + formula, "a\\x1b[31mred\\nnext.txt"])
    assert len(table.read_text().splitlines()) == 3  # a header and one line per submission


def test_two_outputs_naming_one_file_are_refused_before_the_work(tmp_path, capsys):
    (tmp_path / "a.txt").write_text("dL/dX12 = dL/dO11*W12 + dL/dO12*W11\n")
    table = tmp_path / "grades.csv"
    argv = ["check", tmp_path, *CONV, "--summary-csv", table, "-o", table, "--force"]
    status, _, err = run(capsys, *argv)
    assert status == 2 and "name the same file" in err and not table.exists()


# -- 6. generate: --strategy auto never allocates a huge batch to time it -----------------------


def test_auto_refuses_to_time_on_arrays_past_the_limit_and_says_what_to_do(capsys):
    status, _, err = run(
        capsys, "generate", "conv2d", "--input", "1000000000x1x3x3", "--kernel", "2"
    )
    assert status == 2 and err.count("\n") == 1
    assert "more than the limit of 512 MiB: name a strategy (--strategy unrolled or taps" in err


# -- 6. the cost of the work is counted before it is done -----------------------------------------

HUGE = [
    ["relu", "--input", "1000x1000"],  # 1,000,000 multiply terms, each a Max and a Piecewise
    ["mse", "--input", "1000x1000"],  # one output entry: 1 multiply term, counted as 1 before
    ["softmax_cross_entropy", "--input", "10x10000"],  # each entry holds its row's 10,000 terms
    ["conv2d", "--input", "1x1x100000x100000", "--kernel", "1"],  # 74.5 GiB of symbols
    ["conv2d", "--input", "1x1x100000x100000", "--kernel", "1", "--stride", "100000"],
]


@pytest.mark.parametrize("command", ["derive", "check", "generate"])
@pytest.mark.parametrize("layer", HUGE, ids=lambda layer: " ".join(layer))
def test_work_past_the_limit_is_refused_before_any_symbol_exists(
    tmp_path, capsys, monkeypatch, command, layer
):
    from symcnn.tensors import Tensors

    def no_symbols(*args, **kwargs):
        raise AssertionError("symbols were built for a layer past the limit")

    monkeypatch.setattr(Tensors, "for_layer", no_symbols)
    (tmp_path / "notes.txt").write_text("dL/dX11 = 1\n")
    where = {
        "derive": [],
        "check": [tmp_path / "notes.txt"],
        "generate": ["-o", tmp_path / "out", "--strategy", "unrolled"],
    }[command]
    if command == "generate" and layer[0] != "conv2d":
        # Losses have no kernels; an elementwise kernel derives 2 features of each sample, and
        # every sample for the mean (its 1/N is derived, not written in by hand).
        layer = ["relu", "--input", "1000000000x10", "--reduction", "mean"]
        where[-1] = "elementwise"
    if command == "check":
        status, _, err = run(capsys, command, *where, *layer)
    else:
        status, _, err = run(capsys, command, *layer, *where)
    assert status == 2 and err.count("\n") == 1, err
    assert "would cost" in err and "more than the limit of 1,000,000" in err
    assert "raise it with --max-terms" in err


@pytest.mark.parametrize("command", ["derive", "check", "generate"])
def test_max_terms_is_accepted_wherever_the_message_suggests_it(tmp_path, capsys, command):
    spec = ["conv2d", "--input", "3x3", "--kernel", "2"]
    notes = tmp_path / "notes.txt"
    notes.write_text("dL/dB1 = dL/dO11 + dL/dO12 + dL/dO21 + dL/dO22\n")
    before = {"derive": [command], "check": [command, notes], "generate": [command]}[command]
    after = ["-o", tmp_path / "out", "--strategy", "unrolled"] if command == "generate" else []
    status, _, err = run(capsys, *before, *spec, *after, "--max-terms", "5")
    assert status == 2 and "more than the limit of 5;" in err  # the flag lowers the limit
    status, _, err = run(capsys, *before, *spec, *after, "--max-terms", "1000")
    assert status == 0, err  # and raises it


def test_the_count_is_what_the_python_api_bounds():
    from symcnn import derive
    from symcnn.layers.mse.spec import MSE

    spec = MSE(input_shape=(3, 4))
    assert spec.multiply_terms == 1 and spec.work > 12  # every squared difference counts
    with pytest.raises(ValueError, match="would cost"):
        derive(spec, term_limit=spec.work - 1)
    assert derive(spec, term_limit=spec.work).grads["X"].shape == (3, 4)


def test_the_strategies_a_timing_refusal_suggests_exist_for_the_layer(tmp_path, capsys):
    import re

    status, _, err = run(capsys, "generate", "relu", "--input", "1000000000x10", "-o", tmp_path)
    assert status == 2 and "name a strategy" in err
    suggested = re.search(r"--strategy ([a-z ]+)\)", err).group(1).split(" or ")
    assert suggested == ["elementwise"]
    for strategy in suggested:  # following the advice works, on the same huge batch
        argv = ["generate", "relu", "--input", "1000000000x10", "--strategy", strategy]
        status, out, err = run(capsys, *argv, "-o", tmp_path)
        assert status == 0, err
        spec = importlib.util.spec_from_file_location("huge_relu", out.strip())
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        x = np.array([[-1.0, 2.0] * 5, [3.0, -4.0] * 5])  # the batch is free: any N runs
        assert (module.forward(x) == np.maximum(x, 0)).all()


def test_identity_operators_build_what_sympy_builds():
    """The printers' fast operators (one sum per entry) equal NumPy's object arithmetic."""
    from sympy import Rational, symbols

    from symcnn import identities

    a = np.array(symbols("a0:6"), dtype=object).reshape(2, 3)
    b = np.array(symbols("b0:12"), dtype=object).reshape(3, 4)
    scaled = a * Rational(1, 3)
    assert (identities.matmul(a, b) == a.dot(b)).all()
    assert (identities.matmul(scaled, b) == scaled.dot(b)).all()
    arrays = [a, a * 2, scaled]
    assert (identities.add_arrays(arrays, a.shape) == a + a * 2 + scaled).all()
    image = np.array(symbols("x0:16"), dtype=object).reshape(4, 4)
    kernel = np.array(symbols("k0:4"), dtype=object).reshape(2, 2)
    expected = np.empty((3, 3), dtype=object)
    for u, v in np.ndindex(3, 3):
        expected[u, v] = sum(image[u + p, v + q] * kernel[p, q] for p in range(2) for q in range(2))
    assert (identities.correlate(image, kernel) == expected).all()


# -- 4. check: a time budget per file ----------------------------------------------------------

CLAIMS = "dL/dW11 = dL/dO11*X11 + dL/dO12*X12 + dL/dO21*X21 + dL/dO22*X22\n" * 3


def _clock_running_out_after(monkeypatch, calls: int):
    """A clock for the checker that jumps an hour ahead after ``calls`` readings."""
    import types

    from symcnn.check import checker

    readings = iter(range(10**6))

    def monotonic():
        return 0.0 if next(readings) <= calls else 3600.0

    monkeypatch.setattr(checker, "time", types.SimpleNamespace(monotonic=monotonic))


def test_check_stops_past_its_time_limit_at_the_claim_it_reached(tmp_path, capsys, monkeypatch):
    notes = tmp_path / "notes.txt"
    notes.write_text("Our answer.\n" + CLAIMS)
    _clock_running_out_after(monkeypatch, 2)  # the budget's start and the first statement
    status, out, err = run(capsys, "check", notes, *CONV, "--time-limit", "5")
    assert status == 2 and err.count("\n") == 1 and out == "", err
    assert f"{notes}:3:1: checking this file took longer than the time limit of 5 s" in err
    assert "raise it with --time-limit SECONDS" in err


def test_a_file_past_the_time_limit_gets_its_row_and_the_others_are_graded(
    tmp_path, capsys, monkeypatch
):
    (tmp_path / "a.txt").write_text(CLAIMS)
    (tmp_path / "b.txt").write_text(CLAIMS)
    _clock_running_out_after(monkeypatch, 10**5)
    status, out, _ = run(capsys, "check", tmp_path, *CONV, "--format", "json")
    import json

    rows = {row["file"]: row for row in json.loads(out)["summary"]}
    assert status == 0 and {row["verdict"] for row in rows.values()} == {"incomplete"}
    # a.txt's clock jumps an hour while it is checked; b.txt starts its own budget after that
    _clock_running_out_after(monkeypatch, 2)
    status, out, _ = run(capsys, "check", tmp_path, *CONV, "--format", "json")
    rows = {row["file"]: row for row in json.loads(out)["summary"]}
    assert status == 1 and rows["b.txt"]["verdict"] == "incomplete", rows
    assert rows["a.txt"]["verdict"] != "incomplete"
    assert "time limit of 60 s" in json.dumps(rows["a.txt"]), rows


@pytest.mark.parametrize("value", ["0", "-1", "nan", "inf", "abc", "1" * 30])
def test_the_time_limit_is_validated(capsys, value):
    with pytest.raises(SystemExit) as exited:
        main(["check", "README.md", *CONV, f"--time-limit={value}"])
    err = capsys.readouterr().err
    assert exited.value.code == 2 and "time-limit=" in err and "seconds > 0" in err


@pytest.mark.parametrize("value", [0, -1.0, float("nan"), "5", True])
def test_the_python_time_limit_is_validated(value):
    from symcnn.check.checker import check_text

    with pytest.raises(ValueError, match="time_limit="):
        check_text(CLAIMS, Conv2d(input_shape=(3, 3), kernel=2), time_limit=value)


# -- 11. --loss: one rule and one message in derive and check -----------------------------------


@pytest.mark.parametrize("loss", ["LL", "5", "é", "", "∂"])
def test_loss_letters_are_refused_alike_by_derive_and_check(tmp_path, capsys, loss):
    notes = tmp_path / "notes.txt"
    notes.write_text(CLAIMS)
    _, _, derive_err = run(capsys, "derive", *CONV, "--loss", loss)
    _, _, check_err = run(capsys, "check", notes, *CONV, "--loss", loss)
    assert derive_err.startswith("symcnn derive: error: loss=")
    assert "expected a single letter (A-Z or a-z)" in derive_err
    assert derive_err.split("error: ")[1] == check_err.split("error: ")[1]


def test_a_loss_letter_that_names_a_tensor_is_refused_by_both(tmp_path, capsys):
    notes = tmp_path / "notes.txt"
    notes.write_text(CLAIMS)
    for argv in (["derive", *CONV], ["check", notes, *CONV, "--letters", "XWO"]):
        status, _, err = run(capsys, *argv, "--loss", "X")
        assert status == 2 and "loss='X' is not valid with letters='XWO': it names a tensor" in err


# -- 11. a SIGKILL while writing leaves nothing the next write does not clean up ----------------

KILLED_WRITER = """
import os, sys, time
from pathlib import Path
from symcnn import files

def stop(*args):  # killed between writing the temporary file and renaming it
    print("ready", flush=True)
    time.sleep(60)

os.replace = stop
files.write_atomic(Path(sys.argv[1]), b"half")
"""


def test_a_temporary_file_left_by_sigkill_is_removed_by_the_next_write(tmp_path, capsys):
    import signal

    from symcnn.files import TEMPORARY

    child = subprocess.Popen(
        [sys.executable, "-c", KILLED_WRITER, str(tmp_path / "notes.txt")],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert child.stdout.readline() == "ready\n"
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait()
    left = [p.name for p in tmp_path.iterdir()]
    assert len(left) == 1 and TEMPORARY.fullmatch(left[0]), left
    assert f"-{child.pid}-" in left[0]  # named after the process that wrote it
    # Beside it: a hidden file of the user's, and the temporary file of a write still running.
    (tmp_path / ".notes.txt.backup").write_text("mine")
    running = tmp_path / f".other.txt.symcnn-{os.getpid()}-abc123.tmp"
    running.write_text("in progress")
    status, _, err = run(capsys, "derive", *CONV, "-o", tmp_path / "notes.txt")
    assert status == 0, err
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        [".notes.txt.backup", running.name, "notes.txt"]
    )


# -- 7. a folder symcnn may not write into: one line (tested as root too, by a patched system) --


@pytest.mark.parametrize("command", ["derive", "check", "generate", "catalog"])
def test_a_folder_without_write_permission_is_one_line(tmp_path, capsys, monkeypatch, command):
    from symcnn import files

    def refused(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(files.tempfile, "mkstemp", refused)  # what a read-only folder does
    notes = tmp_path / "notes.txt"
    notes.write_text(CLAIMS)
    folder = tmp_path / "readonly"
    folder.mkdir()
    argv = {
        "derive": ["derive", *CONV, "-o", folder / "out.txt"],
        "check": ["check", notes, *CONV, "-o", folder / "report.txt"],
        "generate": ["generate", *CONV, "--strategy", "unrolled", "-o", folder],
        "catalog": ["generate", "--catalog", "-o", folder],
    }[command]
    status, _, err = run(capsys, *argv)
    assert status == 2 and err.count("\n") == 1, err
    assert "Permission denied" in err and str(folder) in err
    assert list(folder.iterdir()) == []
